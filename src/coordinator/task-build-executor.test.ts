import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type {
  ActionCacheEntry,
  SignedActionCacheEntry,
  TaskCache,
  TaskCacheLookup,
} from '../core/action-cache.js';
import type { BuildExecutionListener, BuildOutcome } from '../core/build-execution.js';
import { parseBuildRequest } from '../core/build-request.js';
import type { StageUpdate } from '../core/build-stages.js';
import type { InputDigest, TaskKind } from '../core/cache-key.js';
import { frameworksForSdks } from '../core/capabilities.js';
import {
  JobRejectedError,
  OperationAbortedError,
  PeerLostError,
  SourcePreparationError,
} from '../core/errors.js';
import type { TaskSpec } from '../core/job-messages.js';
import type { PeerDirectory, PreparedSources, SourcePreparer, TaskDispatcher } from '../core/mesh-ports.js';
import type {
  BuildRequest,
  ProducedArtifact,
  ReproducibilityReport,
  StageName,
  StageStatus,
  TaskTimelineEntry,
  TestResults,
} from '../core/models.js';
import type { PeerCandidate } from '../core/peer-selection.js';
import type { Logger } from '../core/ports.js';
import type { BuildPlanner, PlannedTask } from '../core/project-tasks.js';
import { TaskBuildExecutor, type TaskBuildExecutorOptions } from './task-build-executor.js';

// ---------------------------------------------------------------------------------------------
// Helpers and fakes
// ---------------------------------------------------------------------------------------------

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};

const hex = (text: string): string => createHash('sha256').update(text).digest('hex');
const treeOf = (project: string): string => hex(`tree ${project}`);

/** Rejects when `promise` has not settled within `ms`: every wait of this file is bounded. */
async function within<T>(promise: Promise<T>, what: string, ms = 2000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Lets every pending callback and promise reaction run (no clock involved). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Wakes waiters when something changed; they check their condition again. */
class Watch {
  private waiters: (() => void)[] = [];

  notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  until<T>(probe: () => T | undefined, what: string): Promise<T> {
    const poll = async (): Promise<T> => {
      for (;;) {
        const value = probe();
        if (value !== undefined) return value;
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
    };
    return within(poll(), what);
  }
}

function candidate(agentId: string, overrides: Partial<PeerCandidate> = {}): PeerCandidate {
  return {
    agentId,
    status: 'Idle',
    donationMode: 'Always',
    acceptingWork: true,
    freeSlots: 1,
    cpuUsage: 0,
    memoryUsage: 0,
    capabilities: {
      os: 'linux',
      buildableFrameworks: frameworksForSdks(['10.0.100']),
      installedTools: ['dotnet', 'git'],
    },
    ...overrides,
  };
}

class Directory implements PeerDirectory {
  readonly listeners: (() => void)[] = [];
  constructor(public peers: PeerCandidate[]) {}
  candidates(): PeerCandidate[] {
    return this.peers;
  }
  hostnameOf(agentId: string): string {
    return `host-${agentId}`;
  }
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
  /** A peer announced new state (a slot freed, a peer appeared or left). */
  announce(): void {
    for (const listener of this.listeners) listener();
  }
}

const A = 'src/A/A.csproj';
const B = 'src/B/B.csproj';
const C = 'src/C/C.csproj';
const D = 'src/D/D.csproj';
const E = 'src/E/E.csproj';
const T = 'tests/T/T.csproj';

function planned(
  kind: TaskKind,
  project: string,
  options: { after?: readonly PlannedTask[]; place?: string[]; cost?: number; frameworks?: string[] } = {},
): PlannedTask {
  const taskId = `${kind}:${project}`;
  const inputs: InputDigest[] = [{ kind: 'file', name: project, digest: hex(`input ${taskId}`) }];
  return {
    taskId,
    kind,
    project,
    dependencies: (options.after ?? []).map((task) => task.taskId),
    cacheKey: { key: hex(`key ${taskId}`), inputs },
    placeProjects: options.place ?? [],
    frameworks: options.frameworks ?? ['net10.0'],
    cost: options.cost ?? 1,
  };
}

const passedTests: TestResults = {
  total: 2,
  passed: 2,
  failed: 0,
  skipped: 0,
  durationMs: 40,
  failures: [],
};

function signedEntry(
  task: Pick<TaskSpec, 'kind' | 'project' | 'cacheKey'>,
  producedBy: string,
  overrides: Partial<ActionCacheEntry> = {},
): SignedActionCacheEntry {
  return {
    entry: {
      version: 1,
      cacheKey: task.cacheKey,
      kind: task.kind,
      project: task.project,
      producedBy,
      sdkVersion: '10.0.100',
      createdAt: '2025-01-01T00:00:00.000Z',
      outputTreeSha256: task.kind === 'build' ? treeOf(task.project) : null,
      artifacts: [],
      testResults: task.kind === 'test' ? passedTests : null,
      log: [],
      blobs: [],
      ...overrides,
    },
    signature: 'c2lnbmF0dXJl',
  };
}

/** How a dispatched task ends: 'succeed' reports the task's signed output first. */
type Settlement = 'succeed' | BuildOutcome | Error;

interface DispatchCall {
  peerId: string;
  taskId: string;
  attempt: number;
  place: { project: string; treeSha256: string }[];
  purpose: TaskSpec['purpose'];
  signal: AbortSignal;
  settled: boolean;
  settle(result: Settlement): void;
}

/**
 * Records every dispatch and ends it when the test says so (or at once through `decide`, a turn
 * later, as a real peer would). A dispatch whose signal aborts rejects as cancelled. Peers never
 * announce anything: the executor must start dependents on its own when a task ends.
 */
class FakeDispatcher implements TaskDispatcher {
  readonly calls: DispatchCall[] = [];
  readonly changes = new Watch();
  maxConcurrent = 0;

  readonly requests: BuildRequest[] = [];

  constructor(
    private readonly directory: Directory,
    private readonly decide?: (call: DispatchCall) => Settlement | undefined,
    /** The output tree a peer's build of a project reports; default the same on every peer. */
    private readonly outputTree?: (peerId: string, project: string) => string,
  ) {}

  run(
    peerId: string,
    job: { request: BuildRequest; attempt: number; source: PreparedSources; task: TaskSpec },
    { signal, listener }: { signal: AbortSignal; listener: BuildExecutionListener },
  ): Promise<BuildOutcome> {
    this.requests.push(job.request);
    return new Promise<BuildOutcome>((resolve, reject) => {
      const spec = job.task;
      const call: DispatchCall = {
        peerId,
        taskId: spec.taskId,
        attempt: job.attempt,
        place: spec.place.map((entry) => ({ ...entry })),
        purpose: spec.purpose,
        signal,
        settled: false,
        settle: (result) => {
          if (call.settled) return;
          call.settled = true;
          if (result === 'succeed') {
            listener.onLog('INFO', `${spec.kind} of ${spec.project} done`);
            if (spec.kind === 'test') listener.onTestResults(passedTests);
            const tree = spec.kind === 'build' ? this.outputTree?.(peerId, spec.project) : undefined;
            void listener.onTaskOutput?.(signedEntry(spec, peerId, tree ? { outputTreeSha256: tree } : {}));
            resolve({ status: 'Succeeded' });
          } else if (result instanceof Error) reject(result);
          else resolve(result);
          this.changes.notify();
        },
      };
      this.calls.push(call);
      this.maxConcurrent = Math.max(this.maxConcurrent, this.calls.filter((each) => !each.settled).length);
      if (signal.aborted) call.settle(new OperationAbortedError('cancelled'));
      signal.addEventListener('abort', () => call.settle(new OperationAbortedError('cancelled')), {
        once: true,
      });
      const decided = this.decide?.(call);
      if (decided !== undefined) setImmediate(() => call.settle(decided));
      this.changes.notify();
    });
  }

  /** The dispatch of `taskId` (its `nth` one, counting from 0), once it happened. */
  waitFor(taskId: string, nth = 0): Promise<DispatchCall> {
    return this.changes.until(
      () => this.calls.filter((call) => call.taskId === taskId)[nth],
      `dispatch #${nth + 1} of ${taskId}`,
    );
  }

  order(): string[] {
    return this.calls.map((call) => call.taskId);
  }
}

class FakeCache implements TaskCache {
  readonly lookups: string[] = [];
  readonly recorded: { signed: SignedActionCacheEntry; inputs: readonly InputDigest[] }[] = [];
  constructor(
    private readonly answers = new Map<string, TaskCacheLookup | Error>(),
    private readonly recordError?: Error,
  ) {}

  /** The repository each lookup and record named (marks are per repository). */
  readonly repositories: (string | undefined)[] = [];

  lookup(query: {
    cacheKey: { key: string };
    kind: TaskKind;
    project: string;
    repositoryUrl?: string;
  }): Promise<TaskCacheLookup> {
    this.lookups.push(`${query.kind}:${query.project}`);
    this.repositories.push(query.repositoryUrl);
    const answer = this.answers.get(query.cacheKey.key) ?? {
      hit: false,
      explanation: 'no entry for this project yet',
    };
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  }

  record(
    signed: SignedActionCacheEntry,
    inputs: readonly InputDigest[],
    repositoryUrl?: string,
  ): Promise<void> {
    this.recorded.push({ signed, inputs });
    this.repositories.push(repositoryUrl);
    return this.recordError ? Promise.reject(this.recordError) : Promise.resolve();
  }
}

function recorder() {
  const logs: string[] = [];
  const stages: StageUpdate[] = [];
  const timeline: TaskTimelineEntry[] = [];
  const tests: TestResults[] = [];
  const artifacts: ProducedArtifact[] = [];
  const changes = new Watch();
  const listener: BuildExecutionListener = {
    onLog: (level, message) => logs.push(`${level}: ${message}`),
    onStage: (update) => stages.push(update),
    onCommit: () => undefined,
    onDiagnostics: () => undefined,
    onTestResults: (results) => tests.push(results),
    onArtifact: (artifact) => artifacts.push(artifact),
    onTask: (entry) => {
      timeline.push(entry);
      changes.notify();
    },
  };
  const historyOf = (taskId: string) => timeline.filter((entry) => entry.taskId === taskId);
  const last = (taskId: string): TaskTimelineEntry => {
    const entry = historyOf(taskId).at(-1);
    if (!entry) throw new Error(`no timeline entry for ${taskId}`);
    return entry;
  };
  /** Where in the sequence of task events `taskId` first reached `status` (-1: never). */
  const indexOf = (taskId: string, status: TaskTimelineEntry['status']) =>
    timeline.findIndex((entry) => entry.taskId === taskId && entry.status === status);
  const finalStages = (): Partial<Record<StageName, StageStatus>> =>
    Object.fromEntries(stages.map((update) => [update.name, update.status]));
  const lastStage = (name: StageName) => stages.filter((update) => update.name === name).at(-1);
  const until = (taskId: string, status: TaskTimelineEntry['status']) =>
    changes.until(() => (indexOf(taskId, status) >= 0 ? true : undefined), `${taskId} to be ${status}`);
  return {
    logs,
    stages,
    timeline,
    tests,
    artifacts,
    listener,
    historyOf,
    last,
    indexOf,
    finalStages,
    lastStage,
    until,
  };
}

function makeRequest(fields: Record<string, unknown> = {}): BuildRequest {
  return parseBuildRequest(
    {
      repositoryUrl: 'file:///tmp/r.git',
      gitRef: 'main',
      solutionPath: 'App.sln',
      strategy: 'Distributed',
      ...fields,
    },
    {
      newId: () => '00000000-0000-4000-8000-000000000009',
      now: new Date('2025-01-01T00:00:00Z'),
      runnableStrategies: ['Distributed', 'Cached'],
    },
  );
}

const prepared: PreparedSources = {
  manifestSha256: hex('manifest'),
  commit: 'b'.repeat(40),
  frameworks: ['net10.0'],
};

interface SetupOptions {
  tasks: PlannedTask[];
  peers?: PeerCandidate[];
  decide?: (call: DispatchCall) => Settlement | undefined;
  cache?: FakeCache;
  planner?: BuildPlanner;
  sources?: SourcePreparer;
  options?: Partial<TaskBuildExecutorOptions>;
  outputTree?: (peerId: string, project: string) => string;
}

function setup(setupOptions: SetupOptions) {
  const directory = new Directory(setupOptions.peers ?? [candidate('p1'), candidate('p2')]);
  const dispatcher = new FakeDispatcher(directory, setupOptions.decide, setupOptions.outputTree);
  let plans = 0;
  let tick = 0;
  const executor = new TaskBuildExecutor({
    localAgentId: 'self',
    peers: directory,
    sources: setupOptions.sources ?? { prepare: () => Promise.resolve(prepared) },
    planner: setupOptions.planner ?? {
      plan: () => {
        plans++;
        return Promise.resolve({
          tasks: setupOptions.tasks,
          sdkVersion: '10.0.100',
          projectCount: new Set(setupOptions.tasks.map((task) => task.project)).size,
        });
      },
    },
    dispatcher,
    ...(setupOptions.cache ? { cache: setupOptions.cache } : {}),
    logger: silent,
    retryDelaysMs: [0, 0],
    declineBackoffMs: 5,
    // A clock that moves one second per reading: every timestamp is distinct and ordered.
    now: () => new Date(Date.UTC(2025, 0, 1, 0, 0, tick++)),
    ...setupOptions.options,
  });
  const start = (request: BuildRequest = makeRequest(), signal = new AbortController().signal) => {
    const rec = recorder();
    const outcome = executor.execute(request, { signal, listener: rec.listener });
    return { rec, outcome: within(outcome, 'the build to finish') };
  };
  return { executor, directory, dispatcher, start, plans: () => plans };
}

const succeedAll = (): Settlement => 'succeed';

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('TaskBuildExecutor', () => {
  describe('scheduling', () => {
    // A ← B, A ← C, {B, C} ← D (a test project), then the tests of D.
    const buildA = planned('build', A);
    const buildB = planned('build', B, { after: [buildA], place: [A] });
    const buildC = planned('build', C, { after: [buildA], place: [A] });
    const buildD = planned('build', T, { after: [buildB, buildC], place: [A, B, C] });
    const testD = planned('test', T, { after: [buildD], place: [A, B, C, T], cost: 2 });
    const diamond = [buildA, buildB, buildC, buildD, testD];

    it('runs a diamond on two peers, each task after its references, with their output trees placed', async () => {
      const { start, dispatcher } = setup({ tasks: diamond, decide: succeedAll });
      const { rec, outcome } = start();

      expect(await outcome).toEqual({ status: 'Succeeded' });

      // Every task once, first attempt; B and C ran side by side on the two peers.
      expect([...dispatcher.order()].sort()).toEqual(diamond.map((task) => task.taskId).sort());
      expect(dispatcher.calls.every((call) => call.attempt === 1)).toBe(true);
      expect(dispatcher.maxConcurrent).toBe(2);
      const peerOf = (taskId: string) => dispatcher.calls.find((call) => call.taskId === taskId)?.peerId;
      expect(new Set([peerOf(buildB.taskId), peerOf(buildC.taskId)])).toEqual(new Set(['p1', 'p2']));

      // Started only once every dependency had succeeded.
      for (const task of diamond) {
        const started = rec.indexOf(task.taskId, 'Running');
        expect(started).toBeGreaterThanOrEqual(0);
        for (const dependency of task.dependencies)
          expect(rec.indexOf(dependency, 'Succeeded')).toBeLessThan(started);
      }

      // Placed: the output trees the dispatcher reported for the references, in plan order.
      const placeOf = (taskId: string) => dispatcher.calls.find((call) => call.taskId === taskId)?.place;
      expect(placeOf(buildA.taskId)).toEqual([]);
      expect(placeOf(buildB.taskId)).toEqual([{ project: A, treeSha256: treeOf(A) }]);
      expect(placeOf(buildD.taskId)).toEqual(
        [A, B, C].map((project) => ({ project, treeSha256: treeOf(project) })),
      );
      expect(placeOf(testD.taskId)).toEqual(
        [A, B, C, T].map((project) => ({ project, treeSha256: treeOf(project) })),
      );

      // The timeline: first every task Pending, in plan order; at the end each one Succeeded.
      expect(
        rec.timeline
          .slice(0, diamond.length)
          .map((entry) => `${entry.taskId}:${entry.status}:${entry.attempt}:${entry.cache}`),
      ).toEqual(diamond.map((task) => `${task.taskId}:Pending:0:off`));
      for (const task of diamond) {
        const entry = rec.last(task.taskId);
        expect(entry).toMatchObject({
          taskId: task.taskId,
          kind: task.kind,
          project: task.project,
          status: 'Succeeded',
          attempt: 1,
          cache: 'off',
          cacheKey: task.cacheKey.key,
          agentId: peerOf(task.taskId),
          hostname: `host-${peerOf(task.taskId)}`,
          outputTreeSha256: task.kind === 'build' ? treeOf(task.project) : null,
          message: null,
        });
        expect(entry.queuedAt).not.toBeNull();
        expect(entry.startTime).not.toBeNull();
        expect(entry.endTime).not.toBeNull();
        expect((entry.queuedAt ?? '') <= (entry.startTime ?? '')).toBe(true);
        expect((entry.startTime ?? '') < (entry.endTime ?? '')).toBe(true);
      }

      // Stages open as their first task starts and close Succeeded.
      expect(rec.stages.filter((update) => update.status === 'Running').map((update) => update.name)).toEqual(
        ['Restore', 'Build', 'Test'],
      );
      expect(rec.finalStages()).toEqual({
        Restore: 'Succeeded',
        Build: 'Succeeded',
        Test: 'Succeeded',
        Package: 'Succeeded',
        Upload: 'Succeeded',
      });
      expect(rec.lastStage('Build')?.message).toBe('4 project(s) built');
      expect(rec.lastStage('Test')?.message).toBe('2 test(s) in 1 project(s)');
      expect(rec.tests.at(-1)).toMatchObject({ total: 2, passed: 2 });

      // Task output goes to the build log, prefixed with the project and the host.
      const host = `host-${peerOf(buildA.taskId)}`;
      expect(rec.logs).toContain(`INFO: [A@${host}] build of ${A} done`);
      expect(rec.logs).toContain(
        'INFO: Planned 4 project(s) as 5 task(s) (4 build, 1 test) with SDK 10.0.100; schedule critical-path',
      );
    });

    it('starts the ready task that heads the longest remaining path first', async () => {
      // Plan order and ids both favour A; the chain Z1 → Z2 → Z3 is longer.
      const short = planned('build', A);
      const z1 = planned('build', 'src/Z1/Z1.csproj');
      const z2 = planned('build', 'src/Z2/Z2.csproj', { after: [z1], place: ['src/Z1/Z1.csproj'] });
      const z3 = planned('build', 'src/Z3/Z3.csproj', {
        after: [z2],
        place: ['src/Z1/Z1.csproj', 'src/Z2/Z2.csproj'],
      });
      const chain = setup({ tasks: [short, z1, z2, z3], peers: [candidate('p1')], decide: succeedAll });
      expect(await chain.start().outcome).toEqual({ status: 'Succeeded' });
      // Both ready at the start: Z1 (remaining path 3) goes before A (1).
      expect(chain.dispatcher.order()[0]).toBe(z1.taskId);
      expect([...chain.dispatcher.order()].sort()).toEqual([short, z1, z2, z3].map((task) => task.taskId));
      expect(chain.dispatcher.maxConcurrent).toBe(1);

      // Costs count, not the number of tasks: one costly task beats a chain of cheap ones.
      const costly = planned('build', 'src/Z9/Z9.csproj', { cost: 5 });
      const weighted = setup({ tasks: [z1, z2, z3, costly], peers: [candidate('p1')], decide: succeedAll });
      expect(await weighted.start().outcome).toEqual({ status: 'Succeeded' });
      expect(weighted.dispatcher.order()[0]).toBe(costly.taskId);
    });

    describe('a level-1 task while a level-0 task still runs and a slot is free', () => {
      const big = planned('build', 'src/Big/Big.csproj', { cost: 5 });
      const small = planned('build', 'src/Small/Small.csproj');
      const next = planned('build', 'src/Next/Next.csproj', { after: [small], place: [small.project] });

      it('waits with schedule waves', async () => {
        const { start, dispatcher } = setup({ tasks: [big, small, next] });
        const { rec, outcome } = start(makeRequest({ schedule: 'waves' }));
        const bigCall = await dispatcher.waitFor(big.taskId);
        const smallCall = await dispatcher.waitFor(small.taskId);
        smallCall.settle('succeed');
        await rec.until(small.taskId, 'Succeeded');
        await flush();
        await flush();
        expect(dispatcher.order()).toEqual([big.taskId, small.taskId]);
        expect(rec.last(next.taskId).status).toBe('Pending');

        bigCall.settle('succeed');
        const nextCall = await dispatcher.waitFor(next.taskId);
        expect(rec.indexOf(next.taskId, 'Running')).toBeGreaterThan(rec.indexOf(big.taskId, 'Succeeded'));
        nextCall.settle('succeed');
        expect(await outcome).toEqual({ status: 'Succeeded' });
        expect(rec.logs.some((line) => line.endsWith('schedule waves'))).toBe(true);
      });

      it('starts at once with the critical path', async () => {
        const { start, dispatcher } = setup({ tasks: [big, small, next] });
        const { rec, outcome } = start();
        const bigCall = await dispatcher.waitFor(big.taskId);
        (await dispatcher.waitFor(small.taskId)).settle('succeed');
        const nextCall = await dispatcher.waitFor(next.taskId);
        expect(bigCall.settled).toBe(false);
        expect(rec.last(big.taskId).status).toBe('Running');
        nextCall.settle('succeed');
        bigCall.settle('succeed');
        expect(await outcome).toEqual({ status: 'Succeeded' });
      });
    });

    it('fails a task that no peer can build, naming the missing SDK', async () => {
      const old = planned('build', A, { frameworks: ['net99.0'] });
      const after = planned('build', B, { after: [old], place: [A] });
      const { start, dispatcher } = setup({ tasks: [old, after], decide: succeedAll });
      const { rec, outcome } = start();
      expect(await outcome).toEqual({
        status: 'Failed',
        errorMessage:
          '1 task(s) failed: A (build): No peer can run this task: no peer with a .NET SDK for net99.0 online',
        failureKind: 'infrastructure',
      });
      expect(dispatcher.calls).toEqual([]);
      expect(rec.last(after.taskId)).toMatchObject({
        status: 'Skipped',
        message: 'Not run: A (build) failed',
      });
    });
  });

  describe('build failures', () => {
    const buildA = planned('build', A);
    const buildB = planned('build', B, { cost: 0.5 });
    const buildC = planned('build', C, { after: [buildA], place: [A] });
    const buildD = planned('build', D, { after: [buildB], place: [B] });
    const buildE = planned('build', E, { after: [buildC], place: [A, C] });
    const compileError: BuildOutcome = {
      status: 'Failed',
      errorMessage: '1 error(s): CS1002: ; expected',
      failureKind: 'build',
    };

    it('stop the build by default: running tasks are aborted, the rest Skipped', async () => {
      const { start, dispatcher } = setup({ tasks: [buildA, buildB, buildC, buildD] });
      const { rec, outcome } = start();
      const callA = await dispatcher.waitFor(buildA.taskId);
      const callB = await dispatcher.waitFor(buildB.taskId);
      expect(callB.signal.aborted).toBe(false);
      callA.settle(compileError);

      expect(await outcome).toEqual({
        status: 'Failed',
        errorMessage: '1 task(s) failed: A (build): 1 error(s): CS1002: ; expected',
        failureKind: 'build',
      });
      expect(callB.signal.aborted).toBe(true);
      expect(dispatcher.order()).toEqual([buildA.taskId, buildB.taskId]);
      expect(rec.last(buildA.taskId)).toMatchObject({
        status: 'Failed',
        message: '1 error(s): CS1002: ; expected',
        agentId: callA.peerId,
      });
      expect(rec.last(buildB.taskId).status).toBe('Cancelled');
      expect(rec.last(buildC.taskId)).toMatchObject({
        status: 'Skipped',
        message: 'Not run: A (build) failed',
      });
      expect(rec.last(buildD.taskId)).toMatchObject({
        status: 'Skipped',
        message: `Not run: stopped after ${buildA.taskId} failed`,
      });
      expect(rec.logs).toContain(`ERROR: ${buildA.taskId} failed: 1 error(s): CS1002: ; expected`);
      expect(rec.lastStage('Build')).toMatchObject({ status: 'Failed', message: '1 task(s) failed: A' });
    });

    it('with continueOnError, finish the independent branch and skip only the dependents', async () => {
      const { start, dispatcher } = setup({
        tasks: [buildA, buildB, buildC, buildD, buildE],
        decide: (call) => (call.taskId === buildA.taskId ? compileError : 'succeed'),
      });
      const { rec, outcome } = start(makeRequest({ continueOnError: true }));

      expect(await outcome).toEqual({
        status: 'Failed',
        errorMessage: '1 task(s) failed: A (build): 1 error(s): CS1002: ; expected',
        failureKind: 'build',
      });
      expect([...dispatcher.order()].sort()).toEqual([buildA.taskId, buildB.taskId, buildD.taskId].sort());
      expect(dispatcher.calls.every((call) => !call.signal.aborted)).toBe(true);
      expect(rec.last(buildB.taskId).status).toBe('Succeeded');
      expect(rec.last(buildD.taskId)).toMatchObject({ status: 'Succeeded', outputTreeSha256: treeOf(D) });
      for (const skipped of [buildC, buildE])
        expect(rec.last(skipped.taskId)).toMatchObject({
          status: 'Skipped',
          message: 'Not run: A (build) failed',
          startTime: null,
        });
      expect(rec.lastStage('Build')).toMatchObject({ status: 'Failed', message: '1 task(s) failed: A' });
    });
  });

  describe('infrastructure failures', () => {
    it('retry on another peer after the configured delay, as attempt 2', async () => {
      const buildA = planned('build', A);
      const { start, dispatcher } = setup({
        tasks: [buildA],
        decide: (call) =>
          call.peerId === 'p1' ? new PeerLostError('p1', 'connection to p1 lost') : 'succeed',
        options: { retryDelaysMs: [5, 7] },
      });
      const { rec, outcome } = start();

      expect(await outcome).toEqual({ status: 'Succeeded' });
      expect(dispatcher.calls.map((call) => `${call.attempt}:${call.peerId}`)).toEqual(['1:p1', '2:p2']);
      expect(
        rec.historyOf(buildA.taskId).map((entry) => `${entry.status}:${entry.attempt}:${entry.agentId}`),
      ).toEqual([
        'Pending:0:null',
        'Pending:0:null',
        'Running:1:p1',
        'Pending:1:p1',
        'Running:2:p2',
        'Succeeded:2:p2',
      ]);
      expect(rec.historyOf(buildA.taskId)[3]?.message).toBe('Attempt 1 failed: connection to p1 lost');
      expect(rec.last(buildA.taskId)).toMatchObject({ hostname: 'host-p2', message: null });
      expect(rec.logs).toContain(
        'WARN: [A@host-p1] attempt 1 failed: connection to p1 lost. Retrying on another peer in 0.005s',
      );
    });

    it('fail the build after maxAttempts, each attempt on a new peer', async () => {
      const buildA = planned('build', A);
      const buildB = planned('build', B, { after: [buildA], place: [A] });
      const { start, dispatcher } = setup({
        tasks: [buildA, buildB],
        peers: [candidate('p1'), candidate('p2'), candidate('p3'), candidate('p4')],
        decide: (call) =>
          call.peerId === 'p2'
            ? { status: 'Failed', errorMessage: 'the agent crashed', failureKind: 'infrastructure' }
            : new PeerLostError(call.peerId, `lost ${call.peerId}`),
        options: { retryDelaysMs: [5, 7] },
      });
      const { rec, outcome } = start();

      expect(await outcome).toEqual({
        status: 'Failed',
        errorMessage: '1 task(s) failed: A (build): lost p3',
        failureKind: 'infrastructure',
      });
      expect(dispatcher.calls.map((call) => `${call.attempt}:${call.peerId}`)).toEqual([
        '1:p1',
        '2:p2',
        '3:p3',
      ]);
      expect(rec.logs.filter((line) => line.startsWith('WARN'))).toEqual([
        'WARN: [A@host-p1] attempt 1 failed: lost p1. Retrying on another peer in 0.005s',
        'WARN: [A@host-p2] attempt 2 failed: the agent crashed. Retrying on another peer in 0.007s',
      ]);
      expect(rec.last(buildA.taskId)).toMatchObject({ status: 'Failed', attempt: 3, agentId: 'p3' });
      expect(rec.last(buildB.taskId)).toMatchObject({
        status: 'Skipped',
        message: 'Not run: A (build) failed',
      });
    });

    it('fail early when every capable peer has failed the task', async () => {
      const buildA = planned('build', A);
      const { start, dispatcher } = setup({
        tasks: [buildA],
        decide: (call) => new PeerLostError(call.peerId, `lost ${call.peerId}`),
        options: { maxAttempts: 5 },
      });
      const { outcome } = start();
      expect(await outcome).toEqual({
        status: 'Failed',
        errorMessage:
          '1 task(s) failed: A (build): No peer can run this task: no Linux peer online (after 2 attempt(s); last: lost p2)',
        failureKind: 'infrastructure',
      });
      expect(dispatcher.calls.map((call) => call.peerId)).toEqual(['p1', 'p2']);
    });
  });

  describe('a peer that declines', () => {
    it('does not use up an attempt; the task goes to another peer', async () => {
      const buildA = planned('build', A);
      const { start, dispatcher } = setup({
        tasks: [buildA],
        decide: (call) => (call.peerId === 'p1' ? new JobRejectedError('p1', 'no free slot') : 'succeed'),
      });
      const { rec, outcome } = start();
      expect(await outcome).toEqual({ status: 'Succeeded' });
      expect(dispatcher.calls.map((call) => `${call.attempt}:${call.peerId}`)).toEqual(['1:p1', '1:p2']);
      expect(rec.last(buildA.taskId)).toMatchObject({ status: 'Succeeded', attempt: 1, agentId: 'p2' });
      expect(rec.logs).toContain('INFO: [A@host-p1] declined: no free slot; trying another peer');
    });

    it('gets the task again after the backoff when it is the only peer', async () => {
      const buildA = planned('build', A);
      let declined = false;
      const { start, dispatcher } = setup({
        tasks: [buildA],
        peers: [candidate('p1')],
        decide: () => {
          if (declined) return 'succeed';
          declined = true;
          return new JobRejectedError('p1', 'busy');
        },
        options: { declineBackoffMs: 5 },
      });
      const { rec, outcome } = start();
      expect(await outcome).toEqual({ status: 'Succeeded' });
      expect(dispatcher.calls.map((call) => `${call.attempt}:${call.peerId}`)).toEqual(['1:p1', '1:p1']);
      expect(rec.last(buildA.taskId)).toMatchObject({ status: 'Succeeded', attempt: 1 });
    });
  });

  describe('the action cache', () => {
    const buildA = planned('build', A);
    const buildT = planned('build', T, { after: [buildA], place: [A] });
    const testT = planned('test', T, { after: [buildT], place: [A, T] });
    const tasks = [buildA, buildT, testT];
    const trx: ProducedArtifact = {
      name: 'T.trx',
      path: 'tests/T/TestResults/T.trx',
      sizeBytes: 10,
      contentType: 'application/xml',
      sha256Hash: hex('trx'),
      createdAt: '2025-01-01T00:00:00.000Z',
    };
    const cachedTests: TestResults = {
      total: 3,
      passed: 2,
      failed: 0,
      skipped: 1,
      durationMs: 9,
      failures: [],
    };

    it('replays hits without dispatching them and builds and records the misses (Cached)', async () => {
      const cache = new FakeCache(
        new Map<string, TaskCacheLookup>([
          [
            buildA.cacheKey.key,
            {
              hit: true,
              source: 'p2',
              signed: signedEntry({ ...buildA, cacheKey: buildA.cacheKey.key }, 'p3', {
                log: ['Build succeeded.', '    0 Warning(s)'],
              }),
            },
          ],
          [buildT.cacheKey.key, { hit: false, explanation: 'inputs changed: tests/T/UnitTest1.cs' }],
          [
            testT.cacheKey.key,
            {
              hit: true,
              source: 'local',
              signed: signedEntry({ ...testT, cacheKey: testT.cacheKey.key }, 'p1', {
                log: ['Passed!  - Failed: 0, Passed: 2, Skipped: 1'],
                testResults: cachedTests,
                artifacts: [trx],
              }),
            },
          ],
        ]),
      );
      const { start, dispatcher } = setup({ tasks, cache, decide: succeedAll });
      const { rec, outcome } = start(makeRequest({ strategy: 'Cached' }));

      expect(await outcome).toEqual({ status: 'Succeeded' });
      expect(cache.lookups).toEqual([buildA.taskId, buildT.taskId, testT.taskId]);

      // Only the miss ran, with the hit's output tree placed.
      expect(dispatcher.order()).toEqual([buildT.taskId]);
      expect(dispatcher.calls[0]?.place).toEqual([{ project: A, treeSha256: treeOf(A) }]);
      expect(cache.recorded).toHaveLength(1);
      expect(cache.recorded[0]?.signed.entry).toMatchObject({
        cacheKey: buildT.cacheKey.key,
        project: T,
        outputTreeSha256: treeOf(T),
      });
      expect(cache.recorded[0]?.inputs).toEqual(buildT.cacheKey.inputs);

      // Hits replay their log, tests and artifacts.
      expect(rec.logs).toContain('INFO: [A@host-p2 cached] Build succeeded.');
      expect(rec.logs).toContain('INFO: [A@host-p2 cached]     0 Warning(s)');
      expect(rec.logs).toContain('INFO: [T@host-self cached] Passed!  - Failed: 0, Passed: 2, Skipped: 1');
      expect(rec.tests.at(-1)).toMatchObject({ total: 3, passed: 2, skipped: 1 });
      expect(rec.artifacts).toEqual([trx]);
      expect(rec.logs).toContain('INFO: Action cache: 2 of 3 task(s) were hits');

      expect(rec.last(buildA.taskId)).toMatchObject({
        status: 'Succeeded',
        cache: 'hit',
        agentId: 'p2',
        hostname: 'host-p2',
        attempt: 0,
        outputTreeSha256: treeOf(A),
        message: 'Outputs from the action cache (built by host-p3)',
        missReason: null,
      });
      expect(rec.last(testT.taskId)).toMatchObject({
        status: 'Succeeded',
        cache: 'hit',
        agentId: 'self',
        hostname: 'host-self',
      });
      expect(rec.last(buildT.taskId)).toMatchObject({
        status: 'Succeeded',
        cache: 'miss',
        missReason: 'inputs changed: tests/T/UnitTest1.cs',
        attempt: 1,
        agentId: dispatcher.calls[0]?.peerId,
        outputTreeSha256: treeOf(T),
      });
      expect(rec.lastStage('Build')).toMatchObject({
        status: 'Succeeded',
        message: '2 project(s) built (1 from the cache)',
      });
      expect(rec.lastStage('Test')).toMatchObject({
        status: 'Succeeded',
        message: '3 test(s) in 1 project(s) (1 from the cache)',
      });
    });

    it('treats a failed lookup as a miss, and a failed record only warns', async () => {
      const cache = new FakeCache(
        new Map([[buildA.cacheKey.key, new Error('peer p2 timed out')]]),
        new Error('disk full'),
      );
      const { start, dispatcher } = setup({ tasks: [buildA], cache, decide: succeedAll });
      const { rec, outcome } = start(makeRequest({ strategy: 'Cached' }));
      expect(await outcome).toEqual({ status: 'Succeeded' });
      expect(dispatcher.order()).toEqual([buildA.taskId]);
      expect(rec.last(buildA.taskId)).toMatchObject({
        status: 'Succeeded',
        cache: 'miss',
        missReason: 'the lookup failed: peer p2 timed out',
      });
      expect(cache.recorded).toHaveLength(1);
      expect(rec.logs).toContain(`WARN: Could not record the cache entry of ${buildA.taskId}: disk full`);
    });

    it.each([
      { what: 'Cached with forceClean', fields: { strategy: 'Cached', forceClean: true } },
      { what: 'Distributed', fields: { strategy: 'Distributed' } },
    ])('does no lookups but records every output ($what)', async ({ fields }) => {
      const cache = new FakeCache();
      const { start, dispatcher } = setup({ tasks, cache, decide: succeedAll });
      const { rec, outcome } = start(makeRequest(fields));
      expect(await outcome).toEqual({ status: 'Succeeded' });
      expect(cache.lookups).toEqual([]);
      expect(dispatcher.order()).toEqual(tasks.map((task) => task.taskId));
      expect(cache.recorded.map((record) => record.signed.entry.cacheKey)).toEqual(
        tasks.map((task) => task.cacheKey.key),
      );
      expect(cache.recorded.map((record) => record.inputs)).toEqual(
        tasks.map((task) => task.cacheKey.inputs),
      );
      for (const task of tasks)
        expect(rec.last(task.taskId)).toMatchObject({ cache: 'off', missReason: null });
      expect(rec.logs.some((line) => line.includes('Action cache:'))).toBe(false);
    });
  });

  describe('cancel and early failures', () => {
    const buildA = planned('build', A);
    const buildB = planned('build', B, { after: [buildA], place: [A] });

    it('cancels the running task and dispatches nothing more when the signal aborts', async () => {
      const { start, dispatcher } = setup({ tasks: [buildA, buildB], peers: [candidate('p1')] });
      const controller = new AbortController();
      const { rec, outcome } = start(makeRequest(), controller.signal);
      const callA = await dispatcher.waitFor(buildA.taskId);
      controller.abort();

      expect(await outcome).toEqual({
        status: 'Cancelled',
        errorMessage: 'Build cancelled',
        failureKind: 'build',
      });
      expect(callA.signal.aborted).toBe(true);
      expect(dispatcher.order()).toEqual([buildA.taskId]);
      expect(rec.last(buildA.taskId).status).toBe('Cancelled');
      expect(rec.last(buildB.taskId)).toMatchObject({ status: 'Cancelled', message: 'Build cancelled' });
      expect(rec.finalStages()).toMatchObject({ Restore: 'Cancelled', Build: 'Cancelled' });
    });

    it('reports a timeout from the signal as TimedOut', async () => {
      const { start, dispatcher } = setup({ tasks: [buildA, buildB], peers: [candidate('p1')] });
      const controller = new AbortController();
      const { outcome } = start(makeRequest(), controller.signal);
      await dispatcher.waitFor(buildA.taskId);
      controller.abort(new OperationAbortedError('timeout'));
      expect(await outcome).toEqual({
        status: 'TimedOut',
        errorMessage: 'Build timed out after 60 minute(s)',
        failureKind: 'build',
      });
      expect(dispatcher.calls).toHaveLength(1);
    });

    it('fails with the planner message and skips the later stages when planning fails', async () => {
      const { start, dispatcher } = setup({
        tasks: [],
        planner: {
          plan: () => Promise.reject(new Error('MSB4025: The project file could not be loaded')),
        },
      });
      const { rec, outcome } = start();
      expect(await outcome).toEqual({
        status: 'Failed',
        errorMessage: 'Planning failed: MSB4025: The project file could not be loaded',
        failureKind: 'build',
      });
      expect(dispatcher.calls).toEqual([]);
      expect(rec.logs).toContain('ERROR: Planning failed: MSB4025: The project file could not be loaded');
      expect(rec.stages.map((update) => `${update.name}:${update.status}`)).toEqual([
        'Restore:Failed',
        'Build:Skipped',
        'Test:Skipped',
        'Package:Skipped',
        'Upload:Skipped',
      ]);
      expect(rec.lastStage('Build')?.message).toBe('Not run: planning failed');
    });

    it('reports a cancel during planning as Cancelled', async () => {
      const controller = new AbortController();
      const { start } = setup({
        tasks: [],
        planner: {
          plan: () => {
            controller.abort();
            return Promise.reject(new OperationAbortedError('cancelled'));
          },
        },
      });
      const { rec, outcome } = start(makeRequest(), controller.signal);
      expect(await outcome).toMatchObject({ status: 'Cancelled' });
      expect(rec.stages).toEqual([]);
    });

    it('fails as a build failure without planning when the sources cannot be prepared', async () => {
      const { start, plans, dispatcher } = setup({
        tasks: [buildA],
        sources: { prepare: () => Promise.reject(new SourcePreparationError('Clone failed: no such ref')) },
      });
      const { outcome } = start();
      expect(await outcome).toEqual({
        status: 'Failed',
        errorMessage: 'Clone failed: no such ref',
        failureKind: 'build',
      });
      expect(plans()).toBe(0);
      expect(dispatcher.calls).toEqual([]);
    });
  });

  describe('verify', () => {
    // A ← B. B copies A.dll into its bin; A's own build is deterministic, B's is not.
    const buildA = planned('build', A);
    const buildB = planned('build', B, { after: [buildA], place: [A] });
    const testB = planned('test', B, { after: [buildB], place: [A, B] });
    const trees = new Map<string, { path: string; sha256: string }[]>();
    /** A's outputs are the same everywhere; B's dll (and the copy of A in its bin) differ per peer. */
    const outputTree = (peerId: string, project: string): string => {
      const stable = project === A;
      const tree = hex(`tree ${project}${stable ? '' : ` on ${peerId}`}`);
      const dir = project.slice(0, project.lastIndexOf('/'));
      const name = dir.slice(dir.lastIndexOf('/') + 1);
      const files = [
        { path: `${dir}/bin/Release/net10.0/${name}.dll`, sha256: hex(`${name}.dll${stable ? '' : peerId}`) },
        { path: `${dir}/obj/Release/net10.0/ref/${name}.dll`, sha256: hex(`ref ${name}`) },
      ];
      if (!stable) files.push({ path: `${dir}/bin/Release/net10.0/A.dll`, sha256: hex(`A copy ${peerId}`) });
      trees.set(tree, files);
      return tree;
    };
    const inspector = {
      listOutputTree: (tree: string) => {
        const files = trees.get(tree);
        return files ? Promise.resolve(files) : Promise.reject(new Error(`no tree ${tree}`));
      },
    };

    it('builds each project again on the other peer, cache off, and names the files that differ', async () => {
      const marked: [string, string[]][] = [];
      const { start, dispatcher } = setup({
        tasks: [buildA, buildB, testB],
        decide: succeedAll,
        outputTree,
        options: {
          inspector,
          onNotReproducible: (repositoryUrl, projects) => {
            marked.push([repositoryUrl, projects]);
          },
        },
      });
      let report: ReproducibilityReport | undefined;
      const { rec, outcome } = start(makeRequest({ verify: true }));
      rec.listener.onReproducibility = (found) => (report = found);
      expect(await outcome).toEqual({ status: 'Succeeded' });

      // Each build task ran twice, on two different peers; the test task once.
      const buildsOf = (taskId: string) => dispatcher.calls.filter((call) => call.taskId === taskId);
      for (const taskId of [buildA.taskId, buildB.taskId]) {
        const calls = buildsOf(taskId);
        expect(calls).toHaveLength(2);
        expect(new Set(calls.map((call) => call.peerId)).size).toBe(2);
        // The second build used the same reference outputs as the first, in a workspace of its own.
        expect(calls[1]!.place).toEqual(calls[0]!.place);
        expect(calls.map((call) => call.purpose)).toEqual([undefined, 'verify']);
      }
      expect(buildsOf(testB.taskId)).toHaveLength(1);
      // Deterministic properties and the commit went to every peer.
      for (const request of dispatcher.requests)
        expect(request.job.buildProperties).toMatchObject({
          ContinuousIntegrationBuild: 'true',
          Deterministic: 'true',
          SourceRevisionId: prepared.commit,
        });

      expect(report).toMatchObject({ reproducible: false });
      // B's own dll differs; the copy of A in B's bin is A's to answer for, and A is identical.
      expect(report!.differences).toEqual([
        { project: 'src/B', file: 'bin/Release/net10.0/B.dll', reason: 'content differs' },
      ]);
      expect(new Set(report!.checkedOn)).toEqual(new Set(['p1', 'p2']));
      expect(marked).toEqual([['file:///tmp/r.git', ['src/B']]]);
      expect(rec.last('verify:src/A/A.csproj')).toMatchObject({ kind: 'verify', status: 'Succeeded' });
      expect(rec.last('verify:src/B/B.csproj')).toMatchObject({
        kind: 'verify',
        status: 'Failed',
        message: expect.stringContaining('bin/Release/net10.0/B.dll'),
      });
      expect(
        rec.logs.some((line) => line.startsWith('WARN: Not reproducible: src/B: bin/Release/net10.0/B.dll')),
      ).toBe(true);
      // The build's own outcome and stages only count the first builds.
      expect(rec.finalStages()).toMatchObject({ Build: 'Succeeded', Test: 'Succeeded' });
    });

    it('reports identical outputs as reproducible and marks nothing', async () => {
      const marked: string[][] = [];
      const { start } = setup({
        tasks: [buildA],
        decide: succeedAll,
        outputTree: (peerId, project) => outputTree('same', project),
        options: { inspector, onNotReproducible: (_url, projects) => void marked.push(projects) },
      });
      let report: ReproducibilityReport | undefined;
      const { rec, outcome } = start(makeRequest({ verify: true }));
      rec.listener.onReproducibility = (found) => (report = found);
      expect(await outcome).toEqual({ status: 'Succeeded' });
      expect(report).toMatchObject({ reproducible: true, differences: [] });
      expect(marked).toEqual([]);
    });

    it('checks a cache hit on a peer other than its producer', async () => {
      const hit = signedEntry({ ...buildA, cacheKey: buildA.cacheKey.key }, 'p1', {
        outputTreeSha256: outputTree('p1', A),
      });
      const cache = new FakeCache(new Map([[buildA.cacheKey.key, { hit: true, signed: hit, source: 'p1' }]]));
      const { start, dispatcher } = setup({
        tasks: [buildA],
        decide: succeedAll,
        cache,
        outputTree,
        options: { inspector },
      });
      let report: ReproducibilityReport | undefined;
      const { rec, outcome } = start(makeRequest({ strategy: 'Cached', verify: true }));
      rec.listener.onReproducibility = (found) => (report = found);
      expect(await outcome).toEqual({ status: 'Succeeded' });
      expect(rec.last(buildA.taskId)).toMatchObject({ cache: 'hit' });
      expect(dispatcher.calls.map((call) => `${call.taskId}@${call.peerId}`)).toEqual([
        `${buildA.taskId}@p2`,
      ]);
      expect(report).toMatchObject({ reproducible: true, checkedOn: ['p1', 'p2'] });
      // The lookup named the repository, so that marks of other repositories do not apply.
      expect(cache.repositories).toEqual(['file:///tmp/r.git']);
    });

    it('with one capable peer, says nothing could be compared; the build still succeeds', async () => {
      const { start } = setup({
        tasks: [buildA],
        peers: [candidate('p1')],
        decide: succeedAll,
        outputTree,
        options: { inspector },
      });
      let report: ReproducibilityReport | undefined;
      const { rec, outcome } = start(makeRequest({ verify: true }));
      rec.listener.onReproducibility = (found) => (report = found);
      expect(await outcome).toEqual({ status: 'Succeeded' });
      expect(report).toMatchObject({ reproducible: null, differences: [] });
      expect(report!.message).toContain('No project was built on a second peer');
      expect(rec.last('verify:src/A/A.csproj')).toMatchObject({ status: 'Skipped' });
      expect(rec.last('verify:src/A/A.csproj').message).toContain('no second peer');
    });

    it('tries the second build again when the peer declines it, and says so when outputs cannot be read', async () => {
      let declined = 0;
      const { start, dispatcher } = setup({
        tasks: [buildA],
        decide: (call) => {
          const nth = dispatcher.calls.filter((each) => each.taskId === call.taskId).indexOf(call);
          if (nth === 1 && declined++ === 0) return new JobRejectedError(call.peerId, 'no free slot');
          return 'succeed';
        },
        outputTree: (peerId, project) => hex(`unknown tree ${project} ${peerId}`),
        options: { inspector },
      });
      let report: ReproducibilityReport | undefined;
      const { rec, outcome } = start(makeRequest({ verify: true }));
      rec.listener.onReproducibility = (found) => (report = found);
      expect(await outcome).toEqual({ status: 'Succeeded' });
      const calls = dispatcher.calls.map((call) => call.peerId);
      // First build, the declined second build, then the second build on the same other peer.
      expect(calls).toHaveLength(3);
      expect(calls[1]).toBe(calls[2]);
      expect(calls[0]).not.toBe(calls[1]);
      expect(rec.last('verify:src/A/A.csproj')).toMatchObject({
        status: 'Failed',
        message: expect.stringContaining('Could not compare the outputs'),
      });
      expect(report).toMatchObject({ reproducible: null });
    });

    it('ends when a peer declines a second build after the build stopped, and queues none after it', async () => {
      const buildC = planned('build', C);
      let verifyStarted: () => void = () => undefined;
      const verifyArrived = new Promise<void>((resolve) => (verifyStarted = resolve));
      let letVerifyDecline: () => void = () => undefined;
      const verifyGate = new Promise<void>((resolve) => (letVerifyDecline = resolve));
      let letCFinish: () => void = () => undefined;
      const cGate = new Promise<void>((resolve) => (letCFinish = resolve));
      const purposes: (string | undefined)[] = [];
      // Like the mesh's job protocol, nothing here listens to the abort: answers come late.
      const dispatcher: TaskDispatcher = {
        run: (peerId, job, { listener }) => {
          purposes.push(job.task.purpose);
          if (job.task.purpose === 'verify') {
            verifyStarted();
            return verifyGate.then(() => Promise.reject(new JobRejectedError(peerId, 'no free slot')));
          }
          const succeed = (): BuildOutcome => {
            void listener.onTaskOutput?.(signedEntry(job.task, peerId));
            return { status: 'Succeeded' };
          };
          if (job.task.project === A) return Promise.resolve(succeed());
          // C's success only comes back after B failed and stopped the build.
          if (job.task.project === C) return cGate.then(succeed);
          return verifyArrived.then(() => ({
            status: 'Failed',
            errorMessage: 'CS1002',
            failureKind: 'build',
          }));
        },
      };
      const { start } = setup({
        tasks: [buildA, planned('build', B), buildC],
        peers: [candidate('p1'), candidate('p2'), candidate('p3'), candidate('p4')],
        options: { dispatcher, inspector },
      });
      const { rec, outcome } = start(makeRequest({ verify: true }));
      await rec.until(buildB.taskId, 'Failed');
      letCFinish();
      await flush();
      letVerifyDecline();
      expect(await outcome).toMatchObject({ status: 'Failed' });
      expect(rec.last('verify:src/A/A.csproj')).toMatchObject({ status: 'Skipped' });
      // C succeeded after the stop: no second build of it was queued.
      expect(rec.historyOf('verify:src/C/C.csproj')).toEqual([]);
      expect(purposes.filter((purpose) => purpose === 'verify')).toHaveLength(1);
    });

    it('reports second builds no peer takes as not checked, and the build still succeeds', async () => {
      const { start } = setup({
        tasks: [buildA],
        decide: (call) => (call.purpose === 'verify' ? new JobRejectedError(call.peerId, 'busy') : 'succeed'),
        outputTree,
        options: { inspector, verifyWaitMs: 50 },
      });
      let report: ReproducibilityReport | undefined;
      const { rec, outcome } = start(makeRequest({ verify: true }));
      rec.listener.onReproducibility = (found) => (report = found);
      expect(await outcome).toEqual({ status: 'Succeeded' });
      expect(rec.last('verify:src/A/A.csproj')).toMatchObject({
        status: 'Skipped',
        message: expect.stringContaining('no second peer took it within'),
      });
      expect(report).toMatchObject({ reproducible: null });
    });

    it('counts a second build that fails to compile as a difference, and retries a lost peer elsewhere', async () => {
      const { start, dispatcher } = setup({
        tasks: [buildA, buildB],
        peers: [candidate('p1'), candidate('p2'), candidate('p3')],
        decide: (call) => {
          const nth = dispatcher.calls.filter((each) => each.taskId === call.taskId).indexOf(call);
          if (nth === 0) return 'succeed';
          // A's second build: the peer is lost once, then another peer builds it.
          if (call.taskId === buildA.taskId)
            return nth === 1 ? new PeerLostError(call.peerId, 'gone') : 'succeed';
          return { status: 'Failed', errorMessage: 'CS0246 on this peer', failureKind: 'build' };
        },
        outputTree: (peerId, project) => outputTree('same', project),
        options: { inspector },
      });
      let report: ReproducibilityReport | undefined;
      const { rec, outcome } = start(makeRequest({ verify: true }));
      rec.listener.onReproducibility = (found) => (report = found);
      expect(await outcome).toEqual({ status: 'Succeeded' });
      const peersOfA = dispatcher.calls
        .filter((call) => call.taskId === buildA.taskId)
        .map((call) => call.peerId);
      expect(peersOfA).toHaveLength(3);
      expect(new Set(peersOfA).size).toBe(3);
      expect(report!.differences).toEqual([
        { project: 'src/B', file: '(build)', reason: expect.stringContaining('CS0246 on this peer') },
      ]);
    });
  });

  describe('checkStart', () => {
    it('is ready with a free capable peer, and says why not otherwise', () => {
      const request = makeRequest();
      const check = (peers: PeerCandidate[]) => setup({ tasks: [], peers }).executor.checkStart(request);
      expect(check([candidate('p1', { freeSlots: 0 }), candidate('p2')])).toEqual({ ready: true });
      expect(check([candidate('p1', { freeSlots: 0, status: 'Building' })])).toEqual({
        ready: false,
        reason: 'every capable peer is busy',
      });
      expect(
        check([
          candidate('p1', {
            capabilities: { os: 'linux', buildableFrameworks: [], installedTools: ['git'] },
          }),
        ]),
      ).toEqual({ ready: false, reason: 'no peer with a .NET SDK online' });
      expect(check([candidate('p1', { status: 'Offline' })])).toEqual({
        ready: false,
        reason: 'no Linux peer online',
      });
      expect(check([candidate('p1', { status: 'Maintenance' })])).toMatchObject({ ready: false });
    });

    it('reports capacity changes from the peer directory', () => {
      const { executor, directory } = setup({ tasks: [], peers: [] });
      let changed = 0;
      executor.onCapacityChange(() => changed++);
      directory.announce();
      expect(changed).toBe(1);
    });
  });
});
