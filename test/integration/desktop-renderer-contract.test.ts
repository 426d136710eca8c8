// The desktop and browser UI against the real node: what the preload hands over, and what the
// renderer's API client reads, must match what main sends and what the API serves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiBaseUrlArgument } from '../../src/main/api-base-url-argument.js';
import { readApiBaseUrl } from '../../src/preload/api-base-url-argument.js';
import { ApiClient } from '../../src/renderer/src/api-client.js';
import { api, removeDir, startTestNode, waitFor, type TestNode } from '../helpers/node-harness.js';

describe('desktop bridge', () => {
  it('the preload reads back the API URL main puts on the renderer command line', () => {
    const argv = [
      '/opt/Build Mesh/build-mesh',
      '--type=renderer',
      apiBaseUrlArgument('http://127.0.0.1:5000'),
    ];
    expect(readApiBaseUrl(argv)).toBe('http://127.0.0.1:5000');
  });
});

describe('renderer API client against a real node', () => {
  let node: TestNode;
  let client: ApiClient;

  beforeAll(async () => {
    node = await startTestNode();
    client = ApiClient.forBridge({ apiBaseUrl: node.url, token: node.node.issueToken('Developer', 600) });
  });
  afterAll(async () => {
    await node.stop();
    await removeDir(node.dataDir);
  });

  it('lists this machine as a peer with what the Peers table shows', async () => {
    const peers = await client.listAgents();
    expect(peers).toHaveLength(1);
    const [peer] = peers;
    expect(peer).toMatchObject({ agentId: node.node.agentId, isLocal: true, status: 'Idle' });
    expect(peer?.hostname).toBeTypeOf('string');
    expect(peer?.cpuUsage).toBeTypeOf('number');
    expect(peer?.memoryUsage).toBeTypeOf('number');
    expect(['linux', 'windows', 'macos', 'other']).toContain(peer?.capabilities.os);
    expect(Array.isArray(peer?.capabilities.installedSdks)).toBe(true);
  });

  it('starts with no builds, then lists a submitted one with the Builds table fields', async () => {
    await expect(client.listBuilds()).resolves.toMatchObject({ builds: [], totalCount: 0 });

    const submitted = await api(node.url, 'POST', '/api/v1/builds', {
      projectName: 'Missing.Repo',
      repositoryUrl: `file://${node.dataDir}/no-such-repo.git`,
      gitRef: 'main',
      solutionPath: 'App.sln',
      requesterEmail: 'ana@contoso.dev',
    });
    expect(submitted.status).toBe(202);

    const page = await waitFor('the build to fail', async () => {
      const current = await client.listBuilds({ pageSize: 5 });
      return current.builds[0]?.status === 'Failed' ? current : null;
    });
    expect(page.totalCount).toBe(1);
    const [row] = page.builds;
    expect(row).toMatchObject({
      projectName: 'Missing.Repo',
      strategy: 'Incremental',
      status: 'Failed',
      requesterEmail: 'ana@contoso.dev',
    });
    expect(row?.duration).toMatch(/^PT/);
    expect(row?.errorMessage).toBeTypeOf('string');
  });

  it('turns an API error into the message the screen shows', async () => {
    const tooBig = client.listBuilds({ pageSize: 500 });
    await expect(tooBig).rejects.toMatchObject({ code: 'ApiErrorResponse', status: 400 });
  });

  it('reports a stopped node as unreachable', async () => {
    const gone = ApiClient.forBridge({ apiBaseUrl: 'http://127.0.0.1:9', token: null });
    await expect(gone.listAgents()).rejects.toMatchObject({ code: 'ApiUnreachable' });
  });
});
