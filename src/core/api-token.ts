import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { isRole, type Role } from './api-access.js';

/**
 * Bearer tokens of the REST API: compact JWTs (RFC 7519) signed with HS256 by the node's own
 * secret. Pure functions: the secret and the clock come from the caller (the host keeps the
 * secret in the data dir).
 */

/** The `iss` of every token a node signs. */
export const TOKEN_ISSUER = 'buildmesh';

/** How far a token's `iat` may lie in the future, and `exp` in the past, in seconds (clock drift). */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** The longest lifetime `token create` accepts: one year. */
export const MAX_TOKEN_TTL_SECONDS = 366 * 24 * 3600;

export interface TokenClaims {
  /** Who holds the token: a user name, `cli`, `desktop`, `dashboard`… */
  sub: string;
  role: Role;
  /** Issued at, unix seconds. */
  iat: number;
  /** Expires at, unix seconds. */
  exp: number;
  /** Unique token id, recorded by the audit log. */
  jti: string;
  iss: string;
}

/** Why a token was refused; the 401's message says it in words. */
export type TokenProblem =
  | 'malformed' // not three base64url parts of JSON
  | 'algorithm' // `alg` is not HS256 (e.g. `none`)
  | 'signature' // signed with another secret, or altered
  | 'claims' // a claim is missing or has the wrong type, or an unknown role
  | 'issuer' // not issued by a Build Mesh node
  | 'not-yet-valid' // `iat` lies in the future
  | 'expired';

export type TokenVerification = { ok: true; claims: TokenClaims } | { ok: false; problem: TokenProblem };

const HEADER = { alg: 'HS256', typ: 'JWT' } as const;

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function signature(secret: Buffer, signingInput: string): Buffer {
  return createHmac('sha256', secret).update(signingInput).digest();
}

export interface MintTokenOptions {
  role: Role;
  ttlSeconds: number;
  subject?: string;
  /** Unix milliseconds; defaults to the current time. */
  now?: number;
}

/** Signs a new token for `role`, valid for `ttlSeconds` from `now`. */
export function mintToken(secret: Buffer, options: MintTokenOptions): { token: string; claims: TokenClaims } {
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds <= 0) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${options.ttlSeconds}`);
  }
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  const claims: TokenClaims = {
    sub: options.subject ?? options.role.toLowerCase(),
    role: options.role,
    iat,
    exp: iat + options.ttlSeconds,
    jti: randomUUID(),
    iss: TOKEN_ISSUER,
  };
  return { token: signToken(secret, claims), claims };
}

/** Encodes and signs arbitrary claims (tests use it to forge tokens with odd claims). */
export function signToken(secret: Buffer, claims: object): string {
  const signingInput = `${base64url(JSON.stringify(HEADER))}.${base64url(JSON.stringify(claims))}`;
  return `${signingInput}.${base64url(signature(secret, signingInput))}`;
}

function decodeJson(part: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return undefined;
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a token's form, algorithm (HS256 only: `none` and every other `alg` are refused before
 * any signature check), signature (constant-time), issuer, claims and lifetime.
 */
export function verifyToken(secret: Buffer, token: string, now: number = Date.now()): TokenVerification {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, problem: 'malformed' };
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  const header = decodeJson(headerPart);
  const payload = decodeJson(payloadPart);
  if (!isObject(header) || !isObject(payload)) return { ok: false, problem: 'malformed' };
  if (header.alg !== 'HS256' || (header.typ !== undefined && header.typ !== 'JWT'))
    return { ok: false, problem: 'algorithm' };
  if (!/^[A-Za-z0-9_-]*$/.test(signaturePart)) return { ok: false, problem: 'malformed' };
  const expected = signature(secret, `${headerPart}.${payloadPart}`);
  const given = Buffer.from(signaturePart, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, problem: 'signature' };
  const { sub, role, iat, exp, jti, iss } = payload;
  if (
    typeof sub !== 'string' ||
    sub === '' ||
    !isRole(role) ||
    typeof iat !== 'number' ||
    typeof exp !== 'number' ||
    typeof jti !== 'string' ||
    typeof iss !== 'string'
  )
    return { ok: false, problem: 'claims' };
  if (iss !== TOKEN_ISSUER) return { ok: false, problem: 'issuer' };
  const nowSeconds = now / 1000;
  if (iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) return { ok: false, problem: 'not-yet-valid' };
  if (exp <= nowSeconds - CLOCK_TOLERANCE_SECONDS) return { ok: false, problem: 'expired' };
  return { ok: true, claims: { sub, role, iat, exp, jti, iss } };
}

/** What a 401 says for each problem. */
export function describeTokenProblem(problem: TokenProblem): string {
  switch (problem) {
    case 'malformed':
      return 'The bearer token is not a well-formed JWT';
    case 'algorithm':
      return 'The bearer token must be signed with HS256';
    case 'signature':
      return 'The bearer token signature is invalid (it was not signed by this node, or it was altered)';
    case 'claims':
      return 'The bearer token lacks a required claim (sub, role, iat, exp, jti, iss) or names an unknown role';
    case 'issuer':
      return 'The bearer token was not issued by a Build Mesh node';
    case 'not-yet-valid':
      return 'The bearer token is not valid yet (its iat lies in the future)';
    case 'expired':
      return 'The bearer token has expired; create a new one with "buildmesh token create"';
  }
}

const TTL_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `30m`, `12h`, `7d` or plain seconds → seconds; null when unreadable or out of range. */
export function parseTtl(text: string): number | null {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * (TTL_UNITS[match[2] || 's'] ?? 1);
  return seconds > 0 && seconds <= MAX_TOKEN_TTL_SECONDS ? seconds : null;
}
