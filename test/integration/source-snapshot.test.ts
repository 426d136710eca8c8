import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentStore } from '../../src/agent/content-store.js';
import {
  SourceManifestError,
  materializeSources,
  readManifest,
  snapshotSources,
} from '../../src/agent/source-snapshot.js';
import { removeDir } from '../helpers/node-harness.js';

const COMMIT = 'a'.repeat(40);

describe('source snapshots in the CAS', () => {
  let root: string;
  let store: ContentStore;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-snapshot-'));
    store = new ContentStore(join(root, 'cas'));
    const tree = join(root, 'tree');
    await mkdir(join(tree, 'src', 'Lib'), { recursive: true });
    await mkdir(join(tree, '.git'), { recursive: true });
    await writeFile(join(tree, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    await writeFile(join(tree, 'App.sln'), 'solution');
    await writeFile(join(tree, 'src', 'Lib', 'A.cs'), 'class A {}');
    await writeFile(join(tree, 'src', 'Lib', 'Copy.cs'), 'class A {}');
    await writeFile(join(tree, 'build.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await symlink('src/Lib', join(tree, 'lib-link'));
  });
  afterAll(async () => removeDir(root));

  it('stores each distinct file once, skips .git, and rebuilds the same tree elsewhere', async () => {
    const first = await snapshotSources(join(root, 'tree'), COMMIT, store);
    expect(first.manifest.entries.map((e) => e.path)).toEqual([
      'App.sln',
      'build.sh',
      'lib-link',
      'src/Lib/A.cs',
      'src/Lib/Copy.cs',
    ]);
    const second = await snapshotSources(join(root, 'tree'), COMMIT, store);
    expect(second.manifestSha256).toBe(first.manifestSha256);
    // 3 distinct contents (A.cs and Copy.cs are equal) + the manifest.
    const objects = (
      await readdir(join(root, 'cas', 'sha256'), { recursive: true, withFileTypes: true })
    ).filter((e) => e.isFile());
    expect(objects).toHaveLength(4);

    const manifest = await readManifest(store, first.manifestSha256);
    const target = join(root, 'materialized');
    await materializeSources(manifest, store, target);
    expect(await readFile(join(target, 'src', 'Lib', 'Copy.cs'), 'utf8')).toBe('class A {}');
    expect((await lstat(join(target, 'build.sh'))).mode & 0o111).not.toBe(0);
    expect(await readlink(join(target, 'lib-link'))).toBe('src/Lib');
  });

  it('refuses manifests that would write outside the workspace', async () => {
    const put = async (value: unknown) =>
      (await store.putStream(Readable.from([Buffer.from(JSON.stringify(value))]))).sha256;
    const escaping = await put({
      version: 1,
      commit: COMMIT,
      entries: [{ kind: 'file', path: '../evil', sha256: 'b'.repeat(64), sizeBytes: 1, executable: false }],
    });
    await expect(readManifest(store, escaping)).rejects.toThrow(SourceManifestError);
    const throughLink = await put({
      version: 1,
      commit: COMMIT,
      entries: [
        { kind: 'symlink', path: 'out', target: '/tmp' },
        { kind: 'file', path: 'out/x', sha256: 'b'.repeat(64), sizeBytes: 1, executable: false },
      ],
    });
    await expect(readManifest(store, throughLink)).rejects.toThrow('goes through a symlink');
    await expect(readManifest(store, await put({ nope: true }))).rejects.toThrow('is invalid');
  });
});
