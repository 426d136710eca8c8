import { z } from 'zod';
import { MAX_CPU_SHARE_PERCENT, MIN_CPU_SHARE_PERCENT } from './cpu-share.js';
import { USER_RETURN_ACTIONS } from './donation.js';
import { BuildMeshError, type FieldProblem } from './errors.js';
import { DONATION_MODES } from './mesh-messages.js';
import { caseInsensitiveEnum } from './zod-helpers.js';

/** Most build slots a node may have (the same bound as the `maxConcurrentBuilds` config key). */
export const MAX_PARALLEL_BUILDS = 64;
/** Longest idle threshold, in minutes (a day). */
export const MAX_IDLE_AFTER_MINUTES = 1440;

const integerIn = (min: number, max: number, unit: string) =>
  z
    .number({ error: `must be a whole number of ${unit} from ${min} to ${max}` })
    .int({ error: `must be a whole number of ${unit} from ${min} to ${max}` })
    .min(min, { error: `must be at least ${min} ${unit}` })
    .max(max, { error: `must be at most ${max} ${unit}` });

/**
 * What the owner of a node decides about it (from the tray, `PATCH /api/v1/config`, or config
 * keys), applied live and kept in `<dataDir>/settings.json`.
 */
export const nodeSettingsSchema = z.strictObject({
  /** Whether peers may use this machine: `Always`, `WhenIdle` (no input for `idleAfterMinutes`) or `Paused`. */
  donationMode: caseInsensitiveEnum(DONATION_MODES),
  /** Build slots: how many builds or project tasks this machine runs at once, its own and its peers'. */
  maxParallelBuilds: integerIn(1, MAX_PARALLEL_BUILDS, 'builds'),
  /** How much of the CPU the mesh may use: sets the priority of dotnet processes and MSBuild's `-m`. */
  cpuSharePercent: integerIn(MIN_CPU_SHARE_PERCENT, MAX_CPU_SHARE_PERCENT, 'percent'),
  /** Minutes without keyboard or mouse input after which a `WhenIdle` machine counts as idle. */
  idleAfterMinutes: integerIn(1, MAX_IDLE_AFTER_MINUTES, 'minutes'),
  /** What happens to running work when the owner comes back: `lower-priority` or `hand-back`. */
  onUserReturn: caseInsensitiveEnum(USER_RETURN_ACTIONS),
  /** Start the desktop app when the user logs in (desktop only; a headless node ignores it). */
  startAtLogin: z.boolean({ error: 'must be true or false' }),
});
export type NodeSettings = z.output<typeof nodeSettingsSchema>;

/** `PATCH /api/v1/config`: any subset of the settings; unknown fields are refused. */
export const nodeSettingsPatchSchema = nodeSettingsSchema.partial();
export type NodeSettingsPatch = z.output<typeof nodeSettingsPatchSchema>;

export const DEFAULT_NODE_SETTINGS: NodeSettings = {
  donationMode: 'Always',
  maxParallelBuilds: 1,
  cpuSharePercent: 100,
  idleAfterMinutes: 10,
  onUserReturn: 'lower-priority',
  startAtLogin: false,
};

/** `GET /api/v1/config` and the answer to `PATCH`: the settings, facts about the node, and their effect now. */
export const nodeConfigViewSchema = z.strictObject({
  settings: nodeSettingsSchema,
  node: z.strictObject({
    /** This node's peer id. */
    agentId: z.string(),
    /** Base URL of this node's REST API. */
    apiUrl: z.string(),
    /** Multiaddrs this node listens on for the mesh. */
    meshAddresses: z.array(z.string()),
    cpuCores: z.number().int(),
  }),
  donation: z.strictObject({
    /** Whether the node takes new work from peers now. */
    accepting: z.boolean(),
    /** Why not, when it does not. */
    reason: z.string().nullable(),
    /** `away`, `present`, or `unknown` when no idle source feeds the node (headless). */
    userActivity: z.enum(['away', 'present', 'unknown']),
    /** Seconds since the last keyboard or mouse input, when known. */
    idleSeconds: z.number().nullable(),
    /** Builds and project tasks running on this machine now. */
    running: z.array(z.string()),
    /** How dotnet processes run under the CPU share. */
    processLimits: z.strictObject({ niceness: z.number().int(), maxCpuCount: z.number().int() }),
  }),
});
export type NodeConfigView = z.output<typeof nodeConfigViewSchema>;

/** Settings sent to `PATCH /api/v1/config` failed validation; `problems` names every bad field. */
export class InvalidSettingsError extends BuildMeshError {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[]) {
    super(
      'ValidationFailed',
      `Settings validation failed: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
    );
    this.name = 'InvalidSettingsError';
    this.problems = problems;
  }
}

const KNOWN_FIELDS = Object.keys(nodeSettingsSchema.shape).join(', ');

/** Validates a settings patch, listing every bad field; an empty patch is refused too. */
export function parseSettingsPatch(body: unknown): NodeSettingsPatch {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new InvalidSettingsError([{ field: '(body)', message: 'must be a JSON object of settings' }]);
  const result = nodeSettingsPatchSchema.safeParse(body);
  if (!result.success) {
    throw new InvalidSettingsError(
      result.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({
              field: key,
              message: `is not a setting; known settings: ${KNOWN_FIELDS}`,
            }))
          : [{ field: issue.path.map(String).join('.') || '(body)', message: issue.message }],
      ),
    );
  }
  if (Object.keys(result.data).length === 0)
    throw new InvalidSettingsError([
      { field: '(body)', message: `names no setting; send one or more of: ${KNOWN_FIELDS}` },
    ]);
  return result.data;
}

/**
 * Settings as read back from `settings.json`: the valid keys win over `base`, anything invalid or
 * unknown is dropped (a hand-edited file must not stop the node) and reported.
 */
export function mergeStoredSettings(
  base: NodeSettings,
  stored: unknown,
): { settings: NodeSettings; problems: FieldProblem[] } {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored))
    return { settings: base, problems: [{ field: '(file)', message: 'is not a JSON object' }] };
  const settings: Record<string, unknown> = { ...base };
  const problems: FieldProblem[] = [];
  for (const [key, value] of Object.entries(stored)) {
    const field = Object.hasOwn(nodeSettingsSchema.shape, key)
      ? (nodeSettingsSchema.shape[key as keyof NodeSettings] as z.ZodType)
      : undefined;
    if (!field) {
      problems.push({ field: key, message: 'is not a setting' });
      continue;
    }
    const parsed = field.safeParse(value);
    if (parsed.success) settings[key] = parsed.data;
    else problems.push({ field: key, message: parsed.error.issues[0]?.message ?? 'is invalid' });
  }
  return { settings: settings as NodeSettings, problems };
}

/** Port: the node's settings as the API reads and changes them. */
export interface NodeSettingsService {
  view(): NodeConfigView;
  /** Applies a validated patch live and persists it. */
  update(patch: NodeSettingsPatch): Promise<NodeConfigView>;
}
