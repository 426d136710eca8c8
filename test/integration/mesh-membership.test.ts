import { generateKeyPair } from '@libp2p/crypto/keys';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerNotPermittedError } from '../../src/core/mesh-errors.js';
import type { MeshNode } from '../../src/mesh/mesh-node.js';
import { PresenceService } from '../../src/mesh/presence-service.js';
import { createSwarmKey } from '../../src/mesh/swarm-key.js';
import { waitFor } from '../helpers/node-harness.js';
import { startMeshNode, stopAll, testLogger, testPresence } from '../helpers/mesh-harness.js';

const PING_PROTOCOL = '/buildmesh/test-echo/1.0.0';

describe('mesh membership', () => {
  const nodes: MeshNode[] = [];
  const services: PresenceService[] = [];
  afterEach(async () => {
    for (const service of services.splice(0)) service.stop();
    await stopAll(nodes.splice(0));
  });

  async function start(options: Parameters<typeof startMeshNode>[0]): Promise<MeshNode> {
    const node = await startMeshNode(options);
    nodes.push(node);
    return node;
  }

  function presenceOf(node: MeshNode, name: string): PresenceService {
    const service = new PresenceService({
      node,
      local: testPresence(name),
      logger: testLogger,
      announceIntervalMs: 200,
    });
    service.start();
    services.push(service);
    return service;
  }

  it('a node with another swarm key can neither connect nor see presence', { timeout: 30_000 }, async () => {
    const swarmKey = createSwarmKey();
    const a = await start({ swarmKey });
    const b = await start({ swarmKey, bootstrap: a.multiaddrs() });
    const outsider = await start({ swarmKey: createSwarmKey(), bootstrap: a.multiaddrs() });
    const aPresence = presenceOf(a, 'alpha');
    presenceOf(b, 'bravo');
    const outsiderPresence = presenceOf(outsider, 'outsider');

    // Explicit dials both ways fail: the pre-shared key handshake cannot complete.
    const [aAddress] = a.multiaddrs();
    const [outsiderAddress] = outsider.multiaddrs();
    await expect(outsider.dial(aAddress ?? '')).rejects.toThrow();
    await expect(a.dial(outsiderAddress ?? '')).rejects.toThrow();

    // Meanwhile members see each other, so presence works: the outsider is simply not in it.
    await waitFor(
      'a to see b',
      () => Promise.resolve(aPresence.peers().some((peer) => peer.agentId === b.peerId)),
      10_000,
      50,
    );
    expect(a.connectedPeers()).toEqual([b.peerId]);
    expect(outsider.connectedPeers()).toEqual([]);
    expect(outsiderPresence.peers()).toEqual([]);
    expect(aPresence.peer(outsider.peerId)).toBeNull();
  });

  it('re-dials a bootstrap peer that went away and came back', { timeout: 30_000 }, async () => {
    const swarmKey = createSwarmKey();
    const privateKey = await generateKeyPair('Ed25519');
    const first = await start({ swarmKey, privateKey });
    const address = first.multiaddrs()[0] ?? '';
    const port = /\/tcp\/(\d+)\//.exec(address)?.[1];
    const follower = await start({ swarmKey, bootstrap: [address] });
    await waitFor(
      'the first connection',
      () => Promise.resolve(follower.connectedPeers().includes(first.peerId)),
      10_000,
      50,
    );

    await first.stop();
    await waitFor(
      'the drop',
      () => Promise.resolve(!follower.connectedPeers().includes(first.peerId)),
      10_000,
      50,
    );
    const again = await start({ swarmKey, privateKey, listenAddresses: [`/ip4/127.0.0.1/tcp/${port}`] });
    expect(again.peerId).toBe(first.peerId);
    await waitFor(
      'the re-dial',
      () => Promise.resolve(follower.connectedPeers().includes(first.peerId)),
      10_000,
      50,
    );
  });

  it(
    'keeps one connection per pair when two nodes bootstrap to each other',
    { timeout: 30_000 },
    async () => {
      const swarmKey = createSwarmKey();
      const aKey = await generateKeyPair('Ed25519');
      const bKey = await generateKeyPair('Ed25519');
      // Learn the addresses, then start both at once, each bootstrapping to the other.
      const probeA = await start({ swarmKey, privateKey: aKey });
      const probeB = await start({ swarmKey, privateKey: bKey });
      const [aAddress = '', bAddress = ''] = [probeA.multiaddrs()[0], probeB.multiaddrs()[0]];
      await stopAll(nodes.splice(0));
      const port = (address: string) => /\/tcp\/(\d+)\//.exec(address)?.[1] ?? '0';
      const [a, b] = await Promise.all([
        start({
          swarmKey,
          privateKey: aKey,
          listenAddresses: [`/ip4/127.0.0.1/tcp/${port(aAddress)}`],
          bootstrap: [bAddress],
        }),
        start({
          swarmKey,
          privateKey: bKey,
          listenAddresses: [`/ip4/127.0.0.1/tcp/${port(bAddress)}`],
          bootstrap: [aAddress],
        }),
      ]);
      const aPresence = presenceOf(a, 'alpha');
      const bPresence = presenceOf(b, 'bravo');
      await waitFor(
        'both to see each other',
        () => Promise.resolve(aPresence.peers().length === 1 && bPresence.peers().length === 1),
        10_000,
        50,
      );
      expect(a.connectionCount(b.peerId)).toBe(1);
      expect(b.connectionCount(a.peerId)).toBe(1);
    },
  );

  it('enforces the allow-list both ways and on protocols', { timeout: 30_000 }, async () => {
    const swarmKey = createSwarmKey();
    const friend = await start({ swarmKey });
    const stranger = await start({ swarmKey });
    const guarded = await start({ swarmKey, allowList: [friend.peerId] });
    const guardedConnects: string[] = [];
    guarded.on('peer:connect', ({ peerId }) => guardedConnects.push(peerId));
    await guarded.handle(PING_PROTOCOL, async (stream) => {
      await stream.close();
    });
    const [guardedAddress = ''] = guarded.multiaddrs();
    const [strangerAddress = ''] = stranger.multiaddrs();

    await expect(friend.dial(guardedAddress)).resolves.toBe(guarded.peerId);
    // The stranger's side of the handshake may finish before the guarded side refuses it, so its
    // dial can resolve; what matters is that no connection survives and no stream gets through.
    await stranger.dial(guardedAddress).catch(() => undefined);
    await expect(stranger.openStream(guarded.peerId, PING_PROTOCOL)).rejects.toThrow();
    await expect(guarded.dial(strangerAddress)).rejects.toThrow();
    await expect(guarded.openStream(stranger.peerId, PING_PROTOCOL)).rejects.toBeInstanceOf(
      PeerNotPermittedError,
    );
    await waitFor(
      'the stranger to be disconnected',
      () => Promise.resolve(stranger.connectedPeers().length === 0),
      10_000,
      50,
    );
    expect(guarded.connectedPeers()).toEqual([friend.peerId]);
    expect(guardedConnects).toEqual([friend.peerId]);
    const stream = await friend.openStream(guarded.peerId, PING_PROTOCOL);
    await stream.close();
  });

  it('ban closes connections and refuses them until unban', { timeout: 30_000 }, async () => {
    const swarmKey = createSwarmKey();
    const hub = await start({ swarmKey });
    const peer = await start({ swarmKey, bootstrap: hub.multiaddrs() });
    await hub.handle(PING_PROTOCOL, async (stream) => {
      await stream.close();
    });
    await waitFor(
      'the connection',
      () => Promise.resolve(hub.connectedPeers().includes(peer.peerId)),
      10_000,
      50,
    );

    await hub.ban(peer.peerId);
    expect(hub.bannedPeers()).toEqual([peer.peerId]);
    await waitFor(
      'the ban to disconnect',
      () => Promise.resolve(peer.connectedPeers().length === 0),
      10_000,
      50,
    );
    await expect(peer.openStream(hub.peerId, PING_PROTOCOL)).rejects.toThrow();
    await expect(hub.openStream(peer.peerId, PING_PROTOCOL)).rejects.toBeInstanceOf(PeerNotPermittedError);
    expect(hub.connectedPeers()).toEqual([]);

    hub.unban(peer.peerId);
    // The peer's bootstrap loop keeps re-dialling (with backoff) and gets back in.
    await waitFor(
      'the re-connection after unban',
      () => Promise.resolve(hub.connectedPeers().includes(peer.peerId)),
      10_000,
      50,
    );
    const stream = await peer.openStream(hub.peerId, PING_PROTOCOL);
    await stream.close();
  });
});
