import type { Context, Next } from 'koa';
import { ruleFor } from '../core/api-access.js';
import type { Principal } from './auth.js';
import { envelope } from './error-envelope.js';

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** When the oldest counted request leaves the window (a slot frees), unix seconds. */
  resetAt: number;
  /** Whole seconds until a refused client may try again (0 when allowed). */
  retryAfter: number;
}

/**
 * A sliding-window log per client: the times of the requests of the last window. A request is
 * allowed while fewer than `limit` fall inside the window; refused requests are not counted.
 * Clients quiet for a whole window are forgotten.
 */
export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();
  private lastSweep: number;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastSweep = now();
  }

  /** What `take` would answer, without counting anything. */
  peek(key: string): RateLimitDecision {
    const now = this.now();
    const times = this.current(key, now);
    return this.decide(times, now, times.length < this.limit);
  }

  /** Counts one request for `key` when the window has room. */
  take(key: string): RateLimitDecision {
    const now = this.now();
    this.sweep(now);
    const times = this.current(key, now);
    const allowed = times.length < this.limit;
    if (allowed) {
      times.push(now);
      this.hits.set(key, times);
    }
    return this.decide(times, now, allowed);
  }

  /** Clients being tracked (tests check that idle ones go). */
  get size(): number {
    return this.hits.size;
  }

  private current(key: string, now: number): number[] {
    const times = this.hits.get(key);
    if (!times) return [];
    const start = now - this.windowMs;
    let expired = 0;
    while (expired < times.length && (times[expired] ?? 0) <= start) expired++;
    if (expired > 0) times.splice(0, expired);
    return times;
  }

  private decide(times: number[], now: number, allowed: boolean): RateLimitDecision {
    const oldest = times[0];
    const freesAt = oldest === undefined ? now + this.windowMs : oldest + this.windowMs;
    return {
      allowed,
      limit: this.limit,
      remaining: Math.max(0, this.limit - times.length),
      resetAt: Math.ceil(freesAt / 1000),
      retryAfter: allowed ? 0 : Math.max(1, Math.ceil((freesAt - now) / 1000)),
    };
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const [key, times] of this.hits) {
      const newest = times.at(-1);
      if (newest === undefined || newest <= now - this.windowMs) this.hits.delete(key);
    }
  }
}

export interface RateLimits {
  /** Requests per minute per client on every route but `/health`. */
  overallPerMinute: number;
  /** `POST /api/v1/builds` per minute per client. */
  buildsPerMinute: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { overallPerMinute: 1000, buildsPerMinute: 10 };

const MINUTE_MS = 60_000;

/**
 * Limits each client: `user:<sub>` once its token checked out (so `authenticate` runs first),
 * else `ip:<remote address>`. `X-Forwarded-For` is not trusted: the node is not behind a proxy
 * it knows of. Every response carries `X-RateLimit-*` for the limit that applies to it (the
 * build limit on `POST /api/v1/builds`); a refusal is a 429 with `Retry-After`.
 */
export function rateLimit(limits: RateLimits = DEFAULT_RATE_LIMITS, now: () => number = Date.now) {
  const overall = new SlidingWindowLimiter(limits.overallPerMinute, MINUTE_MS, now);
  const builds = new SlidingWindowLimiter(limits.buildsPerMinute, MINUTE_MS, now);
  return async (ctx: Context, next: Next): Promise<void> => {
    const rule = ruleFor(ctx.method, ctx.path);
    if (rule?.access === 'public') {
      await next();
      return;
    }
    const principal = ctx.state.principal as Principal | undefined;
    const key = principal ? `user:${principal.sub}` : `ip:${ctx.ip}`;
    const limiters =
      rule?.method === 'POST' && rule.path === '/api/v1/builds' ? [builds, overall] : [overall];
    const refused = limiters.map((limiter) => limiter.peek(key)).find((decision) => !decision.allowed);
    const shown = refused ?? limiters.map((limiter) => limiter.take(key))[0]!;
    ctx.set('X-RateLimit-Limit', String(shown.limit));
    ctx.set('X-RateLimit-Remaining', String(shown.remaining));
    ctx.set('X-RateLimit-Reset', String(shown.resetAt));
    if (refused) {
      ctx.status = 429;
      ctx.set('Retry-After', String(refused.retryAfter));
      ctx.body = {
        ...envelope(
          ctx,
          'Rate limit exceeded',
          `Too many requests. Please retry after ${refused.retryAfter} seconds.`,
        ),
        retryAfter: refused.retryAfter,
      };
      return;
    }
    await next();
  };
}
