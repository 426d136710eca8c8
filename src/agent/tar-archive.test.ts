import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listTarGzFiles, tarGzDirectory } from './tar-archive.js';

describe('listTarGzFiles', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists every file of a tarGzDirectory archive with its sha256, long paths included', async () => {
    dir = await mkdtemp(join(tmpdir(), 'buildmesh-tar-'));
    const longDir = 'nested/'.repeat(20).slice(0, -1);
    await mkdir(join(dir, longDir), { recursive: true });
    const files: Record<string, Buffer> = {
      'Lib.dll': Buffer.alloc(1300, 7),
      'empty.txt': Buffer.alloc(0),
      [`${longDir}/deep.json`]: Buffer.from('{"a":1}'),
    };
    for (const [path, bytes] of Object.entries(files)) await writeFile(join(dir, path), bytes);
    const listed = await listTarGzFiles(tarGzDirectory(dir));
    const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
    expect([...listed].sort(byPath)).toEqual(
      Object.entries(files)
        .map(([path, bytes]) => ({ path, sha256: sha(bytes) }))
        .sort(byPath),
    );
  });
});
