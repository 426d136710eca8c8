import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentStore } from '../../src/agent/content-store.js';
import { readProjectOutputs } from '../../src/agent/project-task.js';
import { materializeSources } from '../../src/agent/source-snapshot.js';
import type { TaskTimelineEntry } from '../../src/core/models.js';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import {
  api,
  removeDir,
  startTestNode,
  waitFor,
  waitForBuild,
  type BuildBody,
  type TestNode,
  apiFetch,
} from '../helpers/node-harness.js';
import { startNodeProcess, type NodeProcess } from '../helpers/node-process.js';

const execFileAsync = promisify(execFile);

interface TaskBuildBody extends BuildBody {
  timeline: TaskTimelineEntry[];
}

async function agentIdOf(url: string): Promise<string> {
  const agents = (
    await api<{ agents: { agentId: string; isLocal: boolean }[] }>(url, 'GET', '/api/v1/agents')
  ).body.agents;
  return agents.find((agent) => agent.isLocal)?.agentId ?? '';
}

async function runDotnet(args: string[], cwd: string): Promise<string> {
  const { stdout } = await execFileAsync('dotnet', args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Writes a project's output tree from a node's CAS into `directory` and runs the app from it. */
async function runAppFromTree(dataDir: string, treeSha256: string, directory: string, appDll: string) {
  const store = new ContentStore(join(dataDir, 'cas'));
  const tree = await readProjectOutputs(store, treeSha256);
  await materializeSources(tree, store, directory);
  const binDir = join(directory, 'src', 'App', 'bin', 'Release', 'net10.0');
  return (await runDotnet([join(binDir, appDll)], directory)).trim();
}

describe('Distributed and Cached builds: project tasks across three peers', () => {
  let root: string;
  let repo: GeneratedRepo;
  let a: TestNode;
  const processes: NodeProcess[] = [];
  const ids: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
  const dataDirs: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
  /** Which peer ran each task of the first build. */
  const builtBy = new Map<string, string>();

  const submit = async (url: string, body: Record<string, unknown>): Promise<TaskBuildBody> => {
    const submitted = await api<{ executionId: string }>(url, 'POST', '/api/v1/builds', {
      repositoryUrl: repo.repositoryUrl,
      solutionPath: repo.solutionPath,
      ...body,
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    return (await waitForBuild(url, submitted.body.executionId, 600_000)) as unknown as TaskBuildBody;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-tasks-'));
    // 5 × 4 libraries, 3 test projects, 1 app: 24 projects.
    repo = await generateSolutionRepo({ root, width: 5, depth: 4, testLayers: 3, name: 'tasks' });
    expect(repo.projectCount).toBe(24);
    dataDirs.a = join(root, 'a');
    a = await startTestNode({ dataDir: dataDirs.a });
    ids.a = a.node.agentId;
    const joinCode = await runCliInProcess(['mesh', 'join-code', '--data-dir', dataDirs.a]);
    expect(joinCode.code, joinCode.stderr).toBe(0);
    for (const name of ['b', 'c'] as const) {
      dataDirs[name] = join(root, name);
      const started = await startNodeProcess(dataDirs[name], ['--join', joinCode.stdout.trim()]);
      processes.push(started);
      ids[name] = await agentIdOf(started.url);
    }
    await waitFor(
      'node A to see B and C idle',
      async () => {
        const agents = (await api<{ agents: { status: string }[] }>(a.url, 'GET', '/api/v1/agents')).body
          .agents;
        return agents.filter((agent) => agent.status === 'Idle').length === 3;
      },
      60_000,
    );
  });

  afterAll(async () => {
    for (const started of processes) started.child.kill('SIGKILL');
    await a?.stop();
    await removeDir(root);
  });

  it('builds a 24-project solution as tasks on all three peers, with outputs that work like a plain dotnet build', async () => {
    const build = await submit(a.url, { gitRef: 'main', strategy: 'Distributed' });
    expect(build.status, build.errorMessage ?? '').toBe('Succeeded');
    const builds = build.timeline.filter((task) => task.kind === 'build');
    const tests = build.timeline.filter((task) => task.kind === 'test');
    expect(builds).toHaveLength(24);
    expect(tests).toHaveLength(3);
    expect(build.timeline.every((task) => task.status === 'Succeeded' && task.cache === 'off')).toBe(true);
    expect(new Set(build.timeline.map((task) => task.agentId))).toEqual(new Set([ids.a, ids.b, ids.c]));
    for (const task of build.timeline) builtBy.set(task.taskId, task.agentId!);
    for (const task of build.timeline) {
      expect(task.startTime! >= task.queuedAt!).toBe(true);
      expect(task.endTime! >= task.startTime!).toBe(true);
      expect(task.attempt).toBe(1);
    }
    // A task starts only after the tasks it depends on ended.
    const byProject = new Map(builds.map((task) => [task.project, task]));
    const app = byProject.get('src/App/App.csproj')!;
    for (const library of repo.libraryProjects.filter((path) => path.startsWith('src/Lib3')))
      expect(app.startTime! >= byProject.get(library)!.endTime!).toBe(true);
    expect(build.testResults).toMatchObject({ total: repo.testCount, passed: repo.testCount, failed: 0 });
    expect(build.stages.map((stage) => `${stage.name}:${stage.status}`)).toEqual([
      'Clone:Succeeded',
      'Restore:Succeeded',
      'Build:Succeeded',
      'Test:Succeeded',
      'Package:Succeeded',
      'Upload:Succeeded',
    ]);
    const log = await (await apiFetch(`${a.url}/api/v1/builds/${build.executionId}/logs`)).text();
    expect(log).toMatch(/\[Lib0A@[^\]]+\] /);
    expect(log).toContain('Planned 24 project(s) as 27 task(s)');

    // The app assembled from the mesh's outputs prints what a plain build of the commit prints.
    const fromMesh = await runAppFromTree(
      dataDirs.a,
      app.outputTreeSha256!,
      join(root, 'app-from-mesh'),
      'App.dll',
    );
    await runDotnet(['build', repo.solutionPath, '-c', 'Release', '-nologo', '-v:q'], repo.workingCopyPath);
    const plain = (
      await runDotnet(
        [join(repo.workingCopyPath, 'src/App/bin/Release/net10.0/App.dll')],
        repo.workingCopyPath,
      )
    ).trim();
    expect(fromMesh).toBe(plain);
    expect(fromMesh).toBe(repo.expectedAppOutput);
  }, 600_000);

  it('rebuilds the same commit coordinated by another peer entirely from the cache, fetched from the peers that built it', async () => {
    const bUrl = processes[0]!.url;
    const build = await submit(bUrl, { gitRef: 'main', strategy: 'Cached' });
    expect(build.status, build.errorMessage ?? '').toBe('Succeeded');
    expect(build.timeline).toHaveLength(27);
    expect(build.timeline.filter((task) => task.cache !== 'hit').map((task) => task.taskId)).toEqual([]);
    // Each entry came from the peer that built the task, or from A, which coordinated and kept them all.
    for (const task of build.timeline) expect([builtBy.get(task.taskId), ids.a]).toContain(task.agentId);
    expect(build.timeline.some((task) => task.agentId !== ids.b)).toBe(true);
    expect(build.testResults).toMatchObject({ total: repo.testCount, passed: repo.testCount });
    const log = await (await apiFetch(`${bUrl}/api/v1/builds/${build.executionId}/logs`)).text();
    expect(log).toMatch(/cached\] /);
  });

  it('after a change to one file, rebuilds exactly that project and its dependents', async () => {
    const leaf = 'src/Lib2B/Calculator.cs';
    const file = join(repo.workingCopyPath, leaf);
    await writeFile(file, `${await readFile(file, 'utf8')}\n// changed\n`);
    const git = (...args: string[]) => execFileAsync('git', args, { cwd: repo.workingCopyPath });
    await git('commit', '-qam', 'Change a leaf library');
    await git('push', '-q', 'origin', 'main');

    const build = await submit(a.url, { gitRef: 'main', strategy: 'Cached' });
    expect(build.status, build.errorMessage ?? '').toBe('Succeeded');
    const rebuilt = build.timeline.filter((task) => task.cache === 'miss' && task.kind === 'build');
    const dependents = await dependentsOf(repo.workingCopyPath, 'src/Lib2B/Lib2B.csproj');
    expect(dependents.size).toBeGreaterThan(3);
    expect(rebuilt.map((task) => task.project).sort()).toEqual([...dependents].sort());
    expect(rebuilt.find((task) => task.project === 'src/Lib2B/Lib2B.csproj')?.missReason).toContain(leaf);
    expect(rebuilt.find((task) => task.project === 'src/App/App.csproj')?.missReason).toContain(
      'reference src/Lib3B/Lib3B.csproj',
    );
    const hits = build.timeline.filter((task) => task.kind === 'build' && task.cache === 'hit');
    expect(hits.length).toBe(24 - dependents.size);
    expect(hits.length).toBeGreaterThan(0);
  });

  it('rejects a tampered cache entry (one flipped byte) and rebuilds that task', async () => {
    const previous = await submit(a.url, { gitRef: 'main', strategy: 'Cached' });
    const target = previous.timeline.find(
      (task) => task.project === 'src/Lib3E/Lib3E.csproj' && task.kind === 'build',
    )!;
    let tampered = 0;
    for (const dataDir of Object.values(dataDirs)) {
      const entries = join(dataDir, 'action-cache', 'entries');
      const names = await readdir(entries).catch(() => [] as string[]);
      if (!names.includes(`${target.cacheKey}.json`)) continue;
      const path = join(entries, `${target.cacheKey}.json`);
      const text = await readFile(path, 'utf8');
      // One byte of the signed content: a digit of the creation time.
      const index = text.indexOf('"createdAt":"') + '"createdAt":"'.length + 3;
      const flipped = text[index] === '1' ? '2' : '1';
      await writeFile(path, text.slice(0, index) + flipped + text.slice(index + 1));
      tampered++;
    }
    expect(tampered).toBeGreaterThan(0);

    const build = await submit(a.url, { gitRef: 'main', strategy: 'Cached' });
    expect(build.status, build.errorMessage ?? '').toBe('Succeeded');
    const task = build.timeline.find((entry) => entry.taskId === target.taskId)!;
    expect(task.cache).toBe('miss');
    expect(task.missReason).toMatch(/rejected/i);
    expect(task.status).toBe('Succeeded');
    expect(build.timeline.filter((entry) => entry.cache === 'miss').map((entry) => entry.taskId)).toEqual([
      target.taskId,
    ]);
  });
});

/** The project and every project that references it, directly or not (from the project files). */
async function dependentsOf(workingCopy: string, project: string): Promise<Set<string>> {
  const projects = new Map<string, string[]>();
  for (const dir of ['src', 'tests']) {
    for (const name of await readdir(join(workingCopy, dir))) {
      const path = `${dir}/${name}/${name}.csproj`;
      const text = await readFile(join(workingCopy, path), 'utf8').catch(() => '');
      const references = [...text.matchAll(/ProjectReference Include="([^"]+)"/g)].map((match) =>
        `${dir}/${name}/${match[1]!.replace(/\\/g, '/')}`
          .split('/')
          .reduce<string[]>((parts, part) => (part === '..' ? parts.slice(0, -1) : [...parts, part]), [])
          .join('/'),
      );
      projects.set(path, references);
    }
  }
  const result = new Set([project]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [path, references] of projects)
      if (!result.has(path) && references.some((reference) => result.has(reference))) {
        result.add(path);
        grew = true;
      }
  }
  return result;
}
