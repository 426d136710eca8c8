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
});
