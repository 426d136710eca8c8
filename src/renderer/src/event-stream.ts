import { SseParser, type SseMessage } from './sse-parser.js';

/** The connection's state, for a "live" indicator. */
export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface EventStreamOptions {
  /** Absolute or origin-relative URL of an SSE endpoint. */
  url: string;
  token: string | null;
  onMessage: (message: SseMessage) => void;
  onState?: (state: StreamState) => void;
  /** The node answered 401: the token is missing or no longer valid. Streaming stops. */
  onUnauthorized?: () => void;
  /** Stops the stream for good. */
  signal: AbortSignal;
  /** Wait before reconnecting when the server gave no `retry:` (default 2 s). */
  retryMs?: number;
  /** Reconnect after the server ends the stream normally (the node-wide stream); default true. */
  reconnectOnEnd?: boolean;
  fetch?: typeof fetch;
}

/**
 * Reads Server-Sent Events with `fetch` streaming rather than `EventSource`, which cannot send an
 * `Authorization` header. Reconnects after a dropped connection with `Last-Event-ID`, so the node
 * replays what it still buffers and nothing is missed or shown twice.
 */
export async function streamEvents(options: EventStreamOptions): Promise<void> {
  const { url, token, onMessage, signal } = options;
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const parser = new SseParser();
  const setState = (state: StreamState) => options.onState?.(state);
  let first = true;
  while (!signal.aborted) {
    setState(first ? 'connecting' : 'reconnecting');
    first = false;
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (parser.lastEventId) headers['Last-Event-ID'] = parser.lastEventId;
    let endedNormally = false;
    try {
      const response = await fetchImpl(url, { headers, signal, cache: 'no-store' });
      if (response.status === 401) {
        options.onUnauthorized?.();
        break;
      }
      if (response.ok && response.body) {
        setState('open');
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          for (const message of parser.push(value)) onMessage(message);
        }
        endedNormally = true;
      } else if (response.status === 404) {
        // The resource is gone (a build id that never existed): retrying will not help.
        break;
      }
    } catch {
      if (signal.aborted) break;
    }
    if (endedNormally && options.reconnectOnEnd === false) break;
    await wait(parser.retryMs ?? options.retryMs ?? 2000, signal);
  }
  setState('closed');
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
