import type { Context, Next } from 'koa';
import { HttpError } from './error-envelope.js';

const ALLOWED_METHODS = 'GET, POST, PATCH, DELETE, OPTIONS';
const ALLOWED_HEADERS = 'Authorization, Content-Type, Last-Event-ID, traceparent';
/** Headers a page on an allowed origin may read from responses. */
const EXPOSED_HEADERS =
  'Location, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-API-Version';

/** `http://Host:80/` → `http://host`: how browsers serialise an `Origin`. */
export function normaliseOrigin(origin: string): string | null {
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    return url.origin;
  } catch {
    return null;
  }
}

/**
 * CORS, closed by default: without an allow-list no response carries
 * `Access-Control-Allow-Origin`, so pages on other sites cannot read the API. Origins in the
 * list get it, and their preflights (`OPTIONS` with `Access-Control-Request-Method`) are
 * answered here, before authentication (browsers send no token with a preflight). Tokens
 * travel in a header, never cookies, so credentials are not allowed.
 */
export function cors(allowedOrigins: readonly string[]) {
  const allowed = new Set(allowedOrigins.map(normaliseOrigin).filter((origin) => origin !== null));
  return async (ctx: Context, next: Next): Promise<void> => {
    const origin = ctx.get('origin');
    const isAllowed = origin !== '' && allowed.has(origin);
    if (origin) ctx.vary('Origin');
    const preflight = ctx.method === 'OPTIONS' && ctx.get('access-control-request-method') !== '';
    if (preflight) {
      if (!isAllowed) {
        throw new HttpError(
          'Forbidden',
          `Cross-origin requests from ${origin || 'this page'} are not allowed; add the origin to the node's corsOrigins`,
        );
      }
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Access-Control-Allow-Methods', ALLOWED_METHODS);
      ctx.set('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      ctx.set('Access-Control-Max-Age', '600');
      ctx.status = 204;
      return;
    }
    if (isAllowed) {
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    }
    await next();
  };
}
