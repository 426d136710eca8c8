import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiSpec, type JsonObject } from '../../src/api/openapi.js';
import { api, apiFetch, removeDir, startTestNode, waitFor, type TestNode } from '../helpers/node-harness.js';

/**
 * Bounded fuzzing of every operation of the spec, as an Admin: malformed JSON, wrong types, huge
 * strings, unicode, path traversal and option-injection refs in path parameters, query strings and
 * bodies. The node must never answer 5xx, every 4xx must be the error envelope, every response
 * must match the spec (the contract check of `apiFetch`), and the node must keep serving.
 *
 * A case can make a valid build request: it is queued, clones a repository that does not exist and
 * fails at once, so no dotnet runs; whatever is left is cancelled at the end. The build limit
 * (10 a minute) answers 429, which counts as a 4xx like any other.
 */

const SEED = 20_261_127;
const TOTAL_CASES = 300;
const MISSING_REPOSITORY = 'file:///nonexistent/buildmesh-fuzz/missing.git';

interface Operation {
  method: string;
  path: string;
  queryNames: string[];
  hasBody: boolean;
  /** The route reads a JSON body (build requests, settings): it gets the most cases. */
  readsBody: boolean;
}

function operationsOf(spec: ReturnType<typeof openApiSpec>): Operation[] {
  return Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      queryNames: ((operation.parameters as JsonObject[] | undefined) ?? [])
        .filter((parameter) => parameter.in === 'query')
        .map((parameter) => String(parameter.name)),
      hasBody: method !== 'get',
      readsBody: operation.requestBody !== undefined,
    })),
  );
}

const traversal = fc.constantFrom(
  '..',
  '../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '..%5C..%5Cwindows',
  '....//....//',
  '%2e%2e',
  '%00',
  '%E0%A4%A',
  '%zz',
  '%',
  'a%2Fb',
  '%C0%AE%C0%AE%2F',
);
const injection = fc.constantFrom(
  '--upload-pack=touch /tmp/buildmesh-fuzz-pwned',
  '-c core.sshCommand=touch /tmp/buildmesh-fuzz-pwned',
  '--output=/tmp/buildmesh-fuzz-pwned',
  '-oProxyCommand=touch /tmp/buildmesh-fuzz-pwned',
  'ext::sh -c touch% /tmp/buildmesh-fuzz-pwned',
  '$(touch /tmp/buildmesh-fuzz-pwned)',
  '`id`',
  'main; rm -rf /',
);
const unicode = fc.string({ unit: 'grapheme', maxLength: 40 });
/** Up to ~1 MB: well under the 10 MB cap, so the route itself has to cope. */
const huge = fc
  .tuple(fc.integer({ min: 1_000, max: 1_000_000 }), fc.constantFrom('a', 'é', '🙂', '/', '-', '%'))
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)));

const evilString = fc.oneof(traversal, injection, unicode, huge);
const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue(), { maxKeys: 3 }),
);
const anyValue = fc.oneof(evilString, wrongType);

/** A path parameter: raw segments (already encoded, or dot segments the URL parser resolves) or encoded text. */
function pathValue(agentId: string) {
  return fc.oneof(
    traversal,
    fc.constantFrom('00000000-0000-4000-8000-000000000000', agentId, 'swagger-ui.css', 'index.css'),
    fc.oneof(injection, unicode, fc.string({ maxLength: 300 })).map((text) => encodeURIComponent(text)),
  );
}

const buildBody = fc.record(
  {
    repositoryUrl: fc.oneof(fc.constant(MISSING_REPOSITORY), anyValue),
    gitRef: fc.oneof(fc.constant('main'), anyValue),
    solutionPath: fc.oneof(fc.constant('App.sln'), anyValue),
    strategy: fc.oneof(fc.constantFrom('Incremental', 'clean', 'CANARY', 'Distributed', 'Turbo'), anyValue),
    configuration: fc.oneof(fc.constantFrom('Release', 'Debug'), anyValue),
    buildProperties: fc.oneof(
      fc.dictionary(fc.string({ maxLength: 20 }), anyValue, { maxKeys: 3 }),
      anyValue,
    ),
    timeoutMinutes: fc.oneof(fc.integer({ min: -5, max: 2000 }), anyValue),
    executionId: fc.oneof(fc.uuid(), anyValue),
    job: fc.oneof(
      fc.constant(undefined),
      fc.dictionary(fc.string({ maxLength: 12 }), anyValue, { maxKeys: 4 }),
    ),
  },
  { requiredKeys: [] },
);
/** A valid request (it is queued, and fails at Clone) with at most one field replaced by something hostile. */
const VALID_BUILD = { repositoryUrl: MISSING_REPOSITORY, gitRef: 'main', solutionPath: 'App.sln' };
const mutatedBuildBody = fc.oneof(
  fc.constant(VALID_BUILD),
  fc
    .tuple(
      fc.constantFrom(
        'repositoryUrl',
        'gitRef',
        'solutionPath',
        'strategy',
        'projectName',
        'targetFramework',
        'runtimeIdentifier',
        'metadata',
        'requesterEmail',
        'maxWarnings',
        'verify',
      ),
      anyValue,
    )
    .map(([field, value]) => ({ ...VALID_BUILD, [field]: value })),
);
const settingsBody = fc.record(
  {
    donationMode: fc.oneof(fc.constantFrom('Always', 'whenidle', 'Paused', 'Never'), anyValue),
    maxParallelBuilds: fc.oneof(fc.integer({ min: -2, max: 100 }), anyValue),
    cpuSharePercent: fc.oneof(fc.integer({ min: -10, max: 200 }), anyValue),
    idleAfterMinutes: fc.oneof(fc.integer({ min: -1, max: 5000 }), anyValue),
    onUserReturn: fc.oneof(fc.constantFrom('lower-priority', 'hand-back', 'explode'), anyValue),
    startAtLogin: fc.oneof(fc.boolean(), anyValue),
  },
  { requiredKeys: [] },
);
const malformedJson = fc.oneof(
  fc.constantFrom('{', '{"repositoryUrl": ', '[1,2', 'nul', '"unterminated', '{"a":1}}', '\u0000', '', '   '),
  fc.string({ maxLength: 200 }),
  huge,
);

function body(operation: Operation) {
  const shaped = operation.path === '/api/v1/config' ? settingsBody : fc.oneof(buildBody, mutatedBuildBody);
  return fc.oneof(
    malformedJson,
    fc.jsonValue().map((value) => JSON.stringify(value)),
    shaped.map((value) => JSON.stringify(value)),
    anyValue.map((value) => JSON.stringify(value)),
  );
}

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  undefined,
);

interface FuzzCase {
  params: string[];
  /** Name, value, and whether the value goes into the URL unencoded (`%zz`, `../`). */
  query: [string, string, boolean][];
  body: string | undefined;
  contentType: string | undefined;
}

function caseFor(operation: Operation, agentId: string): fc.Arbitrary<FuzzCase> {
  const paramCount = (operation.path.match(/\{[^}]+\}/g) ?? []).length;
  const queryName = fc.oneof(
    ...(operation.queryNames.length > 0 ? [fc.constantFrom(...operation.queryNames)] : []),
    fc.constantFrom('q', '__proto__', 'constructor', 'pageSize[]'),
  );
  const queryValue = fc.oneof(
    fc.constantFrom('0', '-1', '1', '101', '1e3', 'true', 'false', 'yes', '', '9'.repeat(400)),
    fc.oneof(injection, unicode, traversal),
  );
  return fc.record({
    params: fc.array(pathValue(agentId), { minLength: paramCount, maxLength: paramCount }),
    query: fc.array(fc.tuple(queryName, queryValue, fc.boolean()), { maxLength: 3 }),
    body: operation.hasBody ? fc.option(body(operation), { nil: undefined }) : fc.constant(undefined),
    contentType,
  });
}

function urlFor(base: string, operation: Operation, fuzz: FuzzCase): string {
  let index = 0;
  const path = operation.path.replace(/\{[^}]+\}/g, () => fuzz.params[index++] ?? 'x');
  const query = fuzz.query
    .map(([name, value, raw]) => `${encodeURIComponent(name)}=${raw ? value : encodeURIComponent(value)}`)
    .join('&');
  return `${base}${path}${query ? `?${query}` : ''}`;
}

describe('API fuzzing (fixed seed, bounded)', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startTestNode({ maxConcurrentBuilds: 1 });
  });
  afterAll(async () => {
    await node?.stop();
    if (node) await removeDir(node.dataDir);
  });

  it(`answers ${TOTAL_CASES} hostile requests across every route with 2xx or a 4xx envelope, never 5xx`, async () => {
    const operations = operationsOf(openApiSpec());
    // Routes that parse a body get 60 cases each; the others share the rest, at least 6 each.
    const bodyRoutes = operations.filter((operation) => operation.readsBody).length;
    const runsFor = (operation: Operation) =>
      operation.readsBody
        ? 60
        : Math.max(6, Math.ceil((TOTAL_CASES - 60 * bodyRoutes) / (operations.length - bodyRoutes)));
    const statuses = new Map<number, number>();
    const seen: string[] = [];

    for (const [position, operation] of operations.entries()) {
      await fc.assert(
        fc.asyncProperty(caseFor(operation, node.node.agentId), async (fuzz) => {
          const url = urlFor(node.url, operation, fuzz);
          const controller = new AbortController();
          const response = await apiFetch(url, {
            method: operation.method,
            headers: fuzz.contentType ? { 'content-type': fuzz.contentType } : {},
            // A Blob without a type sends no Content-Type at all (a string would be text/plain).
            body: fuzz.body === undefined || fuzz.contentType ? fuzz.body : new Blob([fuzz.body]),
            signal: controller.signal,
          });
          const type = response.headers.get('content-type') ?? '';
          const where = `${operation.method} ${url.slice(0, 200)} → ${response.status}`;
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          // Streams (events, a followed log) and files are judged by their headers; the rest is read.
          const text = type.includes('json') ? await response.text() : '';
          controller.abort();
          expect(response.status, where).toBeLessThan(500);
          if (response.status >= 400) {
            expect(type, where).toContain('application/json');
            expect(JSON.parse(text), where).toMatchObject({
              error: expect.any(String),
              message: expect.any(String),
              traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
              timestamp: expect.any(String),
            });
          }
        }),
        { seed: SEED + position, numRuns: runsFor(operation), endOnFailure: true },
      );
      seen.push(`${operation.method} ${operation.path}`);
    }

    expect(seen).toHaveLength(operations.length);
    const total = [...statuses.values()].reduce((sum, count) => sum + count, 0);
    expect(total).toBeGreaterThanOrEqual(TOTAL_CASES);
    expect([...statuses.keys()].some((status) => status >= 400 && status < 500)).toBe(true);

    // The node keeps serving, and nothing the fuzzing queued is left running.
    const health = await api<{ overallStatus: string }>(node.url, 'GET', '/health');
    expect(health.status).toBe(200);
    const builds = await api<{ builds: { executionId: string; status: string }[] }>(
      node.url,
      'GET',
      '/api/v1/builds?pageSize=100',
    );
    expect(builds.status).toBe(200);
    for (const build of builds.body.builds.filter((b) => ['Queued', 'Running'].includes(b.status))) {
      await api(node.url, 'POST', `/api/v1/builds/${build.executionId}/cancel`);
    }
    await waitFor(
      'the fuzzed builds to end',
      async () => {
        const list = await api<{ builds: { status: string }[] }>(
          node.url,
          'GET',
          '/api/v1/builds?pageSize=100',
        );
        return list.body.builds.every((b) => !['Queued', 'Running', 'Cancelling'].includes(b.status));
      },
      60_000,
    );
    await api(node.url, 'DELETE', `/api/v1/agents/${node.node.agentId}/maintenance`);
    expect((await api(node.url, 'GET', '/health')).status).toBe(200);
  }, 240_000);
});
