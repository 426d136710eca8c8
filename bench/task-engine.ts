/**
 * Task engine figures (Distributed and Cached builds), each against its baseline in the same run:
 *
 *   npm run bench:tasks [-- --runs 3 --rows 1,2,3]
 *
 * 1. Warm cache vs cold, one node: a Clean build of a medium fixture (the whole solution on one
 *    peer) is the baseline; a Distributed build then fills the action cache (timed, shown for
 *    information) and a Cached build of the same commit is the warm time. Also the warm build's hit
 *    count and where its time goes: clone, planning (Clone end → first task start), tasks.
 * 2. Overhead, one node: a Distributed build (no cache reads, a fresh data dir each time) against a
 *    plain `git clone` + `dotnet build -m <sln> -c Release` (restore included) of the same commit.
 * 3. Speedup: Distributed on a wide fixture with two peers, each node pinned to its own core
 *    (`taskset -c 0`, `taskset -c 1`; dotnet inherits the affinity), against one peer on one core.
 *    Then, for information, the machine's own ceiling for that: one library built by plain dotnet
 *    on one core alone against two such builds at once, one per core.
 *
 * Nodes are real `buildmesh node` processes on 127.0.0.1 without mDNS, with fresh data dirs. In rows
 * 1–2 the node has one build slot per core, so its tasks may use the cores `dotnet build -m` uses.
 * Mesh and baselines run dotnet with the same environment (this process's, plus what the node adds
 * for dotnet: `dotnetEnvironment`). Mesh times are wall clock from the POST until the build is seen
 * finished (polled every 100 ms); the breakdown comes from the build records. With `--runs n` each
 * measured build runs n times (alternating with its baseline) and the table shows medians; runs stop
 * early (keeping one) when the time budget is spent. Every loop is bounded in count and time.
 *
 * CPU accounting (Linux /proc): for every build and baseline, the CPU seconds of the node processes
 * themselves, of the rest this bench started (dotnet, MSBuild nodes, csc, git), and of everything
 * else on the machine meanwhile ("other load"), so a figure disturbed by other work shows it. The
 * source of `src/` is fingerprinted at the start and the end: the nodes run from source, and a
 * change during the run is reported as a problem.
 */
import '../src/host/polyfills.js';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { dotnetEnvironment } from '../src/agent/dotnet/dotnet-args.js';
import type { TaskTimelineEntry } from '../src/core/models.js';
import { generateSolutionRepo, type GeneratedRepo } from '../test/fixtures/generate-solution.js';
import type { BuildBody } from '../test/helpers/node-harness.js';
import { mintTokenFromDataDir } from '../src/host/jwt-secret.js';

const exec = promisify(execFile);
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = fileURLToPath(new URL('../src/host/cli.ts', import.meta.url));
const DOTNET_ENV = dotnetEnvironment(process.env);

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    rows: { type: 'string', default: '1,2,3' },
  },
});
const RUNS = clamp(Number(values.runs), 1, 5);
const ROWS = new Set(values.rows.split(',').map((row) => row.trim()));
/** Fixture of rows 1–2: 4 × 3 libraries, a test project per layer, an app: 16 projects. */
const MEDIUM = { width: 4, depth: 3 } as const;
/** Fixture of row 3: 12 × 2 libraries, no tests, no app: 24 independent-ish projects. */
const WIDE = { width: 12, depth: 2 } as const;
/** No new run (beyond the first of each measure) starts after this. */
const TIME_BUDGET_MS = 20 * 60_000;
/** One build, or one baseline, may take this long. */
const BUILD_TIMEOUT_MS = 15 * 60_000;
const BENCH_STARTED = performance.now();

function clamp(value: number, min: number, max: number): number {
  return Number.isFinite(value) ? Math.min(max, Math.max(min, Math.floor(value))) : min;
}

const seconds = (ms: number) => ms / 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const withinBudget = () => performance.now() - BENCH_STARTED < TIME_BUDGET_MS;
const median = (list: readonly number[]): number => {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

// ---------------------------------------------------------------------------------------------
// CPU accounting and the source fingerprint

/** Clock ticks per second of /proc times (USER_HZ: 100 on Linux). */
const TICKS = 100;
const SAMPLE_EVERY_MS = 500;

/** A process's own CPU seconds (user + system, all threads), from `/proc/<pid>/stat`. */
async function processCpu(pid: number | 'self'): Promise<number> {
  const sample = parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  return sample.ticks / TICKS;
}

interface ProcessSample {
  ppid: number;
  /** utime + stime. */
  ticks: number;
  /** Start time, ticks after boot: with the pid, tells a reused pid apart. */
  started: number;
}

function parseStat(stat: string): ProcessSample {
  // After the command name (which may hold spaces), field n of proc(5) is at index n - 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3] ?? 0);
  return { ppid: field(4), ticks: field(14) + field(15), started: field(22) };
}

async function sampleProcesses(): Promise<Map<number, ProcessSample>> {
  const samples = new Map<number, ProcessSample>();
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  await Promise.all(
    pids.map(async (pid) => {
      try {
        samples.set(Number(pid), parseStat(await readFile(`/proc/${pid}/stat`, 'utf8')));
      } catch {
        // It exited meanwhile.
      }
    }),
  );
  return samples;
}

/** Busy CPU seconds of the whole machine, all cores (`/proc/stat`). */
async function machineBusy(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICKS;
}

/** CPU seconds over one measured interval. */
interface CpuUse {
  /** The node processes' own CPU: coordination, hashing, the CAS, the mesh, the API. */
  node: number;
  /** The rest of what this bench started: dotnet, MSBuild nodes, csc, git. */
  tools: number;
  /** Busy CPU of processes this bench did not start: other work on the machine. */
  other: number;
}

/**
 * Starts counting; the returned function ends the interval. Every process is sampled twice a
 * second: a descendant of this bench is ours (and stays ours when orphaned: MSBuild worker nodes
 * outlive their `dotnet build`), anything else is other load. Ours = all busy CPU − other load, so
 * children nobody reaps are still counted; other load misses processes that live under 0.5 s.
 */
async function cpuMeter(nodePids: readonly number[]): Promise<() => Promise<CpuUse>> {
  const windowStart = Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]) * TICKS;
  const busyBefore = await machineBusy();
  const selfBefore = await processCpu('self');
  const nodesBefore = await Promise.all(nodePids.map((pid) => processCpu(pid)));
  const ours = new Set([process.pid]);
  const first = new Map<string, number>();
  const last = new Map<string, { ticks: number; ours: boolean }>();
  const observe = async () => {
    const samples = await sampleProcesses();
    const isOurs = (pid: number): boolean => {
      for (let at = pid, hops = 0; at > 1 && hops < 64; hops++) {
        if (ours.has(at)) return true;
        at = samples.get(at)?.ppid ?? 0;
      }
      return false;
    };
    for (const [pid, sample] of samples) {
      const key = `${pid}:${sample.started}`;
      const mine = (last.get(key)?.ours ?? false) || isOurs(pid);
      if (mine) ours.add(pid);
      if (!first.has(key)) first.set(key, sample.started >= windowStart ? 0 : sample.ticks);
      last.set(key, { ticks: sample.ticks, ours: mine });
    }
  };
  await observe();
  let running = true;
  const sampling = (async () => {
    const maxSamples = (BUILD_TIMEOUT_MS + 120_000) / SAMPLE_EVERY_MS;
    for (let count = 0; running && count < maxSamples; count++) {
      await sleep(SAMPLE_EVERY_MS);
      await observe().catch(() => undefined);
    }
  })();
  return async () => {
    running = false;
    await sampling;
    await observe();
    const busy = (await machineBusy()) - busyBefore;
    let other = 0;
    for (const [key, sample] of last) if (!sample.ours) other += sample.ticks - (first.get(key) ?? 0);
    other /= TICKS;
    const self = (await processCpu('self')) - selfBefore;
    const nodesAfter = await Promise.all(nodePids.map((pid) => processCpu(pid).catch(() => 0)));
    const node = nodesAfter.reduce(
      (sum, value, index) => sum + Math.max(0, value - (nodesBefore[index] ?? 0)),
      0,
    );
    return { node, tools: Math.max(0, busy - other - node - self), other };
  };
}

/** A digest of every file under `src/` (the nodes run it through tsx) and the HEAD it sits on. */
async function sourceStamp(): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(join(PROJECT_ROOT, 'src'), { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  for (const file of files) hash.update(file).update(await readFile(file));
  const head = await exec('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_ROOT, timeout: 30_000 })
    .then(({ stdout }) => stdout.trim())
    .catch(() => 'unknown');
  return `HEAD ${head}, src/ digest ${hash.digest('hex').slice(0, 12)} (${files.length} files)`;
}

// ---------------------------------------------------------------------------------------------
// Nodes

interface BenchNode {
  name: string;
  child: ChildProcess;
  url: string;
  agentId: string;
  output: string[];
}

const nodes = new Set<BenchNode>();
/** Admin tokens of the bench's nodes, by API URL (minted from each node's data dir). */
const tokens = new Map<string, string>();

function authorization(baseUrl: string): Record<string, string> {
  const token = tokens.get(baseUrl);
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Starts `buildmesh node` from source as its own process, on one core when `core` is given. */
async function startNode(
  name: string,
  dataDir: string,
  options: { core?: number; slots: number; joinCode?: string },
): Promise<BenchNode> {
  const nodeArgs = [
    '--import',
    'tsx',
    CLI,
    'node',
    '--data-dir',
    dataDir,
    '--api-port',
    '0',
    '--log-level',
    'warn',
    '--mesh-listen',
    '/ip4/127.0.0.1/tcp/0',
    '--mesh-mdns',
    'false',
    '--presence-interval-ms',
    '500',
    '--peer-offline-after-ms',
    '4000',
    '--max-concurrent-builds',
    String(options.slots),
    ...(options.joinCode ? ['--join', options.joinCode] : []),
  ];
  // taskset execs node, so the child's pid is the node's, and dotnet inherits the affinity.
  const child =
    options.core === undefined
      ? spawn(process.execPath, nodeArgs, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('taskset', ['-c', String(options.core), process.execPath, ...nodeArgs], {
          cwd: PROJECT_ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  const output: string[] = [];
  const keep = (line: string) => {
    output.push(line);
    if (output.length > 200) output.shift();
  };
  createInterface({ input: child.stderr }).on('line', keep);
  const node: BenchNode = { name, child, url: '', agentId: '', output };
  nodes.add(node);
  node.url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`node ${name} did not start in 60 s: ${output.join('\n')}`)),
      60_000,
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      keep(line);
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node ${name} exited with ${code}: ${output.join('\n')}`));
    });
  });
  const minted = await mintTokenFromDataDir(dataDir, 'Admin', 12 * 3600, 'bench');
  if (minted) tokens.set(node.url, minted.token);
  if (options.core !== undefined) {
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
    const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1];
    if (allowed !== String(options.core))
      throw new Error(`node ${name} runs on cores ${allowed ?? '?'}, not ${options.core}`);
  }
  const agents = await get<{ agents: { agentId: string; isLocal: boolean }[] }>(node.url, '/api/v1/agents');
  node.agentId = agents.agents.find((agent) => agent.isLocal)?.agentId ?? '';
  return node;
}

/** SIGTERM (the node cancels its builds, which kills their process groups), SIGKILL after 30 s. */
async function stopNode(node: BenchNode): Promise<void> {
  nodes.delete(node);
  const { child } = node;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

async function joinCodeOf(dataDir: string): Promise<string> {
  const { stdout } = await exec(
    process.execPath,
    ['--import', 'tsx', CLI, 'mesh', 'join-code', '--data-dir', dataDir],
    {
      cwd: PROJECT_ROOT,
      timeout: 60_000,
    },
  );
  return stdout.trim();
}

async function waitForIdleAgents(node: BenchNode, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { agents } = await get<{ agents: { status: string }[] }>(node.url, '/api/v1/agents');
    if (agents.filter((agent) => agent.status === 'Idle').length >= count) return;
    if (Date.now() > deadline) throw new Error(`${node.name} did not see ${count} idle agent(s) in 60 s`);
    await sleep(200);
  }
}

async function get<T>(baseUrl: string, path: string): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    headers: authorization(baseUrl),
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

// ---------------------------------------------------------------------------------------------
// Builds

interface BuildRecordBody extends BuildBody {
  queuedAt: string;
  startTime: string | null;
  endTime: string | null;
  timeline: TaskTimelineEntry[];
}

interface TimedBuild {
  label: string;
  wallMs: number;
  record: BuildRecordBody;
  cpu: CpuUse;
}

class BuildFailedError extends Error {
  constructor(
    message: string,
    readonly logTail: string,
  ) {
    super(message);
    this.name = 'BuildFailedError';
  }
}

const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled', 'TimedOut']);

/** POSTs a build and polls it every 100 ms until it ends; a build that does not succeed throws. */
async function timeBuild(
  label: string,
  node: BenchNode,
  repo: GeneratedRepo,
  body: Record<string, unknown>,
  /** Every node process the build may use (default: `node`). */
  involved: readonly BenchNode[] = [node],
): Promise<TimedBuild> {
  const meter = await cpuMeter(involved.map((each) => each.child.pid ?? 0));
  const started = performance.now();
  const response = await fetch(`${node.url}/api/v1/builds`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authorization(node.url) },
    body: JSON.stringify({
      repositoryUrl: repo.repositoryUrl,
      gitRef: repo.branch,
      solutionPath: repo.solutionPath,
      publishArtifacts: false,
      timeoutMinutes: BUILD_TIMEOUT_MS / 60_000,
      ...body,
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const submitted = (await response.json()) as { executionId?: string; message?: string };
  if (response.status !== 202 || !submitted.executionId)
    throw new Error(
      `${label}: the node refused the build (${response.status}): ${JSON.stringify(submitted)}`,
    );
  const path = `/api/v1/builds/${submitted.executionId}`;
  const deadline = Date.now() + BUILD_TIMEOUT_MS + 60_000;
  for (;;) {
    const record = await get<BuildRecordBody>(node.url, path);
    if (TERMINAL.has(record.status)) {
      const wallMs = performance.now() - started;
      const cpu = await meter();
      if (record.status !== 'Succeeded') {
        const log = await fetch(`${node.url}${path}/logs?follow=false`, {
          headers: authorization(node.url),
          signal: AbortSignal.timeout(30_000),
        })
          .then((logs) => logs.text())
          .catch((error: unknown) => `(no log: ${String(error)})`);
        throw new BuildFailedError(
          `${label}: build ${submitted.executionId} ${record.status}: ${record.errorMessage ?? ''}`,
          log.trimEnd().split('\n').slice(-40).join('\n'),
        );
      }
      return { label, wallMs, record, cpu };
    }
    if (Date.now() > deadline)
      throw new Error(`${label}: build ${submitted.executionId} did not finish in time`);
    await sleep(100);
  }
}

/** Plain dotnet on a fresh clone of the same commit: clone, `dotnet build -m` (restore included). */
async function timePlainBuild(repo: GeneratedRepo, dir: string): Promise<{ wallMs: number; cpu: CpuUse }> {
  const meter = await cpuMeter([]);
  const started = performance.now();
  await exec('git', ['clone', '-q', '--', repo.repositoryUrl, dir], { timeout: 120_000 });
  await exec('git', ['checkout', '-q', '--detach', repo.headCommit], { cwd: dir, timeout: 60_000 });
  await exec('dotnet', ['build', '-m', repo.solutionPath, '-c', 'Release'], {
    cwd: dir,
    env: DOTNET_ENV,
    maxBuffer: 64 * 1024 * 1024,
    timeout: BUILD_TIMEOUT_MS,
  });
  const wallMs = performance.now() - started;
  const cpu = await meter();
  await rm(dir, { recursive: true, force: true });
  return { wallMs, cpu };
}

const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : Number.NaN);

/** Where a build's time went, from its record (ms). */
interface Breakdown {
  queue: number;
  clone: number;
  /** Task builds: Clone end → first task start (materialise, MSBuild evaluation, keys). */
  planning: number;
  /** Task builds: first task start → last task end; whole builds: Clone end → last stage end. */
  work: number;
  /** Last task (or stage) end → the record's end. */
  after: number;
  record: number;
}

function breakdownOf(record: BuildRecordBody): Breakdown {
  const clone = record.stages.find((stage) => stage.name === 'Clone');
  const cloneEnd = ms(clone?.endTime);
  const starts = record.timeline.map((task) => ms(task.startTime)).filter(Number.isFinite);
  const ends = record.timeline.map((task) => ms(task.endTime)).filter(Number.isFinite);
  const stageEnds = record.stages.map((stage) => ms(stage.endTime)).filter(Number.isFinite);
  const end = ms(record.endTime);
  const isTaskBuild = record.timeline.length > 0;
  const firstTask = Math.min(...starts);
  const workEnd = isTaskBuild ? Math.max(...ends) : Math.max(...stageEnds);
  return {
    queue: ms(record.startTime) - ms(record.queuedAt),
    clone: cloneEnd - ms(clone?.startTime),
    planning: isTaskBuild ? firstTask - cloneEnd : Number.NaN,
    work: isTaskBuild ? workEnd - firstTask : workEnd - cloneEnd,
    after: end - workEnd,
    record: end - ms(record.queuedAt),
  };
}

function stageSummary(record: BuildRecordBody): string {
  return record.stages
    .filter((stage) => stage.startTime && stage.endTime)
    .map((stage) => `${stage.name} ${seconds(ms(stage.endTime) - ms(stage.startTime)).toFixed(1)} s`)
    .join(', ');
}

/**
 * Task figures: count, hits, busy time (sum of task durations), parallelism, and per peer the
 * number of tasks, the first task's duration (it also sets the workspace up and restores the
 * solution) and the others' mean.
 */
function taskSummary(record: BuildRecordBody, names: ReadonlyMap<string, string>): string {
  const tasks = record.timeline;
  if (tasks.length === 0) return '';
  const duration = (task: TaskTimelineEntry) => ms(task.endTime) - ms(task.startTime);
  const busy = tasks.reduce((sum, task) => sum + duration(task), 0);
  const span = breakdownOf(record).work;
  const perPeer = new Map<string, TaskTimelineEntry[]>();
  for (const task of [...tasks].sort((a, b) => ms(a.startTime) - ms(b.startTime))) {
    const peer = names.get(task.agentId ?? '') ?? task.hostname ?? task.agentId ?? '?';
    perPeer.set(peer, [...(perPeer.get(peer) ?? []), task]);
  }
  const byKind = (kind: TaskTimelineEntry['kind']) => tasks.filter((task) => task.kind === kind);
  const meanOf = (group: readonly TaskTimelineEntry[]) =>
    group.reduce((sum, task) => sum + duration(task), 0) / Math.max(1, group.length);
  const hits = tasks.filter((task) => task.cache === 'hit').length;
  const peers = [...perPeer].map(([peer, group]) => {
    const [first, ...rest] = group;
    return `${peer}: ${group.length} tasks, first ${seconds(first ? duration(first) : 0).toFixed(2)} s, others mean ${seconds(meanOf(rest)).toFixed(2)} s`;
  });
  return [
    `${tasks.length} tasks (${byKind('build').length} build, ${byKind('test').length} test, ${byKind('pack').length} pack)`,
    `cache hit ${hits}, miss ${tasks.filter((task) => task.cache === 'miss').length}, off ${tasks.filter((task) => task.cache === 'off').length}`,
    `task time ${seconds(busy).toFixed(1)} s over ${seconds(span).toFixed(1)} s (parallelism ${(busy / span).toFixed(2)})`,
    `mean build task ${seconds(meanOf(byKind('build'))).toFixed(2)} s` +
      (byKind('test').length > 0 ? `, test task ${seconds(meanOf(byKind('test'))).toFixed(2)} s` : ''),
    `per peer (${peers.join('; ')})`,
  ].join('; ');
}

// ---------------------------------------------------------------------------------------------
// The table

const table: string[][] = [['measure', 'build mesh', 'baseline', 'ratio', 'goal', 'met?']];
const breakdownRows: string[][] = [
  [
    'build',
    'wall (s)',
    'record (s)',
    'queue',
    'clone',
    'planning',
    'tasks / stages',
    'after',
    'CPU node',
    'CPU dotnet etc.',
    'other load',
    'notes',
  ],
];
const cpuCells = (cpu: CpuUse, wallMs: number) => [
  cpu.node.toFixed(1),
  cpu.tools.toFixed(1),
  `${cpu.other.toFixed(1)} s (${(cpu.other / seconds(wallMs)).toFixed(2)} cores)`,
];
const notes: string[] = [];
const problems: string[] = [];

const secondsCell = (list: readonly number[]) =>
  `${seconds(median(list)).toFixed(1)} s${list.length > 1 ? ` (median, n=${list.length})` : ''}`;

function addBreakdown(build: TimedBuild, names: ReadonlyMap<string, string>): void {
  const b = breakdownOf(build.record);
  const cell = (value: number) => (Number.isFinite(value) ? seconds(value).toFixed(2) : '-');
  breakdownRows.push([
    build.label,
    cell(build.wallMs),
    cell(b.record),
    cell(b.queue),
    cell(b.clone),
    cell(b.planning),
    cell(b.work),
    cell(b.after),
    ...cpuCells(build.cpu, build.wallMs),
    build.record.timeline.length > 0 ? '' : stageSummary(build.record),
  ]);
  const summary = taskSummary(build.record, names);
  if (summary) notes.push(`${build.label}: ${summary}`);
}

function addPlainBreakdown(label: string, plain: { wallMs: number; cpu: CpuUse }): void {
  breakdownRows.push([
    label,
    seconds(plain.wallMs).toFixed(2),
    '-',
    '-',
    '-',
    '-',
    '-',
    '-',
    '-',
    ...cpuCells(plain.cpu, plain.wallMs).slice(1),
    'git clone + dotnet build -m',
  ]);
}

function recordProblem(row: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  problems.push(
    `${row}: ${message}${error instanceof BuildFailedError ? `\n  log tail:\n    ${error.logTail.split('\n').join('\n    ')}` : ''}`,
  );
  table.push([row, 'FAILED', '-', '-', '-', 'no']);
}

function printTable(cells: string[][]): void {
  const widths = cells[0]!.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) =>
    `| ${widths.map((width, column) => (row[column] ?? '').padEnd(width)).join(' | ')} |`;
  console.log(line(cells[0]!));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of cells.slice(1)) console.log(line(row));
}

// ---------------------------------------------------------------------------------------------
// The rows

const root = await mkdtemp(join(tmpdir(), 'buildmesh-taskbench-'));
let cleaned = false;
async function cleanUp(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  await Promise.allSettled([...nodes].map((node) => stopNode(node)));
  await rm(root, { recursive: true, force: true, maxRetries: 3 });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    console.error(`${signal}: stopping the nodes and removing ${root}`);
    void cleanUp().finally(() => process.exit(130));
  });

let dirCounter = 0;
const freshDir = (prefix: string) => join(root, `${prefix}-${++dirCounter}`);

async function warmCacheRow(repo: GeneratedRepo): Promise<void> {
  const row = '1. warm Cached ÷ cold Clean (1 node)';
  const node = await startNode('node', freshDir('row1'), { slots: availableParallelism() });
  const names = new Map([[node.agentId, 'node']]);
  try {
    await waitForIdleAgents(node, 1);
    const cold: TimedBuild[] = [];
    const warm: TimedBuild[] = [];
    cold.push(await timeBuild('row 1 cold Clean', node, repo, { strategy: 'Clean' }));
    const fill = await timeBuild('row 1 fill Distributed', node, repo, { strategy: 'Distributed' });
    warm.push(await timeBuild('row 1 warm Cached', node, repo, { strategy: 'Cached' }));
    for (let run = 2; run <= RUNS && withinBudget(); run++) {
      cold.push(await timeBuild(`row 1 cold Clean #${run}`, node, repo, { strategy: 'Clean' }));
      warm.push(await timeBuild(`row 1 warm Cached #${run}`, node, repo, { strategy: 'Cached' }));
    }
    const coldMs = cold.map((build) => build.wallMs);
    const warmMs = warm.map((build) => build.wallMs);
    const ratio = median(warmMs) / median(coldMs);
    table.push([
      row,
      secondsCell(warmMs),
      secondsCell(coldMs),
      ratio.toFixed(3),
      '≤ 0.05',
      ratio <= 0.05 ? 'yes' : 'NO',
    ]);
    const last = warm[warm.length - 1]!.record.timeline;
    const hits = last.filter((task) => task.cache === 'hit').length;
    table.push([
      '1. warm build: action cache hits',
      `${hits}/${last.length} (${((100 * hits) / Math.max(1, last.length)).toFixed(0)}%)`,
      '-',
      '-',
      '100%',
      hits === last.length && last.length > 0 ? 'yes' : 'NO',
    ]);
    table.push([
      '1. (info) Distributed fill build ÷ cold Clean',
      secondsCell([fill.wallMs]),
      secondsCell(coldMs),
      (fill.wallMs / median(coldMs)).toFixed(3),
      '-',
      '-',
    ]);
    for (const build of [...cold, fill, ...warm]) addBreakdown(build, names);
  } finally {
    await stopNode(node);
  }
}

async function overheadRow(repo: GeneratedRepo): Promise<void> {
  const row = '2. Distributed ÷ plain dotnet build -m (1 node)';
  const mesh: TimedBuild[] = [];
  const baseline: number[] = [];
  const request = { strategy: 'Distributed', runTests: false, createPackages: false };
  for (let run = 1; run <= RUNS && (run === 1 || withinBudget()); run++) {
    const plain = await timePlainBuild(repo, freshDir('plain'));
    baseline.push(plain.wallMs);
    addPlainBreakdown(`row 2 baseline${run > 1 ? ` #${run}` : ''}`, plain);
    const node = await startNode('node', freshDir('row2'), { slots: availableParallelism() });
    try {
      await waitForIdleAgents(node, 1);
      const build = await timeBuild(`row 2 Distributed${run > 1 ? ` #${run}` : ''}`, node, repo, request);
      mesh.push(build);
      addBreakdown(build, new Map([[node.agentId, 'node']]));
    } finally {
      await stopNode(node);
    }
  }
  const meshMs = mesh.map((build) => build.wallMs);
  const ratio = median(meshMs) / median(baseline);
  table.push([
    row,
    secondsCell(meshMs),
    secondsCell(baseline),
    ratio.toFixed(3),
    '≤ 1.10',
    ratio <= 1.1 ? 'yes' : 'NO',
  ]);
}

async function speedupRow(repo: GeneratedRepo): Promise<number> {
  const row = '3. speedup: 1 peer ÷ 2 peers, 1 core each';
  const one: TimedBuild[] = [];
  const two: TimedBuild[] = [];
  const request = { strategy: 'Distributed', runTests: false, createPackages: false };
  for (let run = 1; run <= RUNS && (run === 1 || withinBudget()); run++) {
    const suffix = run > 1 ? ` #${run}` : '';
    const single = await startNode('solo', freshDir('row3-solo'), { core: 0, slots: 1 });
    try {
      await waitForIdleAgents(single, 1);
      const build = await timeBuild(`row 3 one peer (core 0)${suffix}`, single, repo, request);
      one.push(build);
      addBreakdown(build, new Map([[single.agentId, 'solo']]));
    } finally {
      await stopNode(single);
    }
    const aDir = freshDir('row3-a');
    const a = await startNode('a', aDir, { core: 0, slots: 1 });
    try {
      const b = await startNode('b', freshDir('row3-b'), {
        core: 1,
        slots: 1,
        joinCode: await joinCodeOf(aDir),
      });
      try {
        await waitForIdleAgents(a, 2);
        const build = await timeBuild(`row 3 two peers (cores 0, 1)${suffix}`, a, repo, request, [a, b]);
        two.push(build);
        addBreakdown(
          build,
          new Map([
            [a.agentId, 'a'],
            [b.agentId, 'b'],
          ]),
        );
      } finally {
        await stopNode(b);
      }
    } finally {
      await stopNode(a);
    }
  }
  const oneMs = one.map((build) => build.wallMs);
  const twoMs = two.map((build) => build.wallMs);
  const ratio = median(oneMs) / median(twoMs);
  table.push([
    row,
    secondsCell(twoMs),
    secondsCell(oneMs),
    ratio.toFixed(3),
    '≥ 1.7',
    ratio >= 1.7 ? 'yes' : 'NO',
  ]);
  return ratio;
}

/**
 * What two cores can give on this machine for this work, without the mesh: one library of the
 * wide fixture built with `dotnet build -m:1` pinned to core 0 alone, then two copies at once on
 * cores 0 and 1 (each in its own restored clone). 2 × alone ÷ together is the ceiling of row 3.
 */
async function coreCalibration(repo: GeneratedRepo, speedup: number): Promise<void> {
  const project = repo.libraryProjects[0] ?? '';
  const dirs = [freshDir('calibrate'), freshDir('calibrate')];
  for (const dir of dirs) {
    await exec('git', ['clone', '-q', '--', repo.repositoryUrl, dir], { timeout: 120_000 });
    await exec('dotnet', ['restore', project], { cwd: dir, env: DOTNET_ENV, timeout: BUILD_TIMEOUT_MS });
  }
  const buildOn = async (dir: string, core: number): Promise<number> => {
    const started = performance.now();
    await exec(
      'taskset',
      [
        '-c',
        String(core),
        'dotnet',
        'build',
        project,
        '-c',
        'Release',
        '--no-restore',
        '--no-incremental',
        '-m:1',
      ],
      { cwd: dir, env: DOTNET_ENV, maxBuffer: 64 * 1024 * 1024, timeout: BUILD_TIMEOUT_MS },
    );
    return performance.now() - started;
  };
  await buildOn(dirs[0]!, 0); // warm-up
  const alone: number[] = [];
  const together: number[] = [];
  for (let run = 0; run < 3; run++) {
    alone.push(await buildOn(dirs[0]!, 0));
    const pair = await Promise.all([buildOn(dirs[0]!, 0), buildOn(dirs[1]!, 1)]);
    together.push((pair[0] + pair[1]) / 2);
  }
  const ceiling = (2 * median(alone)) / median(together);
  table.push([
    '3. (info) machine ceiling: 2 × 1-core build alone ÷ 2 at once',
    `${seconds(median(together)).toFixed(2)} s (2 at once, n=3)`,
    `${seconds(median(alone)).toFixed(2)} s (alone, n=3)`,
    ceiling.toFixed(3),
    '-',
    '-',
  ]);
  notes.push(
    `machine ceiling (row 3): building ${project} with dotnet -m:1 takes ${seconds(median(alone)).toFixed(2)} s on one core alone and ${seconds(median(together)).toFixed(2)} s when both cores do the same, so two cores give at most ${ceiling.toFixed(2)}× one core for this work; the mesh's ${speedup.toFixed(2)}× is ${((100 * speedup) / ceiling).toFixed(0)}% of that`,
  );
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

async function requireTaskset(): Promise<void> {
  try {
    await exec('taskset', ['-c', '0', 'true'], { timeout: 10_000 });
  } catch (error) {
    throw new Error(
      `row 3 needs taskset (util-linux) to pin each node to one core: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (availableParallelism() < 2)
    throw new Error(`row 3 needs 2 cores; this machine has ${availableParallelism()}`);
}

const stampAtStart = await sourceStamp();
try {
  if (ROWS.has('3')) await requireTaskset();
  console.log(`source: ${stampAtStart}`);
  console.log(
    `Task engine bench: rows ${[...ROWS].sort().join(', ')}, up to ${RUNS} run(s) each; ${availableParallelism()} core(s); ` +
      `UseSharedCompilation=${process.env.UseSharedCompilation ?? '(unset)'}, MSBUILDDISABLENODEREUSE=${process.env.MSBUILDDISABLENODEREUSE ?? '(unset)'}, ` +
      `DOTNET_CLI_USE_MSBUILD_SERVER=${process.env.DOTNET_CLI_USE_MSBUILD_SERVER ?? '(unset)'} for the nodes and the baselines alike`,
  );
  const medium =
    ROWS.has('1') || ROWS.has('2')
      ? await generateSolutionRepo({ root, ...MEDIUM, name: 'medium' })
      : undefined;
  const wide = ROWS.has('3')
    ? await generateSolutionRepo({ root, ...WIDE, testProjects: false, app: false, name: 'wide' })
    : undefined;
  if (medium)
    console.log(
      `medium fixture (rows 1–2): width ${MEDIUM.width} × depth ${MEDIUM.depth}, ${medium.projectCount} projects (${medium.libraryProjects.length} libraries, ${medium.testProjects.length} test projects with ${medium.testCount} tests, 1 app)`,
    );
  if (wide)
    console.log(
      `wide fixture (row 3): width ${WIDE.width} × depth ${WIDE.depth}, ${wide.projectCount} libraries, no tests, no app`,
    );
  if (medium) {
    // Untimed: the first dotnet run of the bench pays for cold disk caches; neither side should.
    addPlainBreakdown('warm-up (not in the table)', await timePlainBuild(medium, freshDir('warm-up')));
  }
  if (medium && ROWS.has('1'))
    await warmCacheRow(medium).catch((error: unknown) => recordProblem('1. warm Cached ÷ cold Clean', error));
  if (medium && ROWS.has('2'))
    await overheadRow(medium).catch((error: unknown) =>
      recordProblem('2. Distributed ÷ plain dotnet', error),
    );
  if (wide && ROWS.has('3')) {
    const speedup = await speedupRow(wide).catch((error: unknown) => {
      recordProblem('3. speedup 1 peer ÷ 2 peers', error);
      return Number.NaN;
    });
    await coreCalibration(wide, speedup).catch((error: unknown) =>
      recordProblem('3. (info) machine ceiling', error),
    );
  }

  const stampAtEnd = await sourceStamp();
  const digestOf = (stamp: string) => stamp.replace(/^HEAD \S+, /, '');
  if (stampAtEnd !== stampAtStart) notes.push(`source at the end: ${stampAtEnd}`);
  if (digestOf(stampAtEnd) !== digestOf(stampAtStart))
    problems.push(
      `src/ changed during the run (nodes started later ran other code): ${stampAtStart} → ${stampAtEnd}`,
    );
  console.log('');
  printTable(table);
  console.log('');
  console.log('Where the time goes (s; from the build records; planning = Clone end → first task start):');
  console.log('');
  printTable(breakdownRows);
  console.log('');
  for (const note of notes) console.log(`- ${note}`);
  if (problems.length > 0) {
    console.log('\nProblems:');
    for (const problem of problems) console.log(`- ${problem}`);
  }
  console.log(`\ntotal bench time ${seconds(performance.now() - BENCH_STARTED).toFixed(0)} s`);
  if (problems.length > 0) process.exitCode = 1;
} finally {
  await cleanUp();
}
