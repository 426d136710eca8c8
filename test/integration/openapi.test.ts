import { readFile } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderApiMarkdown } from '../../src/api/openapi-markdown.js';
import { openApiSpec } from '../../src/api/openapi.js';
import { createContractChecker } from '../helpers/contract.js';
import { apiFetch, removeDir, startTestNode, type TestNode } from '../helpers/node-harness.js';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('OpenAPI spec and Swagger UI', () => {
  let node: TestNode;
  let browser: Browser | undefined;

  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await browser?.close();
    await node.stop();
    await removeDir(node.dataDir);
  });

  it('serves the spec generated from the registry as OpenAPI 3.1 JSON', async () => {
    const response = await apiFetch(`${node.url}/swagger/v1/swagger.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const served = (await response.json()) as ReturnType<typeof openApiSpec>;
    expect(served).toEqual(JSON.parse(JSON.stringify(openApiSpec())));
    expect(served.openapi).toBe('3.1.0');
    expect(Object.keys(served.paths)).toEqual(
      expect.arrayContaining(['/api/v1/builds', '/api/v1/builds/{executionId}', '/health', '/metrics']),
    );
  });

  it('gives examples that match their own schemas', () => {
    const spec = openApiSpec();
    const checker = createContractChecker(spec);
    let checked = 0;
    for (const [name, schema] of Object.entries(spec.components.schemas)) {
      for (const example of (schema.examples as unknown[] | undefined) ?? []) {
        expect(checker.validate(name, example), `example of ${name}`).toBeNull();
        checked++;
      }
    }
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const responses = operation.responses as Record<
          string,
          { content?: Record<string, { schema?: { $ref?: string }; example?: unknown }> }
        >;
        for (const [status, response] of Object.entries(responses)) {
          const json = response.content?.['application/json'];
          if (!json?.schema?.$ref || json.example === undefined) continue;
          const name = json.schema.$ref.replace('#/components/schemas/', '');
          expect(checker.validate(name, json.example), `${method} ${path} ${status}`).toBeNull();
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('flags responses that differ from the spec', () => {
    const checker = createContractChecker(openApiSpec());
    const base = `${node.url}/api/v1/builds`;
    const envelope = JSON.stringify({
      error: 'Not Found',
      message: 'x',
      traceId: '0'.repeat(32),
      timestamp: new Date().toISOString(),
      details: [],
    });
    const json = 'application/json; charset=utf-8';
    expect(
      checker.check({ method: 'GET', url: `${base}/abc`, status: 404, contentType: json, body: envelope }),
    ).toBeNull();
    expect(
      checker.check({ method: 'GET', url: `${base}/abc`, status: 418, contentType: json, body: envelope }),
    ).toContain('status 418 is not documented');
    expect(
      checker.check({ method: 'GET', url: `${base}/abc`, status: 200, contentType: json, body: '{"x":1}' }),
    ).toContain('does not match #/components/schemas/BuildDetail');
    expect(
      checker.check({ method: 'GET', url: `${base}/abc/logs`, status: 200, contentType: json, body: '[]' }),
    ).toContain('content type application/json; charset=utf-8 is not documented');
    expect(checker.check({ method: 'PUT', url: base, status: 200, contentType: json, body: '{}' })).toContain(
      'no documented operation',
    );
    expect(
      checker.check({ method: 'DELETE', url: base, status: 405, contentType: json, body: envelope }),
    ).toBeNull();
    expect(
      checker.check({ method: 'OPTIONS', url: base, status: 204, contentType: null, body: '' }),
    ).toBeNull();
    expect(
      checker.check({ method: 'OPTIONS', url: base, status: 200, contentType: json, body: '{}' }),
    ).toContain('status 200');
    expect(
      checker.check({
        method: 'GET',
        url: `${node.url}/builds/some-id`,
        status: 200,
        contentType: 'text/html',
        body: null,
      }),
    ).toBeNull();
  });

  it('renders Swagger UI in Chromium under its Content-Security-Policy', async () => {
    const page = await apiFetch(`${node.url}/swagger`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("'unsafe-eval'");
    expect(await page.text()).not.toMatch(/<script>/);

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const tab = await browser.newPage();
    const problems: string[] = [];
    tab.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    tab.on('pageerror', (error) => problems.push(error.message));
    await tab.goto(`${node.url}/swagger`);
    await tab.locator('.swagger-ui .info .title').waitFor({ timeout: 30_000 });
    expect(await tab.locator('.swagger-ui .info .title').innerText()).toContain('Build Mesh API');
    const operations = Object.values(openApiSpec().paths).flatMap((item) => Object.keys(item)).length;
    await expect.poll(() => tab.locator('.opblock').count(), { timeout: 30_000 }).toBe(operations);
    await tab.locator('#operations-Builds-createBuild .opblock-summary').click();
    await tab.locator('#operations-Builds-createBuild .responses-table').waitFor();
    expect(await tab.locator('#operations-Builds-createBuild').innerText()).toContain('Required role');
    expect(await tab.locator('.btn.authorize').count()).toBe(1);
    expect(problems).toEqual([]);
  });
});

describe('API-DOCUMENTATION.md', () => {
  it('is what the spec generates (run `npm run docs:api` after changing routes or schemas)', async () => {
    const committed = await readFile(new URL('../../API-DOCUMENTATION.md', import.meta.url), 'utf8');
    const generated = renderApiMarkdown(openApiSpec());
    expect(
      committed === generated,
      'API-DOCUMENTATION.md is stale: run `npm run docs:api` and commit the result',
    ).toBe(true);
    expect(generated).toContain('### POST `/api/v1/builds`');
    expect(generated).toContain('### ErrorEnvelope');
  });
});
