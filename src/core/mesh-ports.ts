import type { BuildExecutionListener, BuildOutcome } from './build-execution.js';
import type { TaskSpec } from './job-messages.js';
import type { BuildRequest } from './models.js';
import type { PeerCandidate } from './peer-selection.js';

/** Port: the peers this node knows, itself included, as scheduling candidates. */
export interface PeerDirectory {
  candidates(): PeerCandidate[];
  hostnameOf(agentId: string): string;
  /** Called whenever a peer appears, changes, or goes offline. */
  onChange(listener: () => void): void;
}

/** A build's sources, stored in this node's CAS for peers to fetch. */
export interface PreparedSources {
  manifestSha256: string;
  commit: string;
  /** Target frameworks the solution's projects name, for choosing a capable peer. */
  frameworks: string[];
}

/** Port: clones a request's ref once and stores the tree in the CAS (the Clone stage of a mesh build). */
export interface SourcePreparer {
  /** Emits the Clone stage's events; throws SourcePreparationError when the clone fails. */
  prepare(
    request: BuildRequest,
    options: { signal: AbortSignal; listener: BuildExecutionListener },
  ): Promise<PreparedSources>;
}

/** Port: runs a build on another peer through the job protocol. */
export interface RemoteJobRunner {
  /**
   * Offers the job and, once accepted, relays the peer's events until its result. Artifacts are
   * fetched into the local CAS (and verified) before they are reported. Throws JobRejectedError
   * when the peer declines and PeerLostError when it goes away.
   */
  run(
    peerId: string,
    job: {
      request: BuildRequest;
      attempt: number;
      source: PreparedSources;
      task?: TaskSpec;
      /** The coordinator's span for this job; sent with the offer so the peer continues the trace. */
      traceparent?: string;
    },
    options: { signal: AbortSignal; listener: BuildExecutionListener },
  ): Promise<BuildOutcome>;
}

/** Port: runs one project task on a peer, this node included. */
export interface TaskDispatcher {
  /**
   * Runs the task and relays its events. Before `onTaskOutput` and `onArtifact` are called, the
   * blobs they name are in this node's CAS and verified. Throws JobRejectedError when the peer
   * declines (no free slot, Maintenance) and PeerLostError when it goes away.
   */
  run(
    peerId: string,
    job: {
      request: BuildRequest;
      attempt: number;
      source: PreparedSources;
      task: TaskSpec;
      /** The coordinator's span for this task; the peer that runs it continues the trace. */
      traceparent?: string;
    },
    options: { signal: AbortSignal; listener: BuildExecutionListener },
  ): Promise<BuildOutcome>;
}
