import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { InvalidJoinCodeError } from '../../src/core/mesh-errors.js';
import { identityKeyPath, loadOrCreateIdentity } from '../../src/mesh/mesh-identity.js';
import type { MeshNode } from '../../src/mesh/mesh-node.js';
import {
  JOIN_CODE_PREFIX,
  decodeJoinCode,
  encodeJoinCode,
  loadOrCreateSwarmKey,
  loadSwarmKey,
  sameSwarmKey,
  swarmKeyPath,
  writeSwarmKey,
} from '../../src/mesh/swarm-key.js';
import { removeDir, waitFor } from '../helpers/node-harness.js';
import { startMeshNode, stopAll } from '../helpers/mesh-harness.js';

describe('mesh identity, swarm key and join codes', () => {
  let root: string;
  const nodes: MeshNode[] = [];
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-mesh-identity-'));
  });
  afterEach(async () => {
    await stopAll(nodes.splice(0));
    await removeDir(root);
  });

  it(
    'keeps the same peer id and swarm key across restarts, in owner-only files',
    { timeout: 20_000 },
    async () => {
      const dataDir = join(root, 'node');
      const first = await loadOrCreateIdentity(dataDir);
      const key = await loadOrCreateSwarmKey(dataDir);
      expect(first.created).toBe(true);
      expect(key.created).toBe(true);
      expect((await stat(identityKeyPath(dataDir))).mode & 0o777).toBe(0o600);
      expect((await stat(swarmKeyPath(dataDir))).mode & 0o777).toBe(0o600);
      expect(await readFile(swarmKeyPath(dataDir), 'utf8')).toMatch(
        /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/,
      );

      const node = await startMeshNode({ privateKey: first.privateKey, swarmKey: key.swarmKey });
      nodes.push(node);
      expect(node.peerId).toBe(first.peerId);
      expect(node.multiaddrs().every((address) => address.endsWith(`/p2p/${first.peerId}`))).toBe(true);
      await node.stop();

      const second = await loadOrCreateIdentity(dataDir);
      const keyAgain = await loadOrCreateSwarmKey(dataDir);
      expect(second).toMatchObject({ peerId: first.peerId, created: false });
      expect(keyAgain.created).toBe(false);
      expect(sameSwarmKey(keyAgain.swarmKey, key.swarmKey)).toBe(true);
      const restarted = await startMeshNode({ privateKey: second.privateKey, swarmKey: keyAgain.swarmKey });
      nodes.push(restarted);
      expect(restarted.peerId).toBe(first.peerId);
    },
  );

  it('refuses a damaged identity or swarm key file with a clear error', async () => {
    const dataDir = join(root, 'damaged');
    await loadOrCreateIdentity(dataDir);
    await loadOrCreateSwarmKey(dataDir);
    await writeFile(identityKeyPath(dataDir), 'not a key');
    await writeFile(swarmKeyPath(dataDir), '/key/swarm/psk/1.0.0/\n/base16/\nxyz');
    await expect(loadOrCreateIdentity(dataDir)).rejects.toThrow(/identity\.key: is not a libp2p private key/);
    await expect(loadSwarmKey(dataDir)).rejects.toBeInstanceOf(ConfigError);
    await expect(loadSwarmKey(dataDir)).rejects.toThrow(/join the mesh again with a join code/);
  });

  it('joins a mesh from a join code', { timeout: 20_000 }, async () => {
    const founderDir = join(root, 'founder');
    const founderKey = await loadOrCreateSwarmKey(founderDir);
    const founder = await startMeshNode({
      swarmKey: founderKey.swarmKey,
      privateKey: (await loadOrCreateIdentity(founderDir)).privateKey,
    });
    nodes.push(founder);
    const code = encodeJoinCode({ swarmKey: founderKey.swarmKey, addresses: founder.multiaddrs() });
    expect(code.startsWith(JOIN_CODE_PREFIX)).toBe(true);
    expect(code).toMatch(/^bmesh1:[A-Za-z0-9_-]+$/);

    const joinerDir = join(root, 'joiner');
    const info = decodeJoinCode(`  ${code}\n`);
    expect(info.addresses).toEqual(founder.multiaddrs());
    await writeSwarmKey(joinerDir, info.swarmKey);
    const joinerKey = await loadSwarmKey(joinerDir);
    expect(joinerKey && sameSwarmKey(joinerKey, founderKey.swarmKey)).toBe(true);
    const joiner = await startMeshNode({
      swarmKey: joinerKey ?? new Uint8Array(),
      bootstrap: info.addresses,
    });
    nodes.push(joiner);
    await waitFor(
      'the joiner to connect',
      () => Promise.resolve(founder.connectedPeers().includes(joiner.peerId)),
      10_000,
      50,
    );
  });

  it('explains what is wrong with a bad join code', async () => {
    const { swarmKey } = await loadOrCreateSwarmKey(join(root, 'codes'));
    const good = encodeJoinCode({ swarmKey, addresses: ['/ip4/192.168.1.20/tcp/4101'] });
    const body = (value: unknown) => `bmesh1:${Buffer.from(JSON.stringify(value)).toString('base64url')}`;
    const hex = JSON.parse(Buffer.from(good.slice(7), 'base64url').toString()) as { k: string };

    const cases: Array<[string, string, RegExp]> = [
      ['hello', 'prefix', /must start with "bmesh1:"/],
      ['bmesh2:abc', 'prefix', /format 2.*update Build Mesh/],
      [good.slice(0, 20), 'code', /truncated or damaged; copy the whole code again/],
      ['bmesh1:abc$%', 'code', /not base64url/],
      [body({ k: 'abc', a: ['/ip4/1.2.3.4/tcp/1'] }), 'swarmKey', /64 hex digits/],
      [body({ k: hex.k, a: [] }), 'addresses', /are missing/],
      [body({ k: hex.k, a: ['not-an-address'] }), 'addresses[0]', /is not a multiaddr/],
      [body({ k: hex.k, a: [42] }), 'addresses[0]', /is not a string/],
    ];
    for (const [code, field, message] of cases) {
      let caught: unknown;
      try {
        decodeJoinCode(code);
      } catch (error) {
        caught = error;
      }
      expect(caught, code).toBeInstanceOf(InvalidJoinCodeError);
      expect((caught as InvalidJoinCodeError).field, code).toBe(field);
      expect((caught as InvalidJoinCodeError).code).toBe('InvalidJoinCode');
      expect((caught as Error).message, code).toMatch(message);
    }
    expect(() => encodeJoinCode({ swarmKey, addresses: [] })).toThrow(/at least one address/);
  });
});
