import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { defaultDataDir } from '../config.js';
import { mintTokenFromDataDir } from '../jwt-secret.js';

const HELP = `Usage: buildmesh build <repository-url> --ref <ref> --solution <path> [options]

Submits a build to a Build Mesh node and, with --wait, follows it to the end.

Options:
  --ref <ref>                 branch, tag, refs/heads/x or commit SHA (required)
  --solution <path>           .sln, .slnx or project file, relative to the repository root (required)
  --strategy <name>           Incremental (default) or Clean
  --configuration <name>      build configuration (default Release)
  --framework <tfm>           target framework, e.g. net10.0
  --runtime <rid>             runtime identifier, e.g. linux-x64
  -p, --property <K=V>        MSBuild property (repeatable)
  --no-tests                  skip the Test stage
  --pack                      create NuGet packages
  --no-publish                do not publish outputs as artifacts
  --timeout-minutes <n>       kill the build after n minutes (default 60)
  --email <address>           requester email (default $BUILDMESH_EMAIL)
  --wait                      follow the build and exit non-zero if it fails
  --api <url>                 node API (default $BUILDMESH_API_URL or http://127.0.0.1:5000)
  --token <jwt>               API token (default $BUILDMESH_TOKEN; otherwise a short-lived
                              Developer token minted from the node's data dir, when readable)
  --data-dir <dir>            the node's data dir to mint that token from
                              (default $BUILDMESH_DATA_DIR or the platform's default)
  -h, --help                  show this help`;

interface StageView {
  name: string;
  status: string;
  duration: string | null;
  message: string | null;
}

interface BuildView {
  executionId: string;
  status: string;
  currentStage: string | null;
  queuePosition: number | null;
  queueReason: string | null;
  duration: string | null;
  stages: StageView[];
  testResults: {
    total: number;
    passed: number;
    failed: number;
    skipped: number;
    durationMs: number;
    failures: { name: string; message: string }[];
  } | null;
  artifacts: { name: string; sizeBytes: number; sha256Hash: string; downloadUrl: string }[];
  errors: string[];
  errorMessage: string | null;
  resolvedCommit: string | null;
}

interface ErrorBody {
  error?: string;
  message?: string;
  details?: ({ field: string; message: string } | string)[];
}

const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled', 'TimedOut']);
const REFRESH_INTERVAL_MS = 1000;

export async function buildCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ref: { type: 'string' },
        solution: { type: 'string' },
        strategy: { type: 'string' },
        configuration: { type: 'string' },
        framework: { type: 'string' },
        runtime: { type: 'string' },
        property: { type: 'string', short: 'p', multiple: true },
        'no-tests': { type: 'boolean' },
        pack: { type: 'boolean' },
        'no-publish': { type: 'boolean' },
        'timeout-minutes': { type: 'string' },
        email: { type: 'string' },
        wait: { type: 'boolean' },
        api: { type: 'string' },
        token: { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [repositoryUrl] = positionals;
  const missing = [
    !repositoryUrl && '<repository-url>',
    !values.ref && '--ref',
    !values.solution && '--solution',
  ].filter(Boolean);
  if (missing.length > 0) {
    console.error(`Missing ${missing.join(', ')}.\n\n${HELP}`);
    return 2;
  }
  const properties: Record<string, string> = {};
  for (const property of values.property ?? []) {
    const equals = property.indexOf('=');
    if (equals <= 0) {
      console.error(`--property must be Key=Value, got "${property}"`);
      return 2;
    }
    properties[property.slice(0, equals)] = property.slice(equals + 1);
  }
  const timeoutMinutes =
    values['timeout-minutes'] === undefined ? undefined : Number(values['timeout-minutes']);
  const body = {
    repositoryUrl,
    gitRef: values.ref,
    solutionPath: values.solution,
    ...(values.strategy ? { strategy: values.strategy } : {}),
    ...(values.configuration ? { configuration: values.configuration } : {}),
    ...(values.framework ? { targetFramework: values.framework } : {}),
    ...(values.runtime ? { runtimeIdentifier: values.runtime } : {}),
    ...(Object.keys(properties).length > 0 ? { buildProperties: properties } : {}),
    ...(values['no-tests'] ? { runTests: false } : {}),
    ...(values.pack ? { createPackages: true } : {}),
    ...(values['no-publish'] ? { publishArtifacts: false } : {}),
    ...(timeoutMinutes !== undefined ? { timeoutMinutes } : {}),
    ...requesterEmail(values.email),
    metadata: { trigger: 'cli' },
  };

  const api = (values.api ?? process.env.BUILDMESH_API_URL ?? 'http://127.0.0.1:5000').replace(/\/$/, '');
  const client = new NodeClient(api, await resolveToken(values.token, values['data-dir']));
  const submitted = await client.request<{
    executionId: string;
    queuePosition: number;
    links: { self: string };
  }>('POST', '/api/v1/builds', body);
  if (!submitted.ok) return reportFailure(submitted.status, submitted.error, api);
  const { executionId, queuePosition } = submitted.value;
  console.log(`Build ${executionId} queued (position ${queuePosition})`);
  console.log(`  status: ${api}${submitted.value.links.self}`);
  if (!values.wait) return 0;
  return followBuild(client, executionId);
}

/** Lifetime of the token the CLI mints for itself: long enough for a `--wait`ed build. */
const SELF_MINTED_TTL_SECONDS = 4 * 3600;

/**
 * The token to send: `--token`, else `$BUILDMESH_TOKEN`, else one minted from the node's data
 * dir when this user can read its secret (same machine, file access is the authority), else none
 * (the node then answers 401 and the message says what to do).
 */
async function resolveToken(
  explicit: string | undefined,
  dataDir: string | undefined,
): Promise<string | null> {
  const given = explicit ?? process.env.BUILDMESH_TOKEN;
  if (given) return given;
  try {
    const minted = await mintTokenFromDataDir(
      dataDir ?? process.env.BUILDMESH_DATA_DIR ?? defaultDataDir(),
      'Developer',
      SELF_MINTED_TTL_SECONDS,
      `cli:${cliUser()}`,
    );
    return minted?.token ?? null;
  } catch {
    // Unreadable secret (another user's node): go without a token.
    return null;
  }
}

function cliUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function requesterEmail(explicit: string | undefined): { requesterEmail?: string } {
  const email = explicit ?? process.env.BUILDMESH_EMAIL;
  return email ? { requesterEmail: email } : {};
}

/**
 * Prints each stage as it changes and a live progress line, then the results. The node's event
 * stream says when something changed; the status is then read whole, and re-read every second
 * for the progress line (or when the stream is unavailable).
 */
async function followBuild(client: NodeClient, executionId: string): Promise<number> {
  const changes = new ChangeSignal();
  const events = new AbortController();
  void watchEvents(
    `${client.baseUrl}/api/v1/builds/${executionId}/events`,
    client.authorization(),
    changes,
    events.signal,
  );
  try {
    return await printUntilDone(client, executionId, changes);
  } finally {
    events.abort();
  }
}

async function printUntilDone(
  client: NodeClient,
  executionId: string,
  changes: ChangeSignal,
): Promise<number> {
  const reported = new Map<string, string>();
  const interactive = process.stdout.isTTY;
  let progressShown = false;
  const clearProgress = () => {
    if (progressShown) process.stdout.write('\r\x1b[2K');
    progressShown = false;
  };
  for (;;) {
    const response = await client.request<BuildView>('GET', `/api/v1/builds/${executionId}`);
    if (!response.ok) return reportFailure(response.status, response.error, client.baseUrl);
    const build = response.value;
    for (const stage of build.stages) {
      if (reported.get(stage.name) === stage.status || stage.status === 'Pending') continue;
      if (stage.status === 'Running' && reported.has(stage.name)) continue;
      reported.set(stage.name, stage.status);
      clearProgress();
      console.log(formatStage(stage));
    }
    if (TERMINAL.has(build.status)) {
      clearProgress();
      printResult(build);
      return build.status === 'Succeeded' ? 0 : 1;
    }
    if (interactive) {
      const what =
        build.status === 'Queued'
          ? `queued${build.queuePosition ? ` (position ${build.queuePosition})` : ''}${build.queueReason ? `: ${build.queueReason}` : ''}`
          : `${build.currentStage ?? build.status} running`;
      process.stdout.write(`\r\x1b[2K  … ${what}  ${build.duration ?? ''}`);
      progressShown = true;
    }
    await changes.next(REFRESH_INTERVAL_MS);
  }
}

/** Wakes the follower when an event arrives, or after a timeout. */
class ChangeSignal {
  private wake: (() => void) | null = null;
  notify(): void {
    this.wake?.();
  }
  next(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.wake = done;
    });
  }
}

/** Reads the build's Server-Sent Events and signals each one; ends quietly on any failure. */
async function watchEvents(
  url: string,
  authorization: Record<string, string>,
  changes: ChangeSignal,
  signal: AbortSignal,
): Promise<void> {
  try {
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...authorization }, signal });
    if (!response.ok || !response.body) return;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (new TextDecoder().decode(value).includes('event: ')) changes.notify();
    }
  } catch {
    // The periodic refresh carries on without events.
  }
}

const STAGE_MARKS: Record<string, string> = {
  Running: '▶',
  Succeeded: '✓',
  Failed: '✗',
  Skipped: '-',
  Cancelled: '■',
};

function formatStage(stage: StageView): string {
  const mark = STAGE_MARKS[stage.status] ?? ' ';
  const duration = stage.duration ? ` ${stage.duration}` : '';
  const message = stage.message && stage.status !== 'Running' ? `  ${stage.message}` : '';
  return `${mark} ${stage.name.padEnd(8)} ${stage.status}${duration}${message}`;
}

function printResult(build: BuildView): void {
  console.log(`\nBuild ${build.status}${build.duration ? ` in ${build.duration}` : ''}`);
  if (build.resolvedCommit) console.log(`  commit: ${build.resolvedCommit}`);
  if (build.testResults) {
    const t = build.testResults;
    console.log(
      `  tests: ${t.total} total, ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped (${(t.durationMs / 1000).toFixed(1)}s)`,
    );
    for (const failure of t.failures)
      console.log(`    ✗ ${failure.name}: ${failure.message.split('\n')[0] ?? ''}`);
  }
  for (const error of build.errors.slice(0, 20)) console.log(`  ${error}`);
  if (build.artifacts.length > 0) {
    console.log('  artifacts:');
    for (const artifact of build.artifacts) {
      console.log(
        `    ${artifact.name}  ${artifact.sizeBytes} bytes  sha256 ${artifact.sha256Hash}  ${artifact.downloadUrl}`,
      );
    }
  }
  if (build.errorMessage) console.log(`  ${build.errorMessage}`);
}

function reportFailure(status: number, error: ErrorBody | string, api: string): number {
  if (typeof error === 'string') {
    if (status === 0) {
      console.error(`Cannot reach the node at ${api}: ${error}. Is "buildmesh node" running?`);
      return 1;
    }
    console.error(`The node answered ${status}: ${error}`);
    return status >= 400 && status < 500 ? 2 : 1;
  }
  console.error(`Request rejected (${status} ${error.error ?? ''}): ${error.message ?? ''}`);
  if (status === 401) {
    console.error(
      '  Pass a token with --token or $BUILDMESH_TOKEN ("buildmesh token create --role Developer" on the node\'s machine), or --data-dir <the node\'s data dir>.',
    );
  }
  for (const detail of error.details ?? []) {
    console.error(typeof detail === 'string' ? `  - ${detail}` : `  - ${detail.field}: ${detail.message}`);
  }
  return status >= 400 && status < 500 ? 2 : 1;
}

type ClientResult<T> = { ok: true; value: T } | { ok: false; status: number; error: ErrorBody | string };

/** A minimal JSON client for the node's REST API. */
class NodeClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | null,
  ) {}

  /** The Authorization header, when there is a token. */
  authorization(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<ClientResult<T>> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...this.authorization(),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      return {
        ok: false,
        status: 0,
        error: cause?.code ?? (error instanceof Error ? error.message : String(error)),
      };
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    if (!response.ok) return { ok: false, status: response.status, error: parsed as ErrorBody | string };
    return { ok: true, value: parsed as T };
  }
}
