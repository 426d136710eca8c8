import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActionCacheEntry, SignedActionCacheEntry } from '../core/action-cache.js';
import { sha256Hex, type InputDigest } from '../core/cache-key.js';
import { ActionCacheStore } from './action-cache-store.js';
import { ContentStore } from './content-store.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const T0 = Date.parse('2025-03-01T12:00:00Z');

describe('ActionCacheStore', () => {
  let root: string;
  let cas: ContentStore;
  let clock: number;
  const now = (): Date => new Date(clock);

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-action-cache-'));
    cas = new ContentStore(join(root, 'cas'));
    clock = T0;
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function store(options: { maxBytes?: number; maxAgeMs?: number } = {}): ActionCacheStore {
    return new ActionCacheStore({
      directory: join(root, 'action-cache'),
      contentStore: cas,
      now,
      ...options,
    });
  }

  async function blob(text: string): Promise<{ sha256: string; sizeBytes: number }> {
    return cas.putStream(Readable.from([Buffer.from(text)]));
  }

  /** An entry for `project` whose blobs are the given objects (artifacts: the ones named in `artifacts`). */
  function entryFor(
    project: string,
    blobs: { sha256: string; sizeBytes: number }[],
    artifacts: { sha256: string; sizeBytes: number }[] = [],
  ): SignedActionCacheEntry {
    const entry: ActionCacheEntry = {
      version: 1,
      cacheKey: sha256Hex(`key of ${project}`),
      kind: 'build',
      project,
      producedBy: '12D3KooWTestProducer',
      sdkVersion: '10.0.100',
      createdAt: new Date(clock).toISOString(),
      outputTreeSha256: blobs[0]?.sha256 ?? null,
      artifacts: artifacts.map((artifact) => ({
        name: 'out.nupkg',
        path: 'bin/out.nupkg',
        sizeBytes: artifact.sizeBytes,
        contentType: 'application/zip',
        sha256Hash: artifact.sha256,
        createdAt: new Date(clock).toISOString(),
      })),
      testResults: null,
      log: ['Build succeeded.'],
      blobs: [...blobs, ...artifacts],
    };
    return { entry, signature: 'c2lnbmF0dXJl' };
  }

  const inputs = (project: string): InputDigest[] => [
    { kind: 'setting', name: 'configuration', digest: sha256Hex('Release') },
    { kind: 'file', name: project, digest: sha256Hex(`contents of ${project}`) },
  ];

  const entryFiles = async (): Promise<string[]> =>
    (await readdir(join(root, 'action-cache', 'entries')).catch(() => [])).sort();

  it('stores an entry and the last inputs of its project, and reads them back', async () => {
    const cache = store();
    const signed = entryFor('src/A/A.csproj', [await blob('tree of A'), await blob('A.dll')]);
    await cache.put(signed, inputs('src/A/A.csproj'));

    expect(await cache.get(signed.entry.cacheKey)).toEqual(signed);
    expect(await cache.get(sha256Hex('never stored'))).toBeNull();
    expect(await cache.lastInputs('build', 'src/A/A.csproj')).toEqual(inputs('src/A/A.csproj'));
    expect(await cache.lastInputs('test', 'src/A/A.csproj')).toBeNull();
    expect(await cache.lastInputs('build', 'src/B/B.csproj')).toBeNull();
    expect(await cache.stats()).toEqual({ entries: 1, bytes: 'tree of A'.length + 'A.dll'.length });
    await expect(cache.get('../../etc/passwd')).rejects.toThrow(/sha256/);
  });

  it('keeps an entry without touching the last inputs of its project', async () => {
    const cache = store();
    const first = entryFor('src/A/A.csproj', [await blob('A.dll v1')]);
    await cache.put(first, inputs('src/A/A.csproj'));
    const produced = { ...entryFor('src/A/A.csproj', [await blob('A.dll v2')]) };
    produced.entry = { ...produced.entry, cacheKey: sha256Hex('key of the peer-produced entry') };
    await cache.keep(produced);
    expect(await cache.get(produced.entry.cacheKey)).toEqual(produced);
    expect(await cache.lastInputs('build', 'src/A/A.csproj')).toEqual(inputs('src/A/A.csproj'));
    expect(cache.knownStats()).toEqual({ entries: 2, bytes: 16 });
    await expect(cache.keep({ ...produced, entry: { ...produced.entry, cacheKey: 'x' } })).rejects.toThrow(
      /signed\.entry\.cacheKey/,
    );
  });

  it('expires entries unused for longer than the maximum age and deletes their blobs', async () => {
    const cache = store({ maxAgeMs: 7 * DAY_MS });
    const a = entryFor('src/A/A.csproj', [await blob('A.dll')]);
    const b = entryFor('src/B/B.csproj', [await blob('B.dll')]);
    await cache.put(a, inputs('src/A/A.csproj'));
    await cache.put(b, inputs('src/B/B.csproj'));

    clock = T0 + 6 * DAY_MS;
    expect(await cache.get(a.entry.cacheKey)).not.toBeNull();
    // A use moves the expiry: A lives on, B (never used) expires.
    await cache.markUsed(a.entry.cacheKey);
    clock = T0 + 8 * DAY_MS;
    expect(await cache.get(b.entry.cacheKey)).toBeNull();
    expect(await entryFiles()).toEqual([`${a.entry.cacheKey}.json`]);
    expect(await cas.has(b.entry.blobs[0]?.sha256 ?? '')).toBe(false);
    expect(await cache.get(a.entry.cacheKey)).toEqual(a);

    clock = T0 + 14 * DAY_MS;
    expect(await cache.prune()).toEqual({ expired: 1, evicted: 0, blobsDeleted: 1 });
    expect(await entryFiles()).toEqual([]);
    expect(await cache.stats()).toEqual({ entries: 0, bytes: 0 });
    // The last inputs outlive the entry: a later miss can still say what changed.
    expect(await cache.lastInputs('build', 'src/A/A.csproj')).toEqual(inputs('src/A/A.csproj'));
  });

  it('evicts the least recently used entries beyond the size limit', async () => {
    const cache = store({ maxBytes: 250 });
    const a = entryFor('src/A/A.csproj', [await blob('a'.repeat(100))]);
    const b = entryFor('src/B/B.csproj', [await blob('b'.repeat(100))]);
    const c = entryFor('src/C/C.csproj', [await blob('c'.repeat(100))]);
    const d = entryFor('src/D/D.csproj', [await blob('d'.repeat(100))]);
    await cache.put(a, []);
    clock += 1000;
    await cache.put(b, []);
    clock += 1000;
    // A is used after B was stored, so B is now the least recently used.
    await cache.markUsed(a.entry.cacheKey);
    clock += 1000;
    await cache.put(c, []);
    expect(await cache.get(b.entry.cacheKey)).toBeNull();
    expect(await cache.get(a.entry.cacheKey)).not.toBeNull();
    expect(await cache.get(c.entry.cacheKey)).not.toBeNull();
    expect(cache.knownStats()).toEqual({ entries: 2, bytes: 200 });

    clock += 1000;
    await cache.put(d, []);
    expect((await entryFiles()).sort()).toEqual(
      [`${c.entry.cacheKey}.json`, `${d.entry.cacheKey}.json`].sort(),
    );
    expect(await cas.has(a.entry.blobs[0]?.sha256 ?? '')).toBe(false);
    expect(await cas.has(b.entry.blobs[0]?.sha256 ?? '')).toBe(false);
  });

  it('keeps a freshly stored entry even when it alone is above the limit', async () => {
    const cache = store({ maxBytes: 50 });
    const big = entryFor('src/A/A.csproj', [await blob('x'.repeat(100))]);
    await cache.put(big, []);
    expect(await cache.get(big.entry.cacheKey)).toEqual(big);
    // The next prune has no reason to spare it.
    expect(await cache.prune()).toEqual({ expired: 0, evicted: 1, blobsDeleted: 1 });
  });

  it('counts an entry as the sum of its distinct blobs', async () => {
    const cache = store();
    const shared = await blob('s'.repeat(40));
    const own = await blob('o'.repeat(7));
    const a = entryFor('src/A/A.csproj', [shared, own, shared]);
    const b = entryFor('src/B/B.csproj', [shared]);
    await cache.put(a, []);
    expect(cache.knownStats()).toEqual({ entries: 1, bytes: 47 });
    await cache.put(b, []);
    expect(await cache.stats()).toEqual({ entries: 2, bytes: 87 });
    await cache.remove(a.entry.cacheKey);
    expect(await cache.stats()).toEqual({ entries: 1, bytes: 40 });
  });

  it('on eviction deletes only the blobs no remaining entry lists and that are not artifacts', async () => {
    const cache = store({ maxBytes: 100 });
    const shared = await blob('shared output');
    const unique = await blob('only in A');
    const artifact = await blob('A.1.0.0.nupkg bytes');
    const a = entryFor('src/A/A.csproj', [shared, unique], [artifact]);
    const b = entryFor('src/B/B.csproj', [shared, await blob('b'.repeat(60))]);
    await cache.put(a, []);
    clock += 1000;
    await cache.put(b, []);

    expect(await cache.get(a.entry.cacheKey)).toBeNull();
    expect(await cas.has(unique.sha256)).toBe(false);
    expect(await cas.has(shared.sha256)).toBe(true);
    expect(await cas.has(artifact.sha256)).toBe(true);
    expect(await cache.get(b.entry.cacheKey)).toEqual(b);
  });

  it('reads an entry whose blob left the CAS as absent', async () => {
    const cache = store();
    const lost = await blob('lost');
    const a = entryFor('src/A/A.csproj', [await blob('kept'), lost]);
    await cache.put(a, []);
    await rm(cas.pathOf(lost.sha256));
    expect(await cache.get(a.entry.cacheKey)).toBeNull();
  });

  it('treats corrupt files as absent and removes them', async () => {
    const cache = store();
    const a = entryFor('src/A/A.csproj', [await blob('A.dll')]);
    const b = entryFor('src/B/B.csproj', [await blob('B.dll')]);
    await cache.put(a, inputs('src/A/A.csproj'));
    await cache.put(b, []);
    const entriesDir = join(root, 'action-cache', 'entries');

    await writeFile(join(entriesDir, `${a.entry.cacheKey}.json`), '{"entry": {"version": 1,');
    expect(await cache.get(a.entry.cacheKey)).toBeNull();
    expect(await entryFiles()).toEqual([`${b.entry.cacheKey}.json`]);

    // Valid JSON of the wrong shape, and an entry filed under another key, are corrupt too.
    const other = sha256Hex('another key');
    await writeFile(join(entriesDir, `${other}.json`), JSON.stringify(b));
    await writeFile(
      join(entriesDir, `${a.entry.cacheKey}.json`),
      JSON.stringify({ entry: {}, signature: 'x' }),
    );
    expect(await cache.prune()).toEqual({ expired: 0, evicted: 0, blobsDeleted: 0 });
    expect(await entryFiles()).toEqual([`${b.entry.cacheKey}.json`]);
    expect(await cache.stats()).toEqual({ entries: 1, bytes: 'B.dll'.length });

    const lastDir = join(root, 'action-cache', 'last');
    const lastOfA = `${sha256Hex('build\u0000src/A/A.csproj')}.json`;
    expect(await readdir(lastDir)).toContain(lastOfA);
    await writeFile(join(lastDir, lastOfA), 'not json');
    expect(await cache.lastInputs('build', 'src/A/A.csproj')).toBeNull();
    expect(await readdir(lastDir)).not.toContain(lastOfA);
    expect(await cache.lastInputs('build', 'src/B/B.csproj')).toEqual([]);
  });

  it('keeps the last-used time in the entry file', async () => {
    const cache = store();
    const a = entryFor('src/A/A.csproj', [await blob('A.dll')]);
    await cache.put(a, []);
    const path = join(root, 'action-cache', 'entries', `${a.entry.cacheKey}.json`);
    expect((await stat(path)).mtime.getTime()).toBe(T0);
    clock = T0 + 3 * DAY_MS;
    await cache.markUsed(a.entry.cacheKey);
    expect((await stat(path)).mtime.getTime()).toBe(T0 + 3 * DAY_MS);
    await cache.markUsed(sha256Hex('gone')); // an entry removed meanwhile is not an error
  });

  it('refuses malformed entries and too many inputs', async () => {
    const cache = store();
    const a = entryFor('src/A/A.csproj', [await blob('A.dll')]);
    await expect(cache.put({ ...a, signature: '' }, [])).rejects.toThrow(/signed/);
    const many = Array.from({ length: 50_001 }, () => inputs('x')[0] as InputDigest);
    await expect(cache.put(a, many)).rejects.toThrow(/inputs/);
    expect(await entryFiles()).toEqual([]);
  });

  it('discards a corrupt blob and leaves a good one', async () => {
    const cache = store();
    const good = await blob('good bytes');
    const bad = await blob('bad bytes');
    await writeFile(cas.pathOf(bad.sha256), 'bad bytez');
    expect(await cache.discardCorruptBlob(good.sha256)).toBe(false);
    expect(await cache.discardCorruptBlob(bad.sha256)).toBe(true);
    expect(await cas.has(good.sha256)).toBe(true);
    expect(await cas.has(bad.sha256)).toBe(false);
  });
});
