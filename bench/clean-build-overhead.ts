/**
 * Overhead of a node's Clean build against plain dotnet on the same commit, in the same run.
 *
 *   npm run bench:overhead [-- --runs 3]
 *
 * Node:     POST a Clean build (clone, restore --force, build --no-incremental, test) and wait for it.
 * Baseline: git clone + dotnet restore + dotnet build --no-restore + dotnet test --no-build, in a fresh folder.
 * Runs alternate (baseline, node, baseline, node…) after one warm-up of each, so both see the same caches.
 */
import '../src/host/polyfills.js';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { generateSolutionRepo } from '../test/fixtures/generate-solution.js';
import { api, startTestNode, waitForBuild } from '../test/helpers/node-harness.js';

const exec = promisify(execFile);
const DOTNET_ENV = {
  ...process.env,
  DOTNET_CLI_TELEMETRY_OPTOUT: '1',
  DOTNET_NOLOGO: '1',
  DOTNET_SKIP_FIRST_TIME_EXPERIENCE: '1',
};

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Math.max(1, Math.min(10, Number(values.runs)));

const root = await mkdtemp(join(tmpdir(), 'buildmesh-bench-'));
const repo = await generateSolutionRepo({ root, width: 3, depth: 3, app: false, name: 'bench' });
const node = await startTestNode({ dataDir: join(root, 'node') });

async function timeBaseline(index: number): Promise<number> {
  const dir = join(root, `baseline-${index}`);
  const started = performance.now();
  await exec('git', ['clone', '-q', '--', repo.repositoryUrl, dir]);
  const run = (args: string[]) =>
    exec('dotnet', args, { cwd: dir, env: DOTNET_ENV, maxBuffer: 64 * 1024 * 1024 });
  await run(['restore', repo.solutionPath, '--force']);
  await run(['build', repo.solutionPath, '-c', 'Release', '--no-restore', '--no-incremental']);
  await run(['test', repo.solutionPath, '-c', 'Release', '--no-build']);
  const seconds = (performance.now() - started) / 1000;
  await rm(dir, { recursive: true, force: true });
  return seconds;
}

async function timeNode(): Promise<number> {
  const started = performance.now();
  const submitted = await api<{ executionId: string }>(node.url, 'POST', '/api/v1/builds', {
    repositoryUrl: repo.repositoryUrl,
    gitRef: 'main',
    solutionPath: repo.solutionPath,
    strategy: 'Clean',
    publishArtifacts: false,
  });
  const build = await waitForBuild(node.url, submitted.body.executionId, 600_000);
  if (build.status !== 'Succeeded')
    throw new Error(`node build ${build.status}: ${build.errorMessage ?? ''}`);
  return (performance.now() - started) / 1000;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

try {
  console.log(
    `fixture: ${repo.projectCount} projects (${repo.testCount} tests); warm-up, then ${runs} alternating run(s)`,
  );
  await timeBaseline(0);
  await timeNode();
  const baseline: number[] = [];
  const nodeTimes: number[] = [];
  for (let i = 1; i <= runs; i++) {
    baseline.push(await timeBaseline(i));
    nodeTimes.push(await timeNode());
  }
  const rows = [
    ['run', 'plain dotnet (s)', 'node Clean build (s)', 'ratio'],
    ...baseline.map((b, i) => [
      String(i + 1),
      b.toFixed(2),
      (nodeTimes[i] ?? 0).toFixed(2),
      ((nodeTimes[i] ?? 0) / b).toFixed(3),
    ]),
    [
      'median',
      median(baseline).toFixed(2),
      median(nodeTimes).toFixed(2),
      (median(nodeTimes) / median(baseline)).toFixed(3),
    ],
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows)
    console.log(`| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`);
  console.log(`goal: ratio ≤ 1.10`);
} finally {
  await node.stop();
  await rm(root, { recursive: true, force: true });
}
