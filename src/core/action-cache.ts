import { createHash } from 'node:crypto';
import { z } from 'zod';
import { TASK_KINDS } from './cache-key.js';

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
