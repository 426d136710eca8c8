import { describe, expect, it } from 'vitest';
import { frameworksForSdks } from './capabilities.js';
import { selectPeer, type BuildDemand, type PeerCandidate } from './peer-selection.js';

const net10 = frameworksForSdks(['10.0.100']);

function peer(agentId: string, overrides: Partial<PeerCandidate> = {}): PeerCandidate {
  return {
    agentId,
    status: 'Idle',
    donationMode: 'Always',
    acceptingWork: true,
    freeSlots: 1,
    cpuUsage: 5,
    memoryUsage: 30,
    capabilities: { os: 'linux', buildableFrameworks: net10, installedTools: ['dotnet', 'git'] },
    ...overrides,
  };
}

const demand: BuildDemand = { targetPool: 'Linux', frameworks: ['net10.0'], tools: ['dotnet'] };

describe('selectPeer', () => {
  it('prefers the peer that last built the repository while it has a free slot', () => {
    const peers = [peer('a'), peer('b', { status: 'Building', cpuUsage: 60 })];
    expect(selectPeer(peers, demand).peer?.agentId).toBe('a');
    expect(selectPeer(peers, demand, { preferred: 'b' }).peer?.agentId).toBe('b');
    const busy = [peer('a'), peer('b', { status: 'Building', freeSlots: 0 })];
    expect(selectPeer(busy, demand, { preferred: 'b' }).peer?.agentId).toBe('a');
    expect(selectPeer(peers, demand, { preferred: 'b', excluded: new Set(['b']) }).peer?.agentId).toBe('a');
  });

  it('drops peers in Maintenance, Offline, Paused, away-only or without a free slot', () => {
    const peers = [
      peer('a', { status: 'Maintenance' }),
      peer('b', { status: 'Offline' }),
      peer('c', { donationMode: 'Paused' }),
      peer('d', { donationMode: 'WhenIdle', acceptingWork: false }),
      peer('e', { freeSlots: 0, status: 'Building' }),
      peer('f'),
    ];
    expect(selectPeer(peers, demand).peer?.agentId).toBe('f');
  });

  it("runs this node's own builds on it even while it donates nothing to peers", () => {
    const ownPaused = peer('own', { donationMode: 'Paused', acceptingWork: false, isLocal: true });
    const ownAway = peer('own', { donationMode: 'WhenIdle', acceptingWork: false, isLocal: true });
    expect(selectPeer([ownPaused, peer('c', { donationMode: 'Paused' })], demand).peer?.agentId).toBe('own');
    expect(selectPeer([ownAway], demand).peer?.agentId).toBe('own');
    expect(selectPeer([peer('own', { isLocal: true, status: 'Maintenance' })], demand).peer).toBeNull();
    expect(selectPeer([peer('c', { donationMode: 'Paused' })], demand).peer).toBeNull();
  });

  it('never gives a .NET build to a peer without a suitable SDK, and says so', () => {
    const noSdk = peer('nosdk', {
      capabilities: { os: 'linux', buildableFrameworks: [], installedTools: ['git'] },
    });
    expect(selectPeer([noSdk], demand)).toEqual({
      peer: null,
      reason: 'no peer with a .NET SDK for net10.0 online',
    });
    const old = peer('old', {
      capabilities: {
        os: 'linux',
        buildableFrameworks: frameworksForSdks(['8.0.100']),
        installedTools: ['dotnet'],
      },
    });
    expect(selectPeer([old, noSdk], demand).peer).toBeNull();
    expect(selectPeer([old, peer('new')], demand).peer?.agentId).toBe('new');
    expect(selectPeer([noSdk, peer('m', { status: 'Maintenance' })], demand)).toEqual({
      peer: null,
      reason:
        'every capable peer is in Maintenance, Paused or in use by its owner (1 peer); 1 free peer cannot build it (no suitable .NET SDK)',
    });
  });

  it('matches the target pool', () => {
    expect(selectPeer([peer('l')], { ...demand, targetPool: 'Windows' })).toEqual({
      peer: null,
      reason: 'no Windows peer online',
    });
  });

  it('prefers idle, then less loaded peers, then the one used least recently', () => {
    expect(
      selectPeer([peer('busy', { status: 'Building', cpuUsage: 0 }), peer('idle', { cpuUsage: 50 })], demand)
        .peer?.agentId,
    ).toBe('idle');
    expect(
      selectPeer([peer('hot', { cpuUsage: 80 }), peer('cool', { cpuUsage: 10 })], demand).peer?.agentId,
    ).toBe('cool');
    const lastAssigned = new Map([
      ['x', 200],
      ['y', 100],
    ]);
    expect(selectPeer([peer('x'), peer('y')], demand, { lastAssigned }).peer?.agentId).toBe('y');
  });

  it('skips excluded peers and explains busy or unwilling ones', () => {
    expect(selectPeer([peer('a'), peer('b')], demand, { excluded: new Set(['a']) }).peer?.agentId).toBe('b');
    expect(selectPeer([peer('a', { freeSlots: 0 })], demand)).toEqual({
      peer: null,
      reason: 'every capable peer is busy (1 peer)',
    });
    expect(
      selectPeer([peer('a', { status: 'Maintenance' }), peer('b', { status: 'Maintenance' })], demand).peer,
    ).toBeNull();
    expect(
      selectPeer(
        [peer('a', { capabilities: { os: 'linux', buildableFrameworks: net10, installedTools: [] } })],
        demand,
      ),
    ).toEqual({
      peer: null,
      reason: 'no peer with a .NET SDK online',
    });
  });
});

describe('frameworksInProjectText', async () => {
  const { frameworksInProjectText } = await import('./project-frameworks.js');
  it('reads single and multiple target frameworks, dropping platform suffixes and properties', () => {
    expect(
      frameworksInProjectText('<PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>'),
    ).toEqual(['net10.0']);
    expect(
      frameworksInProjectText(
        '<TargetFrameworks>net8.0;netstandard2.0;net9.0-windows;$(Extra)</TargetFrameworks>',
      ),
    ).toEqual(['net8.0', 'net9.0', 'netstandard2.0']);
    expect(frameworksInProjectText('<Project />')).toEqual([]);
  });
});
