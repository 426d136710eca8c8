import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { lpStream } from '@libp2p/utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContentStore } from '../../src/agent/content-store.js';
import type { BlobStore, StoredBlob } from '../../src/core/blob-store.js';
import { OperationAbortedError } from '../../src/core/errors.js';
import { BlobIntegrityError, BlobUnavailableError, MeshProtocolError } from '../../src/core/mesh-errors.js';
import { BLOB_PROTOCOL, BlobService } from '../../src/mesh/blob-protocol.js';
import { framed } from '../../src/mesh/framed-json.js';
import type { MeshNode } from '../../src/mesh/mesh-node.js';
import { createSwarmKey } from '../../src/mesh/swarm-key.js';
import { removeDir } from '../helpers/node-harness.js';
import {
  CorruptingBlobStore,
  sha256Of,
  startMeshNode,
  stopAll,
  testLogger,
} from '../helpers/mesh-harness.js';

describe('mesh blob protocol', () => {
  let root: string;
  const nodes: MeshNode[] = [];
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-mesh-blob-'));
  });
  afterEach(async () => {
    await stopAll(nodes.splice(0));
    await removeDir(root);
  });

  async function member(
    name: string,
    swarmKey: Uint8Array,
    bootstrap: string[] = [],
    store?: CorruptingBlobStore,
  ) {
    const node = await startMeshNode({ swarmKey, bootstrap });
    nodes.push(node);
    const contentStore = new ContentStore(join(root, name, 'cas'));
    const blobs = new BlobService({
      node,
      store: store ?? contentStore,
      logger: testLogger,
      requestTimeoutMs: 2_000,
    });
    await blobs.start();
    return { node, store: contentStore, blobs };
  }

  async function objectsIn(name: string): Promise<string[]> {
    const files = await readdir(join(root, name, 'cas'), { recursive: true, withFileTypes: true }).catch(
      () => [],
    );
    return files
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(join(root, name, 'cas').length));
  }

  it('fetches a blob from a peer into the local store, verified', { timeout: 60_000 }, async () => {
    const swarmKey = createSwarmKey();
    const server = await member('server', swarmKey);
    const client = await member('client', swarmKey, server.node.multiaddrs());
    // Several MiB: many 64 KiB frames, more than the receiver's high water mark.
    const bytes = randomBytes(12 * 1024 * 1024 + 123);
    const stored = await server.store.putStream(Readable.from([bytes]));
    expect(stored.sha256).toBe(sha256Of(bytes));

    const fetched = await client.blobs.fetchBlob(server.node.peerId, stored.sha256, { timeoutMs: 30_000 });
    expect(fetched).toEqual({ sha256: stored.sha256, sizeBytes: bytes.byteLength });
    expect(await client.store.verify(stored.sha256)).toBe(true);
    expect(Buffer.compare(await readFile(client.store.pathOf(stored.sha256)), bytes)).toBe(0);

    // An empty object round-trips too, and a missing one is reported as such.
    const empty = await server.store.putStream(Readable.from([Buffer.alloc(0)]));
    await expect(client.blobs.fetchBlob(server.node.peerId, empty.sha256)).resolves.toEqual({
      sha256: empty.sha256,
      sizeBytes: 0,
    });
    const missing = sha256Of(Buffer.from('nobody has this'));
    const error = await client.blobs.fetchBlob(server.node.peerId, missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BlobUnavailableError);
    expect((error as BlobUnavailableError).code).toBe('BlobNotFound');
  });

  it('applies backpressure to a fast sender when the local disk is slow', { timeout: 60_000 }, async () => {
    const swarmKey = createSwarmKey();
    const server = await member('server', swarmKey);
    const client = await member('client', swarmKey, server.node.multiaddrs());
    const slowStore = new SlowStore(new ContentStore(join(root, 'slow', 'cas')));
    const slowBlobs = new BlobService({ node: client.node, store: slowStore, logger: testLogger });
    // Larger than the stream window and the read buffers together: without backpressure the read
    // buffer overflows, and if the sender finishes while the receiver is paused the tail must still arrive.
    const bytes = randomBytes(24 * 1024 * 1024);
    const stored = await server.store.putStream(Readable.from([bytes]));

    await expect(
      slowBlobs.fetchBlob(server.node.peerId, stored.sha256, { timeoutMs: 50_000 }),
    ).resolves.toEqual({
      sha256: stored.sha256,
      sizeBytes: bytes.byteLength,
    });
    expect(slowStore.pauses).toBeGreaterThan(0);
    expect(await slowStore.inner.verify(stored.sha256)).toBe(true);
  });

  it(
    'rejects corrupted bytes, stores nothing, and a retry elsewhere succeeds',
    { timeout: 60_000 },
    async () => {
      const swarmKey = createSwarmKey();
      const bytes = randomBytes(300 * 1024);
      const sha256 = sha256Of(bytes);
      const liar = await member('liar', swarmKey, [], new CorruptingBlobStore(new Map([[sha256, bytes]])));
      const honest = await member('honest', swarmKey);
      await honest.store.putStream(Readable.from([bytes]));
      const client = await member('client', swarmKey, [
        ...liar.node.multiaddrs(),
        ...honest.node.multiaddrs(),
      ]);

      const error = await client.blobs.fetchBlob(liar.node.peerId, sha256).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BlobIntegrityError);
      expect(error).toMatchObject({ code: 'BlobIntegrity', expected: sha256, peerId: liar.node.peerId });
      expect(await client.store.has(sha256)).toBe(false);
      expect(await objectsIn('client')).toEqual([]);

      await expect(client.blobs.fetchBlob(honest.node.peerId, sha256)).resolves.toEqual({
        sha256,
        sizeBytes: bytes.byteLength,
      });
      expect(await client.store.verify(sha256)).toBe(true);
    },
  );

  it('honours the caller signal', { timeout: 30_000 }, async () => {
    const swarmKey = createSwarmKey();
    const server = await member('server', swarmKey);
    const client = await member('client', swarmKey, server.node.multiaddrs());
    const stored = await server.store.putStream(Readable.from([randomBytes(4096)]));
    const controller = new AbortController();
    controller.abort();
    const cancelled = await client.blobs
      .fetchBlob(server.node.peerId, stored.sha256, { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(cancelled).toBeInstanceOf(OperationAbortedError);
    expect((cancelled as OperationAbortedError).reason).toBe('cancelled');
    const timedOut = await client.blobs
      .fetchBlob(server.node.peerId, stored.sha256, { timeoutMs: 1 })
      .catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(OperationAbortedError);
    expect((timedOut as OperationAbortedError).reason).toBe('timeout');
    expect(await client.store.has(stored.sha256)).toBe(false);
  });

  it(
    'a malformed or oversized frame closes that stream with an error and the node keeps serving',
    { timeout: 60_000 },
    async () => {
      const swarmKey = createSwarmKey();
      const server = await member('server', swarmKey);
      const client = await member('client', swarmKey, server.node.multiaddrs());
      const bytes = randomBytes(100_000);
      const stored = await server.store.putStream(Readable.from([bytes]));

      const attacks: Array<[string, (stream: Awaited<ReturnType<MeshNode['openStream']>>) => Promise<void>]> =
        [
          [
            'a length prefix of 100 MiB',
            (stream) => {
              stream.send(Uint8Array.from([0x80, 0x80, 0x80, 0x32])); // varint 104857600
              return Promise.resolve();
            },
          ],
          [
            'a frame that is not JSON',
            (stream) => lpStream(stream).write(new TextEncoder().encode('{"type":"blob-request",')),
          ],
          [
            'JSON of the wrong shape',
            (stream) =>
              lpStream(stream).write(new TextEncoder().encode('{"type":"blob-request","sha256":"xyz"}')),
          ],
          [
            'a header above the 1 KiB limit',
            (stream) => lpStream(stream).write(new Uint8Array(4_000).fill(0x20)),
          ],
        ];
      for (const [what, attack] of attacks) {
        const stream = await client.node.openStream(server.node.peerId, BLOB_PROTOCOL);
        await attack(stream);
        const reply = await framed(stream)
          .readBytes({ signal: AbortSignal.timeout(5_000) })
          .catch((e: unknown) => e);
        expect(reply, what).toBeInstanceOf(MeshProtocolError);
        expect((reply as MeshProtocolError).code, what).toMatch(/StreamFailed|UnexpectedEnd/);
        expect(['reset', 'aborted', 'closed'], what).toContain(stream.status);
      }

      // The connection and the service survive.
      expect(client.node.connectedPeers()).toEqual([server.node.peerId]);
      await expect(client.blobs.fetchBlob(server.node.peerId, stored.sha256)).resolves.toEqual({
        sha256: stored.sha256,
        sizeBytes: bytes.byteLength,
      });
    },
  );
});

/** A store whose disk is slower than the network: it yields to timers between chunks. */
class SlowStore implements BlobStore {
  pauses = 0;
  constructor(readonly inner: ContentStore) {}
  has(sha256: string): Promise<boolean> {
    return this.inner.has(sha256);
  }
  sizeOf(sha256: string): Promise<number | null> {
    return this.inner.sizeOf(sha256);
  }
  openRead(sha256: string): AsyncIterable<Uint8Array> {
    return this.inner.openRead(sha256);
  }
  putStream(source: Readable): Promise<StoredBlob> {
    const slow = async function* (this: SlowStore) {
      let received = 0;
      for await (const chunk of source) {
        received += (chunk as Uint8Array).byteLength;
        // Every MiB, wait long enough for the sender to fill every buffer on the way.
        if (received >= 1024 * 1024) {
          received = 0;
          this.pauses++;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        yield chunk as Uint8Array;
      }
    }.call(this);
    return this.inner.putStream(Readable.from(slow, { objectMode: false }));
  }
}
