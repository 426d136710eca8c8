import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { ArtifactCorruptedError } from '../core/errors.js';
import { pipeline } from 'node:stream/promises';

export interface StoredObject {
  sha256: string;
  sizeBytes: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The local content-addressed store: objects live at `cas/sha256/ab/cdef…`, named by the sha256
 * of their bytes. Writes go to a temp file and are renamed into place, so a crash or a full disk
 * never leaves a half-written object under a valid name.
 */
export class ContentStore {
  constructor(private readonly root: string) {}

  pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256.slice(2));
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await stat(this.pathOf(sha256));
      return true;
    } catch {
      return false;
    }
  }

  async sizeOf(sha256: string): Promise<number | null> {
    try {
      return (await stat(this.pathOf(sha256))).size;
    } catch {
      return null;
    }
  }

  async putFile(path: string): Promise<StoredObject> {
    return this.putStream(createReadStream(path));
  }

  async putStream(source: Readable): Promise<StoredObject> {
    const tempDir = join(this.root, 'tmp');
    await mkdir(tempDir, { recursive: true });
    const tempPath = join(tempDir, randomUUID());
    const hash = createHash('sha256');
    let sizeBytes = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        sizeBytes += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      await pipeline(source, hashing, createWriteStream(tempPath));
      const sha256 = hash.digest('hex');
      const finalPath = this.pathOf(sha256);
      await mkdir(dirname(finalPath), { recursive: true });
      await rename(tempPath, finalPath);
      return { sha256, sizeBytes };
    } catch (error) {
      await rm(tempPath, { force: true });
      throw error;
    }
  }

  /** Re-hashes a stored object; false when its bytes no longer match its name. */
  async verify(sha256: string): Promise<boolean> {
    return (await hashFile(this.pathOf(sha256))) === sha256;
  }

  openRead(sha256: string): Readable {
    return createReadStream(this.pathOf(sha256));
  }

  /** Streams an object after checking its bytes still match its hash (one extra read, never a bad byte served). */
  async openVerified(sha256: string, artifactId: string): Promise<Readable> {
    const actual = await hashFile(this.pathOf(sha256)).catch(() => 'missing');
    if (actual !== sha256) throw new ArtifactCorruptedError(artifactId, sha256, actual);
    return this.openRead(sha256);
  }
}

export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
