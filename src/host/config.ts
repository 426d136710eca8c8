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
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  const dataDir = resolve(result.data.dataDir);
  return {
    ...result.data,
    dataDir,
    workspaceDir: resolve(result.data.workspaceDir ?? join(dataDir, 'workspaces')),
  };
}
