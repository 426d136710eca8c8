import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ActionCacheStore } from '../../src/agent/action-cache-store.js';
import { ContentStore } from '../../src/agent/content-store.js';
import type {
  ActionCacheRequest,
  ActionCacheResponse,
  SignedActionCacheEntry,
  TaskCacheQuery,
} from '../../src/core/action-cache.js';
import { computeCacheKey, sha256Hex, type CacheKey } from '../../src/core/cache-key.js';
import { NOT_REPRODUCIBLE_EXPLANATION } from '../../src/core/not-reproducible.js';
import { ActionCacheService } from '../../src/mesh/action-cache-protocol.js';
import { Libp2pEntrySigner } from '../../src/mesh/entry-signer.js';
import { loadOrCreateIdentity } from '../../src/mesh/mesh-identity.js';
import type { MeshNode } from '../../src/mesh/mesh-node.js';
import { loadSwarmKey } from '../../src/mesh/swarm-key.js';
import { startMeshNode, stopAll, testLogger } from '../helpers/mesh-harness.js';
import { api, removeDir, startTestNode, waitFor, type TestNode } from '../helpers/node-harness.js';

/** The repository the mark is for, as builds spell it, and as marks keep it (normalised). */
const REPOSITORY = 'https://git.example.com/Team/App.git';
const MARKED_AS = 'git.example.com/Team/App';
/** Another repository with a project at the same path. */
const OTHER_REPOSITORY = 'https://git.example.com/Team/Other.git';
const PROJECT = 'src/Lib/Lib.csproj';

/** A build task's cache key for the project, with `source` as its one input file's content. */
function keyFor(source: string): CacheKey {
  return computeCacheKey({
    kind: 'build',
    project: { path: PROJECT, sha256: sha256Hex('<Project Sdk="Microsoft.NET.Sdk" />') },
    inputs: [{ path: 'src/Lib/Class1.cs', sha256: sha256Hex(source) }],
    ambient: [],
    references: [],
    configuration: 'Release',
    targetFramework: 'net10.0',
    runtimeIdentifier: '',
    platform: 'AnyCPU',
    properties: {},
    sdkVersion: '10.0.100',
  });
}

/** What a build task on the producer leaves: a dll and an output tree in its CAS, signed by it. */
async function produce(
  cas: ContentStore,
  signer: Libp2pEntrySigner,
  cacheKey: CacheKey,
): Promise<SignedActionCacheEntry> {
  const dll = await cas.putStream(Readable.from([Buffer.from(`MZ Lib.dll for ${cacheKey.key}`)]));
  const tree = await cas.putStream(
    Readable.from([
      Buffer.from(JSON.stringify({ files: [{ path: 'bin/Release/net10.0/Lib.dll', sha256: dll.sha256 }] })),
    ]),
  );
  return signer.sign({
    version: 1,
    cacheKey: cacheKey.key,
    kind: 'build',
    project: PROJECT,
    producedBy: signer.peerId,
    sdkVersion: '10.0.100',
    createdAt: new Date().toISOString(),
    outputTreeSha256: tree.sha256,
    artifacts: [],
    testResults: null,
    log: ['Lib -> bin/Release/net10.0/Lib.dll'],
    blobs: [tree, dll],
  });
}

const query = (cacheKey: CacheKey, repositoryUrl: string): TaskCacheQuery => ({
  cacheKey,
  kind: 'build',
  project: PROJECT,
  repositoryUrl,
});

const signal = (): AbortSignal => AbortSignal.timeout(20_000);

describe('not-reproducible marks across real mesh nodes', () => {
  let root = '';
  const nodes: TestNode[] = [];
  const meshNodes: MeshNode[] = [];
  afterEach(async () => {
    await stopAll(nodes.splice(0));
    await stopAll(meshNodes.splice(0));
    if (root) await removeDir(root);
  });

  /** Asks `peerId` for an entry over the action-cache protocol from a bare mesh member (not a node). */
  async function asker(dataDirOfMember: string, address: string) {
    const swarmKey = await loadSwarmKey(dataDirOfMember);
    const node = await startMeshNode({ swarmKey: swarmKey! });
    meshNodes.push(node);
    const peerId = await node.dial(address);
    const service = new ActionCacheService({
      node,
      store: {
        get: () => Promise.resolve(null),
        markUsed: () => Promise.resolve(),
        lastInputs: () => Promise.resolve(null),
      },
      logger: testLogger,
    });
    return (request: Omit<ActionCacheRequest, 'type' | 'kind' | 'project'>): Promise<ActionCacheResponse> =>
      service.query(peerId, { type: 'lookup', kind: 'build', project: PROJECT, ...request }, signal());
  }

  it(
    'stops every peer serving a project once one peer marks it, in that repository only, and keeps the mark over a restart',
    { timeout: 90_000 },
    async () => {
      root = await mkdtemp(join(tmpdir(), 'buildmesh-marks-'));
      const dirB = join(root, 'b');
      // B built the project earlier, in both repositories: its signed entries are in its cache.
      const keyInApp = keyFor('class Lib {} // App');
      const keyInOther = keyFor('class Lib {} // Other');
      {
        const identity = await loadOrCreateIdentity(dirB);
        const signer = new Libp2pEntrySigner(identity.privateKey);
        const cas = new ContentStore(join(dirB, 'cas'));
        const store = new ActionCacheStore({ directory: join(dirB, 'action-cache'), contentStore: cas });
        await store.put(await produce(cas, signer, keyInApp), keyInApp.inputs);
        await store.put(await produce(cas, signer, keyInOther), keyInOther.inputs);
      }

      const a = await startTestNode({ dataDir: join(root, 'a') });
      nodes.push(a);
      let b = await startTestNode({ dataDir: dirB, joinCode: a.node.joinCode() });
      nodes.push(b);
      // C dials B too: lookups go to peers directly, not through A.
      const c = await startTestNode({
        dataDir: join(root, 'c'),
        joinCode: a.node.joinCode(),
        bootstrap: b.node.meshAddresses,
      });
      nodes.push(c);
      for (const member of [a, b, c])
        await waitFor(
          'every node to see the two others',
          async () => {
            const { body } = await api<{ agents: { status: string }[] }>(member.url, 'GET', '/api/v1/agents');
            return body.agents.filter((agent) => agent.status !== 'Offline').length === 3;
          },
          15_000,
          100,
        );

      // Before any mark: C's Cached lookup is served by B.
      const before = await c.node.lookUpCache(query(keyInApp, REPOSITORY), signal());
      expect(before, JSON.stringify(before)).toMatchObject({ hit: true, source: b.node.agentId });

      // A finds the project not reproducible (what its Canary or verify build does).
      a.node.markNotReproducible(REPOSITORY, ['src/Lib']);
      const mark = { repositoryUrl: MARKED_AS, project: 'src/Lib' };
      expect(a.node.notReproducibleMarks()).toEqual([mark]);
      for (const member of [b, c])
        await waitFor(
          'the mark to reach the peer through presence',
          () =>
            Promise.resolve(member.node.notReproducibleMarks().some((known) => known.project === 'src/Lib')),
          10_000,
          50,
        );
      expect(b.node.notReproducibleMarks()).toEqual([mark]);
      expect(c.node.notReproducibleMarks()).toEqual([mark]);

      // C refuses it now, though it kept a copy from B's hit, and says why.
      await expect(c.node.lookUpCache(query(keyInApp, REPOSITORY), signal())).resolves.toEqual({
        hit: false,
        explanation: NOT_REPRODUCIBLE_EXPLANATION,
      });
      // The same project of another repository is still served.
      await expect(c.node.lookUpCache(query(keyInOther, OTHER_REPOSITORY), signal())).resolves.toMatchObject({
        hit: true,
        source: b.node.agentId,
      });

      // B, asked directly over the mesh, refuses the marked one and serves the other.
      const askB = await asker(a.dataDir, b.node.meshAddresses[0]!);
      await expect(askB({ cacheKey: keyInApp.key, repositoryUrl: MARKED_AS })).resolves.toEqual({
        type: 'miss',
        refused: 'not-reproducible',
      });
      // An asker that does not say its repository (an older peer) is refused too.
      await expect(askB({ cacheKey: keyInApp.key })).resolves.toEqual({
        type: 'miss',
        refused: 'not-reproducible',
      });
      await expect(
        askB({ cacheKey: keyInOther.key, repositoryUrl: 'https://git.example.com/Team/Other' }),
      ).resolves.toMatchObject({
        type: 'hit',
        signed: { entry: { cacheKey: keyInOther.key, producedBy: b.node.agentId } },
      });

      // B restarts alone (nobody could teach it again): the mark is still there, and still refuses.
      await stopAll(nodes.splice(0));
      await stopAll(meshNodes.splice(0));
      b = await startTestNode({ dataDir: dirB });
      nodes.push(b);
      expect(b.node.notReproducibleMarks()).toEqual([mark]);
      const askRestarted = await asker(dirB, b.node.meshAddresses[0]!);
      await expect(askRestarted({ cacheKey: keyInApp.key, repositoryUrl: MARKED_AS })).resolves.toEqual({
        type: 'miss',
        refused: 'not-reproducible',
      });
      await expect(b.node.lookUpCache(query(keyInApp, REPOSITORY), signal())).resolves.toEqual({
        hit: false,
        explanation: NOT_REPRODUCIBLE_EXPLANATION,
      });
    },
  );
});
