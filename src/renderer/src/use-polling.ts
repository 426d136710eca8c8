import { useEffect, useRef, useState } from 'react';
import { startPolling, type Poller } from './polling.js';

/** What a polled resource looks like to a component. */
export interface Polled<T> {
  /** The last successful answer, kept while later loads fail. */
  data: T | null;
  /** The last load's failure; `null` once a load succeeds again. */
  error: Error | null;
  /** When `data` was loaded (ms since the epoch). */
  updatedAt: number | null;
  /** Loads now instead of at the next tick. */
  refresh: () => void;
}

interface PolledState<T> {
  data: T | null;
  error: Error | null;
  updatedAt: number | null;
}

/** Polls `load` every `intervalMs` while the component is mounted (see `startPolling`). */
export function usePolling<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number): Polled<T> {
  const [state, setState] = useState<PolledState<T>>({ data: null, error: null, updatedAt: null });
  const loadRef = useRef(load);
  const pollerRef = useRef<Poller | null>(null);

  useEffect(() => {
    loadRef.current = load;
  }, [load]);

  useEffect(() => {
    const controller = new AbortController();
    pollerRef.current = startPolling({
      load: (signal) => loadRef.current(signal),
      intervalMs,
      signal: controller.signal,
      onResult: (result) =>
        setState((previous) =>
          result.ok
            ? { data: result.value, error: null, updatedAt: result.at }
            : { ...previous, error: result.error },
        ),
    });
    return () => {
      controller.abort();
      pollerRef.current = null;
    };
  }, [intervalMs]);

  return { ...state, refresh: () => pollerRef.current?.refresh() };
}
