export interface RetryOptions {
  /** Attempts in total, the first included. */
  attempts: number;
  /** Delay before attempt n+2 is `delaysMs[n]` (the last entry repeats). */
  delaysMs: readonly number[];
  isRetryable: (error: unknown) => boolean;
  onRetry?: (info: { attempt: number; attempts: number; delayMs: number; error: unknown }) => void;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
}

/** The design's retry policy: 3 attempts, 2 s then 4 s. */
export const DEFAULT_RETRY_DELAYS_MS = [2000, 4000] as const;

/** Runs `operation` until it succeeds, a non-retryable error occurs, or attempts run out. */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !options.isRetryable(error) || options.signal?.aborted) throw error;
      const delayMs = options.delaysMs[Math.min(attempt - 1, options.delaysMs.length - 1)] ?? 0;
      options.onRetry?.({ attempt, attempts: options.attempts, delayMs, error });
      await options.sleep(delayMs, options.signal);
    }
  }
}
