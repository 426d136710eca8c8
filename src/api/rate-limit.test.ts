import { describe, expect, it } from 'vitest';
import { SlidingWindowLimiter } from './rate-limit.js';

describe('SlidingWindowLimiter', () => {
  it('allows `limit` requests per window, then refuses with the wait until a slot frees', () => {
    let now = 1_000_000;
    const limiter = new SlidingWindowLimiter(3, 60_000, () => now);
    expect(limiter.take('a')).toEqual({
      allowed: true,
      limit: 3,
      remaining: 2,
      resetAt: 1060,
      retryAfter: 0,
    });
    now += 10_000;
    expect(limiter.take('a').remaining).toBe(1);
    now += 10_000;
    expect(limiter.take('a').remaining).toBe(0);
    now += 5_000;
    // The first request (at t=1000 s) leaves the window at t=1060 s: 35 s from now.
    expect(limiter.take('a')).toEqual({
      allowed: false,
      limit: 3,
      remaining: 0,
      resetAt: 1060,
      retryAfter: 35,
    });
    // Refused requests are not counted, and other clients have their own window.
    expect(limiter.take('b').allowed).toBe(true);
    now = 1_060_000;
    expect(limiter.take('a')).toMatchObject({ allowed: true, remaining: 0, resetAt: 1070 });
    expect(limiter.take('a')).toMatchObject({ allowed: false, retryAfter: 10 });
  });

  it('slides: a burst at the end of one minute still counts at the start of the next', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter(10, 60_000, () => now);
    now = 59_000;
    for (let i = 0; i < 10; i++) expect(limiter.take('x').allowed).toBe(true);
    now = 61_000;
    expect(limiter.take('x')).toMatchObject({ allowed: false, retryAfter: 58 });
    now = 119_001;
    expect(limiter.take('x').allowed).toBe(true);
  });

  it('peeks without counting, and rounds a sub-second wait up to one second', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter(1, 1_000, () => now);
    expect(limiter.peek('k')).toMatchObject({ allowed: true, remaining: 1 });
    expect(limiter.take('k').allowed).toBe(true);
    now = 999;
    expect(limiter.peek('k')).toMatchObject({ allowed: false, retryAfter: 1 });
    now = 1_000;
    expect(limiter.peek('k').allowed).toBe(true);
  });

  it('forgets clients that stayed quiet for a whole window', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter(5, 60_000, () => now);
    for (const key of ['a', 'b', 'c']) limiter.take(key);
    expect(limiter.size).toBe(3);
    now = 30_000;
    limiter.take('d');
    expect(limiter.size).toBe(4);
    now = 61_000;
    limiter.take('d');
    expect(limiter.size).toBe(1);
  });
});
