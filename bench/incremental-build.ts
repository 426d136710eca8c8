/**
 * Incremental builds against a plain `dotnet build` no-op of the same workspace, in the same run.
 *
 *   npx tsx bench/incremental-build.ts [--runs 3]
 *
 * Fixture: 3×3 libraries, the app, tests for the two lower layers (12 projects). After one full
 * Incremental build (the warm-up), each run times, in this order:
 *   - plain `dotnet build -c Release` in the node's persistent workspace (nothing changed: a no-op);
 *   - plain `dotnet build` + `dotnet test --no-build` there (what a node without test selection runs);
 *   - a node Incremental build of the same commit (no change: restore and tests skipped);
 *   - a node Incremental build after a one-file change to a layer-1 library, pushed to the repository
 *     (rebuilds that library and its dependents, tests only Layer1.Tests).
 * Ratios are against the plain no-op build.
 */
import '../src/host/polyfills.js';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { persistentWorkspaceKey } from '../src/agent/persistent-workspaces.js';
import { generateSolutionRepo } from '../test/fixtures/generate-solution.js';
import { api, startTestNode, waitForBuild, type BuildBody } from '../test/helpers/node-harness.js';

const exec = promisify(execFile);
const DOTNET_ENV = {
  ...process.env,
  DOTNET_CLI_TELEMETRY_OPTOUT: '1',
  DOTNET_NOLOGO: '1',
  DOTNET_SKIP_FIRST_TIME_EXPERIENCE: '1',
};

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Math.max(1, Math.min(10, Number(values.runs)));

const root = await mkdtemp(join(tmpdir(), 'buildmesh-bench-incremental-'));
const repo = await generateSolutionRepo({ root, width: 3, depth: 3, testLayers: 2, name: 'bench' });
const node = await startTestNode({ dataDir: join(root, 'node') });
const workspace = join(
  root,
  'node',
  'workspaces',
  '.repos',
  persistentWorkspaceKey(repo.repositoryUrl, repo.solutionPath),
  'src',
);

async function nodeBuild(): Promise<{ seconds: number; build: BuildBody }> {
  const started = performance.now();
  const submitted = await api<{ executionId: string }>(node.url, 'POST', '/api/v1/builds', {
    repositoryUrl: repo.repositoryUrl,
    gitRef: 'main',
    solutionPath: repo.solutionPath,
    strategy: 'Incremental',
    publishArtifacts: false,
  });
  const build = await waitForBuild(node.url, submitted.body.executionId, 600_000);
  if (build.status !== 'Succeeded')
    throw new Error(`node build ${build.status}: ${build.errorMessage ?? ''}`);
  return { seconds: (performance.now() - started) / 1000, build };
}

async function plain(withTests: boolean): Promise<number> {
  const run = (args: string[]) =>
    exec('dotnet', args, { cwd: workspace, env: DOTNET_ENV, maxBuffer: 64 * 1024 * 1024 });
  // The property an Incremental build passes: without it, the plain build would put the commit back
  // into every assembly, and the node's next build would recompile every project.
  const properties = ['-p:EnableSourceControlManagerQueries=false'];
  const started = performance.now();
  await run(['build', repo.solutionPath, '-c', 'Release', ...properties, '-tl:off', '-nologo']);
  if (withTests)
    await run([
      'test',
      repo.solutionPath,
      '-c',
      'Release',
      '--no-build',
      ...properties,
      '-tl:off',
      '-nologo',
    ]);
  return (performance.now() - started) / 1000;
}

let revision = 0;
async function changeOneFile(): Promise<void> {
  const file = join(repo.workingCopyPath, 'src', 'Lib1A', 'Calculator.cs');
  await writeFile(file, `${await readFile(file, 'utf8')}\n// bench change ${++revision}\n`);
  const git = (...args: string[]) => exec('git', args, { cwd: repo.workingCopyPath });
  await git('commit', '-qam', `Bench change ${revision}`);
  await git('push', '-q', 'origin', 'main');
}

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? Number.NaN;
const stageMessage = (build: BuildBody, name: string) =>
  build.stages.find((stage) => stage.name === name)?.message ?? '';
const stageTimes = (build: BuildBody) =>
  build.stages
    .filter((stage) => stage.startTime && stage.endTime)
    .map(
      (stage) =>
        `${stage.name} ${((Date.parse(stage.endTime!) - Date.parse(stage.startTime!)) / 1000).toFixed(1)}s`,
    )
    .join(', ');

try {
  console.log(
    `fixture: ${repo.projectCount} projects (${repo.testCount} tests); warm-up, then ${runs} run(s)`,
  );
  const warmUp = await nodeBuild();
  console.log(`warm-up (first Incremental build, full): ${warmUp.seconds.toFixed(2)} s`);
  const times = {
    plainBuild: [] as number[],
    plainTest: [] as number[],
    noChange: [] as number[],
    oneFile: [] as number[],
  };
  let last: { noChange?: BuildBody; oneFile?: BuildBody } = {};
  for (let i = 0; i < runs; i++) {
    times.plainBuild.push(await plain(false));
    times.plainTest.push(await plain(true));
    const noChange = await nodeBuild();
    times.noChange.push(noChange.seconds);
    await changeOneFile();
    const oneFile = await nodeBuild();
    times.oneFile.push(oneFile.seconds);
    last = { noChange: noChange.build, oneFile: oneFile.build };
  }
  const baseline = median(times.plainBuild);
  const rows = [
    ['scenario', ...times.plainBuild.map((_, i) => `run ${i + 1} (s)`), 'median (s)', 'ratio'],
    ...(
      [
        ['plain dotnet build, no-op', times.plainBuild],
        ['plain dotnet build + test, no-op', times.plainTest],
        ['node Incremental, no change', times.noChange],
        ['node Incremental, one-file change', times.oneFile],
      ] as const
    ).map(([name, list]) => [
      name,
      ...list.map((seconds) => seconds.toFixed(2)),
      median(list).toFixed(2),
      (median(list) / baseline).toFixed(2),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows)
    console.log(`| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`);
  if (last.noChange) {
    console.log(`no change, Restore: ${stageMessage(last.noChange, 'Restore')}`);
    console.log(`no change, Test: ${stageMessage(last.noChange, 'Test')}`);
  }
  if (last.oneFile) console.log(`one-file change, Test: ${stageMessage(last.oneFile, 'Test')}`);
  if (last.noChange) console.log(`no change, stages: ${stageTimes(last.noChange)}`);
  if (last.oneFile) console.log(`one-file change, stages: ${stageTimes(last.oneFile)}`);
} finally {
  await node.stop();
  await rm(root, { recursive: true, force: true });
}
