import { generateKeyPair } from '@libp2p/crypto/keys';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActionCacheStore } from '../../src/agent/action-cache-store.js';
import { ContentStore } from '../../src/agent/content-store.js';
import { BuildMetrics } from '../../src/coordinator/build-metrics.js';
import type {
  ActionCacheEntry,
  SignedActionCacheEntry,
  TaskCacheQuery,
} from '../../src/core/action-cache.js';
import { computeCacheKey, sha256Hex, type CacheKey, type CacheKeyInput } from '../../src/core/cache-key.js';
import { InvalidArgumentError, OperationAbortedError } from '../../src/core/errors.js';
import {
  markCovers,
  NOT_REPRODUCIBLE_EXPLANATION,
  type NotReproducibleMark,
} from '../../src/core/not-reproducible.js';
import { MeshTaskCache } from '../../src/host/mesh-task-cache.js';
import { ActionCacheService } from '../../src/mesh/action-cache-protocol.js';
import { BlobService } from '../../src/mesh/blob-protocol.js';
import { Libp2pEntrySigner } from '../../src/mesh/entry-signer.js';
import type { MeshNode } from '../../src/mesh/mesh-node.js';
import { createSwarmKey, type SwarmKey } from '../../src/mesh/swarm-key.js';
import { startMeshNode, stopAll, testLogger } from '../helpers/mesh-harness.js';
import { removeDir, waitFor } from '../helpers/node-harness.js';

const PROJECT = 'src/A/A.csproj';

/** The cache key of A's build with Class1.cs holding `class1`. */
function keyFor(class1: string, project = PROJECT): CacheKey {
  const input: CacheKeyInput = {
    kind: 'build',
    project: { path: project, sha256: sha256Hex('<Project Sdk="Microsoft.NET.Sdk" />') },
    inputs: [
      { path: 'src/A/Class1.cs', sha256: sha256Hex(class1) },
      { path: 'src/A/Class2.cs', sha256: sha256Hex('class Two {}') },
    ],
    ambient: [{ path: 'Directory.Build.props', sha256: sha256Hex('<Project />') }],
    references: [{ project: 'src/B/B.csproj', digest: sha256Hex('key of B') }],
    configuration: 'Release',
    targetFramework: 'net10.0',
    runtimeIdentifier: '',
    platform: 'AnyCPU',
    properties: {},
    sdkVersion: '10.0.100',
  };
  return computeCacheKey(input);
}

const queryFor = (cacheKey: CacheKey, project = PROJECT): TaskCacheQuery => ({
  cacheKey,
  kind: 'build',
  project,
});

type Member = Awaited<ReturnType<typeof startMember>>;

let root: string;
let swarmKey: SwarmKey;
const members: Member[] = [];
const started: Array<{ stop(): Promise<void> }> = [];
const nodes: MeshNode[] = [];
/** Per member: the projects it found not reproducible (a Canary or verify build marks them). */
const notReproducible = new Map<string, NotReproducibleMark[]>();
/** Per member: the (repository, project) its action-cache service refuses to serve. */
const refusedHere = new Map<string, Array<{ repositoryUrl: string; project: string }>>();

async function startMember(name: string, bootstrap: string[]) {
  const privateKey = await generateKeyPair('Ed25519');
  const node = await startMeshNode({ swarmKey, bootstrap, privateKey });
  nodes.push(node);
  const cas = new ContentStore(join(root, name, 'cas'));
  const store = new ActionCacheStore({ directory: join(root, name, 'action-cache'), contentStore: cas });
  const blobs = new BlobService({ node, store: cas, logger: testLogger, requestTimeoutMs: 2_000 });
  const service = new ActionCacheService({
    node,
    store,
    isNotReproducible: (project, repositoryUrl) =>
      refusedHere
        .get(name)
        ?.some(
          (mark) =>
            mark.project === project && (repositoryUrl === undefined || mark.repositoryUrl === repositoryUrl),
        ) ?? false,
    logger: testLogger,
    requestTimeoutMs: 2_000,
  });
  await blobs.start();
  await service.start();
  started.push(blobs, service);
  const signer = new Libp2pEntrySigner(privateKey);
  const metrics: BuildMetrics = new BuildMetrics({
    queueLength: () => 0,
    agentUtilization: () => [],
    cacheSizeBytes: (): number => cache.stats().bytes,
  });
  const cache: MeshTaskCache = new MeshTaskCache({
    store,
    contentStore: cas,
    peers: service,
    blobs,
    signer,
    onlinePeers: () => members.filter((other) => other.node !== node).map((other) => other.node.peerId),
    isMember: (peerId) => members.some((other) => other.node.peerId === peerId),
    logger: testLogger,
    metrics,
    isNotReproducible: (project, repositoryUrl) =>
      notReproducible.get(name)?.some((mark) => markCovers(mark, repositoryUrl, project)) ?? false,
    peerTimeoutMs: 3_000,
    blobTimeoutMs: 10_000,
  });
  return { name, node, cas, store, signer, cache, metrics };
}

/** What a build task on `producer` would leave: an output tree and a dll in its CAS, signed. */
async function produce(
  producer: { cas: ContentStore; signer: Libp2pEntrySigner },
  cacheKey: CacheKey,
  options: { project?: string; dll?: string } = {},
): Promise<SignedActionCacheEntry> {
  const dll = await producer.cas.putStream(Readable.from([Buffer.from(options.dll ?? 'MZ A.dll bytes')]));
  const treeJson = JSON.stringify({ files: [{ path: 'bin/Release/net10.0/A.dll', sha256: dll.sha256 }] });
  const tree = await producer.cas.putStream(Readable.from([Buffer.from(treeJson)]));
  const entry: ActionCacheEntry = {
    version: 1,
    cacheKey: cacheKey.key,
    kind: 'build',
    project: options.project ?? PROJECT,
    producedBy: producer.signer.peerId,
    sdkVersion: '10.0.100',
    createdAt: new Date().toISOString(),
    outputTreeSha256: tree.sha256,
    artifacts: [],
    testResults: null,
    log: ['A -> bin/Release/net10.0/A.dll', 'Build succeeded.'],
    blobs: [tree, dll],
  };
  return producer.signer.sign(entry);
}

/** Flips one byte of a file in place. */
async function flipByte(path: string, find: string): Promise<void> {
  const bytes = await readFile(path);
  const at = bytes.indexOf(find);
  expect(at).toBeGreaterThanOrEqual(0);
  bytes[at] = (bytes[at] ?? 0) ^ 0x20;
  await writeFile(path, bytes);
}

const entryPath = (member: Member, key: CacheKey): string =>
  join(root, member.name, 'action-cache', 'entries', `${key.key}.json`);

const signal = (): AbortSignal => AbortSignal.timeout(20_000);

describe('the mesh task cache across real mesh nodes', () => {
  let a: Member;
  let b: Member;
  let c: Member;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-mesh-task-cache-'));
    swarmKey = createSwarmKey();
    a = await startMember('a', []);
    members.push(a);
    b = await startMember('b', a.node.multiaddrs());
    members.push(b);
    c = await startMember('c', [...a.node.multiaddrs(), ...b.node.multiaddrs()]);
    members.push(c);
    await waitFor(
      'every member connected to the others',
      () => Promise.resolve(members.every((member) => member.node.connectedPeers().length === 2)),
      10_000,
      20,
    );
  });
  afterEach(async () => {
    members.splice(0);
    notReproducible.clear();
    refusedHere.clear();
    await stopAll(started.splice(0));
    await stopAll(nodes.splice(0));
    await removeDir(root);
  });

  it(
    'never serves nor records an entry of a project found not reproducible',
    { timeout: 30_000 },
    async () => {
      const key = keyFor('class One {}');
      const signed = await produce(a, key);
      await a.cache.record(signed, key.inputs);
      notReproducible.set(b.name, [{ repositoryUrl: null, project: 'src/A' }]);
      const missed = await b.cache.lookup(queryFor(key), signal());
      expect(missed).toEqual({
        hit: false,
        explanation:
          'not reproducible: its outputs differed between peers, so it is never served from the cache',
      });
      // B refuses to record it too: A's entry stays the only one.
      await b.cache.record(await produce(b, key), key.inputs);
      expect(await b.store.get(key.key)).toBeNull();
      await expect(c.cache.lookup(queryFor(key), signal())).resolves.toMatchObject({ hit: true });
    },
  );

  it(
    'refuses and does not record a project marked in the build repository, and keeps it in another one',
    { timeout: 30_000 },
    async () => {
      const app = 'https://git.example.com/team/app';
      notReproducible.set(b.name, [{ repositoryUrl: app, project: 'src/A' }]);
      const key = keyFor('class One {}');
      await a.cache.record(await produce(a, key), key.inputs);
      await expect(b.cache.lookup({ ...queryFor(key), repositoryUrl: app }, signal())).resolves.toEqual({
        hit: false,
        explanation: NOT_REPRODUCIBLE_EXPLANATION,
      });
      await b.cache.record(await produce(b, key), key.inputs, app);
      expect(await b.store.get(key.key)).toBeNull();
      // Without the repository, the mark of any repository holds.
      await b.cache.record(await produce(b, key), key.inputs);
      expect(await b.store.get(key.key)).toBeNull();

      const other = 'https://git.example.com/team/other';
      const own = await produce(b, key);
      await b.cache.record(own, key.inputs, other);
      expect(await b.store.get(key.key)).toEqual(own);
      await expect(
        b.cache.lookup({ ...queryFor(key), repositoryUrl: other }, signal()),
      ).resolves.toMatchObject({
        hit: true,
        source: 'local',
      });
    },
  );

  it(
    'takes a peer refusing a project as not reproducible as the reason of the miss, in that repository only',
    { timeout: 30_000 },
    async () => {
      const key = keyFor('class One {}');
      await a.cache.record(await produce(a, key), key.inputs);
      const app = 'git.example.com/team/app'; // as marks hold it (normalised)
      refusedHere.set(a.name, [{ repositoryUrl: app, project: PROJECT }]);
      // B asks with the repository as builds spell it; the lookup carries it normalised, without credentials.
      await expect(
        b.cache.lookup(
          { ...queryFor(key), repositoryUrl: 'https://me:token@Git.Example.com/team/app.git' },
          signal(),
        ),
      ).resolves.toEqual({
        hit: false,
        explanation: `${NOT_REPRODUCIBLE_EXPLANATION} (so says ${a.node.peerId})`,
      });
      expect(await b.store.get(key.key)).toBeNull();
      await expect(
        b.cache.lookup({ ...queryFor(key), repositoryUrl: 'https://git.example.com/team/other' }, signal()),
      ).resolves.toMatchObject({ hit: true, source: a.node.peerId });
    },
  );

  it('finds an entry recorded on A from B, with its blobs, then locally', { timeout: 30_000 }, async () => {
    const key = keyFor('class One {}');
    const signed = await produce(a, key);
    await a.cache.record(signed, key.inputs);
    await expect(a.cache.lookup(queryFor(key), signal())).resolves.toEqual({
      hit: true,
      signed,
      source: 'local',
    });

    const found = await b.cache.lookup(queryFor(key), signal());
    expect(found).toEqual({ hit: true, signed, source: a.node.peerId });
    for (const blob of signed.entry.blobs) expect(await b.cas.verify(blob.sha256)).toBe(true);
    expect(await b.store.get(key.key)).toEqual(signed);
    expect(await b.store.lastInputs('build', PROJECT)).toEqual(key.inputs);

    await expect(b.cache.lookup(queryFor(key), signal())).resolves.toEqual({
      hit: true,
      signed,
      source: 'local',
    });
    const missed = await b.cache.lookup(queryFor(keyFor('class One { }')), signal());
    expect(missed.hit).toBe(false);

    const bytes = signed.entry.blobs.reduce((sum, blob) => sum + blob.sizeBytes, 0);
    expect(b.cache.stats()).toEqual({ hits: 2, misses: 1, hitRate: 2 / 3, entries: 1, bytes });
    const metrics = b.metrics.render();
    expect(metrics).toContain('build_cache_hits_total 2\n');
    expect(metrics).toContain('build_cache_misses_total 1\n');
    expect(metrics).toContain(`build_cache_hit_rate ${2 / 3}\n`);
    expect(metrics).toContain(`build_cache_size_bytes ${bytes}\n`);
    expect(c.metrics.render()).toContain('build_cache_hit_rate 0\n');
  });

  it(
    'rejects an entry whose file changed by one byte, says why, and misses',
    { timeout: 30_000 },
    async () => {
      const key = keyFor('class One {}');
      const signed = await produce(a, key);
      await a.cache.record(signed, key.inputs);
      await flipByte(entryPath(a, key), 'Build succeeded.');

      const result = await b.cache.lookup(queryFor(key), signal());
      expect(result).toEqual({
        hit: false,
        explanation: `the entry from ${a.node.peerId} was rejected: signature does not verify`,
      });
      expect(await b.store.get(key.key)).toBeNull();
      for (const blob of signed.entry.blobs) expect(await b.cas.has(blob.sha256)).toBe(false);

      // A itself refuses it too, and drops it.
      const local = await a.cache.lookup(queryFor(key), signal());
      expect(local.hit).toBe(false);
      expect(!local.hit && local.explanation).toContain(
        'the local entry was rejected: signature does not verify',
      );
      expect(await a.store.get(key.key)).toBeNull();
    },
  );

  it('rejects an entry whose blob is corrupt on the serving peer', { timeout: 30_000 }, async () => {
    const key = keyFor('class One {}');
    const signed = await produce(a, key, { dll: 'MZ corruptible dll' });
    await a.cache.record(signed, key.inputs);
    const dll = signed.entry.blobs[1]?.sha256 ?? '';
    await flipByte(a.cas.pathOf(dll), 'corruptible');

    const result = await b.cache.lookup(queryFor(key), signal());
    expect(result.hit).toBe(false);
    expect(!result.hit && result.explanation).toMatch(
      new RegExp(
        `^the entry from ${a.node.peerId} was rejected: blob ${dll} could not be fetched: .*hashed to`,
      ),
    );
    expect(await b.cas.has(dll)).toBe(false);
    expect(await b.store.get(key.key)).toBeNull();
  });

  it(
    'tries the next answer after a rejection, and replaces a corrupt local blob',
    { timeout: 30_000 },
    async () => {
      const key = keyFor('class One {}');
      const signed = await produce(a, key);
      await a.cache.record(signed, key.inputs);
      await expect(c.cache.lookup(queryFor(key), signal())).resolves.toMatchObject({ source: a.node.peerId });
      // Now A's copy is bad and C's is good: whichever answers first, B ends up with C's.
      await flipByte(entryPath(a, key), 'Build succeeded.');
      // B already holds a rotten copy of the dll (a fetch would take it as it is): it is replaced.
      const dll = signed.entry.blobs[1]?.sha256 ?? '';
      await mkdir(dirname(b.cas.pathOf(dll)), { recursive: true });
      await writeFile(b.cas.pathOf(dll), 'MZ a.dll bytes');
      await expect(b.cache.lookup(queryFor(key), signal())).resolves.toEqual({
        hit: true,
        signed,
        source: c.node.peerId,
      });
      expect(await b.cas.verify(dll)).toBe(true);

      // A byte rots in B's CAS: B's own entry is rejected, the blob dropped and fetched again from C.
      await flipByte(b.cas.pathOf(dll), 'A.dll');
      await expect(b.cache.lookup(queryFor(key), signal())).resolves.toEqual({
        hit: true,
        signed,
        source: c.node.peerId,
      });
      expect(await b.cas.verify(dll)).toBe(true);
    },
  );

  it('refuses entries signed by a key outside the mesh', { timeout: 30_000 }, async () => {
    const outsider = new Libp2pEntrySigner(await generateKeyPair('Ed25519'));
    const key = keyFor('class One {}');
    // The outsider's entry and blobs reach A's disk without A's checks (record would verify the signature only).
    const forged = await produce({ cas: a.cas, signer: outsider }, key);
    await a.store.put(forged, key.inputs);

    const result = await b.cache.lookup(queryFor(key), signal());
    expect(result).toEqual({
      hit: false,
      explanation: `the entry from ${a.node.peerId} was rejected: its producer ${outsider.peerId} is not a member of this mesh`,
    });
    for (const blob of forged.entry.blobs) expect(await b.cas.has(blob.sha256)).toBe(false);
  });

  it('explains misses: no entry, or which inputs changed', { timeout: 30_000 }, async () => {
    await expect(b.cache.lookup(queryFor(keyFor('class One {}')), signal())).resolves.toEqual({
      hit: false,
      explanation: 'no entry for this project yet',
    });

    const before = keyFor('class One {}');
    await a.cache.record(await produce(a, before), before.inputs);
    const after = keyFor('class One { int x; }');
    // B has nothing of its own: A's miss carries the inputs of its last entry.
    await expect(b.cache.lookup(queryFor(after), signal())).resolves.toEqual({
      hit: false,
      explanation: 'inputs changed: src/A/Class1.cs',
    });
    // Another project's entry says nothing about this one.
    await expect(
      b.cache.lookup(queryFor(keyFor('class One { int x; }', 'src/C/C.csproj'), 'src/C/C.csproj'), signal()),
    ).resolves.toEqual({
      hit: false,
      explanation: 'no entry for this project yet',
    });
  });

  it('records only entries that verify against their inputs', { timeout: 30_000 }, async () => {
    const key = keyFor('class One {}');
    const signed = await produce(a, key);
    const tampered = { ...signed, entry: { ...signed.entry, sdkVersion: '10.0.101' } };
    const error = await a.cache.record(tampered, key.inputs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/signature: does not verify for producer/);
    await expect(a.cache.record(signed, keyFor('class One { }').inputs)).rejects.toThrow(/cache key/);
    expect(await a.store.get(key.key)).toBeNull();

    const controller = new AbortController();
    controller.abort();
    await expect(b.cache.lookup(queryFor(key), controller.signal)).rejects.toBeInstanceOf(
      OperationAbortedError,
    );
  });
});
