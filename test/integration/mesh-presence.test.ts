import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, describe, expect, it } from 'vitest';
import type { MeshNode } from '../../src/mesh/mesh-node.js';
import { MAX_ANNOUNCEMENT_BYTES, PRESENCE_TOPIC, PresenceService } from '../../src/mesh/presence-service.js';
import { createSwarmKey } from '../../src/mesh/swarm-key.js';
import { waitFor } from '../helpers/node-harness.js';
import {
  startMeshNode,
  stopAll,
  testCapabilities,
  testLogger,
  testPresence,
} from '../helpers/mesh-harness.js';

const FAST = { announceIntervalMs: 300, offlineAfterMs: 1_500 };

describe('mesh presence', () => {
  const nodes: MeshNode[] = [];
  const services: PresenceService[] = [];
  afterEach(async () => {
    for (const service of services.splice(0)) service.stop();
    await stopAll(nodes.splice(0));
  });

  async function startMember(name: string, swarmKey: Uint8Array, bootstrap: string[] = []) {
    const node = await startMeshNode({ swarmKey, bootstrap });
    nodes.push(node);
    const presence = new PresenceService({
      node,
      local: testPresence(name, { capabilities: testCapabilities({ cpuCores: name.length }) }),
      logger: testLogger,
      ...FAST,
    });
    presence.start();
    services.push(presence);
    return { node, presence };
  }

  it(
    'three nodes with one key find each other through bootstrap addresses and see capabilities',
    { timeout: 30_000 },
    async () => {
      const swarmKey = createSwarmKey();
      const a = await startMember('alpha', swarmKey);
      const b = await startMember('bravo', swarmKey, a.node.multiaddrs());
      const c = await startMember('charlie', swarmKey, a.node.multiaddrs());
      const members = [a, b, c];

      for (const member of members) {
        const others = members
          .filter((other) => other !== member)
          .map((other) => other.node.peerId)
          .sort();
        await waitFor(
          `${member.presence.self()?.hostname ?? '?'} to see the two others`,
          () =>
            Promise.resolve(member.presence.peers().filter((peer) => peer.status === 'Idle').length === 2),
          10_000,
          50,
        );
        const peers = member.presence.peers();
        expect(peers.map((peer) => peer.agentId).sort()).toEqual(others);
        for (const peer of peers) {
          expect(peer.announcement.agentId).toBe(peer.agentId);
          expect(peer.announcement.capabilities.installedSdks).toEqual(['10.0.100']);
          expect(peer.announcement.capabilities.cpuCores).toBe(peer.announcement.hostname.length);
          expect(Date.parse(peer.lastSeen)).toBeGreaterThan(Date.now() - 5_000);
        }
      }

      // b and c only know a; gossip through a is enough, but both should also be directly connected to a.
      expect(a.node.connectedPeers().sort()).toEqual([b.node.peerId, c.node.peerId].sort());
      // No duplicate connections: one per pair.
      for (const member of members)
        expect(new Set(member.node.connectedPeers()).size).toBe(member.node.connectedPeers().length);
    },
  );

  it(
    'announces changes at once and reports a stopped node Offline after the timeout',
    { timeout: 30_000 },
    async () => {
      const swarmKey = createSwarmKey();
      const a = await startMember('alpha', swarmKey);
      const b = await startMember('bravo', swarmKey, a.node.multiaddrs());
      await waitFor(
        'a to see b',
        () => Promise.resolve(a.presence.peer(b.node.peerId)?.status === 'Idle'),
        10_000,
        50,
      );

      const changes: string[] = [];
      a.presence.on('change', ({ kind, peer }) => changes.push(`${kind}:${peer.status}`));
      b.presence.update({ status: 'Building', freeSlots: 1, currentJob: 'Contoso.Api' });
      const building = await waitFor(
        'a to see b building',
        () =>
          Promise.resolve(
            a.presence.peer(b.node.peerId)?.status === 'Building' && a.presence.peer(b.node.peerId),
          ),
        5_000,
        20,
      );
      expect(building.announcement.currentJob).toBe('Contoso.Api');
      expect(building.announcement.freeSlots).toBe(1);
      expect(changes).toContain('changed:Building');

      const stoppedAt = Date.now();
      b.presence.stop();
      await b.node.stop();
      await waitFor(
        'the offline event for b',
        () => Promise.resolve(changes.includes('offline:Offline')),
        10_000,
        50,
      );
      expect(a.presence.peer(b.node.peerId)?.status).toBe('Offline');
      // Not before the timeout (b may have announced up to one interval before it stopped).
      expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(FAST.offlineAfterMs - FAST.announceIntervalMs);
    },
  );

  it(
    'carries not-reproducible marks, trimming the oldest so the announcement stays within what peers accept',
    { timeout: 30_000 },
    async () => {
      const swarmKey = createSwarmKey();
      const a = await startMember('alpha', swarmKey);
      const b = await startMember('bravo', swarmKey, a.node.multiaddrs());
      // 200 marks of about 1 KiB each: valid one by one, far beyond 16 KiB together.
      const marks = Array.from({ length: 200 }, (_, index) => ({
        repositoryUrl: `https://git.example.com/${'r'.repeat(900)}/${index}`,
        project: `src/P${index}`,
      }));
      b.presence.update({ notReproducible: marks });
      const seen = await waitFor(
        'a to see b with marks',
        () => Promise.resolve(a.presence.peer(b.node.peerId)?.announcement.notReproducible),
        10_000,
        20,
      );
      expect(seen.length).toBeGreaterThan(5);
      expect(seen.length).toBeLessThan(marks.length);
      expect(seen).toEqual(marks.slice(-seen.length));
      const sent = b.presence.self();
      expect(new TextEncoder().encode(JSON.stringify(sent)).byteLength).toBeLessThanOrEqual(
        MAX_ANNOUNCEMENT_BYTES,
      );
    },
  );

  it('drops announcements that claim another agent id, and malformed ones', { timeout: 30_000 }, async () => {
    const swarmKey = createSwarmKey();
    const a = await startMember('alpha', swarmKey);
    const mallory = await startMember('mallory', swarmKey, a.node.multiaddrs());
    await waitFor(
      'a to see mallory',
      () => Promise.resolve(a.presence.peer(mallory.node.peerId)?.status === 'Idle'),
      10_000,
      50,
    );
    const victim = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();

    const forged = {
      ...testPresence('forged'),
      agentId: victim,
      sequence: Date.now() * 2,
      sentAt: new Date().toISOString(),
    };
    const encode = (value: string) => new TextEncoder().encode(value);
    await mallory.node.publish(PRESENCE_TOPIC, encode(JSON.stringify(forged)));
    await mallory.node.publish(PRESENCE_TOPIC, encode('{"agentId":'));
    await mallory.node.publish(
      PRESENCE_TOPIC,
      encode(JSON.stringify({ ...forged, agentId: mallory.node.peerId, cpuUsage: 900 })),
    );
    // Gossip from one publisher arrives in order: once this marker is seen, the messages above were handled.
    mallory.presence.update({ currentJob: 'marker' });
    await waitFor(
      'a to see the marker',
      () => Promise.resolve(a.presence.peer(mallory.node.peerId)?.announcement.currentJob === 'marker'),
      5_000,
      20,
    );

    expect(a.presence.peers().map((peer) => peer.agentId)).toEqual([mallory.node.peerId]);
    expect(a.presence.peer(victim)).toBeNull();
    expect(a.presence.peer(mallory.node.peerId)?.announcement.hostname).toBe('mallory');
  });
});
