import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CLOCK_TOLERANCE_SECONDS,
  describeTokenProblem,
  mintToken,
  parseTtl,
  signToken,
  verifyToken,
  type TokenProblem,
} from './api-token.js';

const secret = Buffer.alloc(32, 7);
const other = Buffer.alloc(32, 8);
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('api tokens', () => {
  it('mints a token that verifies with its claims', () => {
    const { token, claims } = mintToken(secret, {
      role: 'BuildMaster',
      ttlSeconds: 60,
      subject: 'ana',
      now: NOW,
    });
    expect(token.split('.')).toHaveLength(3);
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toEqual({
      alg: 'HS256',
      typ: 'JWT',
    });
    expect(claims).toMatchObject({ sub: 'ana', role: 'BuildMaster', iat: NOW / 1000, exp: NOW / 1000 + 60 });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.iss).toBe('buildmesh');
    expect(verifyToken(secret, token, NOW)).toEqual({ ok: true, claims });
    // Each token has its own id.
    expect(mintToken(secret, { role: 'Admin', ttlSeconds: 60, now: NOW }).claims.jti).not.toBe(claims.jti);
  });

  it('defaults the subject to the role', () => {
    expect(mintToken(secret, { role: 'Developer', ttlSeconds: 1 }).claims.sub).toBe('developer');
  });

  it('refuses a non-positive or fractional ttl', () => {
    expect(() => mintToken(secret, { role: 'Admin', ttlSeconds: 0 })).toThrow(RangeError);
    expect(() => mintToken(secret, { role: 'Admin', ttlSeconds: 1.5 })).toThrow(RangeError);
  });

  it('expires at exp, with only a few seconds of tolerance', () => {
    const { token } = mintToken(secret, { role: 'Admin', ttlSeconds: 60, now: NOW });
    const expiry = NOW + 60_000;
    expect(verifyToken(secret, token, expiry + (CLOCK_TOLERANCE_SECONDS - 1) * 1000).ok).toBe(true);
    expect(verifyToken(secret, token, expiry + CLOCK_TOLERANCE_SECONDS * 1000)).toEqual({
      ok: false,
      problem: 'expired',
    });
    expect(verifyToken(secret, token, expiry + 3600_000)).toEqual({ ok: false, problem: 'expired' });
  });

  it('refuses a token issued in the future', () => {
    const { token } = mintToken(secret, { role: 'Admin', ttlSeconds: 600, now: NOW + 60_000 });
    expect(verifyToken(secret, token, NOW)).toEqual({ ok: false, problem: 'not-yet-valid' });
  });

  it('refuses a token signed with another secret', () => {
    const { token } = mintToken(other, { role: 'Admin', ttlSeconds: 60, now: NOW });
    expect(verifyToken(secret, token, NOW)).toEqual({ ok: false, problem: 'signature' });
  });

  it('refuses a tampered payload (a Developer promoting itself)', () => {
    const { token } = mintToken(secret, { role: 'Developer', ttlSeconds: 60, now: NOW });
    const [header, payload, sig] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${header}.${b64({ ...claims, role: 'Admin' })}.${sig}`;
    expect(verifyToken(secret, tampered, NOW)).toEqual({ ok: false, problem: 'signature' });
    // A changed signature is refused too, including a truncated one.
    expect(verifyToken(secret, `${header}.${payload}.${sig!.slice(0, -2)}`, NOW).ok).toBe(false);
  });

  it('refuses alg none and every algorithm but HS256, before looking at the signature', () => {
    const claims = mintToken(secret, { role: 'Admin', ttlSeconds: 60, now: NOW }).claims;
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    expect(verifyToken(secret, unsigned, NOW)).toEqual({ ok: false, problem: 'algorithm' });
    for (const alg of ['HS512', 'RS256', 'hs256', 'NONE']) {
      const input = `${b64({ alg, typ: 'JWT' })}.${b64(claims)}`;
      // Even correctly HMAC-SHA256-signed, a header claiming another algorithm is refused.
      const sig = createHmac('sha256', secret).update(input).digest('base64url');
      expect(verifyToken(secret, `${input}.${sig}`, NOW)).toEqual({ ok: false, problem: 'algorithm' });
    }
  });

  it('refuses malformed tokens', () => {
    const cases = [
      '',
      'abc',
      'a.b',
      'a.b.c.d',
      '!!!.???.sig',
      `${b64([1])}.${b64({})}.x`,
      `${b64({ alg: 'HS256' })}.e30.@@`,
    ];
    for (const token of cases) {
      expect(verifyToken(secret, token, NOW)).toEqual({ ok: false, problem: 'malformed' });
    }
  });

  it('refuses correctly signed tokens with missing or wrong claims, an unknown role or another issuer', () => {
    const base = mintToken(secret, { role: 'Admin', ttlSeconds: 60, now: NOW }).claims;
    const problems: [object, TokenProblem][] = [
      [{ ...base, role: 'Root' }, 'claims'],
      [{ ...base, role: 'admin' }, 'claims'],
      [{ ...base, sub: '' }, 'claims'],
      [{ ...base, exp: String(base.exp) }, 'claims'],
      [{ sub: base.sub, role: base.role, iat: base.iat, exp: base.exp, iss: base.iss }, 'claims'],
      [{ ...base, iss: 'someone-else' }, 'issuer'],
    ];
    for (const [claims, problem] of problems) {
      expect(verifyToken(secret, signToken(secret, claims), NOW)).toEqual({ ok: false, problem });
    }
  });

  it('describes every problem in words', () => {
    const all: TokenProblem[] = [
      'malformed',
      'algorithm',
      'signature',
      'claims',
      'issuer',
      'not-yet-valid',
      'expired',
    ];
    const texts = all.map(describeTokenProblem);
    expect(new Set(texts).size).toBe(all.length);
    expect(describeTokenProblem('expired')).toContain('buildmesh token create');
  });

  it('parses ttls', () => {
    expect(parseTtl('12h')).toBe(43_200);
    expect(parseTtl('30m')).toBe(1800);
    expect(parseTtl('7d')).toBe(604_800);
    expect(parseTtl('90s')).toBe(90);
    expect(parseTtl('45')).toBe(45);
    for (const bad of ['', '0', '0h', '-1h', '1.5h', '12 hours', 'h', '400d'])
      expect(parseTtl(bad)).toBeNull();
  });
});
