import { canBuildFramework, targetPoolForOs, type AgentCapabilities } from './capabilities.js';
import type { DonationMode } from './mesh-messages.js';
import type { AgentStatus, TargetPool } from './models.js';

/** What the scheduler knows of a peer: its last announcement and its effective status. */
export interface PeerCandidate {
  agentId: string;
  status: AgentStatus;
  donationMode: DonationMode;
  /** Whether a WhenIdle peer's user is away right now (always true for other modes). */
  acceptingWork: boolean;
  /**
   * This node itself. Donation settings govern what a machine gives to others, so the node's own
   * builds may use it even while Paused or while its owner is at the keyboard.
   */
  isLocal?: boolean;
  freeSlots: number;
  /** Slots the peer has in all, when it announced them. */
  maxConcurrentBuilds?: number;
  cpuUsage: number;
  memoryUsage: number;
  capabilities: Pick<AgentCapabilities, 'os' | 'buildableFrameworks' | 'installedTools'>;
}

/** What a build needs from the peer that runs it. */
export interface BuildDemand {
  targetPool: TargetPool;
  /** Target frameworks of the solution's projects, e.g. `net10.0`. */
  frameworks: readonly string[];
  tools: readonly string[];
}

export type PeerSelection = { peer: PeerCandidate } | { peer: null; reason: string };

/**
 * Chooses the peer for a build. First every peer that cannot or may not take it is dropped
 * (platform, SDK for the frameworks, tools, Maintenance, Offline, Paused or away-only, no free
 * slot, excluded after a failed attempt); then idle peers with lower load win, and ties go to
 * the peer used least recently, which spreads the work. A `preferred` peer with a free slot wins
 * outright: it built the same repository and solution last, so its workspace makes it fastest.
 *
 * When none qualifies, the reason says what is missing in words a user can act on.
 */
export function selectPeer(
  candidates: readonly PeerCandidate[],
  demand: BuildDemand,
  options: {
    excluded?: ReadonlySet<string>;
    lastAssigned?: ReadonlyMap<string, number>;
    preferred?: string;
  } = {},
): PeerSelection {
  const found = willingPeers(candidates, demand, options.excluded);
  if ('reason' in found) return { peer: null, reason: found.reason };
  const { willing, aside } = found;
  const free = willing.filter((peer) => peer.freeSlots > 0);
  if (free.length === 0)
    return { peer: null, reason: `every capable peer is busy (${describe(willing)})${aside}` };

  const lastAssigned = options.lastAssigned ?? new Map<string, number>();
  const ranked = [...free].sort(
    (a, b) =>
      Number(b.agentId === options.preferred) - Number(a.agentId === options.preferred) ||
      Number(a.status !== 'Idle') - Number(b.status !== 'Idle') ||
      loadOf(a) - loadOf(b) ||
      (lastAssigned.get(a.agentId) ?? 0) - (lastAssigned.get(b.agentId) ?? 0) ||
      a.agentId.localeCompare(b.agentId),
  );
  return { peer: ranked[0] as PeerCandidate };
}

/**
 * The peers that can and may take work of this demand now (any free slots), or why there are none.
 * `aside` notes free peers that lack a suitable SDK, for the reason a build waits.
 */
export function willingPeers(
  candidates: readonly PeerCandidate[],
  demand: BuildDemand,
  excluded?: ReadonlySet<string>,
): { willing: PeerCandidate[]; aside: string } | { reason: string } {
  const excludedPeers = excluded ?? new Set<string>();
  const reachable = candidates.filter(
    (peer) => peer.status !== 'Offline' && !excludedPeers.has(peer.agentId),
  );
  const onPlatform = reachable.filter(
    (peer) => targetPoolForOs(peer.capabilities.os) === demand.targetPool || demand.targetPool === 'Docker',
  );
  if (onPlatform.length === 0) return { reason: `no ${demand.targetPool} peer online` };

  const missingFramework = demand.frameworks.find(
    (framework) => !onPlatform.some((peer) => canBuildFramework(peer.capabilities, framework)),
  );
  const capable = onPlatform.filter(
    (peer) =>
      demand.frameworks.every((framework) => canBuildFramework(peer.capabilities, framework)) &&
      demand.tools.every((tool) => peer.capabilities.installedTools.includes(tool)),
  );
  if (capable.length === 0) {
    if (missingFramework) return { reason: `no peer with a .NET SDK for ${missingFramework} online` };
    const tools = demand.tools.map((tool) => (tool === 'dotnet' ? 'a .NET SDK' : tool));
    return { reason: `no peer with ${tools.join(', ')} online` };
  }

  // Free peers that cannot build it are worth naming: they explain why the build still waits.
  const freeButIncapable = onPlatform.filter(
    (peer) => !capable.includes(peer) && peer.status === 'Idle' && peer.freeSlots > 0,
  ).length;
  const aside =
    freeButIncapable > 0
      ? `; ${freeButIncapable} free peer${freeButIncapable === 1 ? '' : 's'} cannot build it (no suitable .NET SDK)`
      : '';
  const willing = capable.filter(
    (peer) =>
      peer.status !== 'Maintenance' &&
      (peer.isLocal === true || (peer.donationMode !== 'Paused' && peer.acceptingWork)),
  );
  if (willing.length === 0) {
    return {
      reason: `every capable peer is in Maintenance, Paused or in use by its owner (${describe(capable)})${aside}`,
    };
  }
  return { willing, aside };
}

/** CPU load in 10-point buckets, so small fluctuations do not defeat spreading. */
function loadOf(peer: PeerCandidate): number {
  return Math.floor(peer.cpuUsage / 10);
}

function describe(peers: readonly PeerCandidate[]): string {
  return `${peers.length} peer${peers.length === 1 ? '' : 's'}`;
}
