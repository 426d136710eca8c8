/**
 * The live events of a node, for Server-Sent Events. Each event has an id that grows by one, so a
 * client can resume after `Last-Event-ID` from what is still buffered.
 */
export type NodeEventType =
  /** A build's status, current stage, queue reason or coordinating agent changed. */
  | 'status'
  /** A build's stage list changed. */
  | 'stage'
  /** A build log line. */
  | 'log'
  /** Who is in the mesh, or a peer's status, changed. */
  | 'peer'
  /** A project task of a Distributed or Cached build changed (its timeline entry). */
  | 'task'
  /** A Canary or verify build's peer results or reproducibility report changed. */
  | 'checks';

export interface NodeEvent {
  id: number;
  type: NodeEventType;
  /** The build the event belongs to; none for peer events. */
  executionId: string | null;
  data: unknown;
}

type Subscriber = (event: NodeEvent) => void;

/** A bounded in-memory event log with subscribers. */
export class NodeEventBus {
  private readonly buffer: NodeEvent[] = [];
  private readonly subscribers = new Set<Subscriber>();
  private nextId = 1;

  constructor(private readonly capacity = 10_000) {}

  publish(type: NodeEventType, executionId: string | null, data: unknown): NodeEvent {
    const event: NodeEvent = { id: this.nextId++, type, executionId, data };
    this.buffer.push(event);
    if (this.buffer.length > this.capacity) this.buffer.shift();
    for (const subscriber of this.subscribers) subscriber(event);
    return event;
  }

  /** Buffered events after `lastEventId` that pass `filter`. */
  since(lastEventId: number, filter: (event: NodeEvent) => boolean = () => true): NodeEvent[] {
    return this.buffer.filter((event) => event.id > lastEventId && filter(event));
  }

  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }
}
