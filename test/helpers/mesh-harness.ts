import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { BlobStore, StoredBlob } from '../../src/core/blob-store.js';
import type { AgentCapabilities } from '../../src/core/capabilities.js';
import type { Logger } from '../../src/core/ports.js';
import { JsonLogger } from '../../src/host/logger.js';
import { MeshNode, type MeshNodeOptions } from '../../src/mesh/mesh-node.js';
import type { LocalPresence } from '../../src/mesh/presence-service.js';
import type { SwarmKey } from '../../src/mesh/swarm-key.js';

/** Quiet unless BUILDMESH_TEST_LOG=1. */
export const testLogger: Logger = new JsonLogger(
  'test',
  process.env.BUILDMESH_TEST_LOG === '1' ? 'debug' : 'silent',
);

/** Loopback only, an OS-chosen port, no mDNS: tests never touch the host's real interfaces. */
export const LOOPBACK_LISTEN = ['/ip4/127.0.0.1/tcp/0'];

export interface TestMeshNodeOptions extends Partial<Omit<MeshNodeOptions, 'swarmKey' | 'mdns'>> {
  swarmKey: SwarmKey;
}

/** A started mesh node on 127.0.0.1 with a fresh identity (unless one is given). */
export async function startMeshNode(options: TestMeshNodeOptions): Promise<MeshNode> {
  const node = await MeshNode.create({
    privateKey: options.privateKey ?? (await generateKeyPair('Ed25519')),
    listenAddresses: LOOPBACK_LISTEN,
    logger: testLogger,
    redial: { initialMs: 100, maxMs: 1_000 },
    ...options,
    mdns: false,
  });
  await node.start();
  return node;
}

/** Stops every node, even when some fail. */
export async function stopAll(nodes: Array<{ stop(): Promise<void> | void } | undefined>): Promise<void> {
  await Promise.allSettled(nodes.map(async (node) => node?.stop()));
}

export function testCapabilities(overrides: Partial<AgentCapabilities> = {}): AgentCapabilities {
  return {
    os: 'linux',
    arch: 'x64',
    cpuCores: 8,
    totalMemoryGB: 32,
    freeMemoryGB: 20,
    availableDiskSpaceGB: 100,
    installedSdks: ['10.0.100'],
    installedRuntimes: ['Microsoft.NETCore.App 10.0.0'],
    buildableFrameworks: ['net10.0', 'net9.0', 'net8.0'],
    installedTools: ['dotnet', 'git'],
    gitVersion: '2.47.0',
    dockerVersion: null,
    maxConcurrentBuilds: 2,
    ...overrides,
  };
}

export function testPresence(hostname: string, overrides: Partial<LocalPresence> = {}): LocalPresence {
  return {
    hostname,
    os: 'linux',
    arch: 'x64',
    status: 'Idle',
    donationMode: 'Always',
    freeSlots: 2,
    maxConcurrentBuilds: 2,
    cpuUsage: 12.5,
    memoryUsage: 40,
    capabilities: testCapabilities(),
    currentJob: null,
    ...overrides,
  };
}

export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A store that lies: it claims to hold objects and serves other bytes of the same size, like a
 * peer with a corrupted disk or a malicious one.
 */
export class CorruptingBlobStore implements BlobStore {
  constructor(private readonly objects: Map<string, Uint8Array>) {}
  has(sha256: string): Promise<boolean> {
    return Promise.resolve(this.objects.has(sha256));
  }
  sizeOf(sha256: string): Promise<number | null> {
    return Promise.resolve(this.objects.get(sha256)?.byteLength ?? null);
  }
  async *openRead(sha256: string): AsyncIterable<Uint8Array> {
    const bytes = Uint8Array.from(this.objects.get(sha256) ?? []);
    if (bytes.byteLength > 0) bytes[bytes.byteLength - 1] = (bytes[bytes.byteLength - 1] ?? 0) ^ 0xff;
    await Promise.resolve();
    yield bytes;
  }
  putStream(_source: Readable): Promise<StoredBlob> {
    return Promise.reject(new Error('read-only store'));
  }
}
