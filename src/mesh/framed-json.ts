import { lpStream, type LengthPrefixedStream } from '@libp2p/utils';
import type { AbortOptions, MessageStream } from '@libp2p/interface';
import type { z } from 'zod';
import { abortReasonOf } from '../core/errors.js';
import { MeshProtocolError } from '../core/mesh-errors.js';

/** Default largest frame a framed stream accepts (JSON messages and blob chunks alike). */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

/** Default largest JSON message `readJson` accepts (headers are small; chunks carry the bulk). */
export const DEFAULT_MAX_JSON_BYTES = 16 * 1024;

/**
 * Bytes received but not yet read above which the stream is paused (the muxer then stops granting
 * the sender credit), and below which it resumes. This is the receiver's backpressure: without it a
 * slow consumer (a disk) lets the read buffer overflow and the stream is aborted.
 */
const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

/**
 * The read buffer may hold the high water mark plus whatever the muxer delivers at once after a
 * resume (at most one stream window, see `YAMUX_MAX_STREAM_WINDOW` in mesh-node).
 */
const READ_BUFFER_LIMIT = 16 * 1024 * 1024;

export interface FramedStreamOptions {
  /** Largest frame accepted or sent; a longer length prefix fails the read with `FrameTooLarge`. */
  maxFrameBytes?: number;
  /** Received-but-unread bytes above which the stream is paused. */
  highWaterMarkBytes?: number;
}

export interface ReadJsonOptions extends AbortOptions {
  /** Largest JSON frame accepted for this message (default {@link DEFAULT_MAX_JSON_BYTES}). */
  maxBytes?: number;
}

/**
 * Length-prefixed frames (unsigned varint length, then the bytes: the `lpStream` format) over one
 * libp2p stream: JSON messages validated by zod on receipt, and raw byte frames for bulk data.
 *
 * Every read failure is a {@link MeshProtocolError} (or an {@link OperationAbortedError} when the
 * signal fired); the caller then aborts the stream with {@link FramedStream.abort}. One reader per
 * stream: do not read the underlying stream by other means while this one is in use.
 */
export class FramedStream {
  private readonly lp: LengthPrefixedStream;
  private readonly maxFrameBytes: number;
  private readonly highWaterMark: number;
  private readonly lowWaterMark: number;
  private unreadBytes = 0;
  private paused = false;
  private resuming = false;

  constructor(
    readonly stream: MessageStream,
    options: FramedStreamOptions = {},
  ) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.highWaterMark = Math.max(
      options.highWaterMarkBytes ?? DEFAULT_HIGH_WATER_MARK,
      4 * this.maxFrameBytes,
    );
    this.lowWaterMark = Math.floor(this.highWaterMark / 2);
    this.lp = lpStream(stream, {
      maxDataLength: this.maxFrameBytes,
      maxBufferSize: READ_BUFFER_LIMIT + this.highWaterMark,
    });
    // lpStream buffers every message the stream emits; count them to know when to push back.
    stream.addEventListener('message', (event) => {
      this.unreadBytes += event.data.byteLength;
      if (!this.resuming) this.pauseIfFull();
    });
  }

  /** Sends one JSON message as one frame. */
  async writeJson(message: unknown, options?: AbortOptions): Promise<void> {
    const bytes = new TextEncoder().encode(JSON.stringify(message));
    if (bytes.byteLength > this.maxFrameBytes) {
      throw new MeshProtocolError(
        'FrameTooLarge',
        `Refusing to send a ${bytes.byteLength}-byte message (limit ${this.maxFrameBytes})`,
      );
    }
    await this.write(bytes, options);
  }

  /** Sends raw bytes as one frame (at most `maxFrameBytes`; split larger buffers before calling). */
  async writeBytes(chunk: Uint8Array, options?: AbortOptions): Promise<void> {
    if (chunk.byteLength > this.maxFrameBytes) {
      throw new MeshProtocolError(
        'FrameTooLarge',
        `Refusing to send a ${chunk.byteLength}-byte frame (limit ${this.maxFrameBytes})`,
      );
    }
    await this.write(chunk, options);
  }

  /**
   * Reads the next frame as JSON matching `schema`. Oversized, non-JSON or non-matching frames
   * throw a {@link MeshProtocolError} naming the problem.
   */
  async readJson<S extends z.ZodType>(schema: S, options: ReadJsonOptions = {}): Promise<z.output<S>> {
    const frame = await this.readBytes(options);
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_JSON_BYTES;
    if (frame.byteLength > maxBytes) {
      throw new MeshProtocolError(
        'FrameTooLarge',
        `A ${frame.byteLength}-byte message exceeds the limit of ${maxBytes} bytes`,
      );
    }
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame));
    } catch (error) {
      throw new MeshProtocolError('MalformedFrame', 'A frame is not UTF-8 JSON', { cause: error });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      throw new MeshProtocolError(
        'UnexpectedMessage',
        `Unexpected message: ${where}${issue?.message ?? 'invalid'}`,
        {
          cause: parsed.error,
        },
      );
    }
    return parsed.data;
  }

  /** Reads the next frame's bytes. */
  async readBytes(options: AbortOptions = {}): Promise<Uint8Array> {
    let frame;
    try {
      frame = await this.lp.read(options);
    } catch (error) {
      throw translateReadError(error, this.stream, options.signal);
    }
    this.consumed(frame.byteLength + varintLength(frame.byteLength));
    return frame.subarray();
  }

  /** Ends this side's writing; the remote reads the end once it has read every frame. */
  async closeWrite(options?: AbortOptions): Promise<void> {
    await this.stream.close(options);
  }

  /** Abandons the stream in both directions (the remote sees a reset). */
  abort(error: Error): void {
    this.stream.abort(error);
  }

  private async write(bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    try {
      await this.lp.write(bytes, options);
    } catch (error) {
      if (options?.signal?.aborted) throw abortReasonOf(options.signal);
      throw new MeshProtocolError('StreamFailed', `Writing to the stream failed: ${describe(error)}`, {
        cause: error,
      });
    }
  }

  private consumed(bytes: number): void {
    this.unreadBytes = Math.max(0, this.unreadBytes - bytes);
    if (this.paused && this.unreadBytes <= this.lowWaterMark) {
      this.paused = false;
      // resume() delivers the held-back bytes synchronously and only then tells the muxer to grant
      // credit again, so pausing from inside that delivery would be undone at once: pause after it.
      this.resuming = true;
      try {
        // Resume even when the stream has closed meanwhile (the remote finished sending while we
        // were paused): the bytes held back are only delivered on resume.
        this.stream.resume();
      } catch {
        // The readable end is closed; the next read reports how.
      } finally {
        this.resuming = false;
      }
      this.pauseIfFull();
    }
  }

  private pauseIfFull(): void {
    if (!this.paused && this.unreadBytes > this.highWaterMark && this.stream.status === 'open') {
      this.paused = true;
      this.stream.pause();
    }
  }
}

/** Wraps a libp2p stream for framed reads and writes. */
export function framed(stream: MessageStream, options?: FramedStreamOptions): FramedStream {
  return new FramedStream(stream, options);
}

function translateReadError(error: unknown, stream: MessageStream, signal: AbortSignal | undefined): Error {
  if (signal?.aborted) return abortReasonOf(signal);
  // A stream aborted locally (e.g. a buffer limit) or reset by the remote reads as an early end.
  if (stream.status === 'aborted' || stream.status === 'reset') {
    return new MeshProtocolError('StreamFailed', `The stream was ${stream.status}: ${describe(error)}`, {
      cause: error,
    });
  }
  const name = error instanceof Error ? error.name : '';
  switch (name) {
    case 'InvalidDataLengthError':
      return new MeshProtocolError('FrameTooLarge', `Frame too large: ${describe(error)}`, { cause: error });
    case 'InvalidDataLengthLengthError':
    case 'InvalidMessageLengthError':
      return new MeshProtocolError('MalformedFrame', `Malformed length prefix: ${describe(error)}`, {
        cause: error,
      });
    case 'UnexpectedEOFError':
      return new MeshProtocolError('UnexpectedEnd', 'The stream ended before a complete frame', {
        cause: error,
      });
    default:
      return new MeshProtocolError('StreamFailed', `Reading from the stream failed: ${describe(error)}`, {
        cause: error,
      });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    length++;
  }
  return length;
}
