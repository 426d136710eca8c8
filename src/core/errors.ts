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
    super('ConfigInvalid', `Invalid configuration:\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`);
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
    super(reason === 'timeout' ? 'TimedOut' : 'Cancelled', message ?? `Operation ${reason === 'timeout' ? 'timed out' : 'cancelled'}`);
    this.name = 'OperationAbortedError';
    this.reason = reason;
  }
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
