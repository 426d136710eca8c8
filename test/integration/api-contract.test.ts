import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, removeDir, startTestNode, type TestNode, apiFetch } from '../helpers/node-harness.js';

interface Envelope {
  error: string;
  message: string;
  traceId: string;
  timestamp: string;
  details: { field: string; message: string }[];
}

function expectEnvelope(body: unknown): asserts body is Envelope {
  expect(body).toMatchObject({
    error: expect.any(String),
    message: expect.any(String),
    traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
    timestamp: expect.any(String),
    details: expect.any(Array),
  });
}

describe('REST API errors and reads (no build runs)', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.stop();
    await removeDir(node.dataDir);
  });

  it('names each bad field in a 400', async () => {
    const response = await api<Envelope>(node.url, 'POST', '/api/v1/builds', {
      repositoryUrl: 'not a url',
      gitRef: 'main',
      strategy: 'Turbo',
    });
    expect(response.status).toBe(400);
    expectEnvelope(response.body);
    expect(response.body.error).toBe('Validation Failed');
    const fields = Object.fromEntries(response.body.details.map((d) => [d.field, d.message]));
    expect(fields.repositoryUrl).toContain('absolute git URL');
    expect(fields.strategy).toBe('must be one of: Incremental, Clean, Cached, Distributed, Canary');
    expect(fields.solutionPath).toContain('is required');
  });

  it('rejects option injection before anything runs', async () => {
    const response = await api<Envelope>(node.url, 'POST', '/api/v1/builds', {
      repositoryUrl: '--upload-pack=touch /tmp/pwned',
      gitRef: '--upload-pack=touch /tmp/pwned',
      solutionPath: '-x.sln',
    });
    expect(response.status).toBe(400);
    expect(response.body.details.map((d) => d.field).sort()).toEqual([
      'gitRef',
      'repositoryUrl',
      'solutionPath',
    ]);
  });

  it('runs every strategy, and names bad Canary and verify fields', async () => {
    const response = await api<Envelope>(node.url, 'POST', '/api/v1/builds', {
      repositoryUrl: 'file:///tmp/x.git',
      gitRef: 'main',
      solutionPath: 'X.sln',
      strategy: 'canary',
      maxWarnings: -1,
      verify: 'yes',
    });
    expect(response.status).toBe(400);
    expect(response.body.details).toEqual([
      { field: 'maxWarnings', message: 'must be 0 or more (absent means unlimited)' },
      { field: 'verify', message: 'must be true or false' },
    ]);
    const distributed = await api<Envelope>(node.url, 'POST', '/api/v1/builds', {
      repositoryUrl: 'file:///tmp/x.git',
      gitRef: 'main',
      solutionPath: 'X.sln',
      strategy: 'Distributed',
      verify: true,
      maxWarnings: 3,
    });
    expect(distributed.status).toBe(400);
    // verify is fine on a Distributed build; maxWarnings is not.
    expect(distributed.body.details).toEqual([
      { field: 'maxWarnings', message: 'applies to Canary builds only' },
    ]);
  });

  it('answers malformed JSON, an empty body and a wrong content type with 4xx envelopes', async () => {
    const malformed = await api<Envelope>(node.url, 'POST', '/api/v1/builds', '{"repositoryUrl": ');
    expect(malformed.status).toBe(400);
    expectEnvelope(malformed.body);
    expect(malformed.body.message).toContain('not valid JSON');

    const empty = await api<Envelope>(node.url, 'POST', '/api/v1/builds', '');
    expect(empty.status).toBe(400);

    const text = await apiFetch(`${node.url}/api/v1/builds`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(text.status).toBe(415);
    expectEnvelope(await text.json());
  });

  it('refuses a body over 10 MB with 413', async () => {
    const huge = JSON.stringify({ repositoryUrl: 'x', padding: 'a'.repeat(10 * 1024 * 1024 + 10) });
    const response = await api<Envelope>(node.url, 'POST', '/api/v1/builds', huge);
    expect(response.status).toBe(413);
    expectEnvelope(response.body);
  });

  it('returns 404 envelopes for unknown ids and routes', async () => {
    for (const path of [
      '/api/v1/builds/00000000-0000-4000-8000-000000000000',
      '/api/v1/builds/00000000-0000-4000-8000-000000000000/logs',
      '/api/v1/builds/00000000-0000-4000-8000-000000000000/artifacts',
      '/api/v1/artifacts/nope/download',
      '/api/v1/agents/nope',
      '/api/v1/agents/nope/health',
      '/api/v1/nothing-here',
    ]) {
      const response = await api<Envelope>(node.url, 'GET', path);
      expect(response.status, path).toBe(404);
      expectEnvelope(response.body);
    }
    const cancel = await api<Envelope>(
      node.url,
      'POST',
      '/api/v1/builds/00000000-0000-4000-8000-000000000000/cancel',
    );
    expect(cancel.status).toBe(404);
    const wrongMethod = await api<Envelope>(node.url, 'DELETE', '/api/v1/builds');
    expect(wrongMethod.status).toBe(405);
    expectEnvelope(wrongMethod.body);
  });

  it('validates pagination', async () => {
    const bad = await api<Envelope>(node.url, 'GET', '/api/v1/builds?pageNumber=0&pageSize=101');
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([
      { field: 'pageNumber', message: 'Page number must be greater than 0' },
      { field: 'pageSize', message: 'Page size must be between 1 and 100' },
    ]);
    const good = await api<{ builds: unknown[]; pageNumber: number; pageSize: number }>(
      node.url,
      'GET',
      '/api/v1/builds?pageSize=5',
    );
    expect(good.status).toBe(200);
    expect(good.body).toMatchObject({ pageNumber: 1, pageSize: 5 });
  });

  it('describes this node as an agent, with detected capabilities and health checks', async () => {
    const agents = await api<{
      agents: { agentId: string; status: string; capabilities: Record<string, unknown> }[];
    }>(node.url, 'GET', '/api/v1/agents');
    expect(agents.status).toBe(200);
    expect(agents.body.agents).toHaveLength(1);
    const [self] = agents.body.agents;
    expect(self?.agentId).toBe(node.node.agentId);
    expect(self?.status).toBe('Idle');
    expect(self?.capabilities).toMatchObject({
      installedTools: expect.arrayContaining(['dotnet', 'git']),
      buildableFrameworks: expect.arrayContaining(['net10.0', 'netstandard2.0']),
      cpuCores: expect.any(Number),
      totalMemoryGB: expect.any(Number),
    });
    expect((self?.capabilities.installedSdks as string[])[0]).toMatch(/^10\./);

    const health = await api<{ checks: { name: string; status: string }[]; uptime: string }>(
      node.url,
      'GET',
      `/api/v1/agents/${node.node.agentId}/health`,
    );
    expect(health.body.checks.map((c) => c.name)).toEqual(['.NET SDK', 'Git', 'Docker', 'Disk Space']);
    expect(health.body.checks.find((c) => c.name === '.NET SDK')?.status).toBe('Healthy');
    expect(health.body.uptime).toMatch(/^PT/);

    const root = await api<{ healthy: boolean }>(node.url, 'GET', '/health');
    expect(root.status).toBe(200);
    expect(root.body.healthy).toBe(true);
  });

  it('serves the built UI at / (npm test builds it first) and never files outside it', async () => {
    const page = await apiFetch(`${node.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<div id="root"></div>');

    const deepLink = await apiFetch(`${node.url}/builds/some-id`);
    expect(await deepLink.text()).toContain('<div id="root"></div>');

    const traversal = await apiFetch(`${node.url}/..%2F..%2Fpackage.json`);
    expect(traversal.status).toBe(404);
    expect(await apiFetch(`${node.url}/assets/missing.js`).then((r) => r.status)).toBe(404);
  });
});
