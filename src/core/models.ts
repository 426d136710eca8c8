import type { BuildAttempt } from './build-execution.js';

/**
 * Domain model of a build, shared by every layer. Enums travel as strings on the wire
 * (parsed case-insensitively, echoed in canonical case) and are never serialised by ordinal.
 */

/** The overall state of one build execution. */
export type BuildStatus =
  /** Accepted and recorded, waiting for a free slot or a capable peer. */
  | 'Queued'
  /** A stage is running. */
  | 'Running'
  /** Every enabled stage succeeded. */
  | 'Succeeded'
  /** A stage failed (compile error, failed test, git error, or the node died mid-build). */
  | 'Failed'
  /** Cancel was requested; the process tree is being killed. */
  | 'Cancelling'
  /** Cancelled by a user. */
  | 'Cancelled'
  /** `timeoutMinutes` elapsed; the process tree was killed. */
  | 'TimedOut';

export const TERMINAL_BUILD_STATUSES: readonly BuildStatus[] = [
  'Succeeded',
  'Failed',
  'Cancelled',
  'TimedOut',
];

export function isTerminalStatus(status: BuildStatus): boolean {
  return TERMINAL_BUILD_STATUSES.includes(status);
}

/** The canonical stage names; `currentStage` is always one of these. */
export const STAGE_NAMES = ['Clone', 'Restore', 'Build', 'Test', 'Package', 'Upload'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** The state of one stage. */
export type StageStatus =
  /** Not started yet. */
  | 'Pending'
  /** In progress. */
  | 'Running'
  /** Finished without errors. */
  | 'Succeeded'
  /** Finished with errors, or timed out. */
  | 'Failed'
  /** Disabled by the request, or not reached because an earlier stage ended the build. */
  | 'Skipped'
  /** Stopped by a cancel while running. */
  | 'Cancelled';

export const BUILD_STRATEGIES = ['Incremental', 'Clean', 'Cached', 'Distributed', 'Canary'] as const;
export type BuildStrategy = (typeof BUILD_STRATEGIES)[number];

export const TARGET_POOLS = ['Linux', 'Windows', 'MacOS', 'Docker'] as const;
export type TargetPool = (typeof TARGET_POOLS)[number];

export const BUILD_PRIORITIES = ['Low', 'Normal', 'High', 'Critical'] as const;
export type BuildPriority = (typeof BUILD_PRIORITIES)[number];

/** Agent lifecycle: Idle → Building → Idle; Offline when not heard from; Maintenance takes no new work. */
export type AgentStatus = 'Idle' | 'Building' | 'Offline' | 'Maintenance';

/** What to build: the normalised job part of a build request. */
export interface BuildJob {
  jobId: string;
  projectName: string;
  repositoryUrl: string;
  gitRef: string;
  solutionPath: string;
  configuration: string;
  targetFramework: string | null;
  platform: string;
  runtimeIdentifier: string | null;
  buildProperties: Record<string, string>;
  runTests: boolean;
  createPackages: boolean;
  publishArtifacts: boolean;
  timeoutMinutes: number;
  metadata: Record<string, string>;
  requesterEmail: string | null;
}

/** A validated, normalised build request. */
export interface BuildRequest {
  executionId: string;
  job: BuildJob;
  targetPool: TargetPool;
  strategy: BuildStrategy;
  priority: BuildPriority;
  forceClean: boolean;
  /** Task order of Distributed and Cached builds; `critical-path` when absent (older records). */
  schedule?: 'critical-path' | 'waves';
  /** Distributed and Cached: independent tasks go on after a failure; false when absent. */
  continueOnError?: boolean;
  /** Canary: the most build warnings the canary may report and still pass; absent or null = unlimited. */
  maxWarnings?: number | null;
  /** A second peer builds the same commit and the outputs are compared by hash; false when absent. */
  verify?: boolean;
  /** Canary: the request named no `targetPool`, so every OS is eligible for the fan-out; false when absent. */
  anyPool?: boolean;
  requesterEmail: string | null;
  createdAt: string;
}

/** One compiler, MSBuild or NuGet diagnostic, parsed from dotnet's output. */
export interface Diagnostic {
  severity: 'warning' | 'error';
  /** e.g. `CS1002`, `MSB3202`, `NU1101`. */
  code: string;
  message: string;
  /** Path as printed by MSBuild, made relative to the workspace when possible. */
  file: string | null;
  line: number | null;
  column: number | null;
  /** The project the diagnostic was reported for, when MSBuild names it. */
  project: string | null;
}

export interface TestFailure {
  name: string;
  message: string;
  stackTrace: string;
  durationMs: number;
}

/** Test results merged from one or more TRX files. */
export interface TestResults {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  durationMs: number;
  failures: TestFailure[];
}

/** A build output stored in the CAS. */
export interface BuildArtifact {
  artifactId: string;
  name: string;
  /** Path relative to the workspace, e.g. `src/Lib/bin/Release/Lib.1.0.0.nupkg`. */
  path: string;
  sizeBytes: number;
  contentType: string;
  sha256Hash: string;
  createdAt: string;
  downloadUrl: string;
}

/** An artifact as the agent produced it, before the node gives it an id and a download URL. */
export type ProducedArtifact = Omit<BuildArtifact, 'artifactId' | 'downloadUrl'>;

export interface StageResult {
  name: StageName;
  status: StageStatus;
  startTime: string | null;
  endTime: string | null;
  message: string | null;
  warningsCount: number;
  errorsCount: number;
}

export interface AgentRef {
  agentId: string;
  hostname: string;
  targetType: TargetPool;
}

/** The stored record of one build, from acceptance to its terminal state. */
export interface BuildRecord {
  executionId: string;
  request: BuildRequest;
  /** The `sub` of the API token that triggered the build; null for builds from before tokens. */
  requestedBy?: string | null;
  status: BuildStatus;
  currentStage: StageName | null;
  stages: StageResult[];
  queuedAt: string;
  startTime: string | null;
  endTime: string | null;
  /** Why the build is still queued, in words a user can act on. */
  queueReason: string | null;
  agent: AgentRef | null;
  resolvedCommit: string | null;
  testResults: TestResults | null;
  artifacts: BuildArtifact[];
  diagnostics: Diagnostic[];
  errorMessage: string | null;
  traceId: string;
  /** Every attempt and the peer it ran on (retries after infrastructure failures add more). */
  attempts: BuildAttempt[];
  /** Project tasks of a Distributed or Cached build, in plan order (empty for other strategies). */
  timeline: TaskTimelineEntry[];
  /** Canary and verify builds: every peer that built the whole solution, and how it ended. */
  peerResults?: PeerBuildResult[];
  /** Canary and verify builds: whether two peers produced the same outputs. */
  reproducibility?: ReproducibilityReport | null;
}

/** How one peer's whole build of a Canary (or verify) build ended. */
export interface PeerBuildResult {
  agentId: string;
  hostname: string;
  /** `canary`: the first, gated build; `fan-out`: the other peers after it passed; `verify`: the second build of a verify run. */
  role: 'canary' | 'fan-out' | 'verify';
  /** `Rejected`: the peer declined (busy, paused, maintenance) and built nothing. */
  status: 'Running' | 'Succeeded' | 'Failed' | 'Cancelled' | 'TimedOut' | 'Rejected';
  startTime: string;
  endTime: string | null;
  /** Canary: the gate that failed (`build`, `tests`, `warnings`); null otherwise. */
  failedGate: 'build' | 'tests' | 'warnings' | null;
  message: string | null;
  testResults: { total: number; passed: number; failed: number; skipped: number } | null;
  warningsCount: number;
}

/** One output file that two peers produced differently. */
export interface OutputDifference {
  /** The project directory, e.g. `src/Lib`. */
  project: string;
  /** The file, relative to the project's output (e.g. `Lib.dll`), or the artifact when it is missing on one side. */
  file: string;
  /** `content differs`, or `only on <peer>`. */
  reason: string;
}

/** The outcome of building the same commit on two or more peers and comparing the outputs. */
export interface ReproducibilityReport {
  /** The peers whose outputs were compared, the reference first. */
  checkedOn: string[];
  /** null when there was nothing to compare (no second peer finished). */
  reproducible: boolean | null;
  /** Each output file that differs: the project directory (e.g. `src/Lib`) and the file within its output. */
  differences: OutputDifference[];
  message: string | null;
}

export type TaskStatus = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Skipped' | 'Cancelled';

/** One project task of a task-engine build: where and when it ran, and what the cache did. */
export interface TaskTimelineEntry {
  /** `build:src/A/A.csproj`, `test:…`, `pack:…`; `verify:…` for a verify build's second build of a project. */
  taskId: string;
  /** `verify`: the project built again on a second peer, cache off, to compare outputs (`verify: true`). */
  kind: 'build' | 'test' | 'pack' | 'verify';
  /** The project file, relative to the repository root. */
  project: string;
  status: TaskStatus;
  /** The peer running or that ran it; for a cache hit, the peer the entry came from. */
  agentId: string | null;
  hostname: string | null;
  /** When its references were done and it became ready. */
  queuedAt: string | null;
  startTime: string | null;
  endTime: string | null;
  /** 1 for the first try; more after infrastructure failures. */
  attempt: number;
  /** `hit`: outputs taken from the action cache; `miss`: looked up and built; `off`: not looked up. */
  cache: 'hit' | 'miss' | 'off';
  cacheKey: string;
  /** Why a lookup missed, in words: no entry, or which inputs changed. */
  missReason: string | null;
  /** Why it failed or was skipped. */
  message: string | null;
  /** Build tasks: the project's outputs (bin, reference assemblies) as a tree in the coordinator's CAS. */
  outputTreeSha256: string | null;
}

export type LogLevel = 'INFO' | 'WARN' | 'ERROR';

export interface LogLine {
  timestamp: string;
  level: LogLevel;
  message: string;
}
