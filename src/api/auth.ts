import type { Context, Next } from 'koa';
import { roleAtLeast, ruleFor, type Role, type RouteAccess } from '../core/api-access.js';
import { describeTokenProblem, verifyToken, type TokenProblem } from '../core/api-token.js';
import { HttpError } from './error-envelope.js';

/** Who called, once their bearer token checked out. */
export interface Principal {
  sub: string;
  role: Role;
  /** The token's id, kept in the audit log. */
  jti: string;
}

export interface ApiAuth {
  /** The node's HS256 secret (`<dataDir>/auth/jwt-secret`). */
  secret: Buffer;
  /**
   * True when the API listens on loopback only. Then `/metrics` and `/swagger` are open to the
   * machine's own users; on any other interface they need a token like `/api/v1`.
   */
  loopbackOnly: boolean;
  /** Clock in unix milliseconds (tests move it). */
  now?: () => number;
}

/** `127.0.0.1`, any `127.x.y.z`, `::1` and `localhost` bind to loopback only. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** Lower case, one slash per separator, no trailing slash: the router ignores all three. */
function normalisePath(path: string): string {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // Keep the raw path; the router will not match it either.
  }
  const collapsed = decoded.toLowerCase().replace(/\/{2,}/g, '/');
  return collapsed.length > 1 ? collapsed.replace(/\/+$/, '') : collapsed;
}

function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * What a request needs: `public` (no token), `open` (no token: the UI's files, and on loopback
 * `/metrics` and `/swagger`), or the least role. Every path under `/api` needs a token, even
 * one no route answers, so a probe learns nothing without one.
 */
export function requiredAccess(method: string, path: string, loopbackOnly: boolean): RouteAccess | 'open' {
  const normalised = normalisePath(path);
  const rule = ruleFor(method, normalised);
  if (rule) return rule.access;
  if (isUnder(normalised, '/api')) return 'Developer';
  if (isUnder(normalised, '/metrics') || normalised.startsWith('/swagger'))
    return loopbackOnly ? 'open' : 'Developer';
  return 'open';
}

function bearerToken(ctx: Context): string | null {
  const header = ctx.get('authorization');
  if (!header) return null;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1] ?? '';
}

type AuthState = { principal: Principal } | { problem: TokenProblem | 'missing' | 'scheme' };

/**
 * Reads the bearer token, if any, and records who called (`ctx.state.principal`) without
 * refusing anything yet: the rate limiter keys by user when it can, and refusals come from
 * `authorize`, after it.
 */
export function authenticate(auth: ApiAuth) {
  const now = auth.now ?? Date.now;
  return async (ctx: Context, next: Next): Promise<void> => {
    const token = bearerToken(ctx);
    let state: AuthState;
    if (token === null) state = { problem: 'missing' };
    else if (token === '') state = { problem: 'scheme' };
    else {
      const verified = verifyToken(auth.secret, token, now());
      state = verified.ok
        ? { principal: { sub: verified.claims.sub, role: verified.claims.role, jti: verified.claims.jti } }
        : { problem: verified.problem };
    }
    ctx.state.auth = state;
    if ('principal' in state) ctx.state.principal = state.principal;
    await next();
  };
}

/** Refuses what `ctx.state.auth` does not allow: 401 (with `WWW-Authenticate`) or 403. */
export function authorize(auth: ApiAuth) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const access = requiredAccess(ctx.method, ctx.path, auth.loopbackOnly);
    if (access === 'public' || access === 'open') {
      await next();
      return;
    }
    const state = ctx.state.auth as AuthState | undefined;
    if (!state || !('principal' in state)) {
      const problem = state?.problem ?? 'missing';
      if (problem === 'missing') {
        ctx.set('WWW-Authenticate', 'Bearer realm="buildmesh"');
        throw new HttpError(
          'Unauthorized',
          'Authentication required: send "Authorization: Bearer <token>" (create one with "buildmesh token create --role Developer")',
        );
      }
      const description =
        problem === 'scheme'
          ? 'The Authorization header must be "Bearer <token>"'
          : describeTokenProblem(problem);
      ctx.set(
        'WWW-Authenticate',
        `Bearer realm="buildmesh", error="invalid_token", error_description="${description.replace(/"/g, "'")}"`,
      );
      throw new HttpError('Unauthorized', description);
    }
    const { role } = state.principal;
    if (!roleAtLeast(role, access)) {
      throw new HttpError(
        'Forbidden',
        `${ctx.method} ${ctx.path} needs the ${access} role or higher; this token has ${role}`,
      );
    }
    await next();
  };
}
