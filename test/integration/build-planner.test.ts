import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MsBuildPlanner, SolutionNotFoundError } from '../../src/agent/build-planner.js';
import { ContentStore } from '../../src/agent/content-store.js';
import { snapshotSources } from '../../src/agent/source-snapshot.js';
import { CycleDetectedError } from '../../src/core/errors.js';
import type { BuildPlan } from '../../src/core/project-tasks.js';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import { removeDir } from '../helpers/node-harness.js';
import { sampleBuildRequest } from '../helpers/sample-build-request.js';

/** The planner with the real dotnet: tasks from MSBuild's evaluation, cached evaluations, cycles refused. */
describe('MsBuildPlanner', () => {
  let root: string;
  let repo: GeneratedRepo;
  let store: ContentStore;
  let planner: MsBuildPlanner;
  const evaluationCacheDir = () => join(root, 'evaluation-cache');

  const plan = async (solutionPath = repo.solutionPath): Promise<BuildPlan> => {
    const { manifestSha256 } = await snapshotSources(repo.workingCopyPath, repo.headCommit, store);
    const sample = sampleBuildRequest();
    const request = { ...sample, job: { ...sample.job, solutionPath, createPackages: true } };
    return planner.plan(request, manifestSha256, new AbortController().signal);
  };
  const keys = (built: BuildPlan) => new Map(built.tasks.map((task) => [task.taskId, task.cacheKey.key]));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-planner-'));
    repo = await generateSolutionRepo({ root, width: 2, depth: 2, variant: 'packable', name: 'planned' });
    store = new ContentStore(join(root, 'cas'));
    planner = new MsBuildPlanner({
      workspaceRoot: join(root, 'workspaces'),
      contentStore: store,
      evaluationCacheDir: evaluationCacheDir(),
      sdkFingerprint: 'test-sdk',
    });
  });

  afterAll(async () => {
    await removeDir(root);
  });

  it('plans build, test and pack tasks with cache keys, and takes unchanged projects from the evaluation cache', async () => {
    const first = await plan();
    expect(first.projectCount).toBe(repo.projectCount);
    const kinds = first.tasks.map((task) => task.kind);
    expect(kinds.filter((kind) => kind === 'build')).toHaveLength(repo.projectCount);
    expect(kinds.filter((kind) => kind === 'test')).toHaveLength(repo.testProjects.length);
    expect(kinds.filter((kind) => kind === 'pack')).toHaveLength(repo.libraryProjects.length);
    const app = first.tasks.find((task) => task.taskId === 'build:src/App/App.csproj')!;
    expect(app.placeProjects).toEqual(expect.arrayContaining(repo.libraryProjects));
    expect(await readdir(evaluationCacheDir())).toHaveLength(repo.projectCount);

    // Nothing changed: the same keys, and no dotnet needed (planning is fast).
    const started = Date.now();
    const second = await plan();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(keys(second)).toEqual(keys(first));

    // One library's source changes: its keys and its dependents' change, nothing else's.
    const changed = join(repo.workingCopyPath, 'src/Lib1B/Calculator.cs');
    await writeFile(changed, `${await readFile(changed, 'utf8')}\n// edited\n`);
    const third = await plan();
    const before = keys(first);
    const moved = [...keys(third)].filter(([id, key]) => before.get(id) !== key).map(([id]) => id);
    expect(moved.sort()).toEqual(
      [
        'build:src/Lib1B/Lib1B.csproj',
        'pack:src/Lib1B/Lib1B.csproj',
        'build:src/App/App.csproj',
        'build:tests/Layer1.Tests/Layer1.Tests.csproj',
        'test:tests/Layer1.Tests/Layer1.Tests.csproj',
      ].sort(),
    );
  });

  it('refuses a reference cycle, naming it, and a solution that is not in the commit', async () => {
    await expect(plan('Missing.sln')).rejects.toBeInstanceOf(SolutionNotFoundError);
    const lib0 = join(repo.workingCopyPath, 'src/Lib0A/Lib0A.csproj');
    const text = await readFile(lib0, 'utf8');
    await writeFile(
      lib0,
      text.replace(
        '</Project>',
        '<ItemGroup><ProjectReference Include="../Lib1A/Lib1A.csproj" /></ItemGroup></Project>',
      ),
    );
    const error = await plan().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CycleDetectedError);
    expect((error as Error).message).toMatch(
      /Lib0A\.csproj → Lib1A\.csproj → Lib0A\.csproj|Lib1A\.csproj → Lib0A\.csproj → Lib1A\.csproj/,
    );
  });
});
