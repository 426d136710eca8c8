import {
  describeMiss,
  type ActionCacheRequest,
  type ActionCacheResponse,
  type EntrySigner,
  type SignedActionCacheEntry,
  type TaskCache,
  type TaskCacheLookup,
  type TaskCacheQuery,
} from '../core/action-cache.js';
import { cacheKeyFromInputs, explainMiss, type InputDigest } from '../core/cache-key.js';
import {
  MAX_MARK_REPOSITORY_CHARS,
  NOT_REPRODUCIBLE_EXPLANATION,
  normalizeRepositoryUrl,
} from '../core/not-reproducible.js';
import { abortReasonOf, errorMessage, InvalidArgumentError } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import type { ActionCacheStore } from '../agent/action-cache-store.js';
import type { ContentStore } from '../agent/content-store.js';
import type { ActionCacheService } from '../mesh/action-cache-protocol.js';
import type { BlobService } from '../mesh/blob-protocol.js';

/** Peers asked at once. */
export const DEFAULT_CACHE_PEER_CONCURRENCY = 8;
/** How long one peer may take to answer a lookup. */
export const DEFAULT_CACHE_PEER_TIMEOUT_MS = 5_000;
/** How long one blob of a remote hit may take to arrive. */
export const DEFAULT_CACHE_BLOB_TIMEOUT_MS = 120_000;
/** Blobs of a remote hit fetched or re-hashed at once. */
const BLOB_CONCURRENCY = 8;

export interface MeshTaskCacheOptions {
  /** This node's entries. */
  store: Pick<
    ActionCacheStore,
    'get' | 'markUsed' | 'put' | 'remove' | 'lastInputs' | 'discardCorruptBlob' | 'knownStats'
  >;
  /** The node's CAS, to re-hash blobs before an entry is trusted. */
  contentStore: Pick<ContentStore, 'has' | 'verify'>;
  /** Asks peers for entries. */
  peers: Pick<ActionCacheService, 'query'>;
  /** Brings a remote hit's blobs into the local CAS (rejecting bytes that do not match). */
  blobs: Pick<BlobService, 'fetchBlob'>;
  /** Checks producers' signatures. */
  signer: Pick<EntrySigner, 'verify'>;
  /** Online peers other than this node, asked in this order (at most `peerConcurrency` at once). */
  onlinePeers: () => string[];
  /** Whether a peer id belongs to the mesh; entries produced by anyone else are refused. */
  isMember: (peerId: string) => boolean;
  logger: Logger;
  /** Told of every finished lookup (`BuildMetrics` counts hits and misses). */
  metrics?: { cacheLookup(hit: boolean): void };
  /**
   * Projects whose outputs differed between peers (Canary, verify), in `repositoryUrl` (undefined:
   * in any repository): never looked up, never recorded.
   */
  isNotReproducible?: (project: string, repositoryUrl?: string) => boolean;
  peerConcurrency?: number;
  peerTimeoutMs?: number;
  blobTimeoutMs?: number;
}

/** Lookups since start and the local cache's size. */
export interface TaskCacheStats {
  hits: number;
  misses: number;
  /** hits ÷ (hits + misses), 0 before any lookup. */
  hitRate: number;
  entries: number;
  bytes: number;
}

type PeerAnswer =
  { peerId: string; response: ActionCacheResponse } | { peerId: string; response: null; error: unknown };

/**
 * The mesh-wide action cache: this node's {@link ActionCacheStore} first, then every online peer
 * through the action-cache protocol. Nothing is trusted on arrival: an entry counts only when its
 * producer's signature verifies, it is for the asked key, kind and project, its producer is a
 * member of the mesh (for entries from peers), and every blob it lists is in the local CAS with
 * bytes that hash to its name. An entry that fails is a rejection: it is removed (locally) or
 * skipped (remote), the next answer is tried, and the reason reaches the miss explanation.
 */
export class MeshTaskCache implements TaskCache {
  private readonly logger: Logger;
  private readonly peerConcurrency: number;
  private readonly peerTimeoutMs: number;
  private readonly blobTimeoutMs: number;
  private hits = 0;
  private misses = 0;

  constructor(private readonly options: MeshTaskCacheOptions) {
    this.logger = options.logger.child('task-cache');
    this.peerConcurrency = Math.max(1, options.peerConcurrency ?? DEFAULT_CACHE_PEER_CONCURRENCY);
    this.peerTimeoutMs = options.peerTimeoutMs ?? DEFAULT_CACHE_PEER_TIMEOUT_MS;
    this.blobTimeoutMs = options.blobTimeoutMs ?? DEFAULT_CACHE_BLOB_TIMEOUT_MS;
  }

  async lookup(query: TaskCacheQuery, signal: AbortSignal): Promise<TaskCacheLookup> {
    const result: TaskCacheLookup = this.options.isNotReproducible?.(query.project, query.repositoryUrl)
      ? { hit: false, explanation: NOT_REPRODUCIBLE_EXPLANATION }
      : await this.find(query, signal);
    if (result.hit) this.hits++;
    else this.misses++;
    this.options.metrics?.cacheLookup(result.hit);
    this.logger.debug(result.hit ? 'cache hit' : 'cache miss', {
      project: query.project,
      kind: query.kind,
      cacheKey: query.cacheKey.key,
      ...(result.hit ? { source: result.source } : { explanation: result.explanation }),
    });
    return result;
  }

  /**
   * Stores an entry this node produced or received, once its signature verifies and `inputs` are
   * the ones its key was computed from; not when its project is marked not reproducible in
   * `repositoryUrl` (the build's; without it, in any repository).
   *
   * @throws InvalidArgumentError when the signature does not verify or the inputs do not give the key
   */
  async record(
    signed: SignedActionCacheEntry,
    inputs: readonly InputDigest[],
    repositoryUrl?: string,
  ): Promise<void> {
    const { entry } = signed;
    if (!(await this.options.signer.verify(signed))) {
      throw new InvalidArgumentError([
        {
          field: 'signature',
          message: `does not verify for producer ${entry.producedBy}; the entry was not stored`,
        },
      ]);
    }
    if (cacheKeyFromInputs(inputs) !== entry.cacheKey) {
      throw new InvalidArgumentError([
        { field: 'inputs', message: `do not give the entry's cache key ${entry.cacheKey}` },
      ]);
    }
    // The entry does not say its repository; without the build's, a mark in any repository is enough.
    if (this.options.isNotReproducible?.(entry.project, repositoryUrl)) {
      this.logger.info('not recording an entry of a project that is not reproducible', {
        project: entry.project,
      });
      return;
    }
    await this.options.store.put(signed, inputs);
  }

  /** Counters since start and the local cache's last known size (no disk access). */
  stats(): TaskCacheStats {
    const total = this.hits + this.misses;
    const { entries, bytes } = this.options.store.knownStats();
    return {
      hits: this.hits,
      misses: this.misses,
      hitRate: total === 0 ? 0 : this.hits / total,
      entries,
      bytes,
    };
  }

  private async find(query: TaskCacheQuery, signal: AbortSignal): Promise<TaskCacheLookup> {
    if (signal.aborted) throw abortReasonOf(signal);
    const { store } = this.options;
    const key = query.cacheKey.key;
    const rejections: string[] = [];

    const local = await store.get(key);
    if (local) {
      const problem =
        (await this.checkEntry(local, query, null)) ?? (await this.checkLocalBlobs(local, signal));
      if (problem === null) {
        await store.markUsed(key);
        return { hit: true, signed: local, source: 'local' };
      }
      this.logger.warn('local cache entry rejected', { cacheKey: key, problem });
      await store.remove(key);
      rejections.push(`the local entry was rejected: ${problem}`);
    }

    // Without credentials; a URL too long for the wire goes unsaid (peers then refuse on any mark).
    const repositoryUrl =
      query.repositoryUrl === undefined ? undefined : normalizeRepositoryUrl(query.repositoryUrl);
    const request: ActionCacheRequest = {
      type: 'lookup',
      cacheKey: key,
      kind: query.kind,
      project: query.project,
      ...(repositoryUrl && repositoryUrl.length <= MAX_MARK_REPOSITORY_CHARS ? { repositoryUrl } : {}),
      ...(query.traceparent ? { traceparent: query.traceparent } : {}),
    };
    let peerLastInputs: InputDigest[] | undefined;
    const refusedBy: string[] = [];
    // Queries still in flight once an answer is taken are abandoned.
    const done = new AbortController();
    const querySignal = AbortSignal.any([signal, done.signal]);
    try {
      const asks = this.options.onlinePeers().map((peerId) => () => this.ask(peerId, request, querySignal));
      for await (const answer of inCompletionOrder(asks, this.peerConcurrency)) {
        if (signal.aborted) throw abortReasonOf(signal);
        const { peerId, response } = answer;
        if (response === null) {
          this.logger.debug('peer did not answer a cache lookup', {
            peerId,
            cacheKey: key,
            error: errorMessage(answer.error),
          });
          continue;
        }
        if (response.type === 'miss') {
          if (response.refused === 'not-reproducible') refusedBy.push(peerId);
          else peerLastInputs ??= response.lastInputs;
          continue;
        }
        const problem = await this.adopt(peerId, response.signed, query, signal);
        if (problem === null) return { hit: true, signed: response.signed, source: peerId };
        this.logger.warn('cache entry from peer rejected', { peerId, cacheKey: key, problem });
        rejections.push(`the entry from ${peerId} was rejected: ${problem}`);
      }
    } finally {
      done.abort();
    }
    if (signal.aborted) throw abortReasonOf(signal);
    // A peer knows the project is not reproducible before this node heard of it: that is the story.
    if (refusedBy.length > 0)
      return {
        hit: false,
        explanation: [
          ...rejections,
          `${NOT_REPRODUCIBLE_EXPLANATION} (so says ${refusedBy.join(', ')})`,
        ].join('; '),
      };

    const previous = (await store.lastInputs(query.kind, query.project)) ?? peerLastInputs;
    const explanation = explainMiss(previous, query.cacheKey.inputs);
    if (rejections.length === 0) return { hit: false, explanation: describeMiss(explanation) };
    // "No entry" would contradict the rejected one: the rejection is the whole story then.
    const rest = explanation.reason === 'no-entry' ? [] : [describeMiss(explanation)];
    return { hit: false, explanation: [...rejections, ...rest].join('; ') };
  }

  private async ask(peerId: string, request: ActionCacheRequest, signal: AbortSignal): Promise<PeerAnswer> {
    try {
      const response = await this.options.peers.query(peerId, request, signal, {
        timeoutMs: this.peerTimeoutMs,
      });
      return { peerId, response };
    } catch (error) {
      return { peerId, response: null, error };
    }
  }

  /**
   * Why an entry cannot stand for the query, or null when it can: a different key, kind or project,
   * a producer outside the mesh (`from` a peer only), or a signature that does not verify.
   */
  private async checkEntry(
    signed: SignedActionCacheEntry,
    query: TaskCacheQuery,
    from: string | null,
  ): Promise<string | null> {
    const { entry } = signed;
    if (entry.cacheKey !== query.cacheKey.key)
      return `it is for cache key ${entry.cacheKey}, not ${query.cacheKey.key}`;
    if (entry.kind !== query.kind || entry.project !== query.project)
      return `it is for the ${entry.kind} task of ${entry.project}, not the ${query.kind} task of ${query.project}`;
    if (from !== null && !this.options.isMember(entry.producedBy))
      return `its producer ${entry.producedBy} is not a member of this mesh`;
    if (!(await this.options.signer.verify(signed))) return 'signature does not verify';
    return null;
  }

  /** Re-hashes the blobs of a local entry; a corrupt one is deleted so a peer's copy can replace it. */
  private async checkLocalBlobs(signed: SignedActionCacheEntry, signal: AbortSignal): Promise<string | null> {
    const { contentStore, store } = this.options;
    const bad = await firstProblem(distinctBlobs(signed), BLOB_CONCURRENCY, signal, async ({ sha256 }) => {
      if (await contentStore.verify(sha256).catch(() => false)) return null;
      await store.discardCorruptBlob(sha256);
      return `blob ${sha256} is missing or its bytes do not match its hash`;
    });
    if (signal.aborted) throw abortReasonOf(signal);
    return bad;
  }

  /**
   * Checks a peer's entry, brings every blob it lists from that peer into the local CAS (verified
   * on the way in; local copies are re-hashed and replaced when corrupt) and stores the entry.
   * Returns why the entry was refused, or null once it is usable here.
   */
  private async adopt(
    peerId: string,
    signed: SignedActionCacheEntry,
    query: TaskCacheQuery,
    signal: AbortSignal,
  ): Promise<string | null> {
    const problem = await this.checkEntry(signed, query, peerId);
    if (problem !== null) return problem;
    const { blobs, contentStore, store } = this.options;
    const failed = await firstProblem(distinctBlobs(signed), BLOB_CONCURRENCY, signal, async (blob, stop) => {
      // fetchBlob takes a present object as it is: make sure a present one is intact.
      if (
        (await contentStore.has(blob.sha256)) &&
        !(await contentStore.verify(blob.sha256).catch(() => false))
      )
        await store.discardCorruptBlob(blob.sha256);
      try {
        const stored = await blobs.fetchBlob(peerId, blob.sha256, {
          signal: stop,
          timeoutMs: this.blobTimeoutMs,
          traceparent: query.traceparent,
        });
        if (stored.sizeBytes !== blob.sizeBytes)
          return `blob ${blob.sha256} is ${stored.sizeBytes} bytes, the entry says ${blob.sizeBytes}`;
        return null;
      } catch (error) {
        return `blob ${blob.sha256} could not be fetched: ${errorMessage(error)}`;
      }
    });
    if (signal.aborted) throw abortReasonOf(signal);
    if (failed !== null) return failed;
    try {
      await store.put(signed, query.cacheKey.inputs);
    } catch (error) {
      // The blobs are here and verified: the hit stands even if keeping the entry failed.
      this.logger.warn('could not store a cache entry from a peer', {
        peerId,
        cacheKey: signed.entry.cacheKey,
        error: errorMessage(error),
      });
    }
    return null;
  }
}

function distinctBlobs(signed: SignedActionCacheEntry): { sha256: string; sizeBytes: number }[] {
  const byHash = new Map<string, { sha256: string; sizeBytes: number }>();
  for (const blob of signed.entry.blobs) if (!byHash.has(blob.sha256)) byHash.set(blob.sha256, blob);
  return [...byHash.values()];
}

/**
 * Runs `check` over `items`, at most `limit` at once, and returns the first problem it reports
 * (then stops starting new checks and aborts the `stop` signal the running ones got), or null.
 */
async function firstProblem<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  check: (item: T, stop: AbortSignal) => Promise<string | null>,
): Promise<string | null> {
  const stopper = new AbortController();
  const stop = AbortSignal.any([signal, stopper.signal]);
  let problem: string | null = null;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && problem === null && !stop.aborted) {
      const item = items[next++] as T;
      const found = await check(item, stop);
      if (found !== null && problem === null) {
        problem = found;
        stopper.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return problem;
}

/**
 * Starts `tasks` with at most `limit` running and yields their results as they finish. Tasks must
 * not reject. Leaving the loop early stops starting new ones.
 */
async function* inCompletionOrder<T>(tasks: readonly (() => Promise<T>)[], limit: number): AsyncGenerator<T> {
  const running = new Map<number, Promise<{ index: number; value: T }>>();
  let next = 0;
  const startNext = (): void => {
    const task = tasks[next];
    if (task === undefined) return;
    const index = next++;
    running.set(
      index,
      task().then((value) => ({ index, value })),
    );
  };
  while (running.size < limit && next < tasks.length) startNext();
  while (running.size > 0) {
    const { index, value } = await Promise.race(running.values());
    running.delete(index);
    startNext();
    yield value;
  }
}
