import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Stream } from '@libp2p/interface';
import type { BlobStore, StoredBlob } from '../core/blob-store.js';
import { abortReasonOf, errorMessage, InvalidArgumentError } from '../core/errors.js';
import { BlobIntegrityError, BlobUnavailableError, MeshProtocolError } from '../core/mesh-errors.js';
import {
  blobRequestSchema,
  blobResponseSchema,
  sha256HexSchema,
  type BlobRequest,
  type BlobResponse,
} from '../core/mesh-messages.js';
import type { Logger } from '../core/ports.js';
import { framed, type FramedStream } from './framed-json.js';
import type { MeshNode } from './mesh-node.js';

/** Protocol id of the blob protocol. */
export const BLOB_PROTOCOL = '/buildmesh/blob/1.0.0';
/** Bytes per data frame. */
export const BLOB_CHUNK_BYTES = 256 * 1024;
/** Largest request or response header. */
const MAX_HEADER_BYTES = 1024;
/** How long a server waits for the request frame. */
export const DEFAULT_BLOB_REQUEST_TIMEOUT_MS = 10_000;
/** How long a whole fetch may take by default. */
export const DEFAULT_BLOB_FETCH_TIMEOUT_MS = 120_000;
/** Concurrent inbound blob streams per connection. */
export const DEFAULT_BLOB_MAX_INBOUND_STREAMS = 64;

/** The parts of a mesh node the blob protocol needs. */
export type BlobTransport = Pick<MeshNode, 'handle' | 'unhandle' | 'openStream'>;

export interface BlobServiceOptions {
  node: BlobTransport;
  store: BlobStore;
  logger: Logger;
  maxInboundStreams?: number;
  requestTimeoutMs?: number;
  /** Refuse to fetch objects announced larger than this. Default: no limit. */
  maxBlobBytes?: number;
}

export interface FetchBlobOptions {
  signal?: AbortSignal;
  /** Deadline for the whole fetch, default {@link DEFAULT_BLOB_FETCH_TIMEOUT_MS}. */
  timeoutMs?: number;
  traceparent?: string;
}

/**
 * `/buildmesh/blob/1.0.0`: serves objects of the local content store by sha256 and fetches them
 * from peers into it.
 *
 * On the wire (length-prefixed frames): the requester sends a `blob-request` and closes its
 * writing side; the server answers `found` with the size, then raw frames of at most 64 KiB that
 * add up to exactly that size, then ends the stream; or it answers `error` and ends.
 *
 * The receiver streams the bytes into the store while hashing them and fails the write before it
 * is committed when the hash or size differs, so a corrupt or lying peer never leaves anything in
 * the store. Not responsible for choosing which peer to ask, nor for retrying (callers do both).
 */
export class BlobService {
  private readonly node: BlobTransport;
  private readonly store: BlobStore;
  private readonly logger: Logger;
  private readonly maxInboundStreams: number;
  private readonly requestTimeoutMs: number;
  private readonly maxBlobBytes: number;

  constructor(options: BlobServiceOptions) {
    this.node = options.node;
    this.store = options.store;
    this.logger = options.logger.child('mesh:blob');
    this.maxInboundStreams = options.maxInboundStreams ?? DEFAULT_BLOB_MAX_INBOUND_STREAMS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_BLOB_REQUEST_TIMEOUT_MS;
    this.maxBlobBytes = options.maxBlobBytes ?? Number.MAX_SAFE_INTEGER;
  }

  /** Starts serving the local store to permitted peers. */
  async start(): Promise<void> {
    await this.node.handle(BLOB_PROTOCOL, (stream, peer) => this.serve(stream, peer.peerId), {
      maxInboundStreams: this.maxInboundStreams,
    });
  }

  async stop(): Promise<void> {
    await this.node.unhandle(BLOB_PROTOCOL);
  }

  /**
   * Fetches object `sha256` from `peerId` into the local store (at once when it is already there).
   * Throws {@link BlobUnavailableError} when the peer does not have it, {@link BlobIntegrityError}
   * when the bytes do not match (nothing is stored), {@link MeshProtocolError} on a protocol
   * violation, and `OperationAbortedError` on cancel or timeout. All are worth a retry elsewhere.
   */
  async fetchBlob(peerId: string, sha256: string, options: FetchBlobOptions = {}): Promise<StoredBlob> {
    if (!sha256HexSchema.safeParse(sha256).success) {
      throw new InvalidArgumentError([{ field: 'sha256', message: 'must be a lowercase hex sha256' }]);
    }
    const existing = await this.store.sizeOf(sha256);
    if (existing !== null) return { sha256, sizeBytes: existing };

    const signals = [AbortSignal.timeout(options.timeoutMs ?? DEFAULT_BLOB_FETCH_TIMEOUT_MS)];
    if (options.signal) signals.push(options.signal);
    const signal = AbortSignal.any(signals);
    const started = performance.now();
    const stream = await this.node.openStream(peerId, BLOB_PROTOCOL, signal).catch((error: unknown) => {
      throw signal.aborted ? abortReasonOf(signal) : error;
    });
    const frames = framed(stream, { maxFrameBytes: BLOB_CHUNK_BYTES });
    try {
      const request: BlobRequest = { type: 'blob-request', sha256, traceparent: options.traceparent };
      await frames.writeJson(request, { signal });
      await frames.closeWrite({ signal });
      const response = await frames.readJson(blobResponseSchema, { signal, maxBytes: MAX_HEADER_BYTES });
      if (response.type === 'error')
        throw new BlobUnavailableError(peerId, sha256, response.error.code, response.error.message);
      if (response.sha256 !== sha256) {
        throw new MeshProtocolError(
          'UnexpectedMessage',
          `Asked for blob ${sha256}, the peer offered ${response.sha256}`,
        );
      }
      if (response.sizeBytes > this.maxBlobBytes) {
        throw new MeshProtocolError(
          'UnexpectedMessage',
          `Blob ${sha256} is ${response.sizeBytes} bytes, above the limit of ${this.maxBlobBytes}`,
        );
      }
      const stored = await this.store.putStream(
        Readable.from(receiveVerified(frames, peerId, sha256, response.sizeBytes, signal), {
          objectMode: false,
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      this.logger.debug('blob fetched', {
        peerId,
        sha256,
        sizeBytes: stored.sizeBytes,
        mbPerSecond: Math.round(stored.sizeBytes / 1e6 / Math.max(seconds, 1e-6)),
        traceparent: options.traceparent,
      });
      return stored;
    } catch (error) {
      frames.abort(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  }

  private async serve(stream: Stream, peerId: string): Promise<void> {
    const frames = framed(stream, { maxFrameBytes: BLOB_CHUNK_BYTES });
    let request: BlobRequest;
    try {
      request = await frames.readJson(blobRequestSchema, {
        signal: AbortSignal.timeout(this.requestTimeoutMs),
        maxBytes: MAX_HEADER_BYTES,
      });
    } catch (error) {
      this.logger.debug('blob request refused', { peerId, error: errorMessage(error) });
      frames.abort(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const { sha256, traceparent } = request;
    try {
      const sizeBytes = await this.store.sizeOf(sha256);
      if (sizeBytes === null) {
        await this.respond(frames, {
          type: 'error',
          error: { code: 'NotFound', message: `No object ${sha256} here` },
        });
        return;
      }
      await this.respond(frames, { type: 'found', sha256, sizeBytes });
      let sent = 0;
      for await (const frame of rechunk(this.store.openRead(sha256), BLOB_CHUNK_BYTES)) {
        await frames.writeBytes(frame);
        sent += frame.byteLength;
      }
      await frames.closeWrite();
      this.logger.debug('blob served', { peerId, sha256, sizeBytes: sent, traceparent });
    } catch (error) {
      this.logger.warn('blob serve failed', { peerId, sha256, error: errorMessage(error), traceparent });
      frames.abort(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async respond(frames: FramedStream, response: BlobResponse): Promise<void> {
    await frames.writeJson(response);
    if (response.type === 'error') await frames.closeWrite();
  }
}

/**
 * Yields exactly `sizeBytes` bytes of frames while hashing them, then fails unless they hash to
 * `sha256`: the failure reaches the store before it commits, so nothing is stored.
 */
async function* receiveVerified(
  frames: FramedStream,
  peerId: string,
  sha256: string,
  sizeBytes: number,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let received = 0;
  while (received < sizeBytes) {
    const chunk = await frames.readBytes({ signal });
    if (chunk.byteLength === 0) throw new MeshProtocolError('UnexpectedMessage', 'Empty data frame');
    received += chunk.byteLength;
    if (received > sizeBytes) {
      throw new MeshProtocolError(
        'UnexpectedMessage',
        `Peer sent more than the ${sizeBytes} bytes it announced`,
      );
    }
    hash.update(chunk);
    yield chunk;
  }
  const actual = hash.digest('hex');
  if (actual !== sha256) throw new BlobIntegrityError(peerId, sha256, actual);
}

/**
 * Regroups a byte source into frames of exactly `size` bytes (the last may be shorter): fewer,
 * larger frames cost less per byte than the 64 KiB chunks a file stream yields.
 */
async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let buffer = new Uint8Array(size);
  let filled = 0;
  for await (const chunk of source) {
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (filled === 0 && chunk.byteLength - offset >= size) {
        yield chunk.subarray(offset, offset + size);
        offset += size;
        continue;
      }
      const take = Math.min(size - filled, chunk.byteLength - offset);
      buffer.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === size) {
        yield buffer;
        // The frame may still be queued for sending: never reuse its memory.
        buffer = new Uint8Array(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buffer.subarray(0, filled);
}
