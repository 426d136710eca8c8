import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../../src/core/errors.js';
import { BuildNode } from '../../src/host/build-node.js';
import { loadConfig, type NodeConfigInput } from '../../src/host/config.js';
import { JsonLogger } from '../../src/host/logger.js';
import { checkApiResponse } from './contract.js';

/** Mesh settings for tests: loopback only, no mDNS on real interfaces, quick presence. */
export const TEST_MESH_FLAGS = {
  meshListen: '/ip4/127.0.0.1/tcp/0',
  meshMdns: 'false',
  presenceIntervalMs: '500',
  peerOfflineAfterMs: '4000',
} as const;

export interface TestNode {
  node: BuildNode;
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * Rate limits of test nodes: high, because tests legitimately post many builds and poll quickly.
 * A test of the limits themselves passes `productionRateLimits`.
 */
const TEST_RATE_LIMITS = { rateLimitPerMinute: '100000', buildRateLimitPerMinute: '10000' } as const;

/** Starts a real node in-process on 127.0.0.1, a free port and a fresh data dir. */

export async function startTestNode(
  options: {
    dataDir?: string;
    maxConcurrentBuilds?: number;
    bootstrap?: string[];
    joinCode?: string;
    /** The environment the config reads (`OTEL_*` for tracing); empty by default. */
    env?: NodeJS.ProcessEnv;
    /** Keep the production rate limits (1000/min, 10 builds/min) instead of the raised test ones. */
    productionRateLimits?: boolean;
    /** More config keys, as flags (`{ corsOrigins: 'https://a.example' }`). */
    config?: Partial<Record<keyof NodeConfigInput, string>>;
  } = {},
): Promise<TestNode> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'buildmesh-node-')));
  const config = loadConfig({
    env: options.env ?? {},
    flags: {
      dataDir,
      apiPort: '0',
      apiHost: '127.0.0.1',
      maxConcurrentBuilds: String(options.maxConcurrentBuilds ?? 1),
      ...TEST_MESH_FLAGS,
      meshBootstrap: (options.bootstrap ?? []).join(','),
      ...(options.productionRateLimits ? {} : TEST_RATE_LIMITS),
      ...options.config,
    },
  });
  const node = await BuildNode.start({
    config,
    logger: new JsonLogger('test', process.env.BUILDMESH_TEST_LOG === '1' ? 'debug' : 'silent'),
    retryDelaysMs: [50, 100],
    joinCode: options.joinCode,
    sseHeartbeatMs: 200,
  });
  // Tests act as Admin unless they pass another token; the role tests mint their own.
  useTokenFor(node.apiUrl, node.issueToken('Admin', 12 * 3600, 'test'));
  return { node, url: node.apiUrl, dataDir, stop: () => node.stop() };
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}

export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** Bearer tokens of the nodes tests talk to, by origin (`http://127.0.0.1:port`). */
const tokensByOrigin = new Map<string, string>();

/** Makes `api` and `apiFetch` send `token` to every request to `url`'s node. */
export function useTokenFor(url: string, token: string): void {
  tokensByOrigin.set(new URL(url).origin, token);
}

/** The token `useTokenFor` registered for `url`'s node, if any. */
export function tokenFor(url: string): string | undefined {
  return tokensByOrigin.get(new URL(url).origin);
}

/** `fetch` that carries the node's token (see `useTokenFor`) unless the caller set Authorization. */
export function apiFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = tokensByOrigin.get(new URL(url).origin);
  if (token && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
  return fetch(url, { ...init, headers }).then((response) => {
    checkApiResponse(init.method ?? 'GET', url, response);
    return response;
  });
}

export async function api<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<JsonResponse<T>> {
  const response = await apiFetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Plain-text bodies (logs) stay text.
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 240_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(
    `Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${errorMessage(last)}` : ''}`,
  );
}

/**
 * Waits until a build's log says `dotnet build` started, and returns that process's pid (its
 * process-group id). Works for remote builds too: their log lines are relayed to the coordinator.
 */
export async function waitForDotnetBuildPid(baseUrl: string, executionId: string): Promise<number> {
  return waitFor(
    `build ${executionId} to start dotnet build`,
    async () => {
      const log = await (await apiFetch(`${baseUrl}/api/v1/builds/${executionId}/logs?follow=false`)).text();
      return Number(/dotnet build started \(pid (\d+)\)/.exec(log)?.[1] ?? 0) || null;
    },
    120_000,
    100,
  );
}

const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled', 'TimedOut']);

/** Waits for a build to reach a terminal status and returns its status body. */
export async function waitForBuild(
  baseUrl: string,
  executionId: string,
  timeoutMs = 240_000,
): Promise<BuildBody> {
  return waitFor(
    `build ${executionId} to finish`,
    async () => {
      const response = await api<BuildBody>(baseUrl, 'GET', `/api/v1/builds/${executionId}`);
      return TERMINAL.has(response.body.status) ? response.body : null;
    },
    timeoutMs,
    500,
  );
}

export interface BuildBody {
  executionId: string;
  status: string;
  currentStage: string | null;
  errorMessage: string | null;
  resolvedCommit: string | null;
  stages: {
    name: string;
    status: string;
    startTime: string | null;
    endTime: string | null;
    duration: string | null;
    message: string | null;
  }[];
  testResults: {
    total: number;
    passed: number;
    failed: number;
    skipped: number;
    durationMs: number;
    failures: { name: string; message: string; stackTrace: string }[];
  } | null;
  artifacts: {
    artifactId: string;
    name: string;
    sizeBytes: number;
    sha256Hash: string;
    contentType: string;
    downloadUrl: string;
  }[];
  errors: string[];
  warnings: string[];
  diagnostics: {
    severity: string;
    code: string;
    file: string | null;
    line: number | null;
    message: string;
  }[];
  agent: { agentId: string; hostname: string } | null;
}
