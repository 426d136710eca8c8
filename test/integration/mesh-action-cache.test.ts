import { generateKeyPair } from '@libp2p/crypto/keys';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActionCacheStore } from '../../src/agent/action-cache-store.js';
import { ContentStore } from '../../src/agent/content-store.js';
import type {
  ActionCacheEntry,
  ActionCacheRequest,
  SignedActionCacheEntry,
} from '../../src/core/action-cache.js';
import { sha256Hex, type InputDigest } from '../../src/core/cache-key.js';
import { OperationAbortedError } from '../../src/core/errors.js';
import { MeshProtocolError } from '../../src/core/mesh-errors.js';
import {
  ACTION_CACHE_PROTOCOL,
  ActionCacheService,
  type ActionCacheSource,
} from '../../src/mesh/action-cache-protocol.js';
import { Libp2pEntrySigner } from '../../src/mesh/entry-signer.js';
import { framed } from '../../src/mesh/framed-json.js';
import type { MeshNode } from '../../src/mesh/mesh-node.js';
import { createSwarmKey, type SwarmKey } from '../../src/mesh/swarm-key.js';
import { startMeshNode, stopAll, testLogger } from '../helpers/mesh-harness.js';
import { removeDir } from '../helpers/node-harness.js';

const PROJECT = 'src/A/A.csproj';
const DAY_MS = 24 * 60 * 60 * 1000;

const inputsOf = (salt: string): InputDigest[] => [
  { kind: 'setting', name: 'configuration', digest: sha256Hex('Release') },
  { kind: 'file', name: 'src/A/Class1.cs', digest: sha256Hex(`class One {} // ${salt}`) },
];

describe('the action-cache protocol between real mesh nodes', () => {
  let root: string;
  let swarmKey: SwarmKey;
  let clock: number;
  const nodes: MeshNode[] = [];
  const services: ActionCacheService[] = [];
  /** Released at the end of each test: handlers that must hang until then wait on it. */
  let release: () => void;
  let released: Promise<void>;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-mesh-action-cache-'));
    swarmKey = createSwarmKey();
    clock = Date.parse('2025-03-01T12:00:00Z');
    released = new Promise((resolve) => (release = resolve));
  });
  afterEach(async () => {
    release();
    await stopAll(services.splice(0));
    await stopAll(nodes.splice(0));
    await removeDir(root);
  });

  async function node(bootstrap: string[] = []): Promise<MeshNode> {
    const started = await startMeshNode({ swarmKey, bootstrap });
    nodes.push(started);
    return started;
  }

  async function member(name: string, bootstrap: string[] = [], source?: ActionCacheSource) {
    const privateKey = await generateKeyPair('Ed25519');
    const meshNode = await startMeshNode({ swarmKey, bootstrap, privateKey });
    nodes.push(meshNode);
    const cas = new ContentStore(join(root, name, 'cas'));
    const store = new ActionCacheStore({
      directory: join(root, name, 'action-cache'),
      contentStore: cas,
      now: () => new Date(clock),
    });
    const service = new ActionCacheService({
      node: meshNode,
      store: source ?? store,
      logger: testLogger,
      requestTimeoutMs: 2_000,
    });
    await service.start();
    services.push(service);
    return { node: meshNode, cas, store, service, signer: new Libp2pEntrySigner(privateKey) };
  }

  async function signedEntry(
    owner: Awaited<ReturnType<typeof member>>,
    cacheKey: string,
  ): Promise<SignedActionCacheEntry> {
    const output = await owner.cas.putStream(Readable.from([Buffer.from('A.dll bytes')]));
    const entry: ActionCacheEntry = {
      version: 1,
      cacheKey,
      kind: 'build',
      project: PROJECT,
      producedBy: owner.signer.peerId,
      sdkVersion: '10.0.100',
      createdAt: new Date(clock).toISOString(),
      outputTreeSha256: output.sha256,
      artifacts: [],
      testResults: null,
      log: ['Build succeeded.'],
      blobs: [output],
    };
    return owner.signer.sign(entry);
  }

  const lookup = (cacheKey: string, kind: ActionCacheRequest['kind'] = 'build'): ActionCacheRequest => ({
    type: 'lookup',
    cacheKey,
    kind,
    project: PROJECT,
  });

  it('answers a hit with the signed entry and counts it as a use', { timeout: 30_000 }, async () => {
    const server = await member('server');
    const client = await member('client', server.node.multiaddrs());
    const key = sha256Hex('key one');
    const signed = await signedEntry(server, key);
    await server.store.put(signed, inputsOf('one'));

    clock += 3 * DAY_MS;
    const answer = await client.service.query(server.node.peerId, lookup(key), AbortSignal.timeout(10_000));
    expect(answer).toEqual({ type: 'hit', signed });
    expect(await client.signer.verify(signed)).toBe(true);
    const entryFile = join(root, 'server', 'action-cache', 'entries', `${key}.json`);
    expect((await stat(entryFile)).mtime.getTime()).toBe(clock);
  });

  it('answers a miss with the last inputs of the project when it has them', { timeout: 30_000 }, async () => {
    const server = await member('server');
    const client = await member('client', server.node.multiaddrs());
    const key = sha256Hex('key one');
    await server.store.put(await signedEntry(server, key), inputsOf('one'));
    const signal = AbortSignal.timeout(10_000);

    await expect(
      client.service.query(server.node.peerId, lookup(sha256Hex('key two')), signal),
    ).resolves.toEqual({ type: 'miss', lastInputs: inputsOf('one') });
    // The key of another task is not an answer for this one, whatever it is filed under.
    await expect(client.service.query(server.node.peerId, lookup(key, 'test'), signal)).resolves.toEqual({
      type: 'miss',
    });
    await expect(
      client.service.query(
        server.node.peerId,
        { ...lookup(sha256Hex('key three')), project: 'src/B/B.csproj' },
        signal,
      ),
    ).resolves.toEqual({ type: 'miss' });
  });

  it('degrades answers too large for a frame to a bare miss', { timeout: 30_000 }, async () => {
    const producer = new Libp2pEntrySigner(await generateKeyPair('Ed25519'));
    const huge = await producer.sign({
      version: 1,
      cacheKey: sha256Hex('huge'),
      kind: 'build',
      project: PROJECT,
      producedBy: producer.peerId,
      sdkVersion: '10.0.100',
      createdAt: new Date(clock).toISOString(),
      outputTreeSha256: null,
      artifacts: [],
      testResults: null,
      log: [],
      // About 6 MB of JSON: above the 4 MiB frame limit.
      blobs: Array.from({ length: 70_000 }, (_, index) => ({
        sha256: sha256Hex(String(index)),
        sizeBytes: index,
      })),
    });
    const source: ActionCacheSource = {
      get: (cacheKey) => Promise.resolve(cacheKey === huge.entry.cacheKey ? huge : null),
      markUsed: () => Promise.resolve(),
      lastInputs: () => Promise.resolve(inputsOf('x')),
    };
    const server = await member('server', [], source);
    const client = await member('client', server.node.multiaddrs());
    const signal = AbortSignal.timeout(10_000);
    await expect(
      client.service.query(server.node.peerId, lookup(huge.entry.cacheKey), signal),
    ).resolves.toEqual({ type: 'miss' });
    await expect(
      client.service.query(server.node.peerId, lookup(sha256Hex('other')), signal),
    ).resolves.toEqual({ type: 'miss', lastInputs: inputsOf('x') });
  });

  it('treats a malformed answer as an error', { timeout: 30_000 }, async () => {
    const rogue = await node();
    const client = await member('client', rogue.multiaddrs());
    const answers: unknown[] = [
      { type: 'hit', signed: { entry: { version: 1 }, signature: 'x' } },
      { type: 'miss', lastInputs: [{ kind: 'file', name: 'a.cs', digest: 'not a hash' }] },
      { type: 'maybe' },
    ];
    let served = 0;
    await rogue.handle(ACTION_CACHE_PROTOCOL, async (stream) => {
      const frames = framed(stream);
      await frames.readBytes();
      const answer = answers[served++];
      if (answer === undefined) await frames.writeBytes(new TextEncoder().encode('{"type": "hi'));
      else await frames.writeJson(answer);
      await frames.closeWrite();
    });
    for (let attempt = 0; attempt <= answers.length; attempt++) {
      const error = await client.service
        .query(rogue.peerId, lookup(sha256Hex('k')), AbortSignal.timeout(10_000))
        .catch((e: unknown) => e);
      expect(error, `answer ${attempt}`).toBeInstanceOf(MeshProtocolError);
      expect((error as MeshProtocolError).code).toBe(
        attempt < answers.length ? 'UnexpectedMessage' : 'MalformedFrame',
      );
    }
  });

  it('times out on a silent peer and honours the caller signal', { timeout: 30_000 }, async () => {
    const silent = await node();
    const client = await member('client', silent.multiaddrs());
    await silent.handle(ACTION_CACHE_PROTOCOL, () => released);

    const started = Date.now();
    const timedOut = await client.service
      .query(silent.peerId, lookup(sha256Hex('k')), new AbortController().signal, { timeoutMs: 300 })
      .catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(OperationAbortedError);
    expect((timedOut as OperationAbortedError).reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5_000);

    const controller = new AbortController();
    const pending = client.service.query(silent.peerId, lookup(sha256Hex('k')), controller.signal);
    controller.abort();
    const cancelled = await pending.catch((e: unknown) => e);
    expect(cancelled).toBeInstanceOf(OperationAbortedError);
    expect((cancelled as OperationAbortedError).reason).toBe('cancelled');
  });

  it('refuses a malformed request and keeps serving', { timeout: 30_000 }, async () => {
    const server = await member('server');
    const client = await member('client', server.node.multiaddrs());
    const key = sha256Hex('key one');
    const signed = await signedEntry(server, key);
    await server.store.put(signed, inputsOf('one'));

    const stream = await client.node.openStream(server.node.peerId, ACTION_CACHE_PROTOCOL);
    const frames = framed(stream);
    await frames.writeJson({ type: 'lookup', cacheKey: '../../etc/passwd', kind: 'build', project: PROJECT });
    const reply = await frames.readBytes({ signal: AbortSignal.timeout(5_000) }).catch((e: unknown) => e);
    expect(reply).toBeInstanceOf(MeshProtocolError);

    await expect(
      client.service.query(server.node.peerId, lookup(key), AbortSignal.timeout(10_000)),
    ).resolves.toEqual({ type: 'hit', signed });
  });
});
