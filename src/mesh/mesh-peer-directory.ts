import { healthChecks, type AgentHealth, type AgentView } from '../core/agent-view.js';
import { targetPoolForOs } from '../core/capabilities.js';
import { formatIsoDuration } from '../core/durations.js';
import { NotFoundError } from '../core/errors.js';
import type { PeerDirectory } from '../core/mesh-ports.js';
import type { AgentStatus } from '../core/models.js';
import type { PeerCandidate } from '../core/peer-selection.js';
import type { PresencePeer, PresenceService } from './presence-service.js';

export interface MeshPeerDirectoryOptions {
  presence: Pick<PresenceService, 'self' | 'peers' | 'peer' | 'on'>;
  /** This node's health (disk and tools are checked live). */
  ownHealth: () => Promise<AgentHealth>;
  /** Puts this node in or out of Maintenance (it then rejects or accepts offers again). */
  setOwnMaintenance: (enabled: boolean) => void;
  /** Refuses a peer on every protocol (and closes its connections), or lets it back in. */
  ban: (peerId: string) => Promise<void>;
  unban: (peerId: string) => void;
  /**
   * Free slots of this node for its own builds. Its announcement says 0 while it donates nothing
   * (Paused, or its owner is back), but its own builds still run on it.
   */
  ownFreeSlots?: () => number;
}

/**
 * The mesh as the scheduler and the REST API see it: this node and every peer presence knows,
 * with their capabilities, status and load. Maintenance set here for another peer only stops this
 * node sending it work; forgetting a peer bans it until it is re-admitted.
 */
export class MeshPeerDirectory implements PeerDirectory {
  private readonly maintenance = new Set<string>();
  private readonly forgotten = new Set<string>();

  constructor(private readonly options: MeshPeerDirectoryOptions) {}

  candidates(): PeerCandidate[] {
    return this.known().map(({ announcement, status, isLocal }) => ({
      agentId: announcement.agentId,
      status,
      donationMode: announcement.donationMode,
      acceptingWork: announcement.acceptingWork ?? true,
      isLocal,
      freeSlots: isLocal && this.options.ownFreeSlots ? this.options.ownFreeSlots() : announcement.freeSlots,
      maxConcurrentBuilds: announcement.maxConcurrentBuilds,
      cpuUsage: announcement.cpuUsage,
      memoryUsage: announcement.memoryUsage,
      capabilities: announcement.capabilities,
    }));
  }

  hostnameOf(agentId: string): string {
    return this.find(agentId)?.announcement.hostname ?? agentId;
  }

  onChange(listener: () => void): void {
    this.options.presence.on('change', () => listener());
  }

  list(): Promise<AgentView[]> {
    return Promise.resolve(this.known().map((peer) => this.view(peer)));
  }

  get(agentId: string): Promise<AgentView> {
    return Promise.resolve(this.view(this.require(agentId)));
  }

  async health(agentId: string): Promise<AgentHealth> {
    const peer = this.require(agentId);
    if (peer.isLocal) return { ...(await this.options.ownHealth()), status: peer.status };
    const { announcement } = peer;
    const checks = healthChecks(announcement.capabilities);
    return {
      agentId,
      healthy: peer.status !== 'Offline' && checks.every((check) => check.status !== 'Unhealthy'),
      status: peer.status,
      cpuUsage: announcement.cpuUsage,
      memoryUsage: announcement.memoryUsage,
      diskSpaceAvailableGB: announcement.capabilities.availableDiskSpaceGB,
      lastHeartbeat: peer.lastSeen,
      uptime: announcement.startedAt
        ? formatIsoDuration(Date.now() - Date.parse(announcement.startedAt))
        : 'PT0S',
      checks,
    };
  }

  setMaintenance(agentId: string, enabled: boolean): Promise<AgentView> {
    const peer = this.require(agentId);
    if (peer.isLocal) this.options.setOwnMaintenance(enabled);
    else if (enabled) this.maintenance.add(agentId);
    else this.maintenance.delete(agentId);
    return this.get(agentId);
  }

  async forget(agentId: string): Promise<void> {
    const peer = this.require(agentId);
    if (peer.isLocal) throw new NotFoundError('Peer (other than this node)', agentId);
    this.forgotten.add(agentId);
    await this.options.ban(agentId);
  }

  admit(agentId: string): Promise<void> {
    if (!this.forgotten.delete(agentId)) throw new NotFoundError('Forgotten peer', agentId);
    this.options.unban(agentId);
    return Promise.resolve();
  }

  private known(): (PresencePeer & { isLocal: boolean })[] {
    const self = this.options.presence.self();
    const peers: (PresencePeer & { isLocal: boolean })[] = [];
    if (self) {
      peers.push({
        agentId: self.agentId,
        announcement: self,
        lastSeen: self.sentAt,
        status: self.status,
        isLocal: true,
      });
    }
    for (const peer of this.options.presence.peers()) {
      if (this.forgotten.has(peer.agentId) || peer.agentId === self?.agentId) continue;
      const status: AgentStatus =
        peer.status !== 'Offline' && this.maintenance.has(peer.agentId) ? 'Maintenance' : peer.status;
      peers.push({ ...peer, status, isLocal: false });
    }
    return peers;
  }

  private find(agentId: string): (PresencePeer & { isLocal: boolean }) | undefined {
    return this.known().find((peer) => peer.agentId === agentId);
  }

  private require(agentId: string): PresencePeer & { isLocal: boolean } {
    const peer = this.find(agentId);
    if (!peer) throw new NotFoundError('Agent', agentId);
    return peer;
  }

  private view(peer: PresencePeer & { isLocal: boolean }): AgentView {
    const { announcement } = peer;
    return {
      agentId: announcement.agentId,
      hostname: announcement.hostname,
      targetType: targetPoolForOs(announcement.os),
      status: peer.status,
      donationMode: announcement.donationMode,
      acceptingWork: announcement.acceptingWork ?? true,
      freeSlots: announcement.freeSlots,
      currentJob: announcement.currentJob,
      cpuUsage: announcement.cpuUsage,
      memoryUsage: announcement.memoryUsage,
      capabilities: announcement.capabilities,
      lastHeartbeat: peer.lastSeen,
      isLocal: peer.isLocal,
    };
  }
}
