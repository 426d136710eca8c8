import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  lastInputsRecordSchema,
  MAX_LAST_INPUTS,
  signedActionCacheEntrySchema,
  type LastInputsRecord,
  type SignedActionCacheEntry,
} from '../core/action-cache.js';
import type { InputDigest, TaskKind } from '../core/cache-key.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { ContentStore } from './content-store.js';

/** Default size limit of the cache: the bytes its entries' blobs add up to. */
export const DEFAULT_ACTION_CACHE_MAX_BYTES = 10 * 1024 ** 3;
/** Default time an entry may go unused before it expires. */
export const DEFAULT_ACTION_CACHE_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const ENTRY_FILE = /^([0-9a-f]{64})\.json$/;
/** Blobs checked or deleted at once. */
const IO_CONCURRENCY = 32;

export interface ActionCacheStoreOptions {
  /** The cache's own folder, `<dataDir>/action-cache`. */
  directory: string;
  /** The node's CAS, where the entries' blobs live. */
  contentStore: Pick<ContentStore, 'has' | 'pathOf' | 'verify'>;
  /** Evict least-recently-used entries while their blobs add up to more than this. */
  maxBytes?: number;
  /** An entry unused for longer than this expires. */
  maxAgeMs?: number;
  /** The clock (tests move it). */
  now?: () => Date;
}

/** How big the cache is. */
export interface ActionCacheStats {
  entries: number;
  /** The sum over entries of their distinct blobs' sizes. */
  bytes: number;
}

/** What a {@link ActionCacheStore.prune} removed. */
export interface PruneResult {
  expired: number;
  evicted: number;
  /** CAS objects deleted because no remaining entry needs them. */
  blobsDeleted: number;
}

/** What pruning needs of an entry, cached per file (an entry file never changes once renamed into place). */
interface EntryFacts {
  inode: number;
  bytes: number;
  blobs: ReadonlySet<string>;
  artifacts: ReadonlySet<string>;
}

interface ListedEntry extends EntryFacts {
  key: string;
  lastUsedMs: number;
}

/**
 * This node's action cache on disk: `entries/<cacheKey>.json` holds a signed entry, its file's mtime
 * is when it was last used; `last/<sha256(kind \0 project)>.json` holds the inputs of the last entry
 * of each (kind, project), which a later miss is compared against. The blobs live in the CAS.
 *
 * Does not check signatures or blob hashes (the composition does, see `MeshTaskCache`): it keeps
 * what it is given, expires what goes unused, and evicts the least recently used entries beyond its
 * size limit, deleting the blobs only they needed. Corrupt files read as absent and are removed.
 */
export class ActionCacheStore {
  private readonly directory: string;
  private readonly contentStore: Pick<ContentStore, 'has' | 'pathOf' | 'verify'>;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly now: () => Date;
  private readonly facts = new Map<string, EntryFacts>();
  private known: ActionCacheStats = { entries: 0, bytes: 0 };
  /** Writes and prunes run one at a time, so a prune never deletes blobs a put is committing. */
  private exclusive: Promise<unknown> = Promise.resolve();

  constructor(options: ActionCacheStoreOptions) {
    this.directory = options.directory;
    this.contentStore = options.contentStore;
    this.maxBytes = options.maxBytes ?? DEFAULT_ACTION_CACHE_MAX_BYTES;
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_ACTION_CACHE_MAX_AGE_MS;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * The entry for `cacheKey`, or null when there is none, it expired (it is then deleted along with
   * the blobs only it needed), its file is corrupt (deleted), or one of its blobs is missing from
   * the CAS. Does not count as a use: call {@link markUsed} once the entry is used.
   */
  async get(cacheKey: string): Promise<SignedActionCacheEntry | null> {
    const path = this.entryPath(cacheKey);
    let modified: Date;
    try {
      modified = (await stat(path)).mtime;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    if (this.isExpired(modified.getTime())) {
      await this.prune();
      return null;
    }
    const signed = await this.readEntry(cacheKey);
    if (signed === null) return null;
    const distinct = [...new Set(signed.entry.blobs.map((blob) => blob.sha256))];
    const present = await mapLimit(distinct, IO_CONCURRENCY, (sha256) => this.contentStore.has(sha256));
    return present.every(Boolean) ? signed : null;
  }

  /** Records a use of the entry now (it then expires later and is evicted last). */
  async markUsed(cacheKey: string): Promise<void> {
    const when = this.now();
    await utimes(this.entryPath(cacheKey), when, when).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }

  /**
   * Stores `signed` (its blobs must already be in the CAS) and remembers `inputs` as the last inputs
   * of its (kind, project), then prunes. The new entry is never evicted by this prune, even when it
   * alone is larger than the limit.
   */
  async put(signed: SignedActionCacheEntry, inputs: readonly InputDigest[]): Promise<void> {
    if (inputs.length > MAX_LAST_INPUTS) {
      throw new InvalidArgumentError([{ field: 'inputs', message: `more than ${MAX_LAST_INPUTS} inputs` }]);
    }
    const valid = validEntry(signed);
    const last = lastInputsRecordSchema.parse({ cacheKey: valid.entry.cacheKey, inputs });
    await this.commit(valid, last);
  }

  /**
   * Stores an entry without inputs to remember: what a peer that only ran the task (and never saw
   * the key's inputs) keeps so that others can ask it for the entry. Prunes like {@link put}.
   */
  async keep(signed: SignedActionCacheEntry): Promise<void> {
    await this.commit(validEntry(signed), null);
  }

  /** The inputs of the last entry stored for (kind, project), or null when none was (or its file is corrupt). */
  async lastInputs(kind: TaskKind, project: string): Promise<InputDigest[] | null> {
    const path = this.lastPath(kind, project);
    const text = await readFile(path, 'utf8').catch((error: unknown) => {
      if (isNotFound(error)) return null;
      throw error;
    });
    if (text === null) return null;
    const parsed = lastInputsRecordSchema.safeParse(parseJson(text));
    if (!parsed.success) {
      await rm(path, { force: true });
      return null;
    }
    return parsed.data.inputs;
  }

  /** Deletes the entry (a rejected one); its blobs stay until a prune finds nothing needs them. */
  async remove(cacheKey: string): Promise<void> {
    await rm(this.entryPath(cacheKey), { force: true });
    this.facts.delete(cacheKey);
  }

  /**
   * Deletes a CAS object an entry listed but whose bytes no longer match its name, so that a fetch
   * (which skips objects already present) brings a good copy. Objects that verify are left alone.
   */
  async discardCorruptBlob(sha256: string): Promise<boolean> {
    if (await this.contentStore.verify(sha256).catch(() => false)) return false;
    await rm(this.contentStore.pathOf(sha256), { force: true });
    return true;
  }

  private async commit(signed: SignedActionCacheEntry, last: LastInputsRecord | null): Promise<void> {
    const { entry } = signed;
    await this.exclusively(async () => {
      const when = this.now();
      await this.writeAtomically(this.entryPath(entry.cacheKey), JSON.stringify(signed), when);
      if (last !== null)
        await this.writeAtomically(this.lastPath(entry.kind, entry.project), JSON.stringify(last), when);
      await this.pruneNow(entry.cacheKey);
    });
  }

  /**
   * Deletes expired entries, then the least recently used ones while the total size exceeds the
   * limit; deletes from the CAS the blobs of removed entries that no remaining entry lists and that
   * are not the removed entry's artifacts (those belong to build records too).
   */
  async prune(): Promise<PruneResult> {
    return this.exclusively(() => this.pruneNow(null));
  }

  /** Entries and bytes now (reads every entry file not seen before). */
  async stats(): Promise<ActionCacheStats> {
    const listed = await this.list();
    this.known = summarise(listed);
    return this.known;
  }

  /** The stats of the last {@link stats}, {@link put} or {@link prune}, without touching the disk. */
  knownStats(): ActionCacheStats {
    return this.known;
  }

  private async pruneNow(keep: string | null): Promise<PruneResult> {
    const listed = await this.list();
    const removed: ListedEntry[] = [];
    const remaining: ListedEntry[] = [];
    for (const entry of listed) {
      if (entry.key !== keep && this.isExpired(entry.lastUsedMs)) removed.push(entry);
      else remaining.push(entry);
    }
    const expired = removed.length;
    // Oldest first; the key breaks ties so eviction order never depends on directory order.
    remaining.sort((a, b) => a.lastUsedMs - b.lastUsedMs || (a.key < b.key ? -1 : 1));
    let total = summarise(remaining).bytes;
    for (let index = 0; index < remaining.length && total > this.maxBytes;) {
      const candidate = remaining[index];
      if (candidate === undefined || candidate.key === keep) {
        index++;
        continue;
      }
      remaining.splice(index, 1);
      removed.push(candidate);
      total -= candidate.bytes;
    }

    for (const entry of removed) await this.remove(entry.key);
    const needed = new Set<string>();
    for (const entry of remaining) for (const sha256 of entry.blobs) needed.add(sha256);
    const doomed = new Set<string>();
    for (const entry of removed) {
      for (const sha256 of entry.blobs) {
        if (!needed.has(sha256) && !entry.artifacts.has(sha256)) doomed.add(sha256);
      }
    }
    await mapLimit([...doomed], IO_CONCURRENCY, (sha256) =>
      rm(this.contentStore.pathOf(sha256), { force: true }),
    );
    this.known = summarise(remaining);
    return { expired, evicted: removed.length - expired, blobsDeleted: doomed.size };
  }

  /** Every readable entry with its last use; corrupt files are deleted on the way. */
  private async list(): Promise<ListedEntry[]> {
    const names = await readdir(join(this.directory, 'entries')).catch((error: unknown) => {
      if (isNotFound(error)) return [];
      throw error;
    });
    const keys = names.flatMap((name) => ENTRY_FILE.exec(name)?.[1] ?? []);
    const listed = await mapLimit(keys, IO_CONCURRENCY, async (key): Promise<ListedEntry | null> => {
      let info;
      try {
        info = await stat(this.entryPath(key));
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
      let facts = this.facts.get(key);
      if (facts?.inode !== info.ino) {
        const signed = await this.readEntry(key);
        if (signed === null) return null;
        facts = factsOf(signed, info.ino);
        this.facts.set(key, facts);
      }
      return { ...facts, key, lastUsedMs: info.mtime.getTime() };
    });
    const present = new Set(keys);
    for (const key of this.facts.keys()) if (!present.has(key)) this.facts.delete(key);
    return listed.filter((entry): entry is ListedEntry => entry !== null);
  }

  /** Reads and validates an entry file; a corrupt one is deleted and reads as null. */
  private async readEntry(cacheKey: string): Promise<SignedActionCacheEntry | null> {
    const path = this.entryPath(cacheKey);
    const text = await readFile(path, 'utf8').catch((error: unknown) => {
      if (isNotFound(error)) return null;
      throw error;
    });
    if (text === null) return null;
    const parsed = signedActionCacheEntrySchema.safeParse(parseJson(text));
    if (!parsed.success || parsed.data.entry.cacheKey !== cacheKey) {
      await this.remove(cacheKey);
      return null;
    }
    return parsed.data;
  }

  private isExpired(lastUsedMs: number): boolean {
    return this.now().getTime() - lastUsedMs > this.maxAgeMs;
  }

  private entryPath(cacheKey: string): string {
    if (!SHA256_HEX.test(cacheKey)) {
      throw new InvalidArgumentError([{ field: 'cacheKey', message: 'must be a lowercase hex sha256' }]);
    }
    return join(this.directory, 'entries', `${cacheKey}.json`);
  }

  private lastPath(kind: TaskKind, project: string): string {
    const name = createHash('sha256').update(`${kind}\u0000${project}`).digest('hex');
    return join(this.directory, 'last', `${name}.json`);
  }

  /** Temp file then rename: a crash never leaves half a file under a real name. */
  private async writeAtomically(path: string, text: string, modified: Date): Promise<void> {
    const tempDir = join(this.directory, 'tmp');
    await mkdir(tempDir, { recursive: true });
    await mkdir(dirname(path), { recursive: true });
    const tempPath = join(tempDir, randomUUID());
    try {
      await writeFile(tempPath, text);
      await utimes(tempPath, modified, modified);
      await rename(tempPath, path);
    } catch (error) {
      await rm(tempPath, { force: true });
      throw error;
    }
  }

  private exclusively<T>(work: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(work, work);
    this.exclusive = run.catch(() => undefined);
    return run;
  }
}

function validEntry(signed: SignedActionCacheEntry): SignedActionCacheEntry {
  const parsed = signedActionCacheEntrySchema.safeParse(signed);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError([
      { field: ['signed', ...(issue?.path ?? [])].join('.'), message: issue?.message ?? 'invalid' },
    ]);
  }
  return parsed.data;
}

function factsOf(signed: SignedActionCacheEntry, inode: number): EntryFacts {
  const sizes = new Map<string, number>();
  for (const blob of signed.entry.blobs) sizes.set(blob.sha256, blob.sizeBytes);
  let bytes = 0;
  for (const size of sizes.values()) bytes += size;
  return {
    inode,
    bytes,
    blobs: new Set(sizes.keys()),
    artifacts: new Set(signed.entry.artifacts.map((artifact) => artifact.sha256Hash)),
  };
}

function summarise(entries: readonly ListedEntry[]): ActionCacheStats {
  return { entries: entries.length, bytes: entries.reduce((sum, entry) => sum + entry.bytes, 0) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** `map` with at most `limit` calls in flight, results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
