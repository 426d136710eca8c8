import { createHash } from 'node:crypto';
import { z } from 'zod';
import { traceparentSchema } from './mesh-messages.js';
import { markRepositorySchema } from './not-reproducible.js';
import {
  TASK_KINDS,
  type CacheKey,
  type InputDigest,
  type MissExplanation,
  type TaskKind,
} from './cache-key.js';

/**
 * A signed action-cache entry: what one project task produced for one cache key, enough to skip
 * running it again anywhere in the mesh. The producing peer signs the canonical bytes of `entry`
 * with its libp2p key; a receiver checks the signature against `entry.producedBy` and the sha256 of
 * every blob before it uses the entry.
 */

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const isoTime = z.string().max(40);

/** Log lines kept with an entry and replayed on a hit. */
export const MAX_CACHED_LOG_LINES = 400;
const MAX_CACHED_LOG_LINE_CHARS = 2000;

export const cachedTestResultsSchema = z.strictObject({
  total: z.number().int().min(0),
  passed: z.number().int().min(0),
  failed: z.number().int().min(0),
  skipped: z.number().int().min(0),
  durationMs: z.number().min(0),
  failures: z
    .array(
      z.strictObject({
        name: z.string().max(1000),
        message: z.string().max(4000),
        stackTrace: z.string().max(4000),
        durationMs: z.number().min(0),
      }),
    )
    .max(200),
});

export const cachedArtifactSchema = z.strictObject({
  name: z.string().max(500),
  path: z.string().max(4096),
  sizeBytes: z.number().int().min(0),
  contentType: z.string().max(200),
  sha256Hash: sha256,
  createdAt: isoTime,
});

export const actionCacheEntrySchema = z.strictObject({
  version: z.literal(1),
  cacheKey: sha256,
  kind: z.enum(TASK_KINDS as ['build', 'test', 'pack']),
  /** The project file, relative to the repository root. */
  project: z.string().min(1).max(4096),
  /** Provenance: the peer that ran the task and signed this entry, its SDK, and when. */
  producedBy: z.string().min(1).max(200),
  sdkVersion: z.string().max(64),
  createdAt: isoTime,
  /** The project's output tree (build tasks), a JSON object in the CAS. */
  outputTreeSha256: sha256.nullable(),
  artifacts: z.array(cachedArtifactSchema).max(1000),
  testResults: cachedTestResultsSchema.nullable(),
  log: z.array(z.string().max(MAX_CACHED_LOG_LINE_CHARS)).max(MAX_CACHED_LOG_LINES),
  /** Every blob the entry needs (the tree object, its files, the artifacts): what a fetch must bring. */
  blobs: z.array(z.strictObject({ sha256, sizeBytes: z.number().int().min(0) })).max(200_000),
});
export type ActionCacheEntry = z.infer<typeof actionCacheEntrySchema>;

export const signedActionCacheEntrySchema = z.strictObject({
  entry: actionCacheEntrySchema,
  /** Base64 signature by `entry.producedBy` over {@link entrySigningBytes}. */
  signature: z.string().min(1).max(2000),
});
export type SignedActionCacheEntry = z.infer<typeof signedActionCacheEntrySchema>;

/** The bytes a producer signs: a domain tag and the sha256 of the entry's canonical JSON. */
export function entrySigningBytes(entry: ActionCacheEntry): Uint8Array {
  const digest = createHash('sha256').update(canonicalJson(entry)).digest('hex');
  return new TextEncoder().encode(`buildmesh-action-cache-entry/1\n${digest}`);
}

/** JSON with object keys sorted at every depth, so equal values always give equal bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Keeps the last lines of a task's log within the entry's limits. */
export function logForEntry(lines: readonly string[]): string[] {
  return lines.slice(-MAX_CACHED_LOG_LINES).map((line) => line.slice(0, MAX_CACHED_LOG_LINE_CHARS));
}

/** Port: signs entries with this peer's key and checks other peers' signatures. */
export interface EntrySigner {
  /** This peer's id, the `producedBy` of the entries it signs. */
  readonly peerId: string;
  sign(entry: ActionCacheEntry): Promise<SignedActionCacheEntry>;
  /** True when `signature` is `entry.producedBy`'s over the entry's bytes. */
  verify(signed: SignedActionCacheEntry): Promise<boolean>;
}

/** Most inputs a stored or transmitted "last inputs" list may hold. */
export const MAX_LAST_INPUTS = 50_000;

/** One input of a cache key as stored and sent between peers (see `InputDigest`). */
export const inputDigestSchema = z.strictObject({
  kind: z.enum(['file', 'reference', 'setting', 'property']),
  name: z.string().min(1).max(4096),
  digest: sha256,
});

/** The last inputs recorded for one (kind, project): what a later miss is compared against. */
export const lastInputsRecordSchema = z.strictObject({
  cacheKey: sha256,
  inputs: z.array(inputDigestSchema).max(MAX_LAST_INPUTS),
});
export type LastInputsRecord = z.infer<typeof lastInputsRecordSchema>;

/** `/buildmesh/action-cache/1.0.0` request: does the peer hold an entry for this key? */
export const actionCacheRequestSchema = z.strictObject({
  type: z.literal('lookup'),
  cacheKey: sha256,
  kind: z.enum(TASK_KINDS as ['build', 'test', 'pack']),
  project: z.string().min(1).max(4096),
  /**
   * The build's repository (normalised, no credentials), so the peer refuses entries of a project
   * marked not reproducible in it. Absent from older peers: then a mark of the project in any
   * repository refuses.
   */
  repositoryUrl: markRepositorySchema.optional(),
  /** The asking build's span (W3C trace context), for the answering peer's logs. */
  traceparent: traceparentSchema.optional(),
});
export type ActionCacheRequest = z.infer<typeof actionCacheRequestSchema>;

/**
 * Why a peer refused to serve an entry it may hold: `not-reproducible` — the project is marked
 * not reproducible in the asked repository.
 */
export const ACTION_CACHE_REFUSALS = ['not-reproducible'] as const;
export type ActionCacheRefusal = (typeof ACTION_CACHE_REFUSALS)[number];

/**
 * `/buildmesh/action-cache/1.0.0` response: the signed entry, or a miss with the inputs of the
 * peer's last entry for the same (kind, project) so the asker can say what changed, or with the
 * reason the peer refused.
 */
export const actionCacheResponseSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('hit'), signed: signedActionCacheEntrySchema }),
  z.strictObject({
    type: z.literal('miss'),
    lastInputs: z.array(inputDigestSchema).max(MAX_LAST_INPUTS).optional(),
    refused: z.enum(ACTION_CACHE_REFUSALS).optional(),
  }),
]);
export type ActionCacheResponse = z.infer<typeof actionCacheResponseSchema>;

/** What the coordinator asks the cache for one planned task. */
export interface TaskCacheQuery {
  cacheKey: CacheKey;
  kind: TaskKind;
  project: string;
  /**
   * The build's repository URL: entries of a project marked not reproducible in it are refused,
   * here and by the peers asked. Without it, a mark of the project in any repository refuses.
   */
  repositoryUrl?: string;
  /** The lookup's span; sent with the questions to peers and the blob requests of a hit. */
  traceparent?: string;
}

/** The answer to a {@link TaskCacheQuery}. */
export type TaskCacheLookup =
  | {
      hit: true;
      signed: SignedActionCacheEntry;
      /** 'local' or the peer id the entry and its blobs came from */
      source: string;
    }
  | {
      hit: false;
      /** for people: "no entry for this project yet", "inputs changed: src/A/Class1.cs, reference src/B/B.csproj", "the entry from <peer> was rejected: signature does not verify", … */
      explanation: string;
    };

/** Port: the mesh-wide action cache as the coordinator uses it. */
export interface TaskCache {
  /** Local store first, then every other online peer; on a hit all blobs are in the local CAS and verified. */
  lookup(query: TaskCacheQuery, signal: AbortSignal): Promise<TaskCacheLookup>;
  /**
   * Stores an entry (after verifying its signature) and remembers `inputs` as the last inputs of
   * (kind, project). An entry of a project marked not reproducible in `repositoryUrl` is not stored
   * (without `repositoryUrl`: marked in any repository).
   */
  record(
    signed: SignedActionCacheEntry,
    inputs: readonly InputDigest[],
    repositoryUrl?: string,
  ): Promise<void>;
}

/** How many changed inputs a miss explanation names before it summarises the rest. */
const MAX_DESCRIBED_CHANGES = 10;

/**
 * A miss explanation as one line for people: `no entry for this project yet`,
 * `inputs changed: src/A/Class1.cs, reference src/B/B.csproj (new), … and 3 more`, or that the
 * inputs did not change and the entry is gone.
 */
export function describeMiss(explanation: MissExplanation): string {
  switch (explanation.reason) {
    case 'no-entry':
      return 'no entry for this project yet';
    case 'inputs-unchanged':
      return 'inputs unchanged since the last entry, which is gone (expired, evicted or rejected)';
    case 'changed': {
      // `inputs` and `changes` are parallel; a modified input is named bare, the others say how.
      const labels = explanation.inputs.map((label, index) => {
        const change = explanation.changes[index]?.change;
        return change === 'added' ? `${label} (new)` : change === 'removed' ? `${label} (removed)` : label;
      });
      const shown = labels.slice(0, MAX_DESCRIBED_CHANGES).join(', ');
      const rest = labels.length - MAX_DESCRIBED_CHANGES;
      return rest > 0 ? `inputs changed: ${shown} and ${rest} more` : `inputs changed: ${shown}`;
    }
  }
}
