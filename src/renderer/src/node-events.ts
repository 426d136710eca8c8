import type { SseMessage } from './sse-parser.js';

/** The kinds of live event a node sends (see `NodeEventType` in core/build-events). */
export type LiveEventType = 'status' | 'stage' | 'log' | 'peer' | 'task' | 'checks';

/** One live event, as the UI uses it. */
export interface LiveEvent {
  id: number | null;
  /** A `LiveEventType`, or a newer kind this UI does not know yet. */
  type: string;
  executionId: string | null;
  data: Record<string, unknown>;
}

/** Reads an SSE message of the node's event stream; null for anything that is not one. */
export function parseLiveEvent(message: SseMessage): LiveEvent | null {
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const record = data as Record<string, unknown>;
  const id = message.id !== null && /^\d+$/.test(message.id) ? Number(message.id) : null;
  return {
    id,
    type: message.event,
    executionId: typeof record.executionId === 'string' ? record.executionId : null,
    data: record,
  };
}

export type LiveListener = (event: LiveEvent) => void;

/** Fans one event stream out to the screens that listen. */
export class LiveEventHub {
  private readonly listeners = new Set<LiveListener>();

  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: LiveEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/**
 * Calls `action` at most once per `delayMs` however many times `trigger` is called in between
 * (a build emits a burst of events; one refresh after the burst is enough).
 */
export function coalesce(action: () => void, delayMs: number): { trigger: () => void; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    trigger: () => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        action();
      }, delayMs);
    },
    cancel: () => {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
