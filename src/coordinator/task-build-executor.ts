import type { SignedActionCacheEntry, TaskCache } from '../core/action-cache.js';
import type {
  BuildExecutionListener,
  BuildExecutor,
  BuildOutcome,
  BuildRunOptions,
  StartCheck,
} from '../core/build-execution.js';
import { isStageEnabled } from '../core/build-stages.js';
import {
  compareProjectOutputs,
  deterministicRequest,
  projectDirectoryOf,
  type OutputInspector,
} from '../core/canary.js';
import { canBuildFramework } from '../core/capabilities.js';
import { JobRejectedError, OperationAbortedError, errorMessage } from '../core/errors.js';
import type { TaskSpec } from '../core/job-messages.js';
import type { PeerDirectory, PreparedSources, SourcePreparer, TaskDispatcher } from '../core/mesh-ports.js';
import type {
  BuildRequest,
  Diagnostic,
  LogLevel,
  OutputDifference,
  ReproducibilityReport,
  StageName,
  TaskTimelineEntry,
  TestResults,
} from '../core/models.js';
import { willingPeers, type PeerCandidate } from '../core/peer-selection.js';
import type { Logger } from '../core/ports.js';
import type { BuildPlanner, PlannedTask } from '../core/project-tasks.js';
import { DEFAULT_RETRY_DELAYS_MS } from '../core/retry.js';
import { createSchedulingPolicy, type FreePeer, type ReadyTask } from '../core/task-scheduler.js';
import {
  NOOP_TRACER,
  StageSpans,
  inSpan,
  recordOutcome,
  type TraceSpan,
  type Tracer,
} from '../core/tracing.js';
import { demandOf, outcomeOfError } from './mesh-build-executor.js';

export interface TaskBuildExecutorOptions {
  localAgentId: string;
  peers: PeerDirectory;
  sources: SourcePreparer;
  planner: BuildPlanner;
  dispatcher: TaskDispatcher;
  /** The action cache; without it nothing is looked up or recorded. */
  cache?: TaskCache;
  logger: Logger;
  retryDelaysMs?: readonly number[];
  maxAttempts?: number;
  /** How long a peer that declined a task is left alone. */
  declineBackoffMs?: number;
  now?: () => Date;
  /**
   * The build's stages as `BuildStage.*` spans, planning (`BuildOrchestrator.PlanTasks`), each
   * cache lookup (`BuildCache.Lookup`) and each task handed to a peer (`BuildOrchestrator.DispatchTask`,
   * whose traceparent the peer continues).
   */
  tracer?: Tracer;
  /** Reads output trees for `verify: true`; without it a verify build compares nothing. */
  inspector?: Pick<OutputInspector, 'listOutputTree'>;
  /**
   * Verify builds: how long second builds may wait for a free peer once the build's own tasks are
   * done; the rest are reported as not checked. Default 5 minutes.
   */
  verifyWaitMs?: number;
  /** Called with the projects a verify build found not reproducible: their entries are never served. */
  onNotReproducible?: (repositoryUrl: string, projects: string[]) => Promise<void> | void;
}

/**
 * Runs Distributed and Cached builds as project tasks (DESIGN.md §4): clones once, plans the
 * project graph, and schedules build, test and pack tasks onto capable peers as their references
 * finish, by critical path (or level by level with `schedule: waves`). Cached builds first look
 * each task up in the action cache; every build records what it produced. Infrastructure failures
 * retry a task on another peer (3 attempts, 2 s then 4 s); a build failure stops the build unless
 * `continueOnError`, in which case independent tasks finish and dependents are Skipped.
 *
 * With `verify: true` every project's build runs with the deterministic properties, and once it
 * succeeded (or came from the cache) a second peer builds it again, cache off, against the same
 * reference outputs; the two output trees are compared file by file.
 */
export class TaskBuildExecutor implements BuildExecutor {
  constructor(private readonly options: TaskBuildExecutorOptions) {}

  checkStart(request: BuildRequest): StartCheck {
    const found = willingPeers(this.options.peers.candidates(), demandOf(request, null));
    if ('reason' in found) return { ready: false, reason: found.reason };
    return found.willing.some((peer) => peer.freeSlots > 0)
      ? { ready: true }
      : { ready: false, reason: 'every capable peer is busy' };
  }

  onCapacityChange(listener: () => void): void {
    this.options.peers.onChange(listener);
  }

  async execute(
    request: BuildRequest,
    { signal, listener: outer, span }: BuildRunOptions,
  ): Promise<BuildOutcome> {
    const tracer = this.options.tracer ?? NOOP_TRACER;
    const stages = new StageSpans(tracer, span, outer);
    try {
      return await this.executeStages(request, signal, stages, span);
    } finally {
      stages.close();
    }
  }

  private async executeStages(
    submitted: BuildRequest,
    signal: AbortSignal,
    stages: StageSpans,
    span: TraceSpan | undefined,
  ): Promise<BuildOutcome> {
    const { listener } = stages;
    const tracer = this.options.tracer ?? NOOP_TRACER;
    let sources: PreparedSources;
    try {
      sources = await this.options.sources.prepare(submitted, { signal, listener });
    } catch (error) {
      return outcomeOfError(error, submitted, signal);
    }
    // Verify: outputs must not depend on the peer or the workspace (the agent adds a PathMap).
    const request = submitted.verify ? deterministicRequest(submitted, sources.commit) : submitted;
    if (request.verify)
      listener.onLog(
        'INFO',
        'Verify: each project is built again on a second peer with the cache off, and the two output trees are compared by sha256 (ContinuousIntegrationBuild, Deterministic, SourceRevisionId set)',
      );
    const now = () => (this.options.now ?? (() => new Date()))().toISOString();
    listener.onLog('INFO', `Planning the project graph of ${request.job.solutionPath}`);
    let tasks: PlannedTask[];
    try {
      const plan = await inSpan(
        tracer,
        'BuildOrchestrator.PlanTasks',
        { parent: span, attributes: { 'build.solution': request.job.solutionPath } },
        async (planSpan) => {
          const planned = await this.options.planner.plan(request, sources.manifestSha256, signal);
          planSpan.setAttributes({
            'build.projectCount': planned.projectCount,
            'build.taskCount': planned.tasks.length,
          });
          return planned;
        },
      );
      tasks = plan.tasks;
      const counts = countByKind(tasks);
      listener.onLog(
        'INFO',
        `Planned ${plan.projectCount} project(s) as ${tasks.length} task(s) (${counts}) with SDK ${plan.sdkVersion}; schedule ${request.schedule ?? 'critical-path'}`,
      );
    } catch (error) {
      if (signal.aborted) return outcomeOfError(error, request, signal);
      const message = `Planning failed: ${errorMessage(error)}`;
      listener.onLog('ERROR', message);
      const at = now();
      listener.onStage({ name: 'Restore', status: 'Failed', at, message });
      for (const name of ['Build', 'Test', 'Package', 'Upload'] as const)
        if (isStageEnabled(request.job, name))
          listener.onStage({ name, status: 'Skipped', at, message: 'Not run: planning failed' });
      return { status: 'Failed', errorMessage: message, failureKind: 'build' };
    }
    const run = new TaskRun(this.options, request, sources, tasks, signal, listener, now, {
      tracer,
      stages,
      span,
    });
    return run.execute();
  }
}

type TaskState =
  | 'waiting'
  | 'lookup'
  | 'ready'
  | 'running'
  | 'retry-wait'
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'cancelled';

interface TaskProgress {
  planned: PlannedTask;
  state: TaskState;
  attempt: number;
  excluded: Set<string>;
  entry: TaskTimelineEntry;
  lastFailure: string | null;
  failureKind: 'build' | 'infrastructure' | null;
}

const DONE_STATES: readonly TaskState[] = ['succeeded', 'failed', 'skipped', 'cancelled'];

/** The second build of one project in a verify build, on a peer other than the one that built it. */
interface Verification {
  planned: PlannedTask;
  /** The peer whose outputs are checked: the one that built them, or a cache entry's producer. */
  primaryPeer: string;
  primaryTree: string;
  place: { project: string; treeSha256: string }[];
  state: 'pending' | 'running' | 'done';
  attempt: number;
  /** The primary peer, and peers where an attempt failed. */
  excluded: Set<string>;
  lastFailure: string | null;
  entry: TaskTimelineEntry;
  /** The peer whose build was compared; null until then. */
  verifiedOn: string | null;
  differences: OutputDifference[];
}

/** The state of one task-engine build while it runs. */
class TaskRun {
  private readonly progress = new Map<string, TaskProgress>();
  private readonly dependents = new Map<string, string[]>();
  private readonly outputs = new Map<string, string>();
  /** Where each project's outputs already are, besides this node. */
  private readonly holders = new Map<string, Set<string>>();
  private readonly inFlight = new Map<string, number>();
  private readonly declinedUntil = new Map<string, number>();
  private readonly controller = new AbortController();
  private readonly policy;
  private readonly cacheReads: boolean;
  private readonly maxAttempts: number;
  private readonly delays: readonly number[];
  private wake: () => void = () => undefined;
  private stopped: string | null = null;
  private readonly tests: TestResults = {
    total: 0,
    passed: 0,
    failed: 0,
    skipped: 0,
    durationMs: 0,
    failures: [],
  };
  private readonly stageCounts = new Map<StageName, { warnings: number; errors: number }>();
  private readonly startedStages = new Set<StageName>();
  private artifactCount = 0;
  private cacheHits = 0;
  private readonly verifications = new Map<string, Verification>();
  /** When the build's own tasks were all done while second builds still waited (verify). */
  private ownTasksDoneAt: number | null = null;

  constructor(
    private readonly options: TaskBuildExecutorOptions,
    private readonly request: BuildRequest,
    private readonly sources: PreparedSources,
    tasks: readonly PlannedTask[],
    private readonly signal: AbortSignal,
    private readonly listener: BuildExecutionListener,
    private readonly now: () => string,
    private readonly trace: { tracer: Tracer; stages: StageSpans; span: TraceSpan | undefined },
  ) {
    this.policy = createSchedulingPolicy(
      { tasks: tasks.map((task) => ({ id: task.taskId, cost: task.cost, dependencies: task.dependencies })) },
      request.schedule ?? 'critical-path',
    );
    this.cacheReads = request.strategy === 'Cached' && !request.forceClean && options.cache !== undefined;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    for (const task of tasks) {
      this.progress.set(task.taskId, {
        planned: task,
        state: 'waiting',
        attempt: 0,
        excluded: new Set(),
        lastFailure: null,
        failureKind: null,
        entry: {
          taskId: task.taskId,
          kind: task.kind,
          project: task.project,
          status: 'Pending',
          agentId: null,
          hostname: null,
          queuedAt: null,
          startTime: null,
          endTime: null,
          attempt: 0,
          cache: 'off',
          cacheKey: task.cacheKey.key,
          missReason: null,
          message: null,
          outputTreeSha256: null,
        },
      });
      for (const dependency of task.dependencies)
        this.dependents.set(dependency, [...(this.dependents.get(dependency) ?? []), task.taskId]);
    }
  }

  async execute(): Promise<BuildOutcome> {
    for (const task of this.progress.values()) this.listener.onTask?.({ ...task.entry });
    const onAbort = () => {
      this.controller.abort(this.signal.reason);
      this.wake();
    };
    this.signal.addEventListener('abort', onAbort, { once: true });
    const unsubscribe = this.watchPeers();
    try {
      this.releaseReadyTasks();
      while (!this.allDone()) {
        const woken = new Promise<void>((resolve) => (this.wake = resolve));
        if (this.signal.aborted) {
          if (this.stopped !== 'cancelled') this.stop('cancelled');
        } else this.dispatch();
        if (this.allDone()) break;
        await woken;
      }
    } finally {
      this.signal.removeEventListener('abort', onAbort);
      unsubscribe();
    }
    if (this.request.verify && !this.signal.aborted) await this.reportReproducibility();
    return this.finish();
  }

  private watchPeers(): () => void {
    let active = true;
    this.options.peers.onChange(() => {
      if (active) this.wake();
    });
    return () => {
      active = false;
    };
  }

  private allDone(): boolean {
    for (const task of this.progress.values()) if (!DONE_STATES.includes(task.state)) return false;
    for (const verification of this.verifications.values()) if (verification.state !== 'done') return false;
    return true;
  }

  /** Tasks whose dependencies all succeeded become ready (or go to the cache first). */
  private releaseReadyTasks(): void {
    for (const task of this.progress.values()) {
      if (task.state !== 'waiting' || this.stopped) continue;
      const dependencies = task.planned.dependencies.map((id) => this.progress.get(id));
      if (!dependencies.every((dependency) => dependency?.state === 'succeeded')) continue;
      this.update(task, { queuedAt: this.now() });
      if (this.cacheReads) void this.lookUp(task);
      else task.state = 'ready';
    }
  }

  private async lookUp(task: TaskProgress): Promise<void> {
    const cache = this.options.cache;
    if (!cache) return;
    task.state = 'lookup';
    const { planned } = task;
    const started = this.now();
    const span = this.trace.tracer.startSpan('BuildCache.Lookup', {
      parent: this.trace.span,
      attributes: {
        'build.task.id': planned.taskId,
        'build.task.kind': planned.kind,
        'build.task.project': planned.project,
        'cache.key': planned.cacheKey.key,
      },
    });
    try {
      const found = await cache.lookup(
        {
          cacheKey: planned.cacheKey,
          kind: planned.kind,
          project: planned.project,
          repositoryUrl: this.request.job.repositoryUrl,
          traceparent: span.traceparent,
        },
        this.controller.signal,
      );
      span.setAttributes(
        found.hit
          ? { 'cache.hit': true, 'cache.source': found.source }
          : { 'cache.hit': false, 'cache.missReason': found.explanation.slice(0, 500) },
      );
      if (this.controller.signal.aborted) {
        task.state = 'cancelled';
        this.update(task, { status: 'Cancelled', endTime: this.now() });
      } else if (found.hit) {
        this.applyHit(task, found.signed, found.source, started);
      } else {
        task.state = 'ready';
        this.update(task, { cache: 'miss', missReason: found.explanation });
      }
    } catch (error) {
      span.fail(error);
      if (this.controller.signal.aborted) {
        task.state = 'cancelled';
        this.update(task, { status: 'Cancelled', endTime: this.now() });
      } else {
        task.state = 'ready';
        this.update(task, { cache: 'miss', missReason: `the lookup failed: ${errorMessage(error)}` });
      }
    } finally {
      span.end();
    }
    this.wake();
  }

  private applyHit(
    task: TaskProgress,
    signed: SignedActionCacheEntry,
    source: string,
    started: string,
  ): void {
    const { entry } = signed;
    const agentId = source === 'local' ? this.options.localAgentId : source;
    const hostname = this.options.peers.hostnameOf(agentId);
    this.markStageStarted(task.planned.kind);
    const prefix = `[${projectName(task.planned.project)}@${hostname} cached]`;
    for (const line of entry.log) this.listener.onLog('INFO', `${prefix} ${line}`);
    if (entry.testResults) this.addTests(entry.testResults);
    for (const artifact of entry.artifacts) {
      this.artifactCount++;
      this.listener.onArtifact(artifact);
    }
    if (entry.outputTreeSha256) this.outputs.set(task.planned.project, entry.outputTreeSha256);
    this.cacheHits++;
    task.state = 'succeeded';
    this.update(task, {
      status: 'Succeeded',
      cache: 'hit',
      outputTreeSha256: entry.outputTreeSha256,
      agentId,
      hostname,
      startTime: started,
      endTime: this.now(),
      message: `Outputs from the action cache (built by ${this.options.peers.hostnameOf(entry.producedBy)})`,
    });
    if (entry.outputTreeSha256) this.enqueueVerification(task, entry.producedBy, entry.outputTreeSha256);
    this.releaseReadyTasks();
  }

  private dispatch(): void {
    if (this.stopped) return;
    this.releaseReadyTasks();
    const candidates = this.options.peers.candidates();
    const ready: ReadyTask[] = [];
    const running: string[] = [];
    for (const task of this.progress.values()) {
      if (task.state === 'running' || task.state === 'retry-wait' || task.state === 'lookup')
        running.push(task.planned.taskId);
      if (task.state !== 'ready') continue;
      const eligible = this.eligiblePeers(task, candidates);
      if ('reason' in eligible) {
        this.fail(task, `No peer can run this task: ${eligible.reason}`, 'infrastructure');
        continue;
      }
      ready.push({
        id: task.planned.taskId,
        eligiblePeers: eligible.peers,
        preferredPeers: this.preferredPeers(task.planned),
      });
    }
    if (this.allDone()) return;
    const freePeers = this.freePeers(candidates);
    for (const assignment of this.policy.pickNext({ ready, running, freePeers })) {
      const task = this.progress.get(assignment.task);
      if (task) void this.runTask(task, assignment.peer);
    }
    // Second builds only take the slots the build's own tasks left free.
    this.dispatchVerifications(candidates);
  }

  private eligiblePeers(
    task: Pick<TaskProgress, 'planned' | 'excluded' | 'attempt' | 'lastFailure'>,
    candidates: readonly PeerCandidate[],
  ): { peers: string[] } | { reason: string } {
    const demand = { ...demandOf(this.request, null), frameworks: task.planned.frameworks };
    const found = willingPeers(candidates, demand, task.excluded);
    if ('reason' in found) {
      if (task.excluded.size > 0 && task.lastFailure)
        return { reason: `${found.reason} (after ${task.attempt} attempt(s); last: ${task.lastFailure})` };
      return found;
    }
    return {
      peers: found.willing
        .filter((peer) => task.planned.frameworks.every((tfm) => canBuildFramework(peer.capabilities, tfm)))
        .map((peer) => peer.agentId),
    };
  }

  /** Peers that ran the references (they hold those outputs already). */
  private preferredPeers(task: PlannedTask): string[] {
    const preferred = new Set<string>();
    for (const project of task.placeProjects.slice(-3))
      for (const holder of this.holders.get(project) ?? []) preferred.add(holder);
    return [...preferred];
  }

  private freePeers(candidates: readonly PeerCandidate[]): FreePeer[] {
    const nowMs = Date.now();
    const free: FreePeer[] = [];
    for (const peer of candidates) {
      if (peer.status === 'Offline' || (this.declinedUntil.get(peer.agentId) ?? 0) > nowMs) continue;
      const mine = this.inFlight.get(peer.agentId) ?? 0;
      // Announcements lag: our own tasks are counted here; a peer busy with other work declines.
      const capacity = peer.maxConcurrentBuilds ?? Math.max(1, peer.freeSlots);
      const slots = peer.freeSlots === 0 && mine === 0 ? 0 : Math.max(0, capacity - mine);
      if (slots > 0) free.push({ id: peer.agentId, freeSlots: slots });
    }
    return free;
  }

  private async runTask(task: TaskProgress, peerId: string): Promise<void> {
    const { planned } = task;
    const place = planned.placeProjects.map((project) => ({
      project,
      treeSha256: this.outputs.get(project) ?? '',
    }));
    if (place.some((entry) => entry.treeSha256 === '')) {
      this.fail(task, 'The outputs of a reference are missing', 'infrastructure');
      return;
    }
    task.state = 'running';
    task.attempt++;
    this.inFlight.set(peerId, (this.inFlight.get(peerId) ?? 0) + 1);
    const hostname = this.options.peers.hostnameOf(peerId);
    this.markStageStarted(planned.kind);
    this.update(task, {
      status: 'Running',
      agentId: peerId,
      hostname,
      startTime: this.now(),
      endTime: null,
      attempt: task.attempt,
      message: null,
    });
    const prefix = `[${projectName(planned.project)}@${hostname}]`;
    const produced: { signed: SignedActionCacheEntry | null } = { signed: null };
    const diagnostics: Diagnostic[] = [];
    const taskListener: BuildExecutionListener = {
      onLog: (level: LogLevel, message: string) => this.listener.onLog(level, `${prefix} ${message}`),
      onStage: () => undefined,
      onCommit: () => undefined,
      onDiagnostics: (found) => {
        diagnostics.push(...found);
        this.listener.onDiagnostics(found);
      },
      onTestResults: (results) => this.addTests(results),
      onArtifact: (artifact) => {
        this.artifactCount++;
        this.listener.onArtifact(artifact);
      },
      onTaskOutput: (output) => {
        produced.signed = output;
      },
    };
    const result = await this.dispatchTo(peerId, {
      spanName: 'BuildOrchestrator.DispatchTask',
      parent: this.trace.stages.spanOf(stageOf(planned.kind)) ?? this.trace.span,
      task: {
        taskId: planned.taskId,
        kind: planned.kind,
        project: planned.project,
        cacheKey: planned.cacheKey.key,
        place,
      },
      attempt: task.attempt,
      listener: taskListener,
    });
    if ('declined' in result) {
      this.declined(task, peerId, result.declined, prefix);
      this.release(peerId);
      return;
    }
    try {
      await this.settle(task, peerId, result.outcome, produced.signed, diagnostics, prefix);
    } finally {
      // Only now: the loop must see the task's new state when the slot frees.
      this.release(peerId);
    }
  }

  /**
   * Hands a task to a peer under a client span that the peer continues. A decline (the peer never
   * started it) comes back as such; any other error becomes the outcome it stands for.
   */
  private async dispatchTo(
    peerId: string,
    dispatch: {
      spanName: string;
      parent: TraceSpan | undefined;
      task: TaskSpec;
      attempt: number;
      listener: BuildExecutionListener;
    },
  ): Promise<{ outcome: BuildOutcome } | { declined: string }> {
    const { task, attempt } = dispatch;
    const span = this.trace.tracer.startSpan(dispatch.spanName, {
      kind: 'client',
      parent: dispatch.parent,
      attributes: {
        'build.task.id': task.taskId,
        'build.task.kind': task.kind,
        'build.task.project': task.project,
        'build.agent': peerId,
        'build.attempt': attempt,
      },
    });
    let outcome: BuildOutcome;
    try {
      outcome = await this.options.dispatcher.run(
        peerId,
        { request: this.request, attempt, source: this.sources, task, traceparent: span.traceparent },
        { signal: this.controller.signal, listener: dispatch.listener },
      );
    } catch (error) {
      if (error instanceof JobRejectedError) {
        span.setAttributes({ 'build.task.declined': error.reason });
        span.end();
        return { declined: error.reason };
      }
      span.fail(error);
      outcome = outcomeOfError(error, this.request, this.controller.signal);
    }
    recordOutcome(span, outcome);
    span.end();
    return { outcome };
  }

  /** A peer that declined is left alone for a moment (`declineBackoffMs`); the loop wakes after it. */
  private leaveAlone(peerId: string): void {
    const backoffMs = this.options.declineBackoffMs ?? 1000;
    this.declinedUntil.set(peerId, Date.now() + backoffMs);
    setTimeout(() => this.wake(), backoffMs + 10).unref();
  }

  /** Not an attempt: the peer never started the task. */
  private declined(task: TaskProgress, peerId: string, reason: string, prefix: string): void {
    task.attempt--;
    if (this.stopped) {
      const cancelled = this.stopped === 'cancelled';
      task.state = cancelled ? 'cancelled' : 'skipped';
      this.update(task, {
        status: cancelled ? 'Cancelled' : 'Skipped',
        message: cancelled ? 'Build cancelled' : `Not run: ${this.stopped}`,
      });
      return;
    }
    task.state = 'ready';
    this.leaveAlone(peerId);
    this.update(task, { status: 'Pending', agentId: null, hostname: null, startTime: null });
    this.listener.onLog('INFO', `${prefix} declined: ${reason}; trying another peer`);
  }

  private async settle(
    task: TaskProgress,
    peerId: string,
    result: BuildOutcome,
    output: SignedActionCacheEntry | null,
    diagnostics: readonly Diagnostic[],
    prefix: string,
  ): Promise<void> {
    const { planned } = task;
    const hostname = this.options.peers.hostnameOf(peerId);
    let outcome = result;
    this.countDiagnostics(planned.kind, diagnostics);

    if (outcome.status === 'Succeeded') {
      if (planned.kind === 'build' && !output?.entry.outputTreeSha256) {
        outcome = {
          status: 'Failed',
          errorMessage: `${hostname} reported no outputs for ${planned.project}`,
          failureKind: 'infrastructure',
        };
      } else {
        if (output) await this.recordOutput(task, output, peerId);
        task.state = 'succeeded';
        this.update(task, {
          status: 'Succeeded',
          endTime: this.now(),
          outputTreeSha256: output?.entry.outputTreeSha256 ?? null,
        });
        if (output?.entry.outputTreeSha256)
          this.enqueueVerification(task, peerId, output.entry.outputTreeSha256);
        this.releaseReadyTasks();
        return;
      }
    }
    if (outcome.status === 'Cancelled' || outcome.status === 'TimedOut' || this.controller.signal.aborted) {
      task.state = 'cancelled';
      this.update(task, { status: 'Cancelled', endTime: this.now(), message: outcome.errorMessage });
      return;
    }
    if (outcome.failureKind === 'infrastructure' && task.attempt < this.maxAttempts && !this.stopped) {
      task.excluded.add(peerId);
      task.lastFailure = outcome.errorMessage;
      task.state = 'retry-wait';
      const delayMs = this.delays[Math.min(task.attempt - 1, this.delays.length - 1)] ?? 0;
      this.update(task, {
        status: 'Pending',
        endTime: this.now(),
        message: `Attempt ${task.attempt} failed: ${outcome.errorMessage}`,
      });
      this.listener.onLog(
        'WARN',
        `${prefix} attempt ${task.attempt} failed: ${outcome.errorMessage}. Retrying on another peer in ${delayMs / 1000}s`,
      );
      setTimeout(() => {
        if (task.state !== 'retry-wait') return;
        task.state = 'ready';
        this.wake();
      }, delayMs).unref();
      return;
    }
    this.fail(task, outcome.errorMessage, outcome.failureKind);
  }

  private async recordOutput(
    task: TaskProgress,
    signed: SignedActionCacheEntry,
    peerId: string,
  ): Promise<void> {
    const { project } = task.planned;
    if (signed.entry.outputTreeSha256) {
      this.outputs.set(project, signed.entry.outputTreeSha256);
      const holders = this.holders.get(project) ?? new Set<string>();
      holders.add(peerId);
      this.holders.set(project, holders);
    }
    if (!this.options.cache || signed.entry.cacheKey !== task.planned.cacheKey.key) return;
    try {
      await this.options.cache.record(signed, task.planned.cacheKey.inputs, this.request.job.repositoryUrl);
    } catch (error) {
      this.listener.onLog(
        'WARN',
        `Could not record the cache entry of ${task.planned.taskId}: ${errorMessage(error)}`,
      );
    }
  }

  private release(peerId: string): void {
    this.inFlight.set(peerId, Math.max(0, (this.inFlight.get(peerId) ?? 1) - 1));
    this.wake();
  }

  private fail(task: TaskProgress, message: string, kind: 'build' | 'infrastructure'): void {
    task.state = 'failed';
    task.lastFailure = message;
    task.failureKind = kind;
    this.update(task, { status: 'Failed', endTime: this.now(), message });
    this.listener.onLog('ERROR', `${task.planned.taskId} failed: ${message}`);
    this.skipDependents(
      task.planned.taskId,
      `${projectName(task.planned.project)} (${task.planned.kind}) failed`,
    );
    if (!this.request.continueOnError || kind === 'infrastructure') {
      if (!this.stopped) this.stop(`stopped after ${task.planned.taskId} failed`);
    }
    this.wake();
  }

  private skipDependents(taskId: string, reason: string): void {
    for (const dependentId of this.dependents.get(taskId) ?? []) {
      const dependent = this.progress.get(dependentId);
      if (!dependent || DONE_STATES.includes(dependent.state)) continue;
      dependent.state = 'skipped';
      this.update(dependent, { status: 'Skipped', message: `Not run: ${reason}` });
      this.skipDependents(dependentId, reason);
    }
  }

  /** Stops the build: running tasks are cancelled, the rest Skipped (or Cancelled on a cancel). */
  private stop(reason: string): void {
    this.stopped = reason;
    const cancelled = reason === 'cancelled';
    for (const task of this.progress.values()) {
      if (task.state === 'waiting' || task.state === 'ready' || task.state === 'retry-wait') {
        task.state = cancelled ? 'cancelled' : 'skipped';
        this.update(task, {
          status: cancelled ? 'Cancelled' : 'Skipped',
          message: cancelled ? 'Build cancelled' : `Not run: ${reason}`,
        });
      }
    }
    for (const verification of this.verifications.values())
      if (verification.state === 'pending')
        this.endVerification(verification, cancelled ? 'Cancelled' : 'Skipped', `Not verified: ${reason}`);
    if (!this.controller.signal.aborted)
      this.controller.abort(cancelled ? this.signal.reason : new OperationAbortedError('cancelled', reason));
    this.wake();
  }

  private update(task: TaskProgress, change: Partial<TaskTimelineEntry>): void {
    task.entry = { ...task.entry, ...change };
    this.listener.onTask?.({ ...task.entry });
  }

  private addTests(results: TestResults): void {
    this.tests.total += results.total;
    this.tests.passed += results.passed;
    this.tests.failed += results.failed;
    this.tests.skipped += results.skipped;
    this.tests.durationMs += results.durationMs;
    this.tests.failures.push(...results.failures);
    this.listener.onTestResults({ ...this.tests, failures: [...this.tests.failures] });
  }

  private markStageStarted(kind: PlannedTask['kind']): void {
    const stages: StageName[] = kind === 'build' ? ['Restore', 'Build'] : [stageOf(kind)];
    for (const stage of stages) {
      if (this.startedStages.has(stage)) continue;
      this.startedStages.add(stage);
      this.listener.onStage({ name: stage, status: 'Running', at: this.now(), message: null });
    }
  }

  private countDiagnostics(kind: PlannedTask['kind'], diagnostics: readonly Diagnostic[]): void {
    const stage = stageOf(kind);
    const counts = this.stageCounts.get(stage) ?? { warnings: 0, errors: 0 };
    for (const diagnostic of diagnostics)
      if (diagnostic.severity === 'error') counts.errors++;
      else counts.warnings++;
    this.stageCounts.set(stage, counts);
  }

  /** Verify builds: queues the second build of a project whose build task succeeded or was a hit. */
  private enqueueVerification(task: TaskProgress, primaryPeer: string, primaryTree: string): void {
    const { planned } = task;
    if (!this.request.verify || planned.kind !== 'build' || this.stopped) return;
    const place = planned.placeProjects.map((project) => ({
      project,
      treeSha256: this.outputs.get(project) ?? '',
    }));
    const verification: Verification = {
      planned,
      primaryPeer,
      primaryTree,
      place,
      state: 'pending',
      attempt: 0,
      excluded: new Set([primaryPeer]),
      lastFailure: null,
      verifiedOn: null,
      differences: [],
      entry: {
        ...task.entry,
        taskId: `verify:${planned.project}`,
        kind: 'verify',
        status: 'Pending',
        agentId: null,
        hostname: null,
        queuedAt: this.now(),
        startTime: null,
        endTime: null,
        attempt: 0,
        cache: 'off',
        missReason: null,
        message: `Checks the outputs built by ${this.options.peers.hostnameOf(primaryPeer)}`,
        outputTreeSha256: null,
      },
    };
    this.verifications.set(planned.taskId, verification);
    this.listener.onTask?.({ ...verification.entry });
  }

  private dispatchVerifications(candidates: readonly PeerCandidate[]): void {
    const pending = [...this.verifications.values()].filter(
      (verification) => verification.state === 'pending',
    );
    if (pending.length === 0 || this.stopped) return;
    if (this.waitedTooLongForVerifiers(pending)) return;
    // One second build per peer at a time: a peer's checks share one workspace (TaskSpec.purpose).
    const verifying = new Set(
      [...this.verifications.values()]
        .filter((verification) => verification.state === 'running')
        .map((verification) => verification.entry.agentId),
    );
    const free = this.freePeers(candidates).filter((peer) => !verifying.has(peer.id));
    for (const verification of pending) {
      const eligible = this.eligiblePeers(verification, candidates);
      if ('reason' in eligible) {
        this.endVerification(
          verification,
          'Skipped',
          `Not verified: no second peer can build it: ${eligible.reason}`,
        );
        continue;
      }
      const peer = free.find((candidate) => candidate.freeSlots > 0 && eligible.peers.includes(candidate.id));
      if (!peer) continue;
      peer.freeSlots = 0;
      void this.runVerification(verification, peer.id);
    }
  }

  /**
   * Once the build's own tasks are done, second builds wait for a free peer only so long: an
   * optional check must not keep a finished build running (or time it out).
   */
  private waitedTooLongForVerifiers(pending: readonly Verification[]): boolean {
    const ownDone = [...this.progress.values()].every((task) => DONE_STATES.includes(task.state));
    if (!ownDone) return false;
    const waitMs = this.options.verifyWaitMs ?? 300_000;
    if (this.ownTasksDoneAt === null) {
      this.ownTasksDoneAt = Date.now();
      setTimeout(() => this.wake(), waitMs + 10).unref();
    }
    if (Date.now() - this.ownTasksDoneAt < waitMs) return false;
    for (const verification of pending)
      this.endVerification(
        verification,
        'Skipped',
        `Not verified: no second peer took it within ${Math.round(waitMs / 1000)} s of the build's own tasks ending`,
      );
    return true;
  }

  private async runVerification(verification: Verification, peerId: string): Promise<void> {
    const { planned } = verification;
    verification.state = 'running';
    verification.attempt++;
    this.inFlight.set(peerId, (this.inFlight.get(peerId) ?? 0) + 1);
    const hostname = this.options.peers.hostnameOf(peerId);
    this.updateVerification(verification, {
      status: 'Running',
      agentId: peerId,
      hostname,
      startTime: this.now(),
      endTime: null,
      attempt: verification.attempt,
    });
    const prefix = `[${projectName(planned.project)}@${hostname} verify]`;
    const produced: { signed: SignedActionCacheEntry | null } = { signed: null };
    // Only the outputs count: its diagnostics, tests and artifacts are the first build's already.
    const verifyListener: BuildExecutionListener = {
      onLog: (level: LogLevel, message: string) => this.listener.onLog(level, `${prefix} ${message}`),
      onStage: () => undefined,
      onCommit: () => undefined,
      onDiagnostics: () => undefined,
      onTestResults: () => undefined,
      onArtifact: () => undefined,
      onTaskOutput: (output) => {
        produced.signed = output;
      },
    };
    const result = await this.dispatchTo(peerId, {
      spanName: 'BuildOrchestrator.VerifyTask',
      parent: this.trace.span,
      task: {
        taskId: planned.taskId,
        kind: 'build',
        project: planned.project,
        cacheKey: planned.cacheKey.key,
        place: verification.place,
        purpose: 'verify',
      },
      attempt: verification.attempt,
      listener: verifyListener,
    });
    if ('declined' in result) {
      verification.attempt--;
      if (this.stopped) {
        const cancelled = this.stopped === 'cancelled';
        this.endVerification(
          verification,
          cancelled ? 'Cancelled' : 'Skipped',
          `Not verified: ${this.stopped}`,
        );
      } else {
        verification.state = 'pending';
        this.leaveAlone(peerId);
        this.updateVerification(verification, {
          status: 'Pending',
          agentId: null,
          hostname: null,
          startTime: null,
        });
      }
      this.release(peerId);
      return;
    }
    try {
      await this.settleVerification(verification, peerId, result.outcome, produced.signed);
    } finally {
      this.release(peerId);
    }
  }

  private async settleVerification(
    verification: Verification,
    peerId: string,
    outcome: BuildOutcome,
    output: SignedActionCacheEntry | null,
  ): Promise<void> {
    const { planned } = verification;
    const hostname = this.options.peers.hostnameOf(peerId);
    const tree = output?.entry.outputTreeSha256;
    if (outcome.status === 'Succeeded' && tree) {
      try {
        verification.differences = await this.compareTrees(verification, tree, hostname);
      } catch (error) {
        this.endVerification(verification, 'Failed', `Could not compare the outputs: ${errorMessage(error)}`);
        return;
      }
      verification.verifiedOn = peerId;
      const count = verification.differences.length;
      this.endVerification(
        verification,
        count === 0 ? 'Succeeded' : 'Failed',
        count === 0
          ? `Identical outputs on ${this.options.peers.hostnameOf(verification.primaryPeer)} and ${hostname}`
          : `Not reproducible: ${verification.differences.map((difference) => difference.file).join(', ')}`.slice(
              0,
              2000,
            ),
        { outputTreeSha256: tree },
      );
      return;
    }
    if (outcome.status === 'Cancelled' || outcome.status === 'TimedOut' || this.controller.signal.aborted) {
      this.endVerification(
        verification,
        'Cancelled',
        'errorMessage' in outcome ? outcome.errorMessage : 'Cancelled',
      );
      return;
    }
    const message =
      'errorMessage' in outcome
        ? outcome.errorMessage
        : `${hostname} reported no outputs for ${planned.project}`;
    if (outcome.status === 'Failed' && outcome.failureKind === 'build') {
      // It built on the first peer and not on the second: the build itself is not reproducible.
      verification.verifiedOn = peerId;
      verification.differences = [
        {
          project: projectDirectoryOf(planned.project),
          file: '(build)',
          reason: `failed on ${hostname}: ${message}`.slice(0, 500),
        },
      ];
      this.endVerification(verification, 'Failed', `The second build failed on ${hostname}: ${message}`);
      return;
    }
    verification.excluded.add(peerId);
    verification.lastFailure = message;
    if (verification.attempt < this.maxAttempts && !this.stopped) {
      verification.state = 'pending';
      this.updateVerification(verification, {
        status: 'Pending',
        endTime: this.now(),
        message: `Attempt ${verification.attempt} failed: ${message}`,
      });
      return;
    }
    this.endVerification(
      verification,
      'Skipped',
      `Not verified after ${verification.attempt} attempt(s): ${message}`,
    );
  }

  /**
   * The two builds' trees, file by file. Files named like a reference's outputs (its dll copied
   * into this project's bin) are left out: they are the reference's to answer for.
   */
  private async compareTrees(
    verification: Verification,
    tree: string,
    hostname: string,
  ): Promise<OutputDifference[]> {
    const inspector = this.options.inspector;
    if (!inspector) throw new Error('this node cannot read output trees');
    const referenceNames = new Set<string>();
    for (const placed of verification.place)
      for (const file of await inspector.listOutputTree(placed.treeSha256))
        referenceNames.add(file.path.slice(file.path.lastIndexOf('/') + 1));
    const own = (files: { path: string; sha256: string }[]) =>
      files.filter((file) => !referenceNames.has(file.path.slice(file.path.lastIndexOf('/') + 1)));
    return compareProjectOutputs(
      verification.planned.project,
      own(await inspector.listOutputTree(verification.primaryTree)),
      own(await inspector.listOutputTree(tree)),
      { reference: this.options.peers.hostnameOf(verification.primaryPeer), other: hostname },
    );
  }

  private endVerification(
    verification: Verification,
    status: 'Succeeded' | 'Failed' | 'Skipped' | 'Cancelled',
    message: string,
    change: Partial<TaskTimelineEntry> = {},
  ): void {
    verification.state = 'done';
    this.updateVerification(verification, { ...change, status, message, endTime: this.now() });
    this.wake();
  }

  private updateVerification(verification: Verification, change: Partial<TaskTimelineEntry>): void {
    verification.entry = { ...verification.entry, ...change };
    this.listener.onTask?.({ ...verification.entry });
  }

  /** Verify builds: one report of every compared project; the differing ones are marked. */
  private async reportReproducibility(): Promise<void> {
    const all = [...this.verifications.values()];
    const compared = all.filter((verification) => verification.verifiedOn !== null);
    const differences = compared.flatMap((verification) => verification.differences);
    const checkedOn = [
      ...new Set(compared.flatMap((verification) => [verification.primaryPeer, verification.verifiedOn!])),
    ];
    const unverified = all.length - compared.length;
    const notChecked =
      unverified > 0 ? `; ${unverified} project(s) could not be verified (see the timeline)` : '';
    const projects = [...new Set(differences.map((difference) => difference.project))];
    const report: ReproducibilityReport =
      compared.length === 0
        ? {
            checkedOn,
            reproducible: null,
            differences: [],
            message: `No project was built on a second peer${all.length > 0 ? `: ${all[0]!.entry.message ?? ''}` : ''}`,
          }
        : {
            checkedOn,
            reproducible: differences.length === 0,
            differences,
            message:
              differences.length === 0
                ? `${compared.length} project(s) built on two peers gave identical outputs${notChecked}`
                : `${differences.length} output file(s) of ${projects.length} project(s) differ between peers; those projects are never served from the cache${notChecked}`,
          };
    this.listener.onReproducibility?.(report);
    if (report.reproducible === false) {
      this.listener.onLog(
        'WARN',
        `Not reproducible: ${differences.map((difference) => `${difference.project}: ${difference.file} (${difference.reason})`).join('; ')}`.slice(
          0,
          8000,
        ),
      );
      try {
        await this.options.onNotReproducible?.(this.request.job.repositoryUrl, projects);
      } catch (error) {
        this.options.logger.warn('could not mark projects as not reproducible', {
          error: errorMessage(error),
        });
      }
    } else if (report.reproducible) {
      this.listener.onLog('INFO', `Reproducible: ${report.message}`);
    } else {
      this.listener.onLog('WARN', `Reproducibility not checked: ${report.message}`);
    }
  }

  /** Closes the stages and turns the task states into the build's outcome. */
  private finish(): BuildOutcome {
    const tasks = [...this.progress.values()];
    const at = this.now();
    const of = (kind: PlannedTask['kind']) => tasks.filter((task) => task.planned.kind === kind);
    const cancelled = this.signal.aborted;
    const closeStage = (stage: StageName, group: TaskProgress[], done: string) => {
      if (!isStageEnabled(this.request.job, stage)) return;
      const counts = this.stageCounts.get(stage === 'Restore' ? 'Build' : stage) ?? {
        warnings: 0,
        errors: 0,
      };
      const failed = group.filter((task) => task.state === 'failed');
      const succeeded = group.filter((task) => task.state === 'succeeded');
      const status =
        failed.length > 0
          ? 'Failed'
          : group.length > 0 && succeeded.length === group.length
            ? 'Succeeded'
            : cancelled && this.startedStages.has(stage)
              ? 'Cancelled'
              : group.length === 0
                ? 'Succeeded'
                : 'Skipped';
      const hits = succeeded.filter((task) => task.entry.cache === 'hit').length;
      const message =
        status === 'Failed'
          ? `${failed.length} task(s) failed: ${failed.map((task) => projectName(task.planned.project)).join(', ')}`
          : status === 'Succeeded'
            ? `${done}${hits > 0 ? ` (${hits} from the cache)` : ''}`
            : status === 'Cancelled'
              ? 'Cancelled'
              : `Not run: ${this.stopped ?? 'an earlier task failed'}`;
      this.listener.onStage({
        name: stage,
        status,
        at,
        message,
        warningsCount: stage === 'Restore' ? 0 : counts.warnings,
        errorsCount: stage === 'Restore' ? 0 : counts.errors,
      });
    };
    const builds = of('build');
    const restoreFailed = builds.some(
      (task) => task.state === 'failed' && /\bNU\d{4}\b/.test(task.entry.message ?? ''),
    );
    closeStage(
      'Restore',
      restoreFailed ? builds : builds.filter((task) => task.state !== 'failed'),
      `${builds.length} project(s) restored in their build tasks`,
    );
    closeStage('Build', builds, `${builds.length} project(s) built`);
    closeStage('Test', of('test'), `${this.tests.total} test(s) in ${of('test').length} project(s)`);
    closeStage('Package', of('pack'), `${of('pack').length} package task(s)`);
    closeStage('Upload', [...of('pack')], `${this.artifactCount} artifact(s) gathered`);
    if (this.cacheReads)
      this.listener.onLog('INFO', `Action cache: ${this.cacheHits} of ${tasks.length} task(s) were hits`);

    if (cancelled) return outcomeOfError(new OperationAbortedError('cancelled'), this.request, this.signal);
    const failed = tasks.filter((task) => task.state === 'failed');
    if (failed.length === 0) return { status: 'Succeeded' };
    const infrastructure = failed.every((task) => task.failureKind === 'infrastructure');
    const summary = failed
      .map(
        (task) =>
          `${projectName(task.planned.project)} (${task.planned.kind}): ${task.lastFailure ?? 'failed'}`,
      )
      .join('; ');
    return {
      status: 'Failed',
      errorMessage: `${failed.length} task(s) failed: ${summary}`.slice(0, 8000),
      failureKind: infrastructure ? 'infrastructure' : 'build',
    };
  }
}

function stageOf(kind: PlannedTask['kind']): StageName {
  return kind === 'build' ? 'Build' : kind === 'test' ? 'Test' : 'Package';
}

function projectName(projectPath: string): string {
  return (projectPath.split('/').pop() ?? projectPath).replace(/\.[^.]+$/, '');
}

function countByKind(tasks: readonly PlannedTask[]): string {
  const counts = new Map<string, number>();
  for (const task of tasks) counts.set(task.kind, (counts.get(task.kind) ?? 0) + 1);
  return [...counts].map(([kind, count]) => `${count} ${kind}`).join(', ');
}
