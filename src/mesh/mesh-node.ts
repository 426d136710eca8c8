import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub, TopicValidatorResult, type GossipSub, type GossipsubMessage } from '@libp2p/gossipsub';
import { identify, type Identify } from '@libp2p/identify';
import type { Connection, Libp2p, PeerId, PeerInfo, PrivateKey, Stream } from '@libp2p/interface';
import { mdns } from '@libp2p/mdns';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { ping, type Ping } from '@libp2p/ping';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { ConfigError, errorMessage, type FieldProblem } from '../core/errors.js';
import { PeerNotPermittedError } from '../core/mesh-errors.js';
import type { Logger } from '../core/ports.js';
import type { SwarmKey } from './swarm-key.js';
import { TypedEmitter } from './typed-emitter.js';

/** The port a real node listens on unless configured otherwise. */
export const DEFAULT_MESH_PORT = 4101;
export const DEFAULT_LISTEN_ADDRESSES: readonly string[] = [`/ip4/0.0.0.0/tcp/${DEFAULT_MESH_PORT}`];

/** First and largest delay between re-dials of a bootstrap address. */
export const DEFAULT_REDIAL_INITIAL_MS = 1_000;
export const DEFAULT_REDIAL_MAX_MS = 30_000;

/** A connection that lasted this long was a real one: the next drop re-dials from the initial delay. */
const STABLE_CONNECTION_MS = 10_000;

/** mDNS service name, so Build Mesh nodes find each other and not every libp2p node on the LAN. */
const MDNS_SERVICE_TAG = '_buildmesh._udp.local';

/**
 * Yamux's per-stream window may grow to this. It must stay below the stream's read buffer limit,
 * because a paused stream (see FramedStream's backpressure) can still receive one full window.
 */
const YAMUX_MAX_STREAM_WINDOW = 4 * 1024 * 1024;
const YAMUX_MAX_READ_BUFFER = 8 * 1024 * 1024;

export interface MeshNodeOptions {
  /** The node's identity (see `loadOrCreateIdentity`). */
  privateKey: PrivateKey;
  /** The private network key; peers without it cannot connect at all. */
  swarmKey: SwarmKey;
  /** Multiaddrs to listen on; default `/ip4/0.0.0.0/tcp/4101`. Tests use `/ip4/127.0.0.1/tcp/0`. */
  listenAddresses?: readonly string[];
  /** Multiaddrs dialled at start and re-dialled with backoff after a drop. */
  bootstrap?: readonly string[];
  /** Discover peers on the LAN with mDNS. Default false; tests never enable it on real interfaces. */
  mdns?: boolean;
  /** When set, only these peer ids may connect or be connected to. */
  allowList?: readonly string[];
  /** Peer ids refused from the start (see {@link MeshNode.ban}). */
  bannedPeers?: readonly string[];
  /** Delays between re-dials of a bootstrap address: doubling from `initialMs` up to `maxMs`. */
  redial?: { initialMs?: number; maxMs?: number };
  logger: Logger;
}

/** Events of a {@link MeshNode}. */
export interface MeshNodeEvents extends Record<string, unknown> {
  /** The first connection to a peer opened. */
  'peer:connect': { peerId: string };
  /** The last connection to a peer closed. */
  'peer:disconnect': { peerId: string };
  /** A peer announced that it subscribed to a gossip topic. */
  'topic:subscribed': { peerId: string; topic: string };
}

/** A gossip message as subscribers see it: `from` is the (signature-checked) original publisher. */
export interface GossipMessage {
  topic: string;
  from: string;
  data: Uint8Array;
}

/** What a topic validator decides: forward and deliver, drop quietly, or drop and penalise the relayer. */
export type GossipVerdict = 'accept' | 'ignore' | 'reject';

/** Handles one inbound stream of a protocol; the peer has already been checked against allow and ban lists. */
export type MeshStreamHandler = (
  stream: Stream,
  peer: { peerId: string; connection: Connection },
) => void | Promise<void>;

interface MeshServices extends Record<string, unknown> {
  identify: Identify;
  ping: Ping;
  pubsub: GossipSub;
}

interface TopicSubscription {
  handlers: Set<(message: GossipMessage) => void>;
}

/**
 * One node of the private mesh: a libp2p host with TCP, Noise, Yamux, identify, ping, a pre-shared
 * network key, gossipsub and optional mDNS. It owns membership (who may connect: swarm key,
 * allow-list, ban list), keeps bootstrap peers connected, and gives services streams and gossip.
 *
 * It knows nothing of presence, jobs or blobs: those are services built on {@link handle},
 * {@link openStream}, {@link subscribe} and {@link publish}.
 */
export class MeshNode {
  /** This node's peer id string (the node's agent id). */
  readonly peerId: string;
  private readonly emitter: TypedEmitter<MeshNodeEvents>;
  private readonly banned: Set<string>;
  private readonly allowList: ReadonlySet<string> | null;
  /** Peers we are dialling right now (by peer id), for the simultaneous-dial tie-break. */
  private readonly pendingDials = new Map<string, number>();
  private readonly subscriptions = new Map<string, TopicSubscription>();
  private readonly bootstrap: readonly Multiaddr[];
  private readonly redialInitialMs: number;
  private readonly redialMaxMs: number;
  private lifetime: AbortController | null = null;
  private readonly loops: Promise<void>[] = [];

  private constructor(
    private readonly libp2p: Libp2p<MeshServices>,
    private readonly options: MeshNodeOptions,
    private readonly logger: Logger,
    state: { banned: Set<string>; allowList: ReadonlySet<string> | null; bootstrap: Multiaddr[] },
  ) {
    this.peerId = libp2p.peerId.toString();
    this.banned = state.banned;
    this.allowList = state.allowList;
    this.bootstrap = state.bootstrap;
    this.redialInitialMs = options.redial?.initialMs ?? DEFAULT_REDIAL_INITIAL_MS;
    this.redialMaxMs = options.redial?.maxMs ?? DEFAULT_REDIAL_MAX_MS;
    this.emitter = new TypedEmitter((event, error) =>
      logger.error('mesh event listener failed', { event, error: errorMessage(error) }),
    );
    libp2p.addEventListener('peer:connect', (event) => {
      const peerId = event.detail.toString();
      this.logger.info('peer connected', { peerId });
      this.emitter.emit('peer:connect', { peerId });
    });
    libp2p.addEventListener('peer:disconnect', (event) => {
      const peerId = event.detail.toString();
      this.logger.info('peer disconnected', { peerId });
      this.emitter.emit('peer:disconnect', { peerId });
    });
    if (options.mdns) libp2p.addEventListener('peer:discovery', (event) => this.onDiscovered(event.detail));
    libp2p.services.pubsub.addEventListener('gossipsub:message', (event) => this.onGossip(event.detail));
    libp2p.services.pubsub.addEventListener('subscription-change', (event) => {
      const peerId = event.detail.peerId.toString();
      for (const { topic, subscribe } of event.detail.subscriptions) {
        if (subscribe) this.emitter.emit('topic:subscribed', { peerId, topic });
      }
    });
  }

  /** Builds a node (not started). Bad addresses or peer ids fail with a {@link ConfigError} listing each. */
  static async create(options: MeshNodeOptions): Promise<MeshNode> {
    const problems: FieldProblem[] = [];
    const listen = [...(options.listenAddresses ?? DEFAULT_LISTEN_ADDRESSES)];
    listen.forEach((address, index) => parseAddress(address, `listenAddresses[${index}]`, problems));
    const bootstrap = (options.bootstrap ?? [])
      .map((address, index) => parseAddress(address, `bootstrap[${index}]`, problems))
      .filter((address): address is Multiaddr => address !== null);
    const checkPeerIds = (ids: readonly string[] | undefined, field: string) =>
      (ids ?? []).forEach((id, index) => {
        try {
          peerIdFromString(id);
        } catch {
          problems.push({ field: `${field}[${index}]`, message: `"${id}" is not a peer id` });
        }
      });
    checkPeerIds(options.allowList, 'allowList');
    checkPeerIds(options.bannedPeers, 'bannedPeers');
    if (problems.length > 0) throw new ConfigError(problems);

    const logger = options.logger.child('mesh');
    const selfId = peerIdFromPrivateKey(options.privateKey).toString();
    const state = {
      banned: new Set(options.bannedPeers ?? []),
      allowList: options.allowList ? new Set(options.allowList) : null,
      bootstrap: bootstrap.filter((address) => peerIdOf(address) !== selfId),
    };
    // The gater needs the node, and the node needs libp2p: bind late.
    let node: MeshNode | null = null;
    const permitted = (peer: PeerId) => node?.isPermitted(peer.toString()) ?? false;

    const libp2p = await createLibp2p<MeshServices>({
      start: false,
      privateKey: options.privateKey,
      addresses: { listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [
        yamux({
          streamOptions: {
            maxStreamWindowSize: YAMUX_MAX_STREAM_WINDOW,
            maxReadBufferLength: YAMUX_MAX_READ_BUFFER,
          },
        }),
      ],
      connectionProtector: preSharedKey({ psk: options.swarmKey }),
      connectionGater: {
        denyDialPeer: (peer) => !permitted(peer),
        denyOutboundConnection: (peer) => !permitted(peer),
        denyInboundEncryptedConnection: (peer) =>
          !permitted(peer) || (node?.shouldRefuseInbound(peer) ?? true),
        denyOutboundEncryptedConnection: (peer) =>
          !permitted(peer) || (node?.hasOpenConnection(peer) ?? true),
        denyInboundUpgradedConnection: (peer) => !permitted(peer),
        denyOutboundUpgradedConnection: (peer) => !permitted(peer),
      },
      peerDiscovery: options.mdns ? [mdns({ serviceTag: MDNS_SERVICE_TAG })] : [],
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
      },
    });
    node = new MeshNode(libp2p, options, logger, state);
    return node;
  }

  /** Starts listening, dials bootstrap peers and keeps them connected until {@link stop}. */
  async start(): Promise<void> {
    if (this.lifetime) return;
    this.lifetime = new AbortController();
    const { signal } = this.lifetime;
    const { libp2p } = this;
    await libp2p.start();
    for (const topic of this.subscriptions.keys()) libp2p.services.pubsub.subscribe(topic);
    this.logger.info('mesh node started', {
      peerId: this.peerId,
      addresses: this.multiaddrs(),
      mdns: this.options.mdns ?? false,
    });
    for (const address of this.bootstrap) this.loops.push(this.keepConnected(address, signal));
  }

  /** Stops dialling, closes every connection and stops listening. */
  async stop(): Promise<void> {
    if (!this.lifetime) return;
    this.lifetime.abort();
    this.lifetime = null;
    await this.libp2p.stop();
    await Promise.allSettled(this.loops.splice(0));
    this.logger.info('mesh node stopped', { peerId: this.peerId });
  }

  /** Listens for node events; returns the function that stops listening. */
  on<K extends keyof MeshNodeEvents>(event: K, listener: (detail: MeshNodeEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  /** The addresses others can dial, each ending in `/p2p/<peer id>` (no wildcard addresses; LAN first). */
  multiaddrs(): string[] {
    return this.libp2p
      .getMultiaddrs()
      .filter((address) => !isUnspecified(address))
      .sort((a, b) => Number(isLoopback(a)) - Number(isLoopback(b)))
      .map((address) => address.toString());
  }

  /** Peer ids with at least one open connection. */
  connectedPeers(): string[] {
    return this.libp2p.getPeers().map((peer) => peer.toString());
  }

  /** Open connections to `peerId` (normally 0 or 1). */
  connectionCount(peerId: string): number {
    return this.libp2p
      .getConnections(peerIdFromString(peerId))
      .filter((connection) => connection.status === 'open').length;
  }

  /** Whether `peerId` may talk to this node: not banned and, with an allow-list, on it. */
  isPermitted(peerId: string): boolean {
    if (peerId === this.peerId) return true;
    if (this.banned.has(peerId)) return false;
    return this.allowList === null || this.allowList.has(peerId);
  }

  /** Refuses `peerId` from now on and closes its connections. */
  async ban(peerId: string): Promise<void> {
    const peer = peerIdFromString(peerId);
    this.banned.add(peerId);
    this.logger.warn('peer banned', { peerId });
    if (this.lifetime) await this.libp2p.hangUp(peer).catch(() => {});
  }

  /** Lets a banned peer connect again (the allow-list still applies). */
  unban(peerId: string): void {
    if (this.banned.delete(peerId)) this.logger.info('peer unbanned', { peerId });
  }

  /** The banned peer ids. */
  bannedPeers(): string[] {
    return [...this.banned];
  }

  /**
   * Dials a multiaddr once (with `/p2p/<id>` the id is checked during the handshake).
   * Returns the peer id that answered.
   */
  async dial(address: string, signal?: AbortSignal): Promise<string> {
    const target = multiaddr(address);
    const connection = await this.dialTarget(target, peerIdOf(target), signal);
    return connection.remotePeer.toString();
  }

  /**
   * Serves `protocol`. Streams from banned or non-allowed peers are aborted before `handler` runs;
   * a handler that throws gets its stream aborted and the error logged.
   */
  async handle(
    protocol: string,
    handler: MeshStreamHandler,
    options: { maxInboundStreams?: number } = {},
  ): Promise<void> {
    await this.libp2p.handle(
      protocol,
      async (stream, connection) => {
        const peerId = connection.remotePeer.toString();
        if (!this.isPermitted(peerId)) {
          stream.abort(new PeerNotPermittedError(peerId));
          return;
        }
        try {
          await handler(stream, { peerId, connection });
        } catch (error) {
          this.logger.warn('stream handler failed', { protocol, peerId, error: errorMessage(error) });
          stream.abort(error instanceof Error ? error : new Error(String(error)));
        }
      },
      // An explicit undefined would override libp2p's default limit.
      options.maxInboundStreams === undefined ? {} : { maxInboundStreams: options.maxInboundStreams },
    );
  }

  /** Stops serving `protocol`. */
  async unhandle(protocol: string): Promise<void> {
    await this.libp2p.unhandle(protocol);
  }

  /** Opens a stream to `peerId` for `protocol`, connecting first when needed. */
  async openStream(peerId: string, protocol: string, signal?: AbortSignal): Promise<Stream> {
    if (!this.isPermitted(peerId)) throw new PeerNotPermittedError(peerId);
    const peer = peerIdFromString(peerId);
    const connection =
      this.libp2p.getConnections(peer).find((c) => c.status === 'open') ??
      (await this.dialTarget(peer, peerId, signal));
    return connection.newStream(protocol, { signal });
  }

  /**
   * Delivers messages of `topic` to `handler`, dropping those from or relayed by peers that are not
   * permitted. `validate` (one per topic; the last one set wins) decides before delivery and before
   * the message is forwarded to other peers. Returns the function that unsubscribes `handler`.
   */
  subscribe(
    topic: string,
    handler: (message: GossipMessage) => void,
    validate?: (message: GossipMessage) => GossipVerdict,
  ): () => void {
    const pubsub = this.libp2p.services.pubsub;
    let subscription = this.subscriptions.get(topic);
    if (!subscription) {
      subscription = { handlers: new Set() };
      this.subscriptions.set(topic, subscription);
      if (this.lifetime) pubsub.subscribe(topic);
    }
    subscription.handlers.add(handler);
    pubsub.topicValidators.set(topic, (propagationSource, message) => {
      if (message.type !== 'signed') return TopicValidatorResult.Reject;
      if (!this.isPermitted(message.from.toString()) || !this.isPermitted(propagationSource.toString())) {
        return TopicValidatorResult.Ignore;
      }
      const verdict = validate?.({ topic, from: message.from.toString(), data: message.data }) ?? 'accept';
      return VERDICTS[verdict];
    });
    return () => {
      const current = this.subscriptions.get(topic);
      if (!current) return;
      current.handlers.delete(handler);
      if (current.handlers.size === 0) {
        this.subscriptions.delete(topic);
        pubsub.topicValidators.delete(topic);
        if (this.lifetime) pubsub.unsubscribe(topic);
      }
    };
  }

  /** Publishes `data` on `topic` (signed by this node); succeeds even when no peer is listening yet. */
  async publish(topic: string, data: Uint8Array): Promise<void> {
    await this.libp2p.services.pubsub.publish(topic, data);
  }

  private onGossip({ propagationSource, msg }: GossipsubMessage): void {
    if (msg.type !== 'signed') return;
    const from = msg.from.toString();
    if (!this.isPermitted(from) || !this.isPermitted(propagationSource.toString())) return;
    const subscription = this.subscriptions.get(msg.topic);
    if (!subscription) return;
    const message: GossipMessage = { topic: msg.topic, from, data: msg.data };
    for (const handler of [...subscription.handlers]) {
      try {
        handler(message);
      } catch (error) {
        this.logger.error('gossip handler failed', { topic: msg.topic, from, error: errorMessage(error) });
      }
    }
  }

  /** Dials peers found by mDNS (libp2p does not): their non-loopback addresses only. */
  private onDiscovered(peer: PeerInfo): void {
    const signal = this.lifetime?.signal;
    const peerId = peer.id.toString();
    if (!signal || peerId === this.peerId || !this.isPermitted(peerId) || this.isConnected(peerId)) return;
    if (this.pendingDials.has(peerId)) return;
    // mDNS also announces loopback addresses, which would reach ourselves (or nothing).
    const addresses = peer.multiaddrs
      .filter((address) => !isLoopback(address) && !isUnspecified(address))
      .map((address) => (peerIdOf(address) ? address : address.encapsulate(`/p2p/${peerId}`)));
    if (addresses.length === 0) return;
    this.logger.debug('peer discovered', { peerId, addresses: addresses.map(String) });
    this.dialTarget(addresses, peerId, signal).catch((error: unknown) => {
      this.logger.debug('dial of discovered peer failed', { peerId, error: errorMessage(error) });
    });
  }

  /** Keeps one bootstrap address connected: dial, wait for the drop, re-dial with capped backoff. */
  private async keepConnected(address: Multiaddr, signal: AbortSignal): Promise<void> {
    let knownPeer = peerIdOf(address);
    let delay = this.redialInitialMs;
    const backOff = async (reason: Record<string, unknown>) => {
      this.logger.debug('bootstrap peer not connected', {
        address: address.toString(),
        retryInMs: delay,
        ...reason,
      });
      await abortableDelay(delay, signal);
      delay = Math.min(delay * 2, this.redialMaxMs);
    };
    while (!signal.aborted) {
      if (knownPeer && this.isConnected(knownPeer)) {
        const connectedAt = Date.now();
        await this.waitForDisconnect(knownPeer, signal);
        // A peer that refuses us after the handshake (ban, allow-list) drops at once: keep backing off.
        if (Date.now() - connectedAt >= STABLE_CONNECTION_MS) delay = this.redialInitialMs;
        if (!signal.aborted) await backOff({ reason: 'disconnected' });
        continue;
      }
      try {
        const connection = await this.dialTarget(address, knownPeer, signal);
        knownPeer = connection.remotePeer.toString();
      } catch (error) {
        if (signal.aborted) return;
        // Losing the simultaneous-dial tie-break leaves us connected all the same.
        if (knownPeer && this.isConnected(knownPeer)) continue;
        await backOff({ error: errorMessage(error) });
      }
    }
  }

  private async dialTarget(
    target: PeerId | Multiaddr | Multiaddr[],
    peerId: string | null,
    signal?: AbortSignal,
  ): Promise<Connection> {
    if (peerId) this.pendingDials.set(peerId, (this.pendingDials.get(peerId) ?? 0) + 1);
    try {
      return await this.libp2p.dial(target, { signal });
    } finally {
      if (peerId) {
        const count = (this.pendingDials.get(peerId) ?? 1) - 1;
        if (count > 0) this.pendingDials.set(peerId, count);
        else this.pendingDials.delete(peerId);
      }
    }
  }

  private isConnected(peerId: string): boolean {
    return this.connectionCount(peerId) > 0;
  }

  private hasOpenConnection(peer: PeerId): boolean {
    return this.libp2p.getConnections(peer).some((connection) => connection.status === 'open');
  }

  /**
   * Simultaneous dials would leave two connections per pair (and gossipsub keeps its stream on only
   * one of them). Both sides apply the same rule: the connection dialled by the lower peer id wins.
   * So the lower side refuses the higher side's inbound while it is dialling it or already holds
   * its own outbound connection; the higher side drops its own outbound once any connection exists.
   */
  private shouldRefuseInbound(peer: PeerId): boolean {
    const peerId = peer.toString();
    if (!(this.peerId < peerId)) return false;
    if (this.pendingDials.has(peerId)) return true;
    return this.libp2p.getConnections(peer).some((c) => c.status === 'open' && c.direction === 'outbound');
  }

  private async waitForDisconnect(peerId: string, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        off();
        signal.removeEventListener('abort', done);
        resolve();
      };
      const off = this.emitter.on('peer:disconnect', (event) => {
        if (event.peerId === peerId) done();
      });
      signal.addEventListener('abort', done, { once: true });
      if (signal.aborted || !this.isConnected(peerId)) done();
    });
  }
}

const VERDICTS: Record<GossipVerdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
};

function parseAddress(address: string, field: string, problems: FieldProblem[]): Multiaddr | null {
  try {
    return multiaddr(address);
  } catch (error) {
    problems.push({ field, message: `"${address}" is not a multiaddr (${errorMessage(error)})` });
    return null;
  }
}

/** The `/p2p/<id>` of a multiaddr, if it has one. */
export function peerIdOf(address: Multiaddr): string | null {
  return address.getComponents().findLast((component) => component.name === 'p2p')?.value ?? null;
}

function ipOf(address: Multiaddr): { family: 'ip4' | 'ip6'; value: string } | null {
  const component = address.getComponents()[0];
  if (!component?.value) return null;
  if (component.name === 'ip4' || component.name === 'ip6')
    return { family: component.name, value: component.value };
  return null;
}

function isLoopback(address: Multiaddr): boolean {
  const ip = ipOf(address);
  if (!ip) return false;
  return ip.family === 'ip4' ? ip.value.startsWith('127.') : ip.value === '::1';
}

function isUnspecified(address: Multiaddr): boolean {
  const ip = ipOf(address);
  return ip !== null && (ip.value === '0.0.0.0' || ip.value === '::');
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
async function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
