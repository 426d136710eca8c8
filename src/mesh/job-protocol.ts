import type { Stream } from '@libp2p/interface';
import type { BuildExecutionListener, BuildOutcome } from '../core/build-execution.js';
import {
  JobRejectedError,
  OperationAbortedError,
  PeerLostError,
  abortReasonOf,
  errorMessage,
} from '../core/errors.js';
import {
  jobControlSchema,
  jobEventSchema,
  jobOfferSchema,
  jobReplySchema,
  type JobEvent,
  type JobOffer,
} from '../core/job-messages.js';
import type { Logger } from '../core/ports.js';
import { NOOP_TRACER, traceAgentRun, type Tracer } from '../core/tracing.js';
import { framed, type FramedStream } from './framed-json.js';
import type { MeshNode } from './mesh-node.js';

export const JOB_PROTOCOL = '/buildmesh/job/1.0.0';
/** Largest job message (an offer, a batch of diagnostics, test results with failures). */
export const MAX_JOB_MESSAGE_BYTES = 512 * 1024;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2_000;
/** Silence after which the executing peer is considered lost. */
export const DEFAULT_SILENCE_TIMEOUT_MS = 15_000;
const REPLY_TIMEOUT_MS = 15_000;
const CANCEL_GRACE_MS = 30_000;

/** What the executing side decides about an offer; accepting hands back how to run the job. */
export type JobDecision =
  | {
      accept: true;
      run: (options: { signal: AbortSignal; listener: BuildExecutionListener }) => Promise<BuildOutcome>;
    }
  | { accept: false; reason: string };

/** The executing side's policy and runner (wired by the host to the local agent). */
export interface JobHost {
  consider(offer: JobOffer, fromPeerId: string): JobDecision;
}

export type JobTransport = Pick<MeshNode, 'handle' | 'unhandle' | 'openStream'>;

export interface JobServiceOptions {
  node: JobTransport;
  host: JobHost;
  logger: Logger;
  heartbeatIntervalMs?: number;
  silenceTimeoutMs?: number;
  /**
   * Accepted jobs run under `BuildAgent.ExecuteBuild` or `BuildAgent.ExecuteTask`, continuing the
   * trace of the offer's `traceparent`.
   */
  tracer?: Tracer;
  /** This node's peer id (the spans' `build.agent`). */
  agentId?: string;
}

/**
 * `/buildmesh/job/1.0.0`: the coordinator offers a build to a peer, the peer accepts or rejects,
 * then streams log lines, stage events, results and artifacts' hashes, with a heartbeat while
 * quiet, and ends with the outcome. The coordinator can send `cancel` at any time; the peer then
 * kills the build's process tree. If the coordinator disappears the peer stops the build too.
 *
 * Not responsible for fetching sources or artifacts (the blob protocol) nor for retries.
 */
export class JobService {
  private readonly logger: Logger;
  private readonly heartbeatIntervalMs: number;
  private readonly silenceTimeoutMs: number;

  constructor(private readonly options: JobServiceOptions) {
    this.logger = options.logger.child('mesh:job');
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.silenceTimeoutMs = options.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS;
  }

  async start(): Promise<void> {
    await this.options.node.handle(JOB_PROTOCOL, (stream, peer) => this.serve(stream, peer.peerId), {
      maxInboundStreams: 32,
    });
  }

  async stop(): Promise<void> {
    await this.options.node.unhandle(JOB_PROTOCOL);
  }

  /**
   * Offers `offer` to `peerId` and relays its events to `onEvent` (awaited, so the caller can
   * fetch an artifact before the next event) until the outcome. Throws JobRejectedError when the
   * peer declines and PeerLostError when it cannot be reached, goes silent or disconnects.
   */
  async runJob(
    peerId: string,
    offer: JobOffer,
    options: {
      signal: AbortSignal;
      onEvent: (event: Exclude<JobEvent, { type: 'result' | 'heartbeat' }>) => Promise<void> | void;
    },
  ): Promise<BuildOutcome> {
    const { signal } = options;
    let stream: Stream;
    try {
      stream = await this.options.node.openStream(
        peerId,
        JOB_PROTOCOL,
        AbortSignal.any([signal, AbortSignal.timeout(REPLY_TIMEOUT_MS)]),
      );
    } catch (error) {
      if (signal.aborted) throw abortReasonOf(signal);
      throw new PeerLostError(peerId, `Could not reach peer ${peerId}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    const frames = framed(stream, { maxFrameBytes: MAX_JOB_MESSAGE_BYTES });
    const fail = (message: string, cause?: unknown): never => {
      frames.abort(new Error(message));
      throw new PeerLostError(peerId, message, { cause });
    };
    try {
      await frames.writeJson(offer);
      const reply = await frames.readJson(jobReplySchema, {
        signal: AbortSignal.timeout(REPLY_TIMEOUT_MS),
        maxBytes: MAX_JOB_MESSAGE_BYTES,
      });
      if (reply.type === 'reject') {
        await frames.closeWrite().catch(() => undefined);
        throw new JobRejectedError(peerId, reply.reason);
      }
    } catch (error) {
      if (error instanceof JobRejectedError) throw error;
      return fail(`Peer ${peerId} did not answer the job offer: ${errorMessage(error)}`, error);
    }

    let cancelSent = false;
    const sendCancel = () => {
      if (cancelSent) return;
      cancelSent = true;
      const reason = signal.reason instanceof Error ? signal.reason.message : 'cancelled';
      frames.writeJson({ type: 'cancel', reason }).catch(() => undefined);
    };
    signal.addEventListener('abort', sendCancel, { once: true });
    try {
      for (;;) {
        // After a cancel the peer needs time to kill its processes; before it, silence means it is gone.
        const limit = cancelSent ? CANCEL_GRACE_MS : this.silenceTimeoutMs;
        let event: JobEvent;
        try {
          event = await frames.readJson(jobEventSchema, {
            signal: AbortSignal.timeout(limit),
            maxBytes: MAX_JOB_MESSAGE_BYTES,
          });
        } catch (error) {
          if (cancelSent) throw abortReasonOf(signal);
          if (error instanceof OperationAbortedError)
            return fail(`Peer ${peerId} went silent for ${limit / 1000}s (no heartbeat)`, error);
          return fail(`Connection to peer ${peerId} was lost mid-build: ${errorMessage(error)}`, error);
        }
        if (event.type === 'heartbeat') continue;
        if (event.type === 'result') {
          await frames.closeWrite().catch(() => undefined);
          return event.outcome;
        }
        try {
          await options.onEvent(event);
        } catch (error) {
          // Leaving the stream stops the remote build (it watches for the coordinator going away).
          frames.abort(error instanceof Error ? error : new Error(String(error)));
          throw error;
        }
      }
    } finally {
      signal.removeEventListener('abort', sendCancel);
    }
  }

  private async serve(stream: Stream, peerId: string): Promise<void> {
    const frames = framed(stream, { maxFrameBytes: MAX_JOB_MESSAGE_BYTES });
    let offer: JobOffer;
    try {
      offer = await frames.readJson(jobOfferSchema, {
        signal: AbortSignal.timeout(REPLY_TIMEOUT_MS),
        maxBytes: MAX_JOB_MESSAGE_BYTES,
      });
    } catch (error) {
      this.logger.warn('bad job offer; closing the stream', { peerId, error: errorMessage(error) });
      frames.abort(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const decision = this.options.host.consider(offer, peerId);
    if (!decision.accept) {
      this.logger.info('job rejected', { peerId, executionId: offer.executionId, reason: decision.reason });
      await frames.writeJson({ type: 'reject', reason: decision.reason });
      await frames.closeWrite().catch(() => undefined);
      return;
    }
    this.logger.info('job accepted', { peerId, executionId: offer.executionId, attempt: offer.attempt });
    await frames.writeJson({ type: 'accept' });

    const controller = new AbortController();
    const writer = new SerialWriter(frames, (error) => {
      // The coordinator is gone: nobody is waiting for this build any more.
      if (!controller.signal.aborted)
        controller.abort(
          new OperationAbortedError('cancelled', `Coordinator unreachable: ${errorMessage(error)}`),
        );
    });
    void this.watchControl(frames, controller, peerId);
    const heartbeat = setInterval(() => writer.send({ type: 'heartbeat' }), this.heartbeatIntervalMs);
    let outcome: BuildOutcome;
    try {
      outcome = await traceAgentRun(
        this.options.tracer ?? NOOP_TRACER,
        {
          request: offer.request,
          task: offer.task,
          agentId: this.options.agentId ?? '',
          parent: offer.traceparent,
          remote: true,
        },
        eventWriter(writer),
        (listener) => decision.run({ signal: controller.signal, listener }),
      );
    } catch (error) {
      outcome = {
        status: 'Failed',
        errorMessage: `Agent failed: ${errorMessage(error)}`,
        failureKind: 'infrastructure',
      };
    } finally {
      clearInterval(heartbeat);
    }
    writer.send({ type: 'result', outcome });
    await writer.flushed();
    await frames.closeWrite().catch(() => undefined);
    this.logger.info('job finished', { peerId, executionId: offer.executionId, status: outcome.status });
  }

  /** Reads the coordinator's control messages; a cancel, or the coordinator vanishing, stops the build. */
  private async watchControl(
    frames: FramedStream,
    controller: AbortController,
    peerId: string,
  ): Promise<void> {
    try {
      const control = await frames.readJson(jobControlSchema, { signal: controller.signal, maxBytes: 4096 });
      controller.abort(new OperationAbortedError('cancelled', control.reason));
    } catch (error) {
      if (controller.signal.aborted) return;
      this.logger.warn('job stream from the coordinator ended; stopping the build', {
        peerId,
        error: errorMessage(error),
      });
      controller.abort(new OperationAbortedError('cancelled', 'The coordinator closed the job stream'));
    }
  }
}

/** Writes messages one after another (libp2p writes must not interleave); remembers the first failure. */
class SerialWriter {
  private chain: Promise<void> = Promise.resolve();
  private failed = false;

  constructor(
    private readonly frames: FramedStream,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  send(message: JobEvent): void {
    if (this.failed) return;
    this.chain = this.chain.then(async () => {
      if (this.failed) return;
      try {
        await this.frames.writeJson(message);
      } catch (error) {
        this.failed = true;
        this.onFailure(error);
      }
    });
  }

  flushed(): Promise<void> {
    return this.chain;
  }
}

function eventWriter(writer: SerialWriter): BuildExecutionListener {
  return {
    onLog: (level, message) => writer.send({ type: 'log', level, message: message.slice(0, 60_000) }),
    onStage: (update) => writer.send({ type: 'stage', ...update }),
    onCommit: (commit) => writer.send({ type: 'commit', commit }),
    onDiagnostics: (diagnostics) => writer.send({ type: 'diagnostics', diagnostics }),
    onTestResults: (results) =>
      writer.send({
        type: 'tests',
        // Keep the message under the frame limit however many tests fail.
        results: {
          ...results,
          failures: results.failures.slice(0, 200).map((failure) => ({
            ...failure,
            name: failure.name.slice(0, 1000),
            message: failure.message.slice(0, 4000),
            stackTrace: failure.stackTrace.slice(0, 4000),
          })),
        },
      }),
    onArtifact: (artifact) => writer.send({ type: 'artifact', artifact }),
    onTaskOutput: (signed) => writer.send({ type: 'task-output', signed }),
  };
}
