import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { createGunzip, createGzip } from 'node:zlib';

const BLOCK = 512;

/**
 * A gzipped POSIX tar of a directory, as a stream. Entries are sorted and their owner and times
 * zeroed, so the same files always give the same bytes (and the same sha256 in the CAS).
 */
export function tarGzDirectory(directory: string): Readable {
  return Readable.from(tarEntries(directory)).pipe(createGzip({ level: 6 }));
}

async function* tarEntries(directory: string): AsyncGenerator<Buffer> {
  for (const file of await listFiles(directory)) {
    const info = await stat(file);
    const name = relative(directory, file).split(sep).join('/');
    const mode = info.mode & 0o111 ? 0o755 : 0o644;
    if (Buffer.byteLength(name) > 100) yield* paxHeader(name);
    yield header(name.slice(0, 100), info.size, mode, '0');
    for await (const chunk of createReadStream(file)) yield chunk as Buffer;
    const padding = (BLOCK - (info.size % BLOCK)) % BLOCK;
    if (padding > 0) yield Buffer.alloc(padding);
  }
  yield Buffer.alloc(BLOCK * 2);
}

async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

function* paxHeader(path: string): Generator<Buffer> {
  const record = (length: number) => `${length} path=${path}\n`;
  let length = Buffer.byteLength(record(0));
  while (Buffer.byteLength(record(length)) !== length) length = Buffer.byteLength(record(length));
  const body = Buffer.from(record(length));
  yield header('PaxHeader', body.length, 0o644, 'x');
  yield body;
  const padding = (BLOCK - (body.length % BLOCK)) % BLOCK;
  if (padding > 0) yield Buffer.alloc(padding);
}

function header(name: string, size: number, mode: number, type: string): Buffer {
  const block = Buffer.alloc(BLOCK);
  const write = (value: string, offset: number, length: number) => block.write(value, offset, length, 'utf8');
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0') + '\0';
  write(name, 0, 100);
  write(octal(mode, 8), 100, 8);
  write(octal(0, 8), 108, 8);
  write(octal(0, 8), 116, 8);
  write(octal(size, 12), 124, 12);
  write(octal(0, 12), 136, 12);
  write('        ', 148, 8);
  write(type, 156, 1);
  write('ustar\0', 257, 6);
  write('00', 263, 2);
  let checksum = 0;
  for (const byte of block) checksum += byte;
  write(checksum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return block;
}

/**
 * The files of a gzipped tar written by `tarGzDirectory` (ustar, with pax `path` records for long
 * names): each file's path and the sha256 of its bytes, in archive order.
 */
export async function listTarGzFiles(source: Readable): Promise<{ path: string; sha256: string }[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of source.pipe(createGunzip())) chunks.push(chunk as Buffer);
  const archive = Buffer.concat(chunks);
  const files: { path: string; sha256: string }[] = [];
  let longPath: string | null = null;
  let offset = 0;
  while (offset + BLOCK <= archive.length) {
    const block = archive.subarray(offset, offset + BLOCK);
    if (block.every((byte) => byte === 0)) break;
    const text = (start: number, length: number) =>
      block
        .subarray(start, start + length)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const size = Number.parseInt(text(124, 12).trim() || '0', 8);
    const type = text(156, 1) || '0';
    const body = archive.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      longPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1] ?? null;
      continue;
    }
    const prefix = text(345, 155);
    const name = longPath ?? (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100));
    longPath = null;
    if (type === '0') files.push({ path: name, sha256: createHash('sha256').update(body).digest('hex') });
  }
  return files;
}
