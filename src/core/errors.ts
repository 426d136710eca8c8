/**
 * Error classes, one per condition, each with a stable `code`. Boundaries translate them once:
 * the API's error middleware maps `code` to an HTTP status and the error envelope.
 */

/** A problem with one field of a request or config, named so the user can fix it. */
export interface FieldProblem {
  field: string;
  message: string;
}

export class BuildMeshError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BuildMeshError';
    this.code = code;
  }
}

/** A build request failed validation; `problems` lists every bad field. */
export class InvalidBuildRequestError extends BuildMeshError {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[]) {
    super('ValidationFailed', `Build request validation failed: ${problems.map(formatProblem).join('; ')}`);
    this.name = 'InvalidBuildRequestError';
    this.problems = problems;
  }
}

/** A query or path parameter is out of range or malformed. */
export class InvalidArgumentError extends BuildMeshError {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[]) {
    super('BadRequest', problems.map(formatProblem).join('; '));
    this.name = 'InvalidArgumentError';
    this.problems = problems;
  }
}

/** Config from defaults, file, env and flags did not validate; every problem is listed. */
export class ConfigError extends BuildMeshError {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[]) {
    super(
      'ConfigInvalid',
      `Invalid configuration:\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export class NotFoundError extends BuildMeshError {
  constructor(what: string, id: string) {
    super('NotFound', `${what} '${id}' was not found`);
    this.name = 'NotFoundError';
  }
}

/** The operation does not fit the resource's current state (e.g. cancelling a finished build). */
export class ConflictError extends BuildMeshError {
  constructor(message: string) {
    super('Conflict', message);
    this.name = 'ConflictError';
  }
}

export class PayloadTooLargeError extends BuildMeshError {
  constructor(limitBytes: number) {
    super('PayloadTooLarge', `Request body exceeds the limit of ${limitBytes} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

/** A stored artifact no longer matches its recorded sha256. */
export class ArtifactCorruptedError extends BuildMeshError {
  constructor(artifactId: string, expected: string, actual: string) {
    super(
      'ArtifactCorrupted',
      `Artifact '${artifactId}' is corrupted: stored bytes hash to ${actual}, expected ${expected}`,
    );
    this.name = 'ArtifactCorruptedError';
  }
}

/** A process exited with a code it was not allowed to (a build failure, not an infrastructure one). */
export class CommandFailedError extends BuildMeshError {
  readonly exitCode: number | null;
  readonly command: string;
  readonly outputTail: string[];
  constructor(command: string, exitCode: number | null, outputTail: string[]) {
    super('CommandFailed', `${command} exited with code ${exitCode ?? 'unknown'}`);
    this.name = 'CommandFailedError';
    this.exitCode = exitCode;
    this.command = command;
    this.outputTail = outputTail;
  }
}

/** A required tool is not installed or not on PATH. */
export class ToolNotFoundError extends BuildMeshError {
  constructor(tool: string) {
    super('ToolNotFound', `${tool} not found on PATH`);
    this.name = 'ToolNotFoundError';
  }
}

/** The operation was stopped by a cancel or a timeout. */
export class OperationAbortedError extends BuildMeshError {
  readonly reason: 'cancelled' | 'timeout';
  constructor(reason: 'cancelled' | 'timeout', message?: string) {
    super(
      reason === 'timeout' ? 'TimedOut' : 'Cancelled',
      message ?? `Operation ${reason === 'timeout' ? 'timed out' : 'cancelled'}`,
    );
    this.name = 'OperationAbortedError';
    this.reason = reason;
  }
}

/**
 * Why `signal` aborted, as an OperationAbortedError: the reason itself when it is one, a timeout
 * for `AbortSignal.timeout`, otherwise a cancel.
 */
export function abortReasonOf(signal: AbortSignal): OperationAbortedError {
  const reason: unknown = signal.reason;
  if (reason instanceof OperationAbortedError) return reason;
  const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
  return new OperationAbortedError(timedOut ? 'timeout' : 'cancelled');
}

export function formatProblem(problem: FieldProblem): string {
  return `${problem.field}: ${problem.message}`;
}

/** The message of anything thrown, without trusting it to be an Error. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A peer refused a job offer (busy, paused, in maintenance); another peer may take it. */
export class JobRejectedError extends BuildMeshError {
  constructor(
    readonly peerId: string,
    readonly reason: string,
  ) {
    super('JobRejected', `Peer ${peerId} rejected the job: ${reason}`);
    this.name = 'JobRejectedError';
  }
}

/** The executing peer went away mid-build (killed, disconnected, silent): an infrastructure failure. */
export class PeerLostError extends BuildMeshError {
  constructor(
    readonly peerId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('PeerLost', message, options);
    this.name = 'PeerLostError';
  }
}

/** The sources could not be prepared (clone failed): a build failure, never retried. */
export class SourcePreparationError extends BuildMeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SourcePreparationFailed', message, options);
    this.name = 'SourcePreparationError';
  }
}

/**
 * A dependency graph (project references, task dependencies) contains a cycle. `cycle` lists the
 * nodes in order and repeats the first at the end: `['src/A/A.csproj', 'src/B/B.csproj', 'src/A/A.csproj']`.
 * A build failure: the sources are wrong, retrying elsewhere cannot help.
 */
export class CycleDetectedError extends BuildMeshError {
  readonly cycle: string[];
  constructor(message: string, cycle: string[]) {
    super('CycleDetected', message);
    this.name = 'CycleDetectedError';
    this.cycle = cycle;
  }
}

/**
 * A path that must be relative to the repository root is absolute, empty, or leaves the repository
 * (`../../outside`). Cache keys and project graphs never hold machine-specific paths.
 */
export class InvalidRepoPathError extends BuildMeshError {
  readonly path: string;
  constructor(path: string, reason: string) {
    super('InvalidRepoPath', `Invalid repository path '${path}': ${reason}`);
    this.name = 'InvalidRepoPathError';
    this.path = path;
  }
}

/**
 * A project or task graph is malformed in a way other than a cycle: a duplicate node, a reference to a
 * node that is not in the graph, an invalid cost. `problems` lists every one found.
 */
export class InvalidGraphError extends BuildMeshError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('InvalidGraph', `Invalid graph: ${problems.join('; ')}`);
    this.name = 'InvalidGraphError';
    this.problems = problems;
  }
}

/** The inputs of a cache key are not canonical (absolute paths, bad digests, duplicates); each problem is listed. */
export class InvalidCacheKeyInputError extends BuildMeshError {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[]) {
    super('InvalidCacheKeyInput', `Invalid cache key input: ${problems.map(formatProblem).join('; ')}`);
    this.name = 'InvalidCacheKeyInputError';
    this.problems = problems;
  }
}

/**
 * MSBuild could not evaluate a project (malformed project file, missing import or SDK). A build
 * failure, never retried; `output` holds MSBuild's messages for that project.
 */
export class ProjectEvaluationError extends BuildMeshError {
  readonly project: string;
  readonly output: string[];
  constructor(project: string, message: string, output: string[], options?: { cause?: unknown }) {
    super('ProjectEvaluationFailed', message, options);
    this.name = 'ProjectEvaluationError';
    this.project = project;
    this.output = output;
  }
}
