import type { Context, Next } from 'koa';
import { MAX_BODY_BYTES } from './json-body.js';
import { PayloadTooLargeError } from '../core/errors.js';

/** For JSON and text responses: they load nothing and may not be framed. */
const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/** Paths whose pages set their own policy (the UI's files, Swagger UI). */
function servesPages(path: string): boolean {
  const lower = path.toLowerCase();
  return !(lower.startsWith('/api/') || lower === '/health' || lower === '/metrics');
}

/**
 * The headers of every response (digest §2.1): no sniffing, no framing, no referrer leaks, no
 * powerful browser features. `Strict-Transport-Security` only matters behind an HTTPS proxy,
 * where it belongs. JSON and text get a deny-all CSP; pages set theirs where they are served.
 */
export function securityHeaders() {
  return async (ctx: Context, next: Next): Promise<void> => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('X-XSS-Protection', '1; mode=block');
    ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    ctx.set('Referrer-Policy', 'strict-origin-when-cross-origin');
    ctx.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=()');
    ctx.set('X-Permitted-Cross-Domain-Policies', 'none');
    ctx.set('X-API-Version', 'v1');
    if (!servesPages(ctx.path)) ctx.set('Content-Security-Policy', API_CONTENT_SECURITY_POLICY);
    await next();
  };
}

/**
 * Refuses a declared body over the cap (10 MB) on every route, before authentication reads
 * anything: 413 with the envelope. Bodies without a length are counted as they are read
 * (`readJsonBody`).
 */
export function bodyLimit(limit = MAX_BODY_BYTES) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const declared = Number(ctx.get('content-length') || '0');
    if (declared > limit) {
      ctx.req.resume();
      // The client may still be sending: close the connection once the answer is out.
      ctx.set('Connection', 'close');
      throw new PayloadTooLargeError(limit);
    }
    await next();
  };
}
