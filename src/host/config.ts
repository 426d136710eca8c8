import { existsSync, readFileSync } from 'node:fs';
import { homedir, platform } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, type FieldProblem } from '../core/errors.js';

/** A list from a file (JSON array) or from env/flags (comma-separated). */
const stringList = z
  .union([
    z.array(z.string().min(1)),
    z.string().transform((text) =>
      text
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean),
    ),
  ])
  .pipe(z.array(z.string().min(1)));

const booleanValue = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((value) => value === true || value === 'true' || value === '1');

/** Every key of the node's configuration, with its default and what it is for. */
export const nodeConfigSchema = z.strictObject({
  /** Where the SQLite store, the CAS, logs and workspaces live. */
  dataDir: z.string().min(1),
  /** Interface the REST API binds to. Anything but loopback should be protected by tokens. */
  apiHost: z.string().min(1).default('127.0.0.1'),
  /** Port of the REST API; 0 picks a free port. */
  apiPort: z.coerce.number().int().min(0).max(65535).default(5000),
  /**
   * Origins (`https://dashboard.example.com`) whose pages may call the API from a browser. Empty:
   * CORS is closed, and only pages the node serves itself can use the API.
   */
  corsOrigins: stringList
    .pipe(
      z.array(
        z.string().refine((origin) => /^https?:\/\/[^/?#\s]+$/i.test(origin), {
          message: 'each origin must be scheme://host[:port], e.g. https://ci.example.com (no path, no *)',
        }),
      ),
    )
    .default([]),
  /** Requests per minute a client (a token's subject, or an IP without one) may make; `/health` is exempt. */
  rateLimitPerMinute: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  /** `POST /api/v1/builds` per minute per client. */
  buildRateLimitPerMinute: z.coerce.number().int().min(1).max(1_000_000).default(10),
  /** How many builds this machine runs at once, its own and its peers' (its build slots). */
  maxConcurrentBuilds: z.coerce.number().int().min(1).max(64).default(1),
  /** Mesh listen multiaddrs. The default binds every interface on a fixed port: mesh traffic is encrypted and key-gated. */
  meshListen: stringList.default(['/ip4/0.0.0.0/tcp/4101']),
  /** Peers to dial (multiaddrs with /p2p/<id>): for other subnets, CI and tests. */
  meshBootstrap: stringList.default([]),
  /** Find peers on the LAN with mDNS. */
  meshMdns: booleanValue.default(true),
  /** When not empty, only these peer ids may connect, on every protocol. */
  meshAllowList: stringList.default([]),
  /** Whether peers may use this machine: Always, WhenIdle or Paused. */
  donationMode: z.enum(['Always', 'WhenIdle', 'Paused']).default('Always'),
  /** Share of the CPU the mesh may use, 10–100: the priority of dotnet processes and MSBuild's `-m`. */
  cpuSharePercent: z.coerce.number().int().min(10).max(100).default(100),
  /** Minutes without keyboard or mouse input after which a WhenIdle desktop counts as idle. */
  idleAfterMinutes: z.coerce.number().int().min(1).max(1440).default(10),
  /** What happens to running work when the owner comes back: lower-priority or hand-back. */
  onUserReturn: z.enum(['lower-priority', 'hand-back']).default('lower-priority'),
  /** How often presence is announced, in milliseconds. */
  presenceIntervalMs: z.coerce.number().int().min(100).max(60_000).default(3000),
  /** A peer not heard from for this long is Offline, in milliseconds. */
  peerOfflineAfterMs: z.coerce.number().int().min(500).max(600_000).default(15_000),
  /** Where build workspaces are created; defaults to `<dataDir>/workspaces`. */
  workspaceDir: z.string().min(1).optional(),
  /** Keep each build's workspace after it ends, for debugging. */
  keepWorkspaces: booleanValue.default(false),
  /** Disk budget of the persistent workspaces of Incremental builds; past it the least recently used go. */
  workspaceBudgetBytes: z.coerce
    .number()
    .int()
    .min(0)
    .default(20 * 1024 ** 3),
  /** Application log threshold (JSON lines on stderr). */
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});

export type NodeConfigInput = z.input<typeof nodeConfigSchema>;
export interface NodeConfig extends Omit<z.output<typeof nodeConfigSchema>, 'workspaceDir'> {
  workspaceDir: string;
  /** OpenTelemetry tracing from the standard `OTEL_*` variables; absent when tracing is off. */
  tracing?: TracingConfig;
}

/** Where and how spans are exported (read from the standard `OTEL_*` variables by {@link loadTracingConfig}). */
export interface TracingConfig {
  /** `otlp`: OTLP/HTTP with JSON bodies to `endpoint`; `console`: printed to stdout (debugging). */
  exporter: 'otlp' | 'console';
  /** The traces URL, e.g. `http://localhost:4318/v1/traces`. */
  endpoint: string;
  /** Extra HTTP headers of every export (authentication of a hosted collector). */
  headers: Record<string, string>;
  /** `service.name` of the spans (default `BuildServer`). */
  serviceName: string;
  /** Further resource attributes (`OTEL_RESOURCE_ATTRIBUTES`). */
  resourceAttributes: Record<string, string>;
  /** Delay between two batch exports, in milliseconds (`OTEL_BSP_SCHEDULE_DELAY`, default 5000). */
  scheduleDelayMs: number;
  /** How long one export may take, in milliseconds (`OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, default 10000). */
  exportTimeoutMs: number;
}

/** A `k=v,k2=v2` list of the OTel spec (values percent-encoded); null when an entry has no `=`. */
function keyValueList(text: string): Record<string, string> | null {
  const result: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const index = part.indexOf('=');
    if (index <= 0) return null;
    try {
      result[decodeURIComponent(part.slice(0, index).trim())] = decodeURIComponent(
        part.slice(index + 1).trim(),
      );
    } catch {
      return null;
    }
  }
  return result;
}

/**
 * Tracing from the standard OpenTelemetry variables. Off (undefined) when `OTEL_SDK_DISABLED` is
 * true, when `OTEL_TRACES_EXPORTER` is `none`, and when nothing asks for it: neither an exporter
 * nor an OTLP endpoint is set. Spans go as OTLP/HTTP JSON, which Jaeger and the collector accept on
 * their OTLP/HTTP port; `grpc` is refused with the fix.
 *
 * @throws ConfigError listing every bad variable
 */
export function loadTracingConfig(env: NodeJS.ProcessEnv): TracingConfig | undefined {
  const value = (name: string) => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };
  if (value('OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return undefined;
  const problems: FieldProblem[] = [];
  const exporters = (value('OTEL_TRACES_EXPORTER') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  const tracesEndpoint = value('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const baseEndpoint = value('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (exporters.includes('none')) return undefined;
  if (exporters.length === 0 && !tracesEndpoint && !baseEndpoint) return undefined;
  for (const name of exporters) {
    if (name !== 'otlp' && name !== 'console')
      problems.push({
        field: 'OTEL_TRACES_EXPORTER',
        message: `'${name}' is not supported; use otlp, console or none`,
      });
  }
  const exporter = exporters.includes('console') && !exporters.includes('otlp') ? 'console' : 'otlp';
  const endpoint =
    tracesEndpoint ?? `${(baseEndpoint ?? 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`;
  const endpointVariable = tracesEndpoint
    ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
    : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  try {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    problems.push({ field: endpointVariable, message: `'${endpoint}' is not an http(s) URL` });
  }
  const protocolVariable = value('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL')
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = value(protocolVariable);
  if (protocol && protocol !== 'http/json' && protocol !== 'http/protobuf')
    problems.push({
      field: protocolVariable,
      message: `'${protocol}' is not supported; Build Mesh exports OTLP/HTTP (http/json): point the endpoint at the collector's OTLP/HTTP port (4318)`,
    });
  const headers: Record<string, string> = {};
  for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
    const text = value(name);
    if (!text) continue;
    const parsed = keyValueList(text);
    if (parsed) Object.assign(headers, parsed);
    else problems.push({ field: name, message: 'must be a list of key=value pairs separated by commas' });
  }
  const resourceText = value('OTEL_RESOURCE_ATTRIBUTES');
  const resourceAttributes = resourceText ? keyValueList(resourceText) : {};
  if (!resourceAttributes)
    problems.push({
      field: 'OTEL_RESOURCE_ATTRIBUTES',
      message: 'must be a list of key=value pairs separated by commas',
    });
  const milliseconds = (name: string, fallback: number) => {
    const text = value(name);
    if (text === undefined) return fallback;
    const parsed = Number(text);
    if (Number.isInteger(parsed) && parsed >= 0) return parsed;
    problems.push({ field: name, message: `'${text}' is not a whole number of milliseconds` });
    return fallback;
  };
  const scheduleDelayMs = milliseconds('OTEL_BSP_SCHEDULE_DELAY', 5000);
  const exportTimeoutMs = milliseconds(
    value('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT')
      ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'
      : 'OTEL_EXPORTER_OTLP_TIMEOUT',
    10_000,
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    exporter,
    endpoint,
    headers,
    serviceName: value('OTEL_SERVICE_NAME') ?? resourceAttributes?.['service.name'] ?? 'BuildServer',
    resourceAttributes: resourceAttributes ?? {},
    scheduleDelayMs,
    exportTimeoutMs,
  };
}

export const CONFIG_KEYS = Object.keys(nodeConfigSchema.shape) as (keyof NodeConfigInput)[];

/** `apiPort` → `BUILDMESH_API_PORT`. */
export function envNameOf(key: string): string {
  return `BUILDMESH_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}

/** `apiPort` → `--api-port`. */
export function flagNameOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  switch (platform()) {
    case 'win32':
      return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'BuildMesh');
    case 'darwin':
      return join(homedir(), 'Library', 'Application Support', 'BuildMesh');
    case 'linux':
    case 'aix':
    case 'android':
    case 'cygwin':
    case 'freebsd':
    case 'haiku':
    case 'netbsd':
    case 'openbsd':
    case 'sunos':
      return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'buildmesh');
  }
}

export interface LoadConfigOptions {
  /** Values from command-line flags, keyed by config key. */
  flags?: Partial<Record<keyof NodeConfigInput, string | boolean>>;
  /** Path of a JSON config file (`--config`); otherwise `<dataDir>/config.json` when it exists. */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Builds the node's config from defaults < file < `BUILDMESH_*` env < flags, and validates it
 * once. A bad config throws ConfigError listing every problem and where the value came from.
 */
export function loadConfig(options: LoadConfigOptions = {}): NodeConfig {
  const env = options.env ?? process.env;
  const problems: FieldProblem[] = [];
  const sources = new Map<string, string>();
  const layered: Record<string, unknown> = {};

  const fromEnv: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    const value = env[envNameOf(key)];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const provisionalDataDir = String(options.flags?.dataDir ?? fromEnv.dataDir ?? defaultDataDir(env));
  const configFile = options.configFile ?? env.BUILDMESH_CONFIG ?? join(provisionalDataDir, 'config.json');
  const explicitFile = options.configFile !== undefined || env.BUILDMESH_CONFIG !== undefined;

  if (existsSync(configFile)) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(configFile, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        problems.push({ field: configFile, message: 'must contain a JSON object of config keys' });
      } else {
        for (const [key, value] of Object.entries(parsed)) {
          layered[key] = value;
          sources.set(key, `file ${configFile}`);
        }
      }
    } catch (error) {
      problems.push({
        field: configFile,
        message: `is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      });
    }
  } else if (explicitFile) {
    problems.push({ field: 'config', message: `file ${configFile} does not exist` });
  }
  for (const [key, value] of Object.entries(fromEnv)) {
    layered[key] = value;
    sources.set(key, `env ${envNameOf(key)}`);
  }
  for (const [key, value] of Object.entries(options.flags ?? {})) {
    if (value === undefined) continue;
    layered[key] = value;
    sources.set(key, `flag ${flagNameOf(key)}`);
  }
  layered.dataDir ??= provisionalDataDir;

  const result = nodeConfigSchema.safeParse(layered);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          problems.push({
            field: key,
            message: `is not a config key (from ${sources.get(key) ?? 'config'}); known keys: ${CONFIG_KEYS.join(', ')}`,
          });
        }
        continue;
      }
      const key = issue.path.map(String).join('.');
      problems.push({ field: key, message: `${issue.message} (from ${sources.get(key) ?? 'defaults'})` });
    }
  }
  let tracing: TracingConfig | undefined;
  try {
    tracing = loadTracingConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  const dataDir = resolve(result.data.dataDir);
  return {
    ...result.data,
    dataDir,
    workspaceDir: resolve(result.data.workspaceDir ?? join(dataDir, 'workspaces')),
    ...(tracing ? { tracing } : {}),
  };
}
