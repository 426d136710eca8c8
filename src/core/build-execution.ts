import type { StageUpdate } from './build-stages.js';
import type { BuildRequest, Diagnostic, LogLevel, ProducedArtifact, TestResults } from './models.js';

/** What an agent reports while it runs a build; the coordinator turns these into the build record. */
export interface BuildExecutionListener {
  onLog(level: LogLevel, message: string): void;
  onStage(update: StageUpdate): void;
  onCommit(commit: string): void;
  onDiagnostics(diagnostics: Diagnostic[]): void;
  onTestResults(results: TestResults): void;
  onArtifact(artifact: ProducedArtifact): void;
}

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

/** Port: something that can run a whole build (this machine's agent, or a peer through the mesh). */
export interface BuildExecutor {
  execute(request: BuildRequest, options: { signal: AbortSignal; listener: BuildExecutionListener }): Promise<BuildOutcome>;
}
