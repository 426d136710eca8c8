/** The outcome of one load, stamped with when it settled (ms since the epoch). */
export type PollResult<T> = { ok: true; value: T; at: number } | { ok: false; error: Error; at: number };

export interface PollOptions<T> {
  load: (signal: AbortSignal) => Promise<T>;
  /** Pause between the end of one load and the start of the next. */
  intervalMs: number;
  onResult: (result: PollResult<T>) => void;
  /** Stops polling; a load in flight is aborted and its result dropped. */
  signal: AbortSignal;
  now?: () => number;
}

export interface Poller {
  /**
   * Loads now instead of waiting for the next tick. While a load is in flight, one more load runs
   * as soon as it settles: the answer in flight may predate the change that asked for the refresh.
   */
  refresh(): void;
}

/**
 * Loads at once, then again `intervalMs` after each load settles, so a slow node never gets two
 * requests at a time. Failures are reported and polling goes on: the next tick is the retry.
 */
export function startPolling<T>(options: PollOptions<T>): Poller {
  const { load, intervalMs, onResult, signal, now = Date.now } = options;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight = false;
  let again = false;

  const tick = async (): Promise<void> => {
    clearTimeout(timer);
    if (signal.aborted) return;
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    again = false;
    let result: PollResult<T>;
    try {
      result = { ok: true, value: await load(signal), at: now() };
    } catch (error) {
      result = { ok: false, error: error instanceof Error ? error : new Error(String(error)), at: now() };
    } finally {
      inFlight = false;
    }
    if (signal.aborted) return;
    onResult(result);
    timer = setTimeout(() => void tick(), again ? 0 : intervalMs);
  };

  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  void tick();
  return { refresh: () => void tick() };
}
