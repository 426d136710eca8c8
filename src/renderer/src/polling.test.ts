import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startPolling, type PollResult } from './polling.js';

describe('startPolling', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('loads at once, then again one interval after each load settles', async () => {
    const results: PollResult<number>[] = [];
    let count = 0;
    const controller = new AbortController();
    startPolling({
      load: () => Promise.resolve(++count),
      intervalMs: 2000,
      onResult: (result) => results.push(result),
      signal: controller.signal,
      now: () => 42,
    });

    await vi.advanceTimersByTimeAsync(0);
    expect(results).toEqual([{ ok: true, value: 1, at: 42 }]);
    await vi.advanceTimersByTimeAsync(1999);
    expect(results).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(results).toHaveLength(2);
    controller.abort();
  });

  it('reports a failure and keeps polling, so the next tick is the retry', async () => {
    const results: PollResult<string>[] = [];
    const load = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(new Error('down'))
      .mockResolvedValue('up');
    const controller = new AbortController();
    startPolling({ load, intervalMs: 2000, onResult: (r) => results.push(r), signal: controller.signal });

    await vi.advanceTimersByTimeAsync(2000);
    expect(results.map((r) => (r.ok ? r.value : r.error.message))).toEqual(['down', 'up']);
    controller.abort();
  });

  it('never runs two loads at once, even when refreshed', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const load = async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5000));
      inFlight--;
      return 1;
    };
    const controller = new AbortController();
    const poller = startPolling({ load, intervalMs: 2000, onResult: () => {}, signal: controller.signal });

    poller.refresh();
    poller.refresh();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(maxInFlight).toBe(1);
    controller.abort();
  });

  it('a refresh during a load runs one more load right after it, not two', async () => {
    const load = vi.fn(() => new Promise<number>((resolve) => setTimeout(() => resolve(1), 1000)));
    const controller = new AbortController();
    const poller = startPolling({ load, intervalMs: 60_000, onResult: () => {}, signal: controller.signal });
    await vi.advanceTimersByTimeAsync(10);
    poller.refresh();
    poller.refresh();
    await vi.advanceTimersByTimeAsync(2500);
    expect(load).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(load).toHaveBeenCalledTimes(2);
    controller.abort();
  });

  it('refresh loads now instead of waiting for the tick', async () => {
    const load = vi.fn(() => Promise.resolve(1));
    const controller = new AbortController();
    const poller = startPolling({ load, intervalMs: 60_000, onResult: () => {}, signal: controller.signal });
    await vi.advanceTimersByTimeAsync(0);

    poller.refresh();
    await vi.advanceTimersByTimeAsync(0);
    expect(load).toHaveBeenCalledTimes(2);
    controller.abort();
  });

  it('stops on abort and drops the result of the load in flight', async () => {
    const onResult = vi.fn();
    let finish: (value: number) => void = () => {};
    const load = vi.fn(() => new Promise<number>((resolve) => (finish = resolve)));
    const controller = new AbortController();
    startPolling({ load, intervalMs: 2000, onResult, signal: controller.signal });

    controller.abort();
    finish(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(onResult).not.toHaveBeenCalled();
    expect(load).toHaveBeenCalledTimes(1);
  });
});
