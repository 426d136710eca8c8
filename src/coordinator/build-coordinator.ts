import type { BuildExecutionListener, BuildExecutor, BuildOutcome } from '../core/build-execution.js';
import { parseBuildRequest } from '../core/build-request.js';
import { applyStageUpdate, initialStages, type StageUpdate } from '../core/build-stages.js';
import { ConflictError, NotFoundError, OperationAbortedError, errorMessage } from '../core/errors.js';
import { makeLogLine } from '../core/log-format.js';
import {
  BUILD_PRIORITIES,
  isTerminalStatus,
  type AgentRef,
  type BuildArtifact,
  type BuildRecord,
  type BuildRequest,
  type BuildStrategy,
  type LogLevel,
} from '../core/models.js';
import type { BuildLogStore, BuildPage, BuildStore, Logger } from '../core/ports.js';
import type { BuildMetrics } from './build-metrics.js';
import type { NodeEventBus } from '../core/build-events.js';
import { NOOP_TRACER, buildAttributes, recordOutcome, type Tracer } from '../core/tracing.js';
import { durationBetween } from '../core/durations.js';

export interface BuildCoordinatorOptions {
  store: BuildStore;
  logs: BuildLogStore;
  executor: BuildExecutor;
  agent: AgentRef;
  logger: Logger;
  maxConcurrentBuilds: number;
  runnableStrategies: readonly BuildStrategy[];
  newId: () => string;
  now?: () => Date;
  /** Counts and times builds for `/metrics`. */
  metrics?: BuildMetrics;
  /** Live events for SSE subscribers. */
  events?: NodeEventBus;
  /** Spans `BuildOrchestrator.ExecuteBuild` and `BuildOrchestrator.ExecuteBuildPipeline` per build. */
  tracer?: Tracer;
}

export interface SubmittedBuild {
  record: BuildRecord;
  queuePosition: number;
}

interface RunningBuild {
  controller: AbortController;
  /** The live record; cancel() and the build's own events both update it. */
  record: BuildRecord;
  done: Promise<void>;
}

/**
 * Accepts builds, keeps their records, queues them for free slots and drives each one through
 * an executor. A build is recorded before `submit` returns and never depends on the HTTP
 * request that created it. It is not responsible for how a build runs (the executor) nor for
 * HTTP (the API).
 */
export class BuildCoordinator {
  private readonly queue: string[] = [];
  /** What was last published per build, so only changes become events. */
  private readonly lastPublished = new Map<string, { status: string; stages: string; checks: string }>();
  private readonly running = new Map<string, RunningBuild>();
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly tracer: Tracer;
  private stopping = false;

  constructor(private readonly options: BuildCoordinatorOptions) {
    this.logger = options.logger.child('coordinator');
    this.now = options.now ?? (() => new Date());
    this.tracer = options.tracer ?? NOOP_TRACER;
    options.executor.onCapacityChange?.(() => this.pump());
  }

  /** Marks builds interrupted by a previous crash as Failed, and re-queues accepted ones. */
  async start(): Promise<void> {
    for (const record of this.options.store.listByStatus(['Running', 'Cancelling'])) {
      const stage = record.currentStage ?? 'start-up';
      const message = `The node stopped while this build was running (during ${stage}); the build did not complete`;
      let stages = record.stages;
      let reached = false;
      for (const current of record.stages) {
        if (current.name === record.currentStage) reached = true;
        if (current.status === 'Running') {
          stages = applyStageUpdate(stages, {
            name: current.name,
            status: 'Failed',
            at: this.now().toISOString(),
            message,
          });
        } else if (reached && current.status === 'Pending') {
          stages = applyStageUpdate(stages, {
            name: current.name,
            status: 'Skipped',
            at: this.now().toISOString(),
            message: 'Not run',
          });
        }
      }
      this.save({
        ...record,
        status: 'Failed',
        stages: stages.map((s) => (s.status === 'Pending' ? { ...s, status: 'Skipped' } : s)),
        endTime: this.now().toISOString(),
        errorMessage: message,
      });
      this.options.logs.append(record.executionId, makeLogLine('ERROR', message, this.now()));
      await this.options.logs.complete(record.executionId);
      this.logger.warn('marked interrupted build as failed', { executionId: record.executionId, stage });
    }
    const queued = this.options.store
      .listByStatus(['Queued'])
      .sort((a, b) => a.queuedAt.localeCompare(b.queuedAt));
    for (const record of queued) this.enqueue(record);
    if (queued.length > 0) this.logger.info('re-queued accepted builds', { count: queued.length });
    this.pump();
  }

  /** Cancels running builds and waits for them to end. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const build of this.running.values()) {
      build.controller.abort(new OperationAbortedError('cancelled', 'The node is shutting down'));
    }
    await Promise.allSettled([...this.running.values()].map((build) => build.done));
  }

  submit(body: unknown, context: { requestedBy?: string } = {}): SubmittedBuild {
    const request = parseBuildRequest(body, {
      newId: this.options.newId,
      now: this.now(),
      runnableStrategies: this.options.runnableStrategies,
    });
    if (this.options.store.get(request.executionId)) {
      throw new ConflictError(`A build with executionId '${request.executionId}' already exists`);
    }
    const record: BuildRecord = {
      executionId: request.executionId,
      request,
      requestedBy: context.requestedBy ?? null,
      status: 'Queued',
      currentStage: null,
      stages: initialStages(request.job),
      queuedAt: request.createdAt,
      startTime: null,
      endTime: null,
      queueReason: null,
      agent: null,
      resolvedCommit: null,
      testResults: null,
      artifacts: [],
      diagnostics: [],
      errorMessage: null,
      traceId: request.executionId.replace(/-/g, ''),
      attempts: [],
      timeline: [],
    };
    this.options.store.insert(record);
    this.options.events?.publish('status', record.executionId, {
      status: record.status,
      currentStage: null,
      queueReason: null,
      agent: null,
    });
    this.appendLog(
      record.executionId,
      'INFO',
      `Build ${record.executionId} queued (${request.strategy}, ${request.job.projectName})`,
    );
    this.enqueue(record);
    const queuePosition = this.queuePosition(record.executionId);
    this.logger.info('build accepted', {
      executionId: record.executionId,
      strategy: request.strategy,
      queuePosition,
    });
    setImmediate(() => this.pump());
    return { record, queuePosition };
  }

  get(executionId: string): BuildRecord {
    const record = this.running.get(executionId)?.record ?? this.options.store.get(executionId);
    if (!record) throw new NotFoundError('Build', executionId);
    return record;
  }

  list(page: { offset: number; limit: number }): BuildPage {
    return this.options.store.list(page);
  }

  /** 1-based position among queued builds; 0 when the build is not queued. */
  queuePosition(executionId: string): number {
    return this.queue.indexOf(executionId) + 1;
  }

  queueLength(): number {
    return this.queue.length;
  }

  /** Project names of the builds running now. */
  runningJobs(): string[] {
    return [...this.running.values()].map((build) => build.record.request.job.projectName);
  }

  findArtifact(artifactId: string): { executionId: string; artifact: BuildArtifact } {
    const found = this.options.store.findArtifact(artifactId);
    if (!found) throw new NotFoundError('Artifact', artifactId);
    return found;
  }

  cancel(executionId: string): BuildRecord {
    const record = this.get(executionId);
    if (isTerminalStatus(record.status)) {
      throw new ConflictError(
        `Build '${executionId}' has already finished (${record.status}) and cannot be cancelled`,
      );
    }
    const queueIndex = this.queue.indexOf(executionId);
    if (queueIndex >= 0) {
      this.queue.splice(queueIndex, 1);
      const cancelled = this.save({
        ...record,
        status: 'Cancelled',
        endTime: this.now().toISOString(),
        errorMessage: 'Cancelled before it started',
        stages: record.stages.map((stage) =>
          stage.status === 'Pending' ? { ...stage, status: 'Skipped', message: 'Not run: cancelled' } : stage,
        ),
      });
      this.appendLog(executionId, 'WARN', 'Build cancelled before it started');
      void this.options.logs.complete(executionId);
      return cancelled;
    }
    const running = this.running.get(executionId);
    if (running && running.record.status === 'Running') {
      running.record = this.save({ ...running.record, status: 'Cancelling' });
      this.appendLog(executionId, 'WARN', 'Cancellation requested');
      running.controller.abort(new OperationAbortedError('cancelled'));
    }
    return running?.record ?? record;
  }

  private enqueue(record: BuildRecord): void {
    const rank = (r: BuildRequest) => BUILD_PRIORITIES.indexOf(r.priority);
    const recordRank = rank(record.request);
    // Higher priority first; first come, first served within a priority.
    const index = this.queue.findIndex((id) => {
      const other = this.options.store.get(id);
      return other !== null && rank(other.request) < recordRank;
    });
    if (index < 0) this.queue.push(record.executionId);
    else this.queue.splice(index, 0, record.executionId);
  }

  /**
   * Starts queued builds, in queue order, while slots are free and the executor says they can
   * start; a build that cannot start yet keeps its place and shows why.
   */
  private pump(): void {
    for (const executionId of [...this.queue]) {
      if (this.stopping || this.running.size >= this.options.maxConcurrentBuilds) return;
      const record = this.options.store.get(executionId);
      if (!record || record.status !== 'Queued') {
        this.queue.splice(this.queue.indexOf(executionId), 1);
        continue;
      }
      const check = this.options.executor.checkStart?.(record.request) ?? { ready: true };
      if (!check.ready) {
        if (record.queueReason !== check.reason) {
          this.save({ ...record, queueReason: check.reason });
          this.appendLog(executionId, 'WARN', `Waiting: ${check.reason}`);
        }
        continue;
      }
      this.queue.splice(this.queue.indexOf(executionId), 1);
      const build: RunningBuild = { controller: new AbortController(), record, done: Promise.resolve() };
      this.running.set(record.executionId, build);
      build.done = this.run(build)
        .catch((error: unknown) =>
          this.logger.error('build driver failed', { executionId, error: errorMessage(error) }),
        )
        .finally(() => {
          this.running.delete(record.executionId);
          this.pump();
        });
    }
  }

  private async run(build: RunningBuild): Promise<void> {
    const { controller } = build;
    const { executionId, request } = build.record;
    const update = (change: (current: BuildRecord) => BuildRecord, persist = true) => {
      build.record = change(build.record);
      if (persist) this.save(build.record);
    };
    update((current) => ({
      ...current,
      status: 'Running',
      startTime: this.now().toISOString(),
      agent: this.options.agent,
      queueReason: null,
    }));
    this.options.metrics?.buildStarted(build.record);
    // The build's trace id is its record's traceId (the execution id's hex digits), so the id the
    // API shows finds the trace in Jaeger.
    const span = this.tracer.startSpan('BuildOrchestrator.ExecuteBuild', {
      kind: 'server',
      traceId: build.record.traceId,
      attributes: {
        ...buildAttributes(request),
        'build.priority': request.priority,
        'build.targetPool': request.targetPool,
        'build.queueWaitSeconds': secondsBetween(build.record.queuedAt, build.record.startTime),
      },
    });
    const pipeline = this.tracer.startSpan('BuildOrchestrator.ExecuteBuildPipeline', {
      parent: span,
      attributes: {
        'build.project': request.job.projectName,
        'build.strategy': request.strategy,
        'build.executionId': executionId,
      },
    });
    this.appendLog(
      executionId,
      'INFO',
      `Selected agent ${this.options.agent.agentId} (${this.options.agent.hostname})`,
    );
    const timeout = setTimeout(
      () => controller.abort(new OperationAbortedError('timeout')),
      request.job.timeoutMinutes * 60_000,
    );
    const listener: BuildExecutionListener = {
      onLog: (level, message) => this.appendLog(executionId, level, message),
      onStage: (stage: StageUpdate) =>
        update((current) => ({
          ...current,
          currentStage: stage.status === 'Running' ? stage.name : current.currentStage,
          stages: applyStageUpdate(current.stages, stage),
        })),
      onCommit: (commit) => update((current) => ({ ...current, resolvedCommit: commit })),
      onDiagnostics: (diagnostics) =>
        update((current) => ({ ...current, diagnostics: [...current.diagnostics, ...diagnostics] }), false),
      onTestResults: (testResults) => update((current) => ({ ...current, testResults })),
      onAttempt: (attempt) =>
        update((current) => ({
          ...current,
          agent: {
            agentId: attempt.agentId,
            hostname: attempt.hostname,
            targetType: current.agent?.targetType ?? this.options.agent.targetType,
          },
          attempts: [...current.attempts.filter((a) => a.attempt !== attempt.attempt), attempt].sort(
            (a, b) => a.attempt - b.attempt,
          ),
        })),
      onTask: (entry) =>
        update((current) => {
          const timeline = [...(current.timeline ?? [])];
          const index = timeline.findIndex((task) => task.taskId === entry.taskId);
          if (index < 0) timeline.push(entry);
          else timeline[index] = entry;
          return { ...current, timeline };
        }, false),
      onPeerResult: (result) =>
        update((current) => {
          const peerResults = [...(current.peerResults ?? [])];
          const index = peerResults.findIndex(
            (known) => known.agentId === result.agentId && known.role === result.role,
          );
          if (index < 0) peerResults.push(result);
          else peerResults[index] = result;
          return { ...current, peerResults };
        }),
      onReproducibility: (reproducibility) => update((current) => ({ ...current, reproducibility })),
      onArtifact: (produced) =>
        update((current) => {
          const artifactId = this.options.newId();
          const artifact: BuildArtifact = {
            ...produced,
            artifactId,
            downloadUrl: `/api/v1/artifacts/${artifactId}/download`,
          };
          return { ...current, artifacts: [...current.artifacts, artifact] };
        }),
    };

    let outcome: BuildOutcome;
    try {
      outcome = await this.options.executor.execute(request, {
        signal: controller.signal,
        listener,
        span: pipeline,
      });
    } catch (error) {
      pipeline.fail(error);
      span.fail(error);
      outcome = {
        status: 'Failed',
        errorMessage: `Agent failed: ${errorMessage(error)}`,
        failureKind: 'infrastructure',
      };
    } finally {
      clearTimeout(timeout);
    }
    if (this.stopping && outcome.status === 'Cancelled') {
      const stage = build.record.currentStage ?? 'start-up';
      outcome = {
        status: 'Failed',
        errorMessage: `The node stopped while this build was running (during ${stage}); the build did not complete`,
        failureKind: 'infrastructure',
      };
    }
    const status = outcome.status;
    update((current) => ({
      ...current,
      status,
      endTime: this.now().toISOString(),
      errorMessage: outcome.status === 'Succeeded' ? null : outcome.errorMessage,
    }));
    this.options.metrics?.buildFinished(build.record);
    recordOutcome(pipeline, outcome);
    pipeline.end();
    this.appendLog(executionId, status === 'Succeeded' ? 'INFO' : 'ERROR', `Build ${status}`);
    await this.options.logs.complete(executionId);
    this.logger.info('build finished', { executionId, status });
    recordOutcome(span, outcome);
    span.setAttributes({ 'build.duration': secondsBetween(build.record.startTime, build.record.endTime) });
    span.end();
  }

  private save(record: BuildRecord): BuildRecord {
    const previous = this.lastPublished.get(record.executionId);
    this.options.store.update(record);
    const summary = {
      status: record.status,
      currentStage: record.currentStage,
      queueReason: record.queueReason,
      agent: record.agent,
    };
    const key = JSON.stringify(summary);
    if (previous?.status !== key) this.options.events?.publish('status', record.executionId, summary);
    const stages = JSON.stringify(record.stages);
    if (previous?.stages !== stages)
      this.options.events?.publish('stage', record.executionId, { stages: record.stages });
    // Canary and verify builds: each peer's outcome and the reproducibility report, as they come.
    const checks = { peerResults: record.peerResults ?? [], reproducibility: record.reproducibility ?? null };
    const checksKey = JSON.stringify(checks);
    if ((previous?.checks ?? JSON.stringify({ peerResults: [], reproducibility: null })) !== checksKey)
      this.options.events?.publish('checks', record.executionId, checks);
    if (isTerminalStatus(record.status)) this.lastPublished.delete(record.executionId);
    else this.lastPublished.set(record.executionId, { status: key, stages, checks: checksKey });
    return record;
  }

  private appendLog(executionId: string, level: LogLevel, message: string): void {
    const line = makeLogLine(level, message, this.now());
    this.options.logs.append(executionId, line);
    this.options.events?.publish('log', executionId, line);
  }
}

/** Seconds from one ISO time to another; undefined when either is missing. */
function secondsBetween(from: string | null, to: string | null): number | undefined {
  const ms = durationBetween(from, to);
  return ms === null ? undefined : ms / 1000;
}
