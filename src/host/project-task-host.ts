import type { ProjectTaskRunner } from '../agent/project-task-runner.js';
import { logForEntry, type EntrySigner, type SignedActionCacheEntry } from '../core/action-cache.js';
import type { BuildExecutionListener, BuildOutcome } from '../core/build-execution.js';
import { JobRejectedError } from '../core/errors.js';
import type { TaskSpec } from '../core/job-messages.js';
import type { PreparedSources, RemoteJobRunner, TaskDispatcher } from '../core/mesh-ports.js';
import type { BuildRequest, TestResults } from '../core/models.js';
import { NOOP_TRACER, traceAgentRun, type Tracer } from '../core/tracing.js';
import type { JobDecision } from '../mesh/job-protocol.js';
import { runHandBackable, type AgentSlots } from './agent-slots.js';

const KEPT_LOG_LINES = 400;

export interface ProjectTaskHostOptions {
  slots: AgentSlots;
  runner: ProjectTaskRunner;
  signer: EntrySigner;
  /** The SDK this machine builds with, recorded in the entries it signs. */
  sdkVersion: string;
  /** Keeps the entries this machine produced, so peers can ask it for them. */
  keepEntry: (signed: SignedActionCacheEntry) => Promise<void>;
  /** Whether this machine takes work now; the reason when it does not. */
  availability: () => { accepting: true } | { accepting: false; reason: string };
}

/**
 * Runs project tasks on this machine, for its own builds and for peers': takes a build slot (or
 * declines with the reason), runs the task in the execution's workspace, then signs what it
 * produced as an action-cache entry and reports it.
 */
export class ProjectTaskHost {
  constructor(private readonly options: ProjectTaskHostOptions) {}

  /**
   * Accepts or declines a task. A peer's task (`from: 'peer'`) can be handed back while it runs:
   * it then ends as an infrastructure failure and its coordinator reschedules it elsewhere.
   */
  consider(
    job: { request: BuildRequest; task: TaskSpec; manifestSha256: string },
    fetchBlobs: (sha256s: readonly string[], signal: AbortSignal) => Promise<void>,
    from: 'peer' | 'self' = 'self',
  ): JobDecision {
    // Donation settings limit what this machine gives to peers, never its own builds.
    const available = from === 'peer' ? this.options.availability() : ({ accepting: true } as const);
    if (!available.accepting) return { accept: false, reason: available.reason };
    const label = `${job.request.job.projectName}: ${job.task.taskId}`;
    const noSlot = `no free build slot (${this.options.slots.capacity} in use)`;
    if (from === 'peer') {
      const lease = this.options.slots.tryAcquireForPeer(label);
      if (!lease) return { accept: false, reason: noSlot };
      return {
        accept: true,
        run: ({ signal, listener }) =>
          runHandBackable(lease, signal, (leased) => this.run(job, fetchBlobs, leased, listener)),
      };
    }
    const release = this.options.slots.tryAcquire(label);
    if (!release) return { accept: false, reason: noSlot };
    return {
      accept: true,
      run: async ({ signal, listener }) => {
        try {
          return await this.run(job, fetchBlobs, signal, listener);
        } finally {
          release();
        }
      },
    };
  }

  private async run(
    job: { request: BuildRequest; task: TaskSpec; manifestSha256: string },
    fetchBlobs: (sha256s: readonly string[], signal: AbortSignal) => Promise<void>,
    signal: AbortSignal,
    listener: BuildExecutionListener,
  ): Promise<BuildOutcome> {
    const { task } = job;
    const lines: string[] = [];
    const result = await this.options.runner.run(
      {
        executionId: job.request.executionId,
        request: job.request,
        task,
        manifestSha256: job.manifestSha256,
        fetchBlobs,
      },
      {
        signal,
        onLine: (line) => {
          lines.push(line);
          if (lines.length > KEPT_LOG_LINES * 2) lines.splice(0, lines.length - KEPT_LOG_LINES);
          listener.onLog('INFO', line);
        },
      },
    );
    if (result.diagnostics.length > 0) listener.onDiagnostics(result.diagnostics);
    if (result.testResults) listener.onTestResults(result.testResults);
    if (!result.succeeded) {
      return {
        status: 'Failed',
        errorMessage: result.errorMessage ?? `${task.taskId} failed`,
        failureKind: 'build',
      };
    }
    const signed = await this.options.signer.sign({
      version: 1,
      cacheKey: task.cacheKey,
      kind: task.kind,
      project: task.project,
      producedBy: this.options.signer.peerId,
      sdkVersion: this.options.sdkVersion,
      createdAt: new Date().toISOString(),
      outputTreeSha256: result.outputTreeSha256,
      artifacts: result.artifacts,
      testResults: result.testResults ? trimTestResults(result.testResults) : null,
      log: logForEntry(lines),
      blobs: result.blobs,
    });
    await this.options.keepEntry(signed);
    for (const artifact of result.artifacts) listener.onArtifact(artifact);
    await listener.onTaskOutput?.(signed);
    return { status: 'Succeeded' };
  }
}

function trimTestResults(results: TestResults): TestResults {
  return {
    ...results,
    failures: results.failures.slice(0, 200).map((failure) => ({
      ...failure,
      name: failure.name.slice(0, 1000),
      message: failure.message.slice(0, 4000),
      stackTrace: failure.stackTrace.slice(0, 4000),
    })),
  };
}

/**
 * Sends each task to the peer the scheduler chose: this machine's task host directly (every blob
 * is already in the local CAS), any other peer through the job protocol.
 */
export class MeshTaskDispatcher implements TaskDispatcher {
  constructor(
    private readonly options: {
      localAgentId: string;
      local: ProjectTaskHost;
      remote: RemoteJobRunner;
      /** Local tasks run under `BuildAgent.ExecuteTask` (remote ones get it from the job protocol). */
      tracer?: Tracer;
    },
  ) {}

  async run(
    peerId: string,
    job: {
      request: BuildRequest;
      attempt: number;
      source: PreparedSources;
      task: TaskSpec;
      traceparent?: string;
    },
    options: { signal: AbortSignal; listener: BuildExecutionListener },
  ): Promise<BuildOutcome> {
    if (peerId !== this.options.localAgentId) return this.options.remote.run(peerId, job, options);
    const decision = this.options.local.consider(
      { request: job.request, task: job.task, manifestSha256: job.source.manifestSha256 },
      () => Promise.resolve(),
    );
    if (!decision.accept) throw new JobRejectedError(peerId, decision.reason);
    return traceAgentRun(
      this.options.tracer ?? NOOP_TRACER,
      { request: job.request, task: job.task, agentId: peerId, parent: job.traceparent, remote: false },
      options.listener,
      (listener) => decision.run({ signal: options.signal, listener }),
    );
  }
}
