import type { Readable } from 'node:stream';

/** An object as stored: its name (the sha256 of its bytes) and its size. */
export interface StoredBlob {
  sha256: string;
  sizeBytes: number;
}

/**
 * Port: the local content-addressed store, as the mesh's blob protocol serves and fills it.
 * Objects are named by the lowercase hex sha256 of their bytes. Implemented by the agent's
 * `ContentStore`.
 */
export interface BlobStore {
  /** Whether an object with this name is stored. */
  has(sha256: string): Promise<boolean>;
  /** The size in bytes of a stored object, or null when it is not stored. */
  sizeOf(sha256: string): Promise<number | null>;
  /** Streams a stored object's bytes. Errors (e.g. ENOENT) surface while iterating. */
  openRead(sha256: string): AsyncIterable<Uint8Array>;
  /**
   * Stores the bytes of `source` under their sha256. When `source` fails, nothing is stored: the
   * bytes go to a temporary file that is renamed into place only after the source ends cleanly.
   */
  putStream(source: Readable): Promise<StoredBlob>;
}
