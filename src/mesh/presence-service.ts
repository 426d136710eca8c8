import { errorMessage } from '../core/errors.js';
import { presenceAnnouncementSchema, type PresenceAnnouncement } from '../core/mesh-messages.js';
import type { AgentStatus } from '../core/models.js';
import type { Logger } from '../core/ports.js';
import type { MeshNode } from './mesh-node.js';
import { TypedEmitter } from './typed-emitter.js';

/** The gossip topic of presence announcements. */
export const PRESENCE_TOPIC = '/buildmesh/presence/1.0.0';
/** How often a node re-announces itself when nothing changed. */
export const DEFAULT_ANNOUNCE_INTERVAL_MS = 3_000;
/** A peer not heard from for this long is reported Offline. */
export const DEFAULT_OFFLINE_AFTER_MS = 15_000;
/** Largest announcement accepted (a generous bound: a real one is about 1 KiB). */
export const MAX_ANNOUNCEMENT_BYTES = 16 * 1024;
/** Most peers tracked; announcements from further new peers are ignored. */
export const MAX_TRACKED_PEERS = 1024;

/** What this node says about itself; the service adds agentId, sequence and sentAt. */
export type LocalPresence = Omit<PresenceAnnouncement, 'agentId' | 'sequence' | 'sentAt' | 'traceparent'>;

/** A peer as presence knows it. */
export interface PresencePeer {
  agentId: string;
  /** The last valid announcement received from it. */
  announcement: PresenceAnnouncement;
  /** When that announcement arrived (this node's clock, ISO-8601). */
  lastSeen: string;
  /** The announced status, or `Offline` when not heard from within the timeout. */
  status: AgentStatus;
}

/**
 * What changed:
 * - `appeared` — first heard of, or heard again after being Offline;
 * - `changed` — a new announcement differs (beyond sequence and time) from the previous one;
 * - `offline` — not heard from within the timeout.
 */
export type PresenceChangeKind = 'appeared' | 'changed' | 'offline';

export interface PresenceEvents extends Record<string, unknown> {
  change: { kind: PresenceChangeKind; peer: PresencePeer };
}

/** The parts of a mesh node presence needs. */
export type PresenceTransport = Pick<MeshNode, 'peerId' | 'subscribe' | 'publish' | 'on'>;

export interface PresenceServiceOptions {
  node: PresenceTransport;
  /** This node's initial announcement content. */
  local: LocalPresence;
  logger: Logger;
  announceIntervalMs?: number;
  offlineAfterMs?: number;
}

interface TrackedPeer {
  announcement: PresenceAnnouncement;
  lastSeenMs: number;
  offline: boolean;
}

/**
 * Presence over gossipsub (DESIGN §3): publishes this node's announcement on every change and
 * every few seconds, validates what peers announce, and tracks who is there with their
 * capabilities, status and load. A peer not heard from within the timeout is Offline.
 *
 * Not responsible for connecting peers (MeshNode) nor for deciding where work goes (coordinator).
 */
export class PresenceService {
  private readonly node: PresenceTransport;
  private readonly logger: Logger;
  private readonly announceIntervalMs: number;
  private readonly offlineAfterMs: number;
  private readonly emitter: TypedEmitter<PresenceEvents>;
  private readonly tracked = new Map<string, TrackedPeer>();
  private localPresence: LocalPresence;
  private lastSent: PresenceAnnouncement | null = null;
  /** Starts at the clock so that a restarted node's announcements still count as newer. */
  private sequence = Date.now();
  private timers: NodeJS.Timeout[] = [];
  private unsubscribers: Array<() => void> = [];
  private announceSoon: NodeJS.Timeout | null = null;
  private running = false;

  constructor(options: PresenceServiceOptions) {
    this.node = options.node;
    this.logger = options.logger.child('mesh:presence');
    this.announceIntervalMs = options.announceIntervalMs ?? DEFAULT_ANNOUNCE_INTERVAL_MS;
    this.offlineAfterMs = options.offlineAfterMs ?? DEFAULT_OFFLINE_AFTER_MS;
    this.localPresence = options.local;
    this.emitter = new TypedEmitter((event, error) =>
      this.logger.error('presence listener failed', { event, error: errorMessage(error) }),
    );
  }

  /** Subscribes to the topic, announces at once, then every interval; starts the offline sweep. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribers.push(
      this.node.subscribe(
        PRESENCE_TOPIC,
        (message) => this.onAnnouncement(message.from, message.data),
        (message) => (this.parse(message.from, message.data) ? 'accept' : 'reject'),
      ),
      // A peer that just joined the topic learns about us now rather than at the next interval.
      this.node.on('topic:subscribed', ({ topic }) => {
        if (topic === PRESENCE_TOPIC) this.scheduleAnnounce();
      }),
    );
    this.timers.push(
      setInterval(() => this.announce(), this.announceIntervalMs),
      setInterval(() => this.sweep(), Math.max(50, Math.min(1_000, Math.floor(this.offlineAfterMs / 4)))),
    );
    for (const timer of this.timers) timer.unref();
    this.announce();
  }

  /** Stops announcing and tracking. Known peers are kept for {@link peers}. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    if (this.announceSoon) clearTimeout(this.announceSoon);
    this.announceSoon = null;
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
  }

  /** Changes what this node announces; publishes at once when anything differs. */
  update(patch: Partial<LocalPresence>): void {
    const next = { ...this.localPresence, ...patch };
    const changed = JSON.stringify(next) !== JSON.stringify(this.localPresence);
    this.localPresence = next;
    if (changed && this.running) this.announce();
  }

  /** The last announcement this node sent, or null before the first. */
  self(): PresenceAnnouncement | null {
    return this.lastSent;
  }

  /** Every peer heard from, with its last announcement and effective status. */
  peers(): PresencePeer[] {
    return [...this.tracked.keys()].map((agentId) => this.view(agentId)).filter((peer) => peer !== null);
  }

  /** One peer, or null when never heard from. */
  peer(agentId: string): PresencePeer | null {
    return this.view(agentId);
  }

  /** Listens for presence changes; returns the function that stops listening. */
  on<K extends keyof PresenceEvents>(event: K, listener: (detail: PresenceEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  private announce(): void {
    if (!this.running) return;
    let announcement: PresenceAnnouncement = {
      ...this.localPresence,
      agentId: this.node.peerId,
      sequence: ++this.sequence,
      sentAt: new Date().toISOString(),
    };
    let bytes = new TextEncoder().encode(JSON.stringify(announcement));
    // Peers drop a larger announcement whole; the oldest not-reproducible marks go first.
    while (bytes.byteLength > MAX_ANNOUNCEMENT_BYTES && announcement.notReproducible?.length) {
      const marks = announcement.notReproducible;
      announcement = { ...announcement, notReproducible: marks.slice(Math.ceil(marks.length / 4)) };
      bytes = new TextEncoder().encode(JSON.stringify(announcement));
    }
    this.lastSent = announcement;
    this.node.publish(PRESENCE_TOPIC, bytes).catch((error: unknown) => {
      if (this.running) this.logger.debug('presence publish failed', { error: errorMessage(error) });
    });
  }

  private scheduleAnnounce(): void {
    if (this.announceSoon || !this.running) return;
    // Coalesce a burst of joins into one announcement.
    this.announceSoon = setTimeout(() => {
      this.announceSoon = null;
      this.announce();
    }, 100);
    this.announceSoon.unref();
  }

  /** The announcement in `data`, or null (logged at debug) when invalid or not from `from`. */
  private parse(from: string, data: Uint8Array): PresenceAnnouncement | null {
    if (data.byteLength > MAX_ANNOUNCEMENT_BYTES) {
      this.logger.debug('presence announcement dropped', {
        from,
        reason: `larger than ${MAX_ANNOUNCEMENT_BYTES} bytes`,
      });
      return null;
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
    } catch {
      this.logger.debug('presence announcement dropped', { from, reason: 'not UTF-8 JSON' });
      return null;
    }
    const parsed = presenceAnnouncementSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.logger.debug('presence announcement dropped', {
        from,
        reason: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
      });
      return null;
    }
    if (parsed.data.agentId !== from) {
      this.logger.debug('presence announcement dropped', {
        from,
        reason: 'agentId is not the sender',
        agentId: parsed.data.agentId,
      });
      return null;
    }
    return parsed.data;
  }

  private onAnnouncement(from: string, data: Uint8Array): void {
    if (!this.running || from === this.node.peerId) return;
    const announcement = this.parse(from, data);
    if (!announcement) return;
    const previous = this.tracked.get(from);
    if (!previous && this.tracked.size >= MAX_TRACKED_PEERS) {
      this.logger.debug('presence announcement dropped', {
        from,
        reason: `already tracking ${MAX_TRACKED_PEERS} peers`,
      });
      return;
    }
    // Gossip can deliver out of order; an older announcement says nothing new (unless the peer was gone).
    if (previous && !previous.offline && announcement.sequence <= previous.announcement.sequence) return;
    this.tracked.set(from, { announcement, lastSeenMs: Date.now(), offline: false });
    let kind: PresenceChangeKind | null = null;
    if (!previous || previous.offline) kind = 'appeared';
    else if (differs(previous.announcement, announcement)) kind = 'changed';
    if (!kind) return;
    if (kind === 'appeared')
      this.logger.info('peer present', {
        agentId: from,
        hostname: announcement.hostname,
        status: announcement.status,
      });
    const peer = this.view(from);
    if (peer) this.emitter.emit('change', { kind, peer });
  }

  private sweep(): void {
    const now = Date.now();
    for (const [agentId, tracked] of this.tracked) {
      if (tracked.offline || now - tracked.lastSeenMs < this.offlineAfterMs) continue;
      tracked.offline = true;
      this.logger.info('peer offline', { agentId, lastSeen: new Date(tracked.lastSeenMs).toISOString() });
      const peer = this.view(agentId);
      if (peer) this.emitter.emit('change', { kind: 'offline', peer });
    }
  }

  private view(agentId: string): PresencePeer | null {
    const tracked = this.tracked.get(agentId);
    if (!tracked) return null;
    const silent = tracked.offline || Date.now() - tracked.lastSeenMs >= this.offlineAfterMs;
    return {
      agentId,
      announcement: tracked.announcement,
      lastSeen: new Date(tracked.lastSeenMs).toISOString(),
      status: silent ? 'Offline' : tracked.announcement.status,
    };
  }
}

/** Whether two announcements of one peer differ in anything but their sequence, time and trace. */
function differs(a: PresenceAnnouncement, b: PresenceAnnouncement): boolean {
  const strip = ({ sequence: _s, sentAt: _t, traceparent: _p, ...rest }: PresenceAnnouncement) => rest;
  return JSON.stringify(strip(a)) !== JSON.stringify(strip(b));
}
