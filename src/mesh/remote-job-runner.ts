import type { BuildExecutionListener, BuildOutcome } from '../core/build-execution.js';
import { OperationAbortedError, PeerLostError, errorMessage } from '../core/errors.js';
import type { PreparedSources, RemoteJobRunner } from '../core/mesh-ports.js';
import type { TaskSpec } from '../core/job-messages.js';
import type { BuildRequest } from '../core/models.js';
import type { BlobService } from './blob-protocol.js';
import type { JobService } from './job-protocol.js';

const ARTIFACT_FETCH_ATTEMPTS = 3;
const PARALLEL_FETCHES = 8;

/**
 * Runs a build on another peer: the job protocol carries the offer and the events back, and each
 * artifact the peer reports is fetched over the blob protocol into this node's CAS, re-hashed,
 * and refetched on a mismatch, before it is reported as the build's artifact.
 */
export class MeshRemoteJobRunner implements RemoteJobRunner {
  constructor(
    private readonly jobs: Pick<JobService, 'runJob'>,
    private readonly blobs: Pick<BlobService, 'fetchBlob'>,
    /** Whether this node's CAS already holds a blob (skips fetching it again). */
    private readonly hasBlob: (sha256: string) => Promise<boolean> = () => Promise.resolve(false),
  ) {}

  async run(
    peerId: string,
    job: {
      request: BuildRequest;
      attempt: number;
      source: PreparedSources;
      task?: TaskSpec;
      traceparent?: string;
    },
    { signal, listener }: { signal: AbortSignal; listener: BuildExecutionListener },
  ): Promise<BuildOutcome> {
    return this.jobs.runJob(
      peerId,
      {
        type: 'offer',
        executionId: job.request.executionId,
        attempt: job.attempt,
        request: job.request,
        source: { manifestSha256: job.source.manifestSha256, commit: job.source.commit },
        ...(job.task ? { task: job.task } : {}),
        ...(job.traceparent ? { traceparent: job.traceparent } : {}),
      },
      {
        signal,
        onEvent: async (event) => {
          switch (event.type) {
            case 'log':
              listener.onLog(event.level, event.message);
              return;
            case 'stage': {
              const { type: _type, ...update } = event;
              listener.onStage(update);
              return;
            }
            case 'commit':
              listener.onCommit(event.commit);
              return;
            case 'diagnostics':
              listener.onDiagnostics(event.diagnostics);
              return;
            case 'tests':
              listener.onTestResults(event.results);
              return;
            case 'artifact':
              await this.fetchArtifact(peerId, event.artifact.sha256Hash, signal, listener, job.traceparent);
              listener.onArtifact(event.artifact);
              return;
            case 'task-output':
              await this.fetchBlobs(
                peerId,
                event.signed.entry.blobs.map((blob) => blob.sha256),
                signal,
                listener,
                job.traceparent,
              );
              await listener.onTaskOutput?.(event.signed);
              return;
          }
        },
      },
    );
  }

  /** Fetches the blobs this node lacks, a few at a time, each verified and retried like an artifact. */
  private async fetchBlobs(
    peerId: string,
    sha256s: readonly string[],
    signal: AbortSignal,
    listener: BuildExecutionListener,
    traceparent: string | undefined,
  ): Promise<void> {
    const missing: string[] = [];
    for (const sha256 of new Set(sha256s)) if (!(await this.hasBlob(sha256))) missing.push(sha256);
    let next = 0;
    const worker = async () => {
      while (next < missing.length) {
        const sha256 = missing[next++] as string;
        await this.fetchArtifact(peerId, sha256, signal, listener, traceparent);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_FETCHES, missing.length) }, worker));
  }

  private async fetchArtifact(
    peerId: string,
    sha256: string,
    signal: AbortSignal,
    listener: BuildExecutionListener,
    traceparent: string | undefined,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        // The job's trace context rides along, so the serving peer's log lines name the trace.
        await this.blobs.fetchBlob(peerId, sha256, { signal, traceparent });
        return;
      } catch (error) {
        if (error instanceof OperationAbortedError && signal.aborted) throw error;
        if (attempt >= ARTIFACT_FETCH_ATTEMPTS) {
          throw new PeerLostError(
            peerId,
            `Could not fetch artifact ${sha256} from ${peerId}: ${errorMessage(error)}`,
            { cause: error },
          );
        }
        listener.onLog(
          'WARN',
          `Fetching artifact ${sha256} from ${peerId} failed (attempt ${attempt}/${ARTIFACT_FETCH_ATTEMPTS}): ${errorMessage(error)}; fetching again`,
        );
      }
    }
  }
}
