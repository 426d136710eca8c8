// The dashboard's API client and live-event reader against a real node: the same code the
// browser runs, over Node's fetch (through the harness, which also checks the responses).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiRequestError } from '../../src/renderer/src/api-client.js';
import { fieldErrors } from '../../src/renderer/src/build-form.js';
import { streamEvents } from '../../src/renderer/src/event-stream.js';
import { parseLiveEvent, type LiveEvent } from '../../src/renderer/src/node-events.js';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import {
  apiFetch,
  removeDir,
  startTestNode,
  tokenFor,
  waitFor,
  type TestNode,
} from '../helpers/node-harness.js';

describe('dashboard client against a real node', () => {
  let root: string;
  let repo: GeneratedRepo;
  let node: TestNode;
  let client: ApiClient;
  const viaHarness: typeof fetch = (input, init) =>
    apiFetch(input instanceof Request ? input.url : String(input), init);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-dashboard-client-'));
    repo = await generateSolutionRepo({ root, width: 1, depth: 1, name: 'client', extraCommits: 0 });
    node = await startTestNode({ dataDir: join(root, 'node') });
    client = new ApiClient({ baseUrl: node.url, token: tokenFor(node.url) ?? null, fetch: viaHarness });
  });
  afterAll(async () => {
    await node?.stop();
    await removeDir(root);
  });

  it('shows a bad field beside its input, then follows a build live to its end', async () => {
    const events: LiveEvent[] = [];
    const everything = new AbortController();
    const nodeStream = streamEvents({
      url: client.url('/api/v1/events'),
      token: client.token,
      fetch: viaHarness,
      signal: everything.signal,
      onMessage: (message) => {
        const event = parseLiveEvent(message);
        if (event) events.push(event);
      },
    });

    const rejected = await client
      .submitBuild({ repositoryUrl: 'not a url', gitRef: 'main', solutionPath: 'A.sln' })
      .catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(ApiRequestError);
    expect(fieldErrors((rejected as ApiRequestError).details).byField.repositoryUrl?.[0]).toContain(
      'must be an absolute git URL',
    );

    // A repository that does not exist: the build fails at Clone, quickly.
    const { executionId } = await client.submitBuild({
      repositoryUrl: `file://${join(root, 'missing.git')}`,
      gitRef: 'main',
      solutionPath: 'App.sln',
    });
    const buildEvents: string[] = [];
    await streamEvents({
      url: client.url(`/api/v1/builds/${executionId}/events`),
      token: client.token,
      fetch: viaHarness,
      signal: AbortSignal.timeout(120_000),
      reconnectOnEnd: false,
      onMessage: (message) => buildEvents.push(message.event),
    });
    // The build's own stream ended by itself after the terminal status.
    expect(buildEvents).toContain('status');
    expect(buildEvents).toContain('log');
    const detail = await client.getBuild(executionId);
    expect(detail.status).toBe('Failed');
    expect(detail.stages.find((stage) => stage.name === 'Clone')?.status).toBe('Failed');

    await waitFor('the node stream to carry the final status', () =>
      Promise.resolve(
        events.some(
          (event) =>
            event.executionId === executionId && event.type === 'status' && event.data.status === 'Failed',
        ),
      ),
    );
    expect(
      events.every((event, index) => index === 0 || (event.id ?? 0) > (events[index - 1]!.id ?? 0)),
    ).toBe(true);
    everything.abort();
    await nodeStream;

    await expect(client.cancelBuild(executionId)).rejects.toMatchObject({ status: 409 });
  });

  it('lists the solutions of a ref', async () => {
    const list = await client.listSolutions(repo.repositoryUrl, 'main');
    expect(list.commit).toBe(repo.headCommit);
    expect(list.solutions[0]).toBe(repo.solutionPath);
  });

  it('asks for a token again when the node refuses the one it has', async () => {
    let refused = 0;
    const stale = new ApiClient({
      baseUrl: node.url,
      token: 'not-a-token',
      fetch: viaHarness,
      onUnauthorized: () => refused++,
    });
    await expect(stale.listBuilds()).rejects.toMatchObject({ status: 401 });
    await streamEvents({
      url: stale.url('/api/v1/events'),
      token: stale.token,
      fetch: viaHarness,
      signal: AbortSignal.timeout(10_000),
      onMessage: () => {},
      onUnauthorized: () => stale.reportUnauthorized(),
    });
    expect(refused).toBe(2);
  });
});
