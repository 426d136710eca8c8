import type { Stream } from '@libp2p/interface';
import {
  actionCacheRequestSchema,
  actionCacheResponseSchema,
  MAX_LAST_INPUTS,
  type ActionCacheRequest,
  type ActionCacheResponse,
  type SignedActionCacheEntry,
} from '../core/action-cache.js';
import type { InputDigest, TaskKind } from '../core/cache-key.js';
import { abortReasonOf, errorMessage } from '../core/errors.js';
import { MeshProtocolError } from '../core/mesh-errors.js';
import type { Logger } from '../core/ports.js';
import { framed, type FramedStream } from './framed-json.js';
import type { MeshNode } from './mesh-node.js';

/** Protocol id of the action-cache protocol. */
export const ACTION_CACHE_PROTOCOL = '/buildmesh/action-cache/1.0.0';
/** Largest response: a signed entry listing tens of thousands of blobs, or a long input list. */
export const MAX_ACTION_CACHE_FRAME_BYTES = 4 * 1024 * 1024;
/** Largest request (a key, a kind, a project path and a repository URL). */
const MAX_REQUEST_BYTES = 16 * 1024;
/** How long a server waits for the request frame. */
export const DEFAULT_ACTION_CACHE_REQUEST_TIMEOUT_MS = 5_000;
/** How long a query may take by default, connecting included. */
export const DEFAULT_ACTION_CACHE_QUERY_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_INBOUND_STREAMS = 64;

/** The parts of a mesh node the protocol needs. */
export type ActionCacheTransport = Pick<MeshNode, 'handle' | 'unhandle' | 'openStream'>;

/** What the server reads from the local cache (an `ActionCacheStore`). */
export interface ActionCacheSource {
  get(cacheKey: string): Promise<SignedActionCacheEntry | null>;
  markUsed(cacheKey: string): Promise<void>;
  lastInputs(kind: TaskKind, project: string): Promise<InputDigest[] | null>;
}

export interface ActionCacheServiceOptions {
  node: ActionCacheTransport;
  store: ActionCacheSource;
  /**
   * Whether `project` is marked not reproducible in `repositoryUrl` (undefined when the asker did
   * not say, as older peers do): such lookups are answered `miss` with `refused: 'not-reproducible'`.
   */
  isNotReproducible?: (project: string, repositoryUrl: string | undefined) => boolean;
  logger: Logger;
  requestTimeoutMs?: number;
  maxInboundStreams?: number;
}

export interface ActionCacheQueryOptions {
  /** Deadline for the whole query, default {@link DEFAULT_ACTION_CACHE_QUERY_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/**
 * `/buildmesh/action-cache/1.0.0`: asks a peer whether it holds an action-cache entry for a key.
 *
 * One request and one response per stream (length-prefixed JSON frames): the asker sends a
 * `lookup` and closes its writing side; the server answers `hit` with the signed entry, or `miss`
 * with the inputs of its last entry for the same (kind, project) when it has them, and ends. A
 * project marked not reproducible in the asked repository is always a `miss` that says so.
 *
 * Trusts nothing and checks nothing beyond the frame's shape: the asker verifies the signature, the
 * producer and every blob (see `MeshTaskCache`). Serving a hit counts as a use of the entry, so an
 * entry the mesh keeps asking for is not expired or evicted where it lives.
 */
export class ActionCacheService {
  private readonly node: ActionCacheTransport;
  private readonly store: ActionCacheSource;
  private readonly isNotReproducible: (project: string, repositoryUrl: string | undefined) => boolean;
  private readonly logger: Logger;
  private readonly requestTimeoutMs: number;
  private readonly maxInboundStreams: number;

  constructor(options: ActionCacheServiceOptions) {
    this.node = options.node;
    this.store = options.store;
    this.isNotReproducible = options.isNotReproducible ?? (() => false);
    this.logger = options.logger.child('mesh:action-cache');
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_ACTION_CACHE_REQUEST_TIMEOUT_MS;
    this.maxInboundStreams = options.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS;
  }

  /** Starts answering peers' lookups from the local cache. */
  async start(): Promise<void> {
    await this.node.handle(ACTION_CACHE_PROTOCOL, (stream, peer) => this.serve(stream, peer.peerId), {
      maxInboundStreams: this.maxInboundStreams,
    });
  }

  async stop(): Promise<void> {
    await this.node.unhandle(ACTION_CACHE_PROTOCOL);
  }

  /**
   * Asks `peerId` for the entry of `request.cacheKey`. Throws `OperationAbortedError` on cancel or
   * timeout, {@link MeshProtocolError} when the answer is malformed or the stream fails, and the
   * transport's error when the peer cannot be reached.
   */
  async query(
    peerId: string,
    request: ActionCacheRequest,
    signal: AbortSignal,
    options: ActionCacheQueryOptions = {},
  ): Promise<ActionCacheResponse> {
    const deadline = AbortSignal.any([
      signal,
      AbortSignal.timeout(options.timeoutMs ?? DEFAULT_ACTION_CACHE_QUERY_TIMEOUT_MS),
    ]);
    if (deadline.aborted) throw abortReasonOf(deadline);
    const stream = await this.node
      .openStream(peerId, ACTION_CACHE_PROTOCOL, deadline)
      .catch((error: unknown) => {
        throw deadline.aborted ? abortReasonOf(deadline) : error;
      });
    const frames = framed(stream, { maxFrameBytes: MAX_ACTION_CACHE_FRAME_BYTES });
    try {
      await frames.writeJson(actionCacheRequestSchema.parse(request), { signal: deadline });
      await frames.closeWrite({ signal: deadline });
      const response = await frames.readJson(actionCacheResponseSchema, {
        signal: deadline,
        maxBytes: MAX_ACTION_CACHE_FRAME_BYTES,
      });
      this.logger.debug('action-cache answer', { peerId, cacheKey: request.cacheKey, type: response.type });
      return response;
    } catch (error) {
      frames.abort(error instanceof Error ? error : new Error(String(error)));
      throw deadline.aborted && !(error instanceof MeshProtocolError) ? abortReasonOf(deadline) : error;
    }
  }

  private async serve(stream: Stream, peerId: string): Promise<void> {
    const frames = framed(stream, { maxFrameBytes: MAX_ACTION_CACHE_FRAME_BYTES });
    let request: ActionCacheRequest;
    try {
      request = await frames.readJson(actionCacheRequestSchema, {
        signal: AbortSignal.timeout(this.requestTimeoutMs),
        maxBytes: MAX_REQUEST_BYTES,
      });
    } catch (error) {
      this.logger.debug('action-cache request refused', { peerId, error: errorMessage(error) });
      frames.abort(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    try {
      const response = await this.answer(request);
      await this.respond(frames, response, request);
      await frames.closeWrite();
      this.logger.debug('action-cache lookup served', {
        peerId,
        cacheKey: request.cacheKey,
        type: response.type,
        ...(response.type === 'miss' && response.refused ? { refused: response.refused } : {}),
        traceparent: request.traceparent,
      });
    } catch (error) {
      this.logger.warn('action-cache lookup failed', {
        peerId,
        cacheKey: request.cacheKey,
        error: errorMessage(error),
      });
      frames.abort(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async answer(request: ActionCacheRequest): Promise<ActionCacheResponse> {
    if (this.isNotReproducible(request.project, request.repositoryUrl))
      return { type: 'miss', refused: 'not-reproducible' };
    const signed = await this.store.get(request.cacheKey);
    // The key covers kind and project; an entry filed under it for another task is not an answer.
    if (signed && signed.entry.kind === request.kind && signed.entry.project === request.project) {
      await this.store.markUsed(request.cacheKey);
      return { type: 'hit', signed };
    }
    const lastInputs = await this.store.lastInputs(request.kind, request.project);
    return lastInputs && lastInputs.length <= MAX_LAST_INPUTS
      ? { type: 'miss', lastInputs }
      : { type: 'miss' };
  }

  /** Sends the answer; one too large for a frame degrades to a bare miss rather than no answer. */
  private async respond(
    frames: FramedStream,
    response: ActionCacheResponse,
    request: ActionCacheRequest,
  ): Promise<void> {
    try {
      await frames.writeJson(response);
    } catch (error) {
      if (!(error instanceof MeshProtocolError) || error.code !== 'FrameTooLarge') throw error;
      this.logger.warn('action-cache answer too large; answering miss', {
        cacheKey: request.cacheKey,
        type: response.type,
      });
      await frames.writeJson({ type: 'miss' } satisfies ActionCacheResponse);
    }
  }
}
