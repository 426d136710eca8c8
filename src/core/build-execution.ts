import type { SignedActionCacheEntry } from './action-cache.js';
import type { StageUpdate } from './build-stages.js';
import type { TraceSpan } from './tracing.js';
import type {
  BuildRequest,
  Diagnostic,
  LogLevel,
  PeerBuildResult,
  ProducedArtifact,
  ReproducibilityReport,
  TaskTimelineEntry,
  TestResults,
} from './models.js';

/** What an agent reports while it runs a build; the coordinator turns these into the build record. */
export interface BuildExecutionListener {
  onLog(level: LogLevel, message: string): void;
  onStage(update: StageUpdate): void;
  onCommit(commit: string): void;
  onDiagnostics(diagnostics: Diagnostic[]): void;
  onTestResults(results: TestResults): void;
  onArtifact(artifact: ProducedArtifact): void;
  /** An attempt started or ended on a peer (mesh builds; a local build has one implicit attempt). */
  onAttempt?(attempt: BuildAttempt): void;
  /** A project task finished and signed its cache entry (task runs only). */
  onTaskOutput?(signed: SignedActionCacheEntry): Promise<void> | void;
  /** A task of a task-engine build was planned, started or ended. */
  onTask?(entry: TaskTimelineEntry): void;
  /** Canary and verify builds: a peer's whole build started or ended. */
  onPeerResult?(result: PeerBuildResult): void;
  /** Canary and verify builds: the outputs of two or more peers were compared. */
  onReproducibility?(report: ReproducibilityReport): void;
}

/** One try of a build on one peer; infrastructure failures lead to another attempt elsewhere. */
export interface BuildAttempt {
  attempt: number;
  agentId: string;
  hostname: string;
  startTime: string;
  endTime: string | null;
  /** `Running`, or how the attempt ended; `Lost` is an infrastructure failure (peer died, connection lost). */
  outcome: 'Running' | 'Succeeded' | 'Failed' | 'Cancelled' | 'TimedOut' | 'Lost' | 'Rejected';
  reason: string | null;
}

/** Whether a queued build can start now; when not, why, in words a user can act on. */
export type StartCheck = { ready: true } | { ready: false; reason: string };

export type BuildOutcome =
  | { status: 'Succeeded' }
  | {
      status: 'Failed' | 'Cancelled' | 'TimedOut';
      errorMessage: string;
      /**
       * `build`: compile errors, failed tests, a bad ref: never retried.
       * `infrastructure`: a lost peer, a crashed agent, a transport failure: may be retried elsewhere.
       */
      failureKind: 'build' | 'infrastructure';
    };

/** How a build is run: cancel signal, where its events go, and (when traced) the span it belongs to. */
export interface BuildRunOptions {
  signal: AbortSignal;
  listener: BuildExecutionListener;
  /** The caller's span; the executor's spans are its children. */
  span?: TraceSpan;
}

/** Port: something that can run a whole build (this machine's agent, or a peer through the mesh). */
export interface BuildExecutor {
  execute(request: BuildRequest, options: BuildRunOptions): Promise<BuildOutcome>;
  /** Checked before a queued build starts; a build that cannot start stays Queued with the reason. */
  checkStart?(request: BuildRequest): StartCheck;
  /** Registers a callback for when `checkStart` may answer differently (a peer appeared, a slot freed). */
  onCapacityChange?(listener: () => void): void;
}
