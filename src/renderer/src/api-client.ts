import type { AgentView } from '../../core/agent-view.js';
import { BuildMeshError } from '../../core/errors.js';
import type {
  AgentRef,
  BuildArtifact,
  BuildStatus,
  BuildStrategy,
  Diagnostic,
  PeerBuildResult,
  ReproducibilityReport,
  StageName,
  StageStatus,
  TargetPool,
  TaskTimelineEntry,
  TestResults,
} from '../../core/models.js';
import type { BuildMeshBridge } from './env.js';

/** One row of `GET /api/v1/builds`. */
export interface BuildSummary {
  executionId: string;
  projectName: string;
  strategy: BuildStrategy;
  status: BuildStatus;
  currentStage: StageName | null;
  queuedAt: string;
  startTime: string | null;
  endTime: string | null;
  /** ISO-8601 duration; running builds report the time so far, queued ones `null`. */
  duration: string | null;
  requesterEmail: string | null;
  /** Who launched it: the subject of the token that submitted it (nodes with API auth). */
  requestedBy?: string | null;
  agent: AgentRef | null;
  errorMessage: string | null;
}

/** The body of `GET /api/v1/builds`: newest first. */
export interface BuildPage {
  builds: BuildSummary[];
  pageNumber: number;
  pageSize: number;
  totalCount: number;
}

/** One stage of `GET /api/v1/builds/{id}`. */
export interface StageView {
  name: StageName;
  status: StageStatus;
  startTime: string | null;
  endTime: string | null;
  duration: string | null;
  message: string | null;
  warningsCount: number;
  errorsCount: number;
}

/** The toggles a build was requested with, as its detail echoes them. */
export interface BuildOptionsView {
  runTests: boolean;
  createPackages: boolean;
  publishArtifacts: boolean;
  timeoutMinutes: number;
  forceClean: boolean;
  verify: boolean;
  schedule: 'critical-path' | 'waves';
  continueOnError: boolean;
  maxWarnings: number | null;
}

/** The body of `GET /api/v1/builds/{id}`: what the build detail screen shows. */
export interface BuildDetail extends BuildSummary {
  configuration: string;
  targetPool: TargetPool;
  queuePosition: number | null;
  queueReason: string | null;
  repositoryUrl: string;
  gitRef: string;
  solutionPath: string;
  resolvedCommit: string | null;
  /** The toggles it was requested with (absent from nodes before they were echoed). */
  options?: BuildOptionsView;
  stages: StageView[];
  timeline: TaskTimelineEntry[];
  peerResults: PeerBuildResult[];
  reproducibility: ReproducibilityReport | null;
  testResults: TestResults | null;
  artifacts: BuildArtifact[];
  warningsCount: number;
  errorsCount: number;
  errors: string[];
  warnings: string[];
  diagnostics: Diagnostic[];
  traceId: string;
}

/** The body of `GET /api/v1/repositories/solutions`. */
export interface SolutionList {
  repositoryUrl: string;
  gitRef: string;
  /** The remote ref the ref matched (`refs/heads/main`), or the commit for a SHA. */
  resolvedRef: string;
  commit: string;
  /** Solution and project files at that commit, solutions first. */
  solutions: string[];
}

/** Why a request failed, in words for the person looking at the screen. */
export type ApiRequestErrorCode =
  /** No HTTP answer at all: the node is down, or the address is wrong. */
  | 'ApiUnreachable'
  /** No answer within the client's timeout. */
  | 'ApiTimeout'
  /** The node answered with an error status (its envelope's message is kept). */
  | 'ApiErrorResponse'
  /** The node answered 2xx with a body this UI does not understand. */
  | 'ApiResponseInvalid';

export class ApiRequestError extends BuildMeshError {
  constructor(
    code: ApiRequestErrorCode,
    message: string,
    /** HTTP status when the node answered, else `null`. */
    readonly status: number | null = null,
    options?: { cause?: unknown; details?: unknown[] },
  ) {
    super(code, message, options);
    this.name = 'ApiRequestError';
    this.details = options?.details ?? [];
  }

  /** The envelope's `details` (`{ field, message }` for validation errors). */
  readonly details: unknown[];
}

export interface ApiClientOptions {
  /** The node's API origin; `''` means the origin that served the page. */
  baseUrl: string;
  token: string | null;
  /** Abort a request after this long (default 10 s): a hung node must show as an error, not a spinner. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Called when the node answers 401: the UI asks for a token again. */
  onUnauthorized?: () => void;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** A small typed client of the node's REST API. Every request carries the bearer token. */
export class ApiClient {
  readonly baseUrl: string;
  readonly token: string | null;
  private readonly timeoutMs: number;
  readonly fetchImpl: typeof fetch;
  private readonly onUnauthorized: (() => void) | undefined;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.onUnauthorized = options.onUnauthorized;
  }

  /** The same node with another token (after signing in). */
  withToken(token: string | null, onUnauthorized?: () => void): ApiClient {
    return new ApiClient({
      baseUrl: this.baseUrl,
      token,
      timeoutMs: this.timeoutMs,
      fetch: this.fetchImpl,
      onUnauthorized: onUnauthorized ?? this.onUnauthorized,
    });
  }

  /** An absolute or origin-relative URL of an API path. */
  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /** Headers every request sends: the bearer token when there is one. */
  authHeaders(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  /** Tells the UI the token was refused (used by streams, which do not go through `request`). */
  reportUnauthorized(): void {
    this.onUnauthorized?.();
  }

  async getBuild(executionId: string, { signal }: { signal?: AbortSignal } = {}): Promise<BuildDetail> {
    const path = `/api/v1/builds/${encodeURIComponent(executionId)}`;
    const body = await this.request('GET', path, { signal });
    if (!isRecord(body) || typeof body.executionId !== 'string' || !Array.isArray(body.stages)) {
      throw this.invalid(path);
    }
    return body as unknown as BuildDetail;
  }

  /** Starts a build; a 400 throws with the envelope's `details` naming each bad field. */
  async submitBuild(request: Record<string, unknown>): Promise<{ executionId: string }> {
    const body = await this.request('POST', '/api/v1/builds', { body: request });
    if (!isRecord(body) || typeof body.executionId !== 'string') throw this.invalid('/api/v1/builds');
    return { executionId: body.executionId };
  }

  async cancelBuild(executionId: string): Promise<{ status: BuildStatus; message: string }> {
    const path = `/api/v1/builds/${encodeURIComponent(executionId)}/cancel`;
    const body = await this.request('POST', path, {});
    if (!isRecord(body) || typeof body.status !== 'string') throw this.invalid(path);
    return body as unknown as { status: BuildStatus; message: string };
  }

  /** Resolves a ref of a repository and lists the solutions at that commit. */
  async listSolutions(
    repositoryUrl: string,
    gitRef: string,
    { signal }: { signal?: AbortSignal } = {},
  ): Promise<SolutionList> {
    const query = new URLSearchParams({ repositoryUrl, gitRef });
    const path = `/api/v1/repositories/solutions?${query.toString()}`;
    // ls-remote and a shallow fetch of a big repository can take a while.
    const body = await this.request('GET', path, { signal, timeoutMs: Math.max(this.timeoutMs, 60_000) });
    if (!isRecord(body) || !Array.isArray(body.solutions))
      throw this.invalid('/api/v1/repositories/solutions');
    return body as unknown as SolutionList;
  }

  /** Downloads an artifact with the token (a plain link could not send it). */
  async downloadArtifact(downloadUrl: string, { signal }: { signal?: AbortSignal } = {}): Promise<Blob> {
    const response = await this.send('GET', downloadUrl, { signal, timeoutMs: 10 * 60_000 });
    if (!response.ok) await this.throwForStatus(response);
    return response.blob();
  }

  /** The client for this page: the preload's bridge on desktop, the page's own origin in a browser. */
  static forBridge(bridge: BuildMeshBridge | undefined): ApiClient {
    return new ApiClient({ baseUrl: bridge?.apiBaseUrl ?? '', token: bridge?.token ?? null });
  }

  async listAgents({ signal }: { signal?: AbortSignal } = {}): Promise<AgentView[]> {
    const body = await this.request('GET', '/api/v1/agents', { signal });
    if (!isRecord(body) || !Array.isArray(body.agents)) throw this.invalid('/api/v1/agents');
    return body.agents as AgentView[];
  }

  async listBuilds({
    pageSize = 20,
    signal,
  }: { pageSize?: number; signal?: AbortSignal } = {}): Promise<BuildPage> {
    const path = `/api/v1/builds?pageNumber=1&pageSize=${pageSize}`;
    const body = await this.request('GET', path, { signal });
    if (!isRecord(body) || !Array.isArray(body.builds) || typeof body.totalCount !== 'number') {
      throw this.invalid('/api/v1/builds');
    }
    return body as unknown as BuildPage;
  }

  /** Sends a request and returns the parsed JSON body; error statuses throw `ApiRequestError`. */
  async request(
    method: 'GET' | 'POST' | 'DELETE' | 'PATCH',
    path: string,
    options: { signal?: AbortSignal; body?: unknown; timeoutMs?: number },
  ): Promise<unknown> {
    const response = await this.send(method, path, options);
    if (!response.ok) await this.throwForStatus(response);
    const body = parseJson(await response.text());
    if (body === undefined) throw this.invalid(path.split('?')[0] ?? path);
    return body;
  }

  private async send(
    method: string,
    path: string,
    options: { signal?: AbortSignal; body?: unknown; timeoutMs?: number },
  ): Promise<Response> {
    const { signal } = options;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const headers: Record<string, string> = { Accept: 'application/json', ...this.authHeaders() };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      return await this.fetchImpl(this.url(path), {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      if (timeout.aborted) {
        throw new ApiRequestError(
          'ApiTimeout',
          `${this.describeNode()} did not answer within ${timeoutMs / 1000} s.`,
          null,
          { cause: error },
        );
      }
      throw new ApiRequestError('ApiUnreachable', `Cannot reach ${this.describeNode()}.`, null, {
        cause: error,
      });
    }
  }

  private async throwForStatus(response: Response): Promise<never> {
    if (response.status === 401) this.onUnauthorized?.();
    const body = parseJson(await response.text());
    const message = isRecord(body) && typeof body.message === 'string' ? body.message : response.statusText;
    const details = isRecord(body) && Array.isArray(body.details) ? (body.details as unknown[]) : [];
    throw new ApiRequestError(
      'ApiErrorResponse',
      `The node answered ${response.status}: ${message}`,
      response.status,
      {
        details,
      },
    );
  }

  private invalid(path: string): ApiRequestError {
    return new ApiRequestError(
      'ApiResponseInvalid',
      `The node's answer to ${path} is not what this UI expects.`,
    );
  }

  private describeNode(): string {
    return this.baseUrl === '' ? 'the Build Mesh node' : `the Build Mesh node at ${this.baseUrl}`;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
