import type {
  BuildAttempt,
  BuildExecutionListener,
  BuildExecutor,
  BuildOutcome,
  BuildRunOptions,
  StartCheck,
} from '../core/build-execution.js';
import { isStageEnabled } from '../core/build-stages.js';
import {
  JobRejectedError,
  OperationAbortedError,
  SourcePreparationError,
  errorMessage,
} from '../core/errors.js';
import type { PeerDirectory, PreparedSources, RemoteJobRunner, SourcePreparer } from '../core/mesh-ports.js';
import { repositoryIdentity } from '../core/git-input.js';
import { STAGE_NAMES, type BuildRequest } from '../core/models.js';
import { selectPeer, type BuildDemand } from '../core/peer-selection.js';
import type { Logger } from '../core/ports.js';
import { DEFAULT_RETRY_DELAYS_MS } from '../core/retry.js';
import { NOOP_TRACER, StageSpans, recordOutcome, type TraceSpan, type Tracer } from '../core/tracing.js';

export interface MeshBuildExecutorOptions {
  localAgentId: string;
  peers: PeerDirectory;
  /** Runs a build on this machine. */
  local: BuildExecutor;
  sources: SourcePreparer;
  remote: RemoteJobRunner;
  logger: Logger;
  retryDelaysMs?: readonly number[];
  maxAttempts?: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => Date;
  /** Spans per attempt (`BuildOrchestrator.Attempt`) and for the clone done here. */
  tracer?: Tracer;
}

/**
 * Runs each build on the best peer of the mesh (this node included), and retries it on another
 * peer when the one running it fails for infrastructure reasons (killed, disconnected, silent):
 * 3 attempts, 2 s then 4 s apart, the failed peer excluded. Compile errors and failed tests are
 * results, never retried. The sources are cloned once, here, and reach peers through the CAS.
 */
export class MeshBuildExecutor implements BuildExecutor {
  private readonly lastAssigned = new Map<string, number>();
  /** Repository + solution → the peer that last ran an Incremental or Clean build of them. */
  private readonly lastBuilder = new Map<string, string>();
  private assignments = 0;
  private readonly now: () => Date;

  constructor(private readonly options: MeshBuildExecutorOptions) {
    this.now = options.now ?? (() => new Date());
  }

  checkStart(request: BuildRequest): StartCheck {
    const selection = selectPeer(this.options.peers.candidates(), demandOf(request, null), {
      lastAssigned: this.lastAssigned,
    });
    return selection.peer ? { ready: true } : { ready: false, reason: selection.reason };
  }

  onCapacityChange(listener: () => void): void {
    this.options.peers.onChange(listener);
  }

  async execute(request: BuildRequest, { signal, listener, span }: BuildRunOptions): Promise<BuildOutcome> {
    const tracer = this.options.tracer ?? NOOP_TRACER;
    const maxAttempts = this.options.maxAttempts ?? 3;
    const delays = this.options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    const excluded = new Set<string>();
    let sources: PreparedSources | null = null;
    let lastFailure: string | null = null;
    let attempt = 0;
    while (attempt < maxAttempts) {
      const selection = selectPeer(this.options.peers.candidates(), demandOf(request, sources), {
        excluded,
        lastAssigned: this.lastAssigned,
        preferred: this.lastBuilder.get(workspaceKeyOf(request)),
      });
      if (!selection.peer) {
        const message = `No peer can run this build: ${selection.reason}${lastFailure ? ` (previous attempt: ${lastFailure})` : ''}`;
        listener.onLog('ERROR', message);
        return { status: 'Failed', errorMessage: message, failureKind: 'infrastructure' };
      }
      attempt++;
      const peer = selection.peer;
      this.lastAssigned.set(peer.agentId, ++this.assignments);
      const record: BuildAttempt = {
        attempt,
        agentId: peer.agentId,
        hostname: this.options.peers.hostnameOf(peer.agentId),
        startTime: this.now().toISOString(),
        endTime: null,
        outcome: 'Running',
        reason: null,
      };
      listener.onAttempt?.(record);
      listener.onLog('INFO', `Attempt ${attempt}/${maxAttempts} on ${record.hostname} (${peer.agentId})`);

      const attemptSpan = tracer.startSpan('BuildOrchestrator.Attempt', {
        kind: 'client',
        parent: span,
        attributes: { 'build.attempt': attempt, 'build.agent': peer.agentId },
      });
      let outcome: BuildOutcome;
      try {
        if (peer.agentId === this.options.localAgentId) {
          outcome = await this.options.local.execute(request, { signal, listener, span: attemptSpan });
        } else {
          sources ??= await prepareTraced(this.options.sources, tracer, span, request, signal, listener);
          outcome = await this.options.remote.run(
            peer.agentId,
            { request, attempt, source: sources, traceparent: attemptSpan.traceparent },
            { signal, listener },
          );
        }
      } catch (error) {
        attemptSpan.fail(error);
        attemptSpan.end();
        if (error instanceof JobRejectedError) {
          // Not an attempt: the peer never started; try the next one at once.
          excluded.add(peer.agentId);
          attempt--;
          listener.onAttempt?.({
            ...record,
            endTime: this.now().toISOString(),
            outcome: 'Rejected',
            reason: error.reason,
          });
          listener.onLog('WARN', `${record.hostname} declined the build: ${error.reason}`);
          continue;
        }
        outcome = this.outcomeOfError(error, request, signal);
      }

      recordOutcome(attemptSpan, outcome);
      attemptSpan.end();
      const lost = outcome.status === 'Failed' && outcome.failureKind === 'infrastructure';
      // That peer now holds a workspace of this repository and solution: the next Incremental build goes there.
      if (!lost && (request.strategy === 'Incremental' || request.strategy === 'Clean'))
        this.lastBuilder.set(workspaceKeyOf(request), peer.agentId);
      listener.onAttempt?.({
        ...record,
        endTime: this.now().toISOString(),
        outcome: lost ? 'Lost' : outcome.status,
        reason: outcome.status === 'Succeeded' ? null : outcome.errorMessage,
      });
      if (!lost || outcome.status === 'Succeeded' || attempt >= maxAttempts || signal.aborted) return outcome;

      excluded.add(peer.agentId);
      lastFailure = outcome.errorMessage;
      const delayMs = delays[Math.min(attempt - 1, delays.length - 1)] ?? 0;
      listener.onLog(
        'WARN',
        `Attempt ${attempt} on ${record.hostname} failed: ${outcome.errorMessage}. Retrying on another peer in ${delayMs / 1000}s...`,
      );
      this.resetStagesAfterClone(request, listener);
      try {
        await this.options.sleep(delayMs, signal);
      } catch {
        return this.outcomeOfError(new OperationAbortedError('cancelled'), request, signal);
      }
    }
    return {
      status: 'Failed',
      errorMessage: `Build failed after ${maxAttempts} attempts: ${lastFailure ?? 'unknown'}`,
      failureKind: 'infrastructure',
    };
  }

  private outcomeOfError(error: unknown, request: BuildRequest, signal: AbortSignal): BuildOutcome {
    const outcome = outcomeOfError(error, request, signal);
    if (outcome.status === 'Failed' && outcome.failureKind === 'infrastructure')
      this.options.logger.warn('peer attempt failed', {
        executionId: request.executionId,
        error: errorMessage(error),
      });
    return outcome;
  }

  /** The next attempt starts over after Clone, whose sources it reuses. */
  private resetStagesAfterClone(request: BuildRequest, listener: BuildExecutionListener): void {
    const at = this.now().toISOString();
    for (const name of STAGE_NAMES) {
      if (name !== 'Clone' && isStageEnabled(request.job, name))
        listener.onStage({ name, status: 'Pending', at, message: null });
    }
  }
}

/** Clones through `sources` with the Clone stage as a `BuildStage.Clone` span under `parent`. */
export async function prepareTraced(
  sources: SourcePreparer,
  tracer: Tracer,
  parent: TraceSpan | undefined,
  request: BuildRequest,
  signal: AbortSignal,
  listener: BuildExecutionListener,
): Promise<PreparedSources> {
  const stages = new StageSpans(tracer, parent, listener);
  try {
    const prepared = await sources.prepare(request, { signal, listener: stages.listener });
    stages.close();
    return prepared;
  } catch (error) {
    stages.close(error);
    throw error;
  }
}

/** Which persistent workspace a build uses on a peer: its repository (without credentials) and solution. */
export function workspaceKeyOf(request: BuildRequest): string {
  return `${repositoryIdentity(request.job.repositoryUrl)}\n${request.job.solutionPath.replaceAll('\\', '/')}`;
}

/** What a build needs: its pool, the frameworks its projects name (once known), and a .NET SDK. */
export function demandOf(request: BuildRequest, sources: PreparedSources | null): BuildDemand {
  const frameworks =
    sources?.frameworks ?? (request.job.targetFramework ? [request.job.targetFramework] : []);
  return { targetPool: request.targetPool, frameworks, tools: ['dotnet'] };
}

/**
 * The outcome of an execution that threw: a failed clone is a build failure, an abort is Cancelled
 * or TimedOut (by the signal's reason), anything else an infrastructure failure.
 */
export function outcomeOfError(error: unknown, request: BuildRequest, signal: AbortSignal): BuildOutcome {
  if (error instanceof SourcePreparationError) {
    return { status: 'Failed', errorMessage: error.message, failureKind: 'build' };
  }
  if (error instanceof OperationAbortedError || signal.aborted) {
    const reason: unknown = signal.reason;
    const timedOut = reason instanceof OperationAbortedError && reason.reason === 'timeout';
    return timedOut
      ? {
          status: 'TimedOut',
          errorMessage: `Build timed out after ${request.job.timeoutMinutes} minute(s)`,
          failureKind: 'build',
        }
      : { status: 'Cancelled', errorMessage: 'Build cancelled', failureKind: 'build' };
  }
  return { status: 'Failed', errorMessage: errorMessage(error), failureKind: 'infrastructure' };
}
