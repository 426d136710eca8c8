import type { AgentView } from '../../core/agent-view.js';
import { BuildMeshError } from '../../core/errors.js';
import type { AgentRef, BuildStatus, BuildStrategy, StageName } from '../../core/models.js';
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
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'ApiRequestError';
  }
}

export interface ApiClientOptions {
  /** The node's API origin; `''` means the origin that served the page. */
  baseUrl: string;
  token: string | null;
  /** Abort a request after this long (default 10 s): a hung node must show as an error, not a spinner. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** A small typed client of the node's REST API: only what the UI reads so far. */
export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string | null;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** The client for this page: the preload's bridge on desktop, the page's own origin in a browser. */
  static forBridge(bridge: BuildMeshBridge | undefined): ApiClient {
    return new ApiClient({ baseUrl: bridge?.apiBaseUrl ?? '', token: bridge?.token ?? null });
  }

  async listAgents({ signal }: { signal?: AbortSignal } = {}): Promise<AgentView[]> {
    const body = await this.getJson('/api/v1/agents', signal);
    if (!isRecord(body) || !Array.isArray(body.agents)) throw this.invalid('/api/v1/agents');
    return body.agents as AgentView[];
  }

  async listBuilds({
    pageSize = 20,
    signal,
  }: { pageSize?: number; signal?: AbortSignal } = {}): Promise<BuildPage> {
    const path = `/api/v1/builds?pageNumber=1&pageSize=${pageSize}`;
    const body = await this.getJson(path, signal);
    if (!isRecord(body) || !Array.isArray(body.builds) || typeof body.totalCount !== 'number') {
      throw this.invalid('/api/v1/builds');
    }
    return body as unknown as BuildPage;
  }

  private async getJson(path: string, signal: AbortSignal | undefined): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        headers,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      if (timeout.aborted) {
        throw new ApiRequestError(
          'ApiTimeout',
          `${this.describeNode()} did not answer within ${this.timeoutMs / 1000} s.`,
          null,
          {
            cause: error,
          },
        );
      }
      throw new ApiRequestError('ApiUnreachable', `Cannot reach ${this.describeNode()}.`, null, {
        cause: error,
      });
    }
    const text = await response.text();
    const body = parseJson(text);
    if (!response.ok) {
      const message = isRecord(body) && typeof body.message === 'string' ? body.message : response.statusText;
      throw new ApiRequestError(
        'ApiErrorResponse',
        `The node answered ${response.status}: ${message}`,
        response.status,
      );
    }
    if (body === undefined) throw this.invalid(path);
    return body;
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
