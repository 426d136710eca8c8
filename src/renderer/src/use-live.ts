import { useEffect, useMemo, useRef, useState } from 'react';
import type { ApiClient } from './api-client.js';
import { streamEvents, type StreamState } from './event-stream.js';
import { coalesce, LiveEventHub, parseLiveEvent, type LiveEvent } from './node-events.js';

/** The node-wide live stream (`GET /api/v1/events`), shared by every screen through a hub. */
export function useNodeEvents(client: ApiClient): { hub: LiveEventHub; state: StreamState } {
  const hub = useMemo(() => new LiveEventHub(), []);
  const [state, setState] = useState<StreamState>('connecting');
  useEffect(() => {
    const controller = new AbortController();
    void streamEvents({
      url: client.url('/api/v1/events'),
      token: client.token,
      fetch: client.fetchImpl,
      signal: controller.signal,
      onState: setState,
      onUnauthorized: () => client.reportUnauthorized(),
      onMessage: (message) => {
        const event = parseLiveEvent(message);
        if (event) hub.emit(event);
      },
    });
    return () => controller.abort();
  }, [client, hub]);
  return { hub, state };
}

/** Runs `refresh` (at most every `delayMs`) after events that `matches` accepts. */
export function useRefreshOn(
  hub: LiveEventHub,
  matches: (event: LiveEvent) => boolean,
  refresh: () => void,
  delayMs = 300,
): void {
  const latest = useRef({ matches, refresh });
  useEffect(() => {
    latest.current = { matches, refresh };
  });
  useEffect(() => {
    const refresher = coalesce(() => latest.current.refresh(), delayMs);
    const unsubscribe = hub.subscribe((event) => {
      if (latest.current.matches(event)) refresher.trigger();
    });
    return () => {
      unsubscribe();
      refresher.cancel();
    };
  }, [hub, delayMs]);
}
