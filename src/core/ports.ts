import type { BuildArtifact, BuildRecord, BuildStatus, LogLine } from './models.js';

/** Structured application logging (not build output). One implementation lives in host. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
}

export interface BuildPage {
  items: BuildRecord[];
  totalCount: number;
}

/** Port: where build records live. Writes are durable when the call returns. */
export interface BuildStore {
  insert(record: BuildRecord): void;
  update(record: BuildRecord): void;
  get(executionId: string): BuildRecord | null;
  /** Newest first. */
  list(page: { offset: number; limit: number }): BuildPage;
  listByStatus(statuses: readonly BuildStatus[]): BuildRecord[];
  findArtifact(artifactId: string): { executionId: string; artifact: BuildArtifact } | null;
}

/** Port: the build logs, stored as lines and followed live. */
export interface BuildLogStore {
  append(executionId: string, line: LogLine): void;
  /** The build's log is complete: followers end once they have read every line. */
  complete(executionId: string): Promise<void>;
  /** Formatted lines so far, then live ones until the log completes or `signal` aborts. */
  follow(executionId: string, options: { follow: boolean; signal?: AbortSignal }): AsyncIterable<string>;
}

/** Port: the bytes of stored artifacts (the content-addressed store). */
export interface ArtifactContent {
  /** Streams the bytes after checking they still hash to `sha256`; throws ArtifactCorruptedError if not. */
  openVerified(sha256: string, artifactId: string): Promise<NodeJS.ReadableStream>;
}

/** Port: the build operations the API offers (implemented by the coordinator). */
export interface BuildService {
  /** `requestedBy`: the `sub` of the caller's token, kept on the record ("who launched it"). */
  submit(body: unknown, context?: { requestedBy?: string }): { record: BuildRecord; queuePosition: number };
  get(executionId: string): BuildRecord;
  list(page: { offset: number; limit: number }): BuildPage;
  cancel(executionId: string): BuildRecord;
  queuePosition(executionId: string): number;
  findArtifact(artifactId: string): { executionId: string; artifact: BuildArtifact };
}
