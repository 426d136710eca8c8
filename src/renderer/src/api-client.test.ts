import { describe, expect, it } from 'vitest';
import { ApiClient, ApiRequestError } from './api-client.js';

type Call = { url: string; init: RequestInit | undefined };

function fakeFetch(respond: (url: string) => Response | Promise<Response>): {
  fetch: typeof fetch;
  calls: Call[];
} {
  const calls: Call[] = [];
  const fetchImpl: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    calls.push({ url, init });
    return Promise.resolve(respond(url));
  };
  return { fetch: fetchImpl, calls };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('ApiClient', () => {
  it('reads builds from the bridge base URL, sending the token when there is one', async () => {
    const page = { builds: [], pageNumber: 1, pageSize: 20, totalCount: 0 };
    const { fetch, calls } = fakeFetch(() => json(page));
    const client = new ApiClient({ baseUrl: 'http://127.0.0.1:5000/', token: 'jwt', fetch });

    await expect(client.listBuilds()).resolves.toEqual(page);
    expect(calls[0]?.url).toBe('http://127.0.0.1:5000/api/v1/builds?pageNumber=1&pageSize=20');
    expect(new Headers(calls[0]?.init?.headers).get('Authorization')).toBe('Bearer jwt');
  });

  it('uses the page origin when there is no bridge (a browser on a headless node)', async () => {
    const { fetch, calls } = fakeFetch(() => json({ agents: [] }));
    const client = new ApiClient({ baseUrl: '', token: null, fetch });

    await expect(client.listAgents()).resolves.toEqual([]);
    expect(calls[0]?.url).toBe('/api/v1/agents');
    expect(new Headers(calls[0]?.init?.headers).has('Authorization')).toBe(false);
    expect(ApiClient.forBridge(undefined).baseUrl).toBe('');
    expect(ApiClient.forBridge({ apiBaseUrl: 'http://127.0.0.1:5001', token: null }).baseUrl).toBe(
      'http://127.0.0.1:5001',
    );
  });

  it("keeps the node's error envelope message and status", async () => {
    const { fetch } = fakeFetch(() =>
      json({ error: 'Bad Request', message: 'Page size must be between 1 and 100', details: [] }, 400),
    );
    const error = await new ApiClient({ baseUrl: '', token: null, fetch })
      .listBuilds()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApiRequestError);
    expect(error).toMatchObject({
      code: 'ApiErrorResponse',
      status: 400,
      message: 'The node answered 400: Page size must be between 1 and 100',
    });
  });

  it('says the node is unreachable when there is no HTTP answer', async () => {
    const fetch = (() => Promise.reject(new TypeError('Failed to fetch'))) as typeof globalThis.fetch;
    const client = new ApiClient({ baseUrl: 'http://127.0.0.1:5000', token: null, fetch });

    await expect(client.listAgents()).rejects.toMatchObject({
      code: 'ApiUnreachable',
      message: 'Cannot reach the Build Mesh node at http://127.0.0.1:5000.',
    });
  });

  it('gives up on a node that does not answer in time', async () => {
    const hang: typeof globalThis.fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error));
      });
    const client = new ApiClient({ baseUrl: '', token: null, fetch: hang, timeoutMs: 20 });

    await expect(client.listAgents()).rejects.toMatchObject({ code: 'ApiTimeout' });
  });

  it("passes the caller's abort through untouched", async () => {
    const hang: typeof globalThis.fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error));
      });
    const controller = new AbortController();
    const pending = new ApiClient({ baseUrl: '', token: null, fetch: hang }).listAgents({
      signal: controller.signal,
    });
    controller.abort();

    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects answers it does not understand instead of rendering nonsense', async () => {
    const html = fakeFetch(() => new Response('<html>proxy login</html>', { status: 200 }));
    await expect(
      new ApiClient({ baseUrl: '', token: null, fetch: html.fetch }).listBuilds(),
    ).rejects.toMatchObject({
      code: 'ApiResponseInvalid',
    });
    const wrongShape = fakeFetch(() => json({ items: [] }));
    await expect(
      new ApiClient({ baseUrl: '', token: null, fetch: wrongShape.fetch }).listAgents(),
    ).rejects.toMatchObject({ code: 'ApiResponseInvalid' });
  });

  it('reads, starts, cancels builds and lists solutions, with the token on every call', async () => {
    const detail = { executionId: 'b1', stages: [], timeline: [] };
    const { fetch, calls } = fakeFetch((url) => {
      if (url.endsWith('/cancel'))
        return json({ executionId: 'b1', status: 'Cancelling', message: 'requested' });
      if (url.includes('/repositories/solutions'))
        return json({ commit: 'c', resolvedRef: 'refs/heads/main', solutions: ['A.sln'] });
      if (url.endsWith('/api/v1/builds')) return json({ executionId: 'b2', status: 'Queued' }, 202);
      return json(detail);
    });
    const client = new ApiClient({ baseUrl: 'http://n', token: 'tok', fetch });
    await expect(client.getBuild('b1')).resolves.toEqual(detail);
    await expect(client.submitBuild({ repositoryUrl: 'x' })).resolves.toEqual({ executionId: 'b2' });
    await expect(client.cancelBuild('b1')).resolves.toMatchObject({ status: 'Cancelling' });
    await expect(client.listSolutions('file:///r.git', 'main')).resolves.toMatchObject({
      solutions: ['A.sln'],
    });
    expect(calls.map((call) => `${call.init?.method} ${call.url}`)).toEqual([
      'GET http://n/api/v1/builds/b1',
      'POST http://n/api/v1/builds',
      'POST http://n/api/v1/builds/b1/cancel',
      'GET http://n/api/v1/repositories/solutions?repositoryUrl=file%3A%2F%2F%2Fr.git&gitRef=main',
    ]);
    expect(calls[1]?.init?.body).toBe('{"repositoryUrl":"x"}');
    expect(new Headers(calls[1]?.init?.headers).get('Content-Type')).toBe('application/json');
    expect(calls.every((call) => new Headers(call.init?.headers).get('Authorization') === 'Bearer tok')).toBe(
      true,
    );
    expect(client.withToken('other').authHeaders()).toEqual({ Authorization: 'Bearer other' });
    expect(client.withToken(null).authHeaders()).toEqual({});
  });

  it("keeps a 400's field details, and reports a 401 so the UI can ask for a token", async () => {
    let unauthorized = 0;
    const details = [{ field: 'repositoryUrl', message: 'must be an absolute git URL' }];
    const bad = fakeFetch(() =>
      json({ error: 'Bad Request', message: 'One or more validation errors occurred', details }, 400),
    );
    const error = await new ApiClient({ baseUrl: '', token: null, fetch: bad.fetch })
      .submitBuild({})
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, details });

    const refused = fakeFetch(() =>
      json({ error: 'Unauthorized', message: 'Authentication required', details: [] }, 401),
    );
    const client = new ApiClient({
      baseUrl: '',
      token: 'old',
      fetch: refused.fetch,
      onUnauthorized: () => unauthorized++,
    });
    await expect(client.listBuilds()).rejects.toMatchObject({ status: 401 });
    client.reportUnauthorized();
    expect(unauthorized).toBe(2);
  });

  it('downloads an artifact as a blob with the token, and rejects odd answers', async () => {
    const { fetch, calls } = fakeFetch((url) =>
      url.includes('missing')
        ? json({ error: 'Not Found', message: 'Artifact not found', details: [] }, 404)
        : new Response('PK\u0003\u0004', { status: 200 }),
    );
    const client = new ApiClient({ baseUrl: 'http://n', token: 'tok', fetch });
    const blob = await client.downloadArtifact('/api/v1/artifacts/a1/download');
    expect(await blob.text()).toBe('PK\u0003\u0004');
    expect(new Headers(calls[0]?.init?.headers).get('Authorization')).toBe('Bearer tok');
    await expect(client.downloadArtifact('/api/v1/artifacts/missing/download')).rejects.toMatchObject({
      status: 404,
      message: 'The node answered 404: Artifact not found',
    });
    const odd = new ApiClient({ baseUrl: '', token: null, fetch: fakeFetch(() => json({ nope: 1 })).fetch });
    await expect(odd.getBuild('x')).rejects.toMatchObject({ code: 'ApiResponseInvalid' });
    await expect(odd.submitBuild({})).rejects.toMatchObject({ code: 'ApiResponseInvalid' });
    await expect(odd.cancelBuild('x')).rejects.toMatchObject({ code: 'ApiResponseInvalid' });
    await expect(odd.listSolutions('u', 'r')).rejects.toMatchObject({ code: 'ApiResponseInvalid' });
  });
});
