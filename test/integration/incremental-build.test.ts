import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { persistentWorkspaceKey } from '../../src/agent/persistent-workspaces.js';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import {
  api,
  removeDir,
  startTestNode,
  waitForBuild,
  type BuildBody,
  type TestNode,
  apiFetch,
} from '../helpers/node-harness.js';

const execFileAsync = promisify(execFile);

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('Incremental builds reuse the workspace of a repository; Clean builds start afresh', () => {
  let root: string;
  let node: TestNode;
  let repo: GeneratedRepo;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-incremental-'));
    // 3×3 libraries, the app and tests for the two lower layers: 12 projects.
    repo = await generateSolutionRepo({ root, width: 3, depth: 3, testLayers: 2, name: 'incremental' });
    node = await startTestNode();
  });

  afterAll(async () => {
    await node?.stop();
    await removeDir(root);
    await removeDir(node?.dataDir ?? '');
  });

  const submit = async (strategy: 'Incremental' | 'Clean'): Promise<BuildBody> => {
    const submitted = await api<{ executionId: string }>(node.url, 'POST', '/api/v1/builds', {
      job: {
        projectName: 'Incremental',
        repositoryUrl: repo.repositoryUrl,
        gitRef: 'main',
        solutionPath: repo.solutionPath,
        publishArtifacts: false,
      },
      strategy,
    });
    expect(submitted.status).toBe(202);
    const build = await waitForBuild(node.url, submitted.body.executionId, 600_000);
    expect(build.status, build.errorMessage ?? '').toBe('Succeeded');
    return build;
  };
  const stage = (build: BuildBody, name: string) => build.stages.find((s) => s.name === name);
  const logOf = async (build: BuildBody) =>
    (await apiFetch(`${node.url}/api/v1/builds/${build.executionId}/logs`)).text();
  const workspace = () =>
    join(
      node.dataDir,
      'workspaces',
      '.repos',
      persistentWorkspaceKey(repo.repositoryUrl, repo.solutionPath),
      'src',
    );

  /**
   * When each project's assembly was last compiled: the modification time of the assembly csc
   * writes, `obj/Release/<tfm>/<Name>.dll` (MSBuild's incremental build leaves it alone when the
   * project's compile inputs did not change).
   */
  const compiledAt = async (): Promise<Map<string, number>> => {
    const projects = [...repo.libraryProjects, ...repo.testProjects, repo.appProject ?? ''];
    const times = new Map<string, number>();
    for (const project of projects.filter(Boolean)) {
      const name = basename(project).replace(/\.csproj$/, '');
      const objDir = join(workspace(), dirname(project), 'obj', 'Release');
      const [tfm, ...others] = await readdir(objDir);
      expect(others, `one target framework in ${objDir}`).toEqual([]);
      times.set(name, (await stat(join(objDir, tfm!, `${name}.dll`))).mtimeMs);
    }
    return times;
  };
  const recompiled = (before: Map<string, number>, after: Map<string, number>) =>
    [...after].filter(([name, time]) => before.get(name) !== time).map(([name]) => name);

  it('rebuilds an unchanged commit without restoring or testing, and says why', async () => {
    expect(repo.projectCount).toBe(12);
    expect(repo.testProjects).toHaveLength(2);

    const first = await submit('Incremental');
    expect(first.testResults).toMatchObject({ total: repo.testCount, passed: repo.testCount });
    expect(stage(first, 'Restore')?.message).toMatch(/^Restored/);
    expect(await readFile(join(workspace(), '..', 'state.json'), 'utf8')).toContain(repo.headCommit);

    const beforeSecond = await compiledAt();
    expect(beforeSecond.size).toBe(12);
    const second = await submit('Incremental');
    expect(recompiled(beforeSecond, await compiledAt())).toEqual([]);
    expect(second.resolvedCommit).toBe(repo.headCommit);
    expect(stage(second, 'Clone')?.message).toContain('fetched, not cloned');
    expect(stage(second, 'Restore')?.status).toBe('Succeeded');
    expect(stage(second, 'Restore')?.message).toMatch(
      /^No restore needed: no project, Directory\.\*, lock, NuGet\.config or global\.json file changed/,
    );
    expect(stage(second, 'Test')?.message).toBe(
      "No tests run: no inputs of the 2 test project(s) changed since this workspace's last test run; " +
        'skipped 2 test project(s) whose inputs did not change: Layer0.Tests, Layer1.Tests',
    );
    expect(second.testResults).toBeNull();
    const log = await logOf(second);
    expect(log).not.toContain('$ dotnet restore');
    expect(log).not.toContain('$ dotnet test');
  });

  it('after a one-file change, compiles only the changed project and tests only the test projects whose inputs changed', async () => {
    // Lib1A is in layer 1: Layer1.Tests depends on it, Layer0.Tests does not.
    const changed = 'src/Lib1A/Calculator.cs';
    const file = join(repo.workingCopyPath, changed);
    await writeFile(file, `${await readFile(file, 'utf8')}\n// changed\n`);
    const git = (...args: string[]) => execFileAsync('git', args, { cwd: repo.workingCopyPath });
    await git('commit', '-qam', 'Change one layer-1 library');
    await git('push', '-q', 'origin', 'main');
    const head = (await git('rev-parse', 'HEAD')).stdout.trim();

    const before = await compiledAt();
    const build = await submit('Incremental');
    expect(build.resolvedCommit).toBe(head);
    // The new commit must not reach the other 11 assemblies (the SDK's source-control queries
    // would put it into each one's informational version); the dependents of Lib1A compile against
    // its reference assembly, which a comment does not change.
    expect(recompiled(before, await compiledAt())).toEqual(['Lib1A']);
    expect(stage(build, 'Restore')?.message).toMatch(/^No restore needed/);
    expect(stage(build, 'Test')?.message).toBe(
      '3 test(s): 3 passed, 0 failed, 0 skipped; ran Layer1.Tests (inputs changed); ' +
        'skipped 1 test project(s) whose inputs did not change: Layer0.Tests',
    );
    expect(build.testResults).toMatchObject({ total: 3, passed: 3, failed: 0 });
    const log = await logOf(build);
    expect(log).toContain('-p:EnableSourceControlManagerQueries=false');
    expect(log).toContain('$ dotnet test tests/Layer1.Tests/Layer1.Tests.csproj');
    expect(log).not.toContain('$ dotnet test tests/Layer0.Tests');
  });

  it('Clean deletes the workspace: a stale file planted in obj/ is gone, and the full suite runs', async () => {
    const staleDir = join(workspace(), 'src', 'Lib0A', 'obj');
    await mkdir(staleDir, { recursive: true });
    const stale = join(staleDir, 'stale-from-an-earlier-build.txt');
    await writeFile(stale, 'left over\n');
    expect(await exists(stale)).toBe(true);

    const build = await submit('Clean');
    expect(await exists(stale)).toBe(false);
    expect(await exists(join(staleDir, 'project.assets.json'))).toBe(true);
    expect(build.testResults).toMatchObject({ total: repo.testCount, passed: repo.testCount });
    const log = await logOf(build);
    expect(log).toContain('$ dotnet clean');
    expect(log).toMatch(/\$ dotnet restore \S+ --force/);
    expect(log).toContain('--no-incremental');
    expect(log).toContain('(full history)');
  });
});
