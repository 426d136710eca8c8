import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  evaluateProject,
  evaluateProjects,
  type ProjectEvaluation,
} from '../../src/agent/project-evaluation.js';
import {
  ambientFilesFor,
  computeCacheKey,
  explainMiss,
  sha256Hex,
  type CacheKey,
} from '../../src/core/cache-key.js';
import { OperationAbortedError, ProjectEvaluationError } from '../../src/core/errors.js';
import {
  buildSolutionGraph,
  parseProjectReferences,
  parseSolution,
  topologicalOrder,
  topologicalWaves,
  type SolutionGraph,
} from '../../src/core/solution-graph.js';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';

const exec = promisify(execFile);

/**
 * Real dotnet on generated solutions: the graph read from the solution text agrees with MSBuild's own
 * evaluation, both ways of evaluating agree, and cache keys built from evaluations change for exactly
 * the edited project and its dependents.
 */
describe('project evaluation with the real dotnet', () => {
  let root: string;
  let repo: GeneratedRepo;
  let slnxRepo: GeneratedRepo;
  let projects: string[];
  let graph: SolutionGraph;
  let evaluations: Map<string, ProjectEvaluation>;

  const read = (base: string, relative: string): Promise<string> => readFile(join(base, relative), 'utf8');
  const write = async (base: string, relative: string, text: string): Promise<void> => {
    await mkdir(dirname(join(base, relative)), { recursive: true });
    await writeFile(join(base, relative), text);
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-eval-'));
    repo = await generateSolutionRepo({ root, width: 3, depth: 2, extraCommits: 0, name: 'sln' });
    slnxRepo = await generateSolutionRepo({
      root,
      width: 2,
      depth: 2,
      extraCommits: 0,
      variant: 'slnx',
      name: 'slnx',
    });
    const solution = parseSolution(repo.solutionPath, await read(repo.workingCopyPath, repo.solutionPath));
    projects = solution.projects.map((project) => project.path);
    const nodes = await Promise.all(
      projects.map(async (path) => ({
        path,
        references: parseProjectReferences(path, await read(repo.workingCopyPath, path)).references,
      })),
    );
    graph = buildSolutionGraph(nodes);
    const evaluated = await evaluateProjects(projects, { repoRoot: repo.workingCopyPath });
    evaluations = new Map(evaluated.map((evaluation) => [evaluation.path, evaluation]));
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('reads every project of the .sln and the .slnx, in their solution folders', async () => {
    expect(projects.sort()).toEqual(
      [...repo.libraryProjects, ...repo.testProjects, repo.appProject ?? ''].sort(),
    );
    const slnx = parseSolution(
      slnxRepo.solutionPath,
      await read(slnxRepo.workingCopyPath, slnxRepo.solutionPath),
    );
    expect(slnx.projects.map((project) => project.path).sort()).toEqual(
      [...slnxRepo.libraryProjects, ...slnxRepo.testProjects, slnxRepo.appProject ?? ''].sort(),
    );
    expect(slnx.folders).toEqual(['src', 'tests']);
    expect(slnx.projects.find((project) => project.name === 'App')?.folder).toBe('src');
    const sln = parseSolution(repo.solutionPath, await read(repo.workingCopyPath, repo.solutionPath));
    expect(sln.projects.find((project) => project.path === repo.testProjects[0])?.folder).toBe('tests');
  });

  it('agrees with MSBuild on every project reference, and orders the graph in waves', () => {
    for (const node of graph.projects) {
      expect(evaluations.get(node.path)?.projectReferences, node.path).toEqual(node.references);
    }
    const waves = topologicalWaves(graph);
    expect(waves[0]).toEqual(['src/Lib0A/Lib0A.csproj', 'src/Lib0B/Lib0B.csproj', 'src/Lib0C/Lib0C.csproj']);
    expect(waves.flat().sort()).toEqual([...projects].sort());
    expect(waves.at(-1)).toContain('src/App/App.csproj');
  });

  it('reports frameworks, kinds, inputs and packages as MSBuild evaluates them', async () => {
    const { stdout } = await exec('dotnet', ['--version']);
    const lib = evaluations.get('src/Lib0A/Lib0A.csproj');
    expect(lib).toEqual({
      path: 'src/Lib0A/Lib0A.csproj',
      targetFrameworks: ['net10.0'],
      isTestProject: false,
      // Directory.Build.props of the fixture says so.
      isPackable: false,
      assemblyName: 'Lib0A',
      outputType: 'Library',
      inputFiles: ['src/Lib0A/Calculator.cs', 'src/Lib0A/Revision.cs'],
      projectReferences: [],
      packageReferences: [],
      buildFiles: ['Directory.Build.props'],
      sdkVersion: stdout.trim(),
      restored: false,
    });
    expect(evaluations.get('src/App/App.csproj')).toMatchObject({
      outputType: 'Exe',
      inputFiles: ['src/App/Program.cs'],
    });
    for (const testProject of repo.testProjects) {
      const evaluation = evaluations.get(testProject);
      expect(evaluation?.isTestProject, testProject).toBe(true);
      expect(evaluation?.packageReferences).toContainEqual({
        id: 'Microsoft.NET.Test.Sdk',
        version: '18.0.1',
      });
      expect(evaluation?.packageReferences).toContainEqual({ id: 'xunit', version: '2.9.3' });
    }
    const nonTests = [...evaluations.values()].filter(
      (evaluation) => !repo.testProjects.includes(evaluation.path),
    );
    expect(nonTests.every((evaluation) => !evaluation.isTestProject)).toBe(true);
  });

  it('gives the same result in parallel batches as in one', async () => {
    const parallel = await evaluateProjects([...projects].reverse(), {
      repoRoot: repo.workingCopyPath,
      concurrency: 3,
      minBatchSize: 2,
    });
    expect(parallel.map((evaluation) => evaluation.path)).toEqual([...projects].reverse());
    for (const evaluation of parallel) expect(evaluation).toEqual(evaluations.get(evaluation.path));
  });

  it('rejects with OperationAbortedError when aborted mid-run', async () => {
    const controller = new AbortController();
    const pending = evaluateProjects(projects, {
      repoRoot: repo.workingCopyPath,
      concurrency: 2,
      minBatchSize: 1,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 300);
    await expect(pending).rejects.toBeInstanceOf(OperationAbortedError);
  });

  it('gives the same result one project per process as in one batch', async () => {
    for (const project of ['src/Lib1A/Lib1A.csproj', 'src/App/App.csproj', repo.testProjects[1] ?? '']) {
      const single = await evaluateProject(project, { repoRoot: repo.workingCopyPath });
      expect(single, project).toEqual(evaluations.get(project));
    }
  });

  it('follows multi-targeting, conditional items, central package versions and hint paths; keeps to the repository', async () => {
    const base = slnxRepo.workingCopyPath;
    await write(
      base,
      'Directory.Packages.props',
      `<Project>
  <ItemGroup>
    <PackageVersion Include="xunit" Version="2.9.3" />
    <PackageVersion Include="xunit.analyzers" Version="1.26.0" />
  </ItemGroup>
</Project>
`,
    );
    await write(
      base,
      'extra/Multi/Multi.csproj',
      `<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFrameworks>net8.0;net10.0</TargetFrameworks>
    <ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally>
    <AssemblyName>Fixture.Multi</AssemblyName>
  </PropertyGroup>
  <ItemGroup Condition="'$(TargetFramework)' == 'net8.0'">
    <Compile Include="..\\Shared\\OnlyNet8.cs" />
  </ItemGroup>
  <ItemGroup>
    <Compile Remove="Excluded.cs" />
    <Compile Include="${join(root, 'outside.cs')}" />
    <EmbeddedResource Include="data.json" />
    <None Include="missing.txt" />
    <Reference Include="Vendor"><HintPath>..\\..\\lib\\Vendor.dll</HintPath></Reference>
    <PackageReference Include="xunit" />
    <PackageReference Include="xunit.analyzers" VersionOverride="1.25.0" />
    <ProjectReference Include="..\\..\\src\\Lib0A\\Lib0A.csproj" />
  </ItemGroup>
</Project>
`,
    );
    await write(base, 'extra/Multi/A.cs', 'namespace Multi; public class A {}\n');
    await write(base, 'extra/Multi/Excluded.cs', 'this does not compile\n');
    await write(base, 'extra/Multi/data.json', '{}\n');
    await write(base, 'extra/Shared/OnlyNet8.cs', 'namespace Multi; public class N8 {}\n');
    await write(base, 'lib/Vendor.dll', 'not really a dll');
    await write(root, 'outside.cs', 'class Outside {}\n');

    const expected: Partial<ProjectEvaluation> = {
      path: 'extra/Multi/Multi.csproj',
      targetFrameworks: ['net8.0', 'net10.0'],
      assemblyName: 'Fixture.Multi',
      inputFiles: ['extra/Multi/A.cs', 'extra/Multi/data.json', 'extra/Shared/OnlyNet8.cs', 'lib/Vendor.dll'],
      projectReferences: ['src/Lib0A/Lib0A.csproj'],
      packageReferences: [
        { id: 'xunit', version: '2.9.3' },
        { id: 'xunit.analyzers', version: '1.25.0' },
      ],
      buildFiles: ['Directory.Build.props', 'Directory.Packages.props'],
    };
    const [batch] = await evaluateProjects(['extra/Multi/Multi.csproj'], { repoRoot: base });
    expect(batch).toMatchObject(expected);
    const single = await evaluateProject('extra\\Multi\\Multi.csproj', { repoRoot: base });
    expect(single).toEqual(batch);
    const withMissing = await evaluateProject('extra/Multi/Multi.csproj', {
      repoRoot: base,
      existingOnly: false,
    });
    expect(withMissing.inputFiles).toContain('extra/Multi/missing.txt');
  });

  it('names the project MSBuild cannot evaluate, and passes its errors on', async () => {
    const base = repo.workingCopyPath;
    await write(base, 'broken/Broken.csproj', '<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup>');
    const lines: string[] = [];
    const batch = evaluateProjects(['src/Lib0A/Lib0A.csproj', 'broken/Broken.csproj'], {
      repoRoot: base,
      onLine: (line) => lines.push(line),
    });
    await expect(batch).rejects.toThrow(ProjectEvaluationError);
    await expect(batch).rejects.toMatchObject({
      project: 'broken/Broken.csproj',
      code: 'ProjectEvaluationFailed',
    });
    await expect(batch).rejects.toThrow(/MSB4025/);
    expect(lines.some((line) => line.includes('MSB4025'))).toBe(true);
    await expect(evaluateProject('broken/Broken.csproj', { repoRoot: base })).rejects.toThrow(
      /could not evaluate broken\/Broken.csproj: .*MSB4025/,
    );
    await expect(evaluateProject('nope/Nope.csproj', { repoRoot: base })).rejects.toThrow(/MSB1009/);
    await rm(join(base, 'broken'), { recursive: true, force: true });
  });

  it('after a restore, takes IsTestProject from the test SDK package itself', async () => {
    const base = repo.workingCopyPath;
    const original = await read(base, repo.testProjects[0] ?? '');
    const implicit = 'implicit/Implicit.csproj';
    await write(
      base,
      implicit,
      original.replace(/\s*<IsTestProject>true<\/IsTestProject>/, '').replaceAll('../../src', '../src'),
    );
    await write(base, 'implicit/Tests.cs', 'namespace Implicit; public class Tests {}\n');

    const [restored] = await evaluateProjects([implicit], { repoRoot: base, restore: true });
    expect(restored).toMatchObject({ restored: true, isTestProject: true });
    // The test adapter's None items live in the NuGet cache: not inputs.
    expect(restored?.inputFiles).toEqual(['implicit/Tests.cs']);
    const single = await evaluateProject(implicit, { repoRoot: base, restore: true });
    expect(single).toEqual(restored);
    await rm(join(base, 'implicit'), { recursive: true, force: true });
  });

  it('builds cache keys that change for exactly the edited project and its dependents', async () => {
    const base = repo.workingCopyPath;
    const { stdout } = await exec('git', ['ls-files'], { cwd: base });
    const repoFiles = stdout.trim().split('\n');
    const hashOf = async (relative: string) => ({
      path: relative,
      sha256: sha256Hex(await readFile(join(base, relative))),
    });

    const keysFor = async (shuffle: boolean): Promise<Map<string, CacheKey>> => {
      const keys = new Map<string, CacheKey>();
      for (const path of topologicalOrder(graph)) {
        const evaluation = evaluations.get(path) as ProjectEvaluation;
        const order = <T>(items: T[]): T[] => (shuffle ? [...items].reverse() : items);
        const ambient = [...new Set([...ambientFilesFor(path, repoFiles), ...evaluation.buildFiles])];
        keys.set(
          path,
          computeCacheKey({
            kind: 'build',
            project: await hashOf(path),
            inputs: order(await Promise.all(evaluation.inputFiles.map(hashOf))),
            ambient: order(await Promise.all(ambient.map(hashOf))),
            references: order(
              evaluation.projectReferences.map((reference) => ({
                project: reference,
                digest: keys.get(reference)?.key ?? '',
              })),
            ),
            configuration: 'Release',
            targetFramework: evaluation.targetFrameworks[0] ?? '',
            runtimeIdentifier: '',
            platform: 'AnyCPU',
            properties: {},
            sdkVersion: evaluation.sdkVersion,
          }),
        );
      }
      return keys;
    };

    const before = await keysFor(false);
    const shuffled = await keysFor(true);
    for (const [path, key] of before) expect(shuffled.get(path)?.key, path).toBe(key.key);
    expect(new Set([...before.values()].map((key) => key.key)).size).toBe(before.size);

    const leaf = 'src/Lib0A/Calculator.cs';
    await writeFile(join(base, leaf), `${await read(base, leaf)}// edited\n`);
    const after = await keysFor(false);
    const changed = [...after]
      .filter(([path, key]) => before.get(path)?.key !== key.key)
      .map(([path]) => path);
    expect(changed.sort()).toEqual(
      [
        'src/Lib0A/Lib0A.csproj',
        'src/Lib1A/Lib1A.csproj',
        'src/Lib1C/Lib1C.csproj',
        'src/App/App.csproj',
        'tests/Layer0.Tests/Layer0.Tests.csproj',
        'tests/Layer1.Tests/Layer1.Tests.csproj',
      ].sort(),
    );
    const explain = (path: string) => explainMiss(before.get(path)?.inputs, after.get(path)?.inputs ?? []);
    expect(explain('src/Lib0A/Lib0A.csproj')).toMatchObject({ reason: 'changed', inputs: [leaf] });
    expect(explain('src/Lib1A/Lib1A.csproj')).toMatchObject({
      reason: 'changed',
      inputs: ['reference src/Lib0A/Lib0A.csproj'],
    });
  });
});
