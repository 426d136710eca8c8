import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp, type ApiDependencies } from '../../src/api/app.js';
import { ROLES, ROUTE_RULES, roleAtLeast, type Role, type RouteRule } from '../../src/core/api-access.js';
import { mintToken, signToken } from '../../src/core/api-token.js';
import { readJwtSecret } from '../../src/host/jwt-secret.js';
import { JsonLogger } from '../../src/host/logger.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import { api, apiFetch, removeDir, startTestNode, type TestNode } from '../helpers/node-harness.js';

interface Envelope {
  error: string;
  message: string;
  traceId: string;
  timestamp: string;
  details: unknown[];
}

const UNKNOWN_BUILD = '00000000-0000-4000-8000-000000000000';
const UNKNOWN_PEER = '12D3KooWAbsentPeerAbsentPeerAbsentPeerAbsentPeerAb';

/** A request that reaches the route's handler without side effects: unknown ids, invalid bodies. */
function concretePath(rule: RouteRule): string {
  return rule.path
    .replace(':executionId', UNKNOWN_BUILD)
    .replace(':agentId', UNKNOWN_PEER)
    .replace(':artifactId', 'a'.repeat(64));
}

/** Sends one request and reads only its status (event streams are left before their body). */
async function statusOf(url: string, rule: RouteRule, token: string | null): Promise<number> {
  const controller = new AbortController();
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const withBody = rule.method === 'POST' || rule.method === 'PATCH';
  if (withBody) headers['content-type'] = 'application/json';
  // Without a token, a plain fetch: apiFetch would add the harness's.
  const response = await (token ? apiFetch : fetch)(`${url}${concretePath(rule)}`, {
    method: rule.method,
    headers,
    body: withBody ? '{}' : undefined,
    signal: controller.signal,
  });
  controller.abort();
  return response.status;
}

describe('API authentication and roles', () => {
  let node: TestNode;
  let secret: Buffer;
  const tokens = {} as Record<Role, string>;

  beforeAll(async () => {
    node = await startTestNode();
    secret = (await readJwtSecret(node.dataDir))!;
    for (const role of ROLES) tokens[role] = node.node.issueToken(role, 600, `matrix-${role}`);
  });
  afterAll(async () => {
    await node.stop();
    await removeDir(node.dataDir);
  });

  it('keeps its secret owner-only in the data dir', async () => {
    const { stat } = await import('node:fs/promises');
    expect((await stat(join(node.dataDir, 'auth', 'jwt-secret'))).mode & 0o777).toBe(0o600);
    expect(secret.length).toBeGreaterThanOrEqual(32);
  });

  it('lets each role through exactly the routes of the access table', async () => {
    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const rule of ROUTE_RULES) {
      for (const role of ROLES) {
        const status = await statusOf(node.url, rule, tokens[role]);
        const allowed = rule.access === 'public' || roleAtLeast(role, rule.access);
        expected.push(`${role} ${rule.method} ${rule.path} ${allowed ? 'allowed' : 'forbidden'}`);
        const outcome = status === 403 ? 'forbidden' : status === 401 ? 'unauthenticated' : 'allowed';
        outcomes.push(`${role} ${rule.method} ${rule.path} ${outcome}`);
      }
    }
    expect(outcomes).toEqual(expected);
    // Every role is refused something, except Admin.
    expect(expected.filter((line) => line.startsWith('Developer') && line.endsWith('forbidden')).length).toBe(
      ROUTE_RULES.filter((rule) => rule.access === 'BuildMaster' || rule.access === 'Admin').length,
    );
  });

  it('asks for a token on every route but /health, and names the role a 403 needs', async () => {
    for (const rule of ROUTE_RULES) {
      const status = await statusOf(node.url, rule, null);
      expect(`${rule.method} ${rule.path} ${status}`).toBe(
        `${rule.method} ${rule.path} ${rule.access === 'public' ? 200 : 401}`,
      );
    }
    const missing = await fetch(`${node.url}/api/v1/builds`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="buildmesh"');
    const body = (await missing.json()) as Envelope;
    expect(body).toMatchObject({ error: 'Unauthorized', traceId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(body.message).toContain('buildmesh token create');

    const forbidden = await api<Envelope>(node.url, 'POST', `/api/v1/builds/${UNKNOWN_BUILD}/cancel`);
    expect(forbidden.status).toBe(404); // the harness is Admin
    const asDeveloper = await apiFetch(`${node.url}/api/v1/builds/${UNKNOWN_BUILD}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.Developer}` },
    });
    expect(asDeveloper.status).toBe(403);
    const refusal = (await asDeveloper.json()) as Envelope;
    expect(refusal.error).toBe('Forbidden');
    expect(refusal.message).toContain('needs the BuildMaster role or higher; this token has Developer');
  });

  it('cannot be dodged by case, doubled slashes, encoding or unknown API paths', async () => {
    for (const path of [
      '/API/V1/BUILDS',
      '/api/v1/builds/',
      `/Api/V1/Builds/${UNKNOWN_BUILD}`,
      '/api/v1/nothing-here',
      '/api',
      '/%61pi/v1/builds',
      '//api/v1/builds',
    ]) {
      expect(`${path} ${(await fetch(`${node.url}${path}`)).status}`).toBe(`${path} 401`);
    }
    const upperCancel = await apiFetch(`${node.url}/API/V1/BUILDS/${UNKNOWN_BUILD}/CANCEL`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.Developer}` },
    });
    expect(upperCancel.status).toBe(403);
  });

  it('refuses expired, forged and malformed tokens with 401', async () => {
    const hourAgo = Date.now() - 3600_000;
    const { claims: adminClaims } = mintToken(secret, { role: 'Admin', ttlSeconds: 600 });
    const developer = mintToken(secret, { role: 'Developer', ttlSeconds: 600 }).token;
    const [header, payload, signature] = developer.split('.');
    const developerClaims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as object;
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const cases: Record<string, string> = {
      expired: mintToken(secret, { role: 'Admin', ttlSeconds: 60, now: hourAgo }).token,
      'wrong secret': mintToken(Buffer.alloc(32, 1), { role: 'Admin', ttlSeconds: 600 }).token,
      'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(adminClaims)}.`,
      'tampered payload': `${header}.${b64({ ...developerClaims, role: 'Admin' })}.${signature}`,
      'unknown role': signToken(secret, { ...adminClaims, role: 'Root' }),
      malformed: 'not-a-jwt',
    };
    for (const [what, token] of Object.entries(cases)) {
      const response = await apiFetch(`${node.url}/api/v1/agents`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(`${what} ${response.status}`).toBe(`${what} 401`);
      expect(response.headers.get('www-authenticate')).toMatch(
        /^Bearer realm="buildmesh", error="invalid_token"/,
      );
      const body = (await response.json()) as Envelope;
      expect(body.error).toBe('Unauthorized');
    }
    const expired = await apiFetch(`${node.url}/api/v1/agents`, {
      headers: { authorization: `Bearer ${cases.expired}` },
    });
    expect(((await expired.json()) as Envelope).message).toContain('expired');
    const basic = await apiFetch(`${node.url}/api/v1/agents`, {
      headers: { authorization: 'Basic dXNlcjpwdw==' },
    });
    expect(basic.status).toBe(401);
    expect(((await basic.json()) as Envelope).message).toContain('Bearer <token>');
  });

  it('serves /health, /metrics and /swagger without a token on loopback, and the UI always', async () => {
    const health = await fetch(`${node.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ overallStatus: expect.any(String) });
    expect((await fetch(`${node.url}/metrics`)).status).toBe(200);
    expect([401, 403]).not.toContain((await fetch(`${node.url}/swagger`)).status);
    expect([401, 403]).not.toContain((await fetch(`${node.url}/`)).status);
  });

  it('keeps CORS closed without an allow-list', async () => {
    const response = await apiFetch(`${node.url}/api/v1/agents`, {
      headers: { origin: 'http://localhost:3000' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${node.url}/api/v1/agents`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'GET' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('puts the security headers on every response', async () => {
    for (const path of ['/health', '/api/v1/builds', '/api/v1/nothing']) {
      const response = await apiFetch(`${node.url}${path}`);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('x-xss-protection')).toBe('1; mode=block');
      expect(response.headers.get('strict-transport-security')).toContain('max-age=');
      expect(response.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
      expect(response.headers.get('permissions-policy')).toContain('camera=()');
      expect(response.headers.get('x-permitted-cross-domain-policies')).toBe('none');
      expect(response.headers.get('x-api-version')).toBe('v1');
      expect(response.headers.get('content-security-policy')).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      );
    }
  });

  it('caps bodies at 10 MB on every route, before authentication', async () => {
    const big = 'x'.repeat(10 * 1024 * 1024 + 1);
    for (const token of [null, tokens.Admin]) {
      const response = await fetch(`${node.url}/api/v1/builds`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: big,
      });
      expect(response.status).toBe(413);
      expect(((await response.json()) as Envelope).error).toBe('Payload Too Large');
    }
  });
});

describe('an API bound beyond loopback', () => {
  // The node decides `loopbackOnly` from apiHost; tests may not listen beyond 127.0.0.1, so this
  // runs the node's Koa app with the flag a 0.0.0.0 bind gives it.
  const secret = Buffer.alloc(32, 9);
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const app = createApiApp({
      auth: { secret, loopbackOnly: false },
      builds: {},
      logs: {},
      artifacts: {},
      agents: {},
      health: () => Promise.resolve({ agentId: 'x', healthy: true }),
      metrics: () => 'builds_started_total 0\n',
      logger: new JsonLogger('test', 'silent'),
    } as unknown as ApiDependencies);
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('needs a token for /metrics and /swagger too, but not for /health', async () => {
    for (const path of ['/metrics', '/swagger', '/swagger/v1/swagger.json']) {
      expect(`${path} ${(await fetch(`${url}${path}`)).status}`).toBe(`${path} 401`);
    }
    const token = mintToken(secret, { role: 'Developer', ttlSeconds: 60 }).token;
    const metrics = await apiFetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('builds_started_total');
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });
});

describe('rate limits and CORS', () => {
  let node: TestNode;
  const allowedOrigin = 'http://dashboard.example:8080';

  beforeAll(async () => {
    node = await startTestNode({ productionRateLimits: true, config: { corsOrigins: allowedOrigin } });
  });
  afterAll(async () => {
    await node.stop();
    await removeDir(node.dataDir);
  });

  it('refuses the 11th build request of a minute with 429 and Retry-After, per user', async () => {
    const limited = node.node.issueToken('Developer', 600, 'eager-script');
    const post = (token: string) =>
      apiFetch(`${node.url}/api/v1/builds`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        // Invalid on purpose: counted like any build request, and nothing runs.
        body: '{}',
      });
    const remaining: string[] = [];
    for (let i = 0; i < 10; i++) {
      const response = await post(limited);
      expect(response.status).toBe(400);
      expect(response.headers.get('x-ratelimit-limit')).toBe('10');
      remaining.push(response.headers.get('x-ratelimit-remaining') ?? '');
      const reset = Number(response.headers.get('x-ratelimit-reset'));
      expect(reset).toBeGreaterThan(Date.now() / 1000);
      expect(reset).toBeLessThanOrEqual(Date.now() / 1000 + 61);
    }
    expect(remaining).toEqual(['9', '8', '7', '6', '5', '4', '3', '2', '1', '0']);

    const eleventh = await post(limited);
    expect(eleventh.status).toBe(429);
    const retryAfter = Number(eleventh.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(eleventh.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(await eleventh.json()).toMatchObject({
      error: 'Rate limit exceeded',
      message: `Too many requests. Please retry after ${retryAfter} seconds.`,
      retryAfter,
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      timestamp: expect.any(String),
      details: [],
    });

    // The same user may still read (the overall limit), and another user may still build.
    const read = await apiFetch(`${node.url}/api/v1/builds`, {
      headers: { authorization: `Bearer ${limited}` },
    });
    expect(read.status).toBe(200);
    expect(read.headers.get('x-ratelimit-limit')).toBe('1000');
    expect(Number(read.headers.get('x-ratelimit-remaining'))).toBeLessThan(1000);
    expect((await post(node.node.issueToken('Developer', 600, 'someone-else'))).status).toBe(400);

    // Without a token the client is its IP, and refusals are limited too; /health is exempt.
    const anonymous = await fetch(`${node.url}/api/v1/agents`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('x-ratelimit-limit')).toBe('1000');
    const health = await fetch(`${node.url}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('answers only allowed origins, and their preflights without a token', async () => {
    const allowed = await apiFetch(`${node.url}/api/v1/agents`, { headers: { origin: allowedOrigin } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(allowedOrigin);
    expect(allowed.headers.get('access-control-expose-headers')).toContain('X-RateLimit-Remaining');
    expect(allowed.headers.get('vary')).toContain('Origin');
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();

    const other = await apiFetch(`${node.url}/api/v1/agents`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();

    // Preflights carry no token; they are answered before authentication.
    const preflight = (origin: string) =>
      fetch(`${node.url}/api/v1/builds`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
    const ok = await preflight(allowedOrigin);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(allowedOrigin);
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    expect(ok.headers.get('access-control-allow-headers')).toContain('Authorization');
    const refused = await preflight('https://evil.example');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await refused.json()) as Envelope).message).toContain('corsOrigins');
  });
});

describe('the audit log', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.stop();
    await removeDir(node.dataDir);
  });

  it('records who triggered, cancelled and put agents into maintenance, allowed or not; Admins read it', async () => {
    const ana = node.node.issueToken('BuildMaster', 600, 'ana');
    const dan = node.node.issueToken('Developer', 600, 'dan');
    const as = async (token: string, method: string, path: string, body?: unknown) => {
      const response = await apiFetch(`${node.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const agentId = node.node.agentId;
    expect((await as(ana, 'POST', `/api/v1/agents/${agentId}/maintenance`)).status).toBe(200);
    // With its only agent in maintenance, the build waits in the queue.
    const triggered = await as(dan, 'POST', '/api/v1/builds', {
      repositoryUrl: 'file:///nowhere/repo.git',
      gitRef: 'main',
      solutionPath: 'App.sln',
    });
    expect(triggered.status).toBe(202);
    const executionId = String(triggered.body.executionId);
    // The build record says who launched it.
    expect((await as(ana, 'GET', `/api/v1/builds/${executionId}`)).body.requestedBy).toBe('dan');
    const list = await as(ana, 'GET', '/api/v1/builds');
    expect((list.body.builds as { requestedBy: string }[])[0]?.requestedBy).toBe('dan');
    expect((await as(dan, 'POST', `/api/v1/builds/${executionId}/cancel`)).status).toBe(403);
    expect((await as(ana, 'POST', `/api/v1/builds/${executionId}/cancel`)).status).toBe(200);
    expect((await as(ana, 'POST', '/api/v1/builds/00000000-0000-4000-8000-00000000000f/cancel')).status).toBe(
      404,
    );
    expect((await as(ana, 'DELETE', `/api/v1/agents/${agentId}/maintenance`)).status).toBe(200);
    // Reads are not audited; unauthenticated requests name nobody.
    await as(dan, 'GET', '/api/v1/builds');
    expect((await fetch(`${node.url}/api/v1/builds`, { method: 'POST' })).status).toBe(401);

    const log = await api<{ entries: Record<string, unknown>[]; totalCount: number }>(
      node.url,
      'GET',
      '/api/v1/audit',
    );
    expect(log.status).toBe(200);
    expect(log.body.totalCount).toBe(6);
    const rows = log.body.entries.map((entry) => [
      entry.subject,
      entry.role,
      entry.action,
      entry.target,
      entry.outcome,
      entry.status,
    ]);
    expect(rows).toEqual([
      ['ana', 'BuildMaster', 'agent.maintenance.end', agentId, 'Succeeded', 200],
      ['ana', 'BuildMaster', 'build.cancel', '00000000-0000-4000-8000-00000000000f', 'Rejected', 404],
      ['ana', 'BuildMaster', 'build.cancel', executionId, 'Succeeded', 200],
      ['dan', 'Developer', 'build.cancel', executionId, 'Denied', 403],
      ['dan', 'Developer', 'build.trigger', executionId, 'Succeeded', 202],
      ['ana', 'BuildMaster', 'agent.maintenance', agentId, 'Succeeded', 200],
    ]);
    const denied = log.body.entries[3]!;
    expect(denied.message).toContain('needs the BuildMaster role');
    expect(denied.tokenId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(String(denied.timestamp))).toBeGreaterThan(Date.now() - 60_000);

    const page = await api<{ entries: { action: string }[]; pageNumber: number; pageSize: number }>(
      node.url,
      'GET',
      '/api/v1/audit?pageNumber=2&pageSize=4',
    );
    expect(page.body.entries.map((entry) => entry.action)).toEqual(['build.trigger', 'agent.maintenance']);
    expect(page.body).toMatchObject({ pageNumber: 2, pageSize: 4 });
    const badPage = await api<Envelope>(node.url, 'GET', '/api/v1/audit?pageSize=0');
    expect(badPage.status).toBe(400);
    expect((await as(ana, 'GET', '/api/v1/audit')).status).toBe(403);
  });
});

describe('buildmesh token create', () => {
  let node: TestNode;
  let emptyDir: string;

  beforeAll(async () => {
    node = await startTestNode();
    emptyDir = await mkdtemp(join(tmpdir(), 'buildmesh-no-node-'));
  });
  afterAll(async () => {
    await node.stop();
    await removeDir(node.dataDir);
    await removeDir(emptyDir);
  });

  it('prints a token the node accepts, with the role asked for', async () => {
    const created = await runCliInProcess([
      'token',
      'create',
      '--role',
      'buildmaster',
      '--ttl',
      '30m',
      '--subject',
      'release-bot',
      '--data-dir',
      node.dataDir,
    ]);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const as = (path: string, method = 'GET') =>
      apiFetch(`${node.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    expect((await as('/api/v1/builds')).status).toBe(200);
    expect((await as(`/api/v1/builds/${UNKNOWN_BUILD}/cancel`, 'POST')).status).toBe(404);
    expect((await as('/api/v1/audit')).status).toBe(403);

    const json = await runCliInProcess([
      'token',
      'create',
      '--role',
      'Admin',
      '--json',
      '--data-dir',
      node.dataDir,
    ]);
    const parsed = JSON.parse(json.stdout) as {
      token: string;
      role: string;
      subject: string;
      expiresAt: string;
    };
    expect(parsed).toMatchObject({ role: 'Admin', subject: 'admin' });
    // The default lifetime is 12 hours.
    expect(Date.parse(parsed.expiresAt) - Date.now()).toBeGreaterThan(11.9 * 3600_000);
    expect(Date.parse(parsed.expiresAt) - Date.now()).toBeLessThanOrEqual(12 * 3600_000);
    const audit = await apiFetch(`${node.url}/api/v1/audit`, {
      headers: { authorization: `Bearer ${parsed.token}` },
    });
    expect([401, 403]).not.toContain(audit.status);
  });

  it('names the bad flag, and says when the data dir has no node', async () => {
    const badRole = await runCliInProcess(['token', 'create', '--role', 'Root', '--data-dir', node.dataDir]);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('--role must be one of Developer, BuildMaster, Admin, got "Root"');
    const noRole = await runCliInProcess(['token', 'create', '--data-dir', node.dataDir]);
    expect(noRole.code).toBe(2);
    expect(noRole.stderr).toContain('Missing --role');
    for (const ttl of ['0', '12x', '-5m', '999d']) {
      const badTtl = await runCliInProcess([
        'token',
        'create',
        '--role',
        'Admin',
        `--ttl=${ttl}`,
        '--data-dir',
        node.dataDir,
      ]);
      expect(badTtl.code).toBe(2);
      expect(badTtl.stderr).toContain(`--ttl must be a positive duration`);
    }
    const noNode = await runCliInProcess(['token', 'create', '--role', 'Admin', '--data-dir', emptyDir]);
    expect(noNode.code).toBe(1);
    expect(noNode.stderr).toContain(`No node secret at ${join(emptyDir, 'auth', 'jwt-secret')}`);
    const unknown = await runCliInProcess(['token', 'revoke']);
    expect(unknown.code).toBe(2);
    expect((await runCliInProcess(['token', '--help'])).stdout).toContain(
      '--role <Developer|BuildMaster|Admin>',
    );
  });

  it('lets buildmesh build mint its own Developer token from the data dir, and explains a 401 without one', async () => {
    const args = ['build', 'not-a-url', '--ref', 'main', '--solution', 'X.sln', '--api', node.url];
    const minted = await runCliInProcess([...args, '--data-dir', node.dataDir]);
    // Past authentication: the node validated the request.
    expect(minted.code).toBe(2);
    expect(minted.stderr).toContain('Request rejected (400 Validation Failed)');
    const none = await runCliInProcess([...args, '--data-dir', emptyDir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Request rejected (401 Unauthorized)');
    expect(none.stderr).toContain('--token or $BUILDMESH_TOKEN');
    const explicit = await runCliInProcess([...args, '--token', node.node.issueToken('Developer', 60)]);
    expect(explicit.stderr).toContain('Request rejected (400 Validation Failed)');
  });
});
