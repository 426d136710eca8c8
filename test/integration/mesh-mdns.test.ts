import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintTokenFromDataDir } from '../../src/host/jwt-secret.js';
import { createSwarmKey, writeSwarmKey } from '../../src/mesh/swarm-key.js';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import { removeDir, waitFor } from '../helpers/node-harness.js';
import { TestLan } from '../helpers/netns.js';

const CLI = fileURLToPath(new URL('../../src/host/cli.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const API_PORT = '5080';

/**
 * mDNS discovery on a LAN of network namespaces the test creates (never the machine's own
 * interfaces): three nodes with the same mesh key and no bootstrap addresses find each other
 * and run a build for one another. Needs root and iproute2, as CI has; it fails without them.
 */
describe('mDNS discovery in network namespaces', () => {
  let lan: TestLan;
  let root: string;
  let repo: GeneratedRepo;
  const nodes: { namespace: string; child: ChildProcess; agentId: string; token: string }[] = [];

  async function nsApi<T>(namespace: string, method: string, path: string, body?: unknown): Promise<T> {
    const token = nodes.find((node) => node.namespace === namespace)?.token ?? '';
    const args = [
      '-s',
      '-X',
      method,
      '-H',
      `authorization: Bearer ${token}`,
      `http://127.0.0.1:${API_PORT}${path}`,
    ];
    if (body !== undefined)
      args.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(body));
    return JSON.parse(await lan.exec(namespace, 'curl', args)) as T;
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-mdns-'));
    repo = await generateSolutionRepo({ root, width: 1, depth: 2, name: 'mdnsrepo', app: false });
    lan = await TestLan.create(3);
    const swarmKey = createSwarmKey();
    for (const host of lan.hosts) {
      const dataDir = join(root, host.namespace);
      await writeSwarmKey(dataDir, swarmKey);
      const child = spawn(
        'ip',
        [
          'netns',
          'exec',
          host.namespace,
          process.execPath,
          '--import',
          'tsx',
          CLI,
          'node',
          '--data-dir',
          dataDir,
          '--api-port',
          API_PORT,
          '--mesh-listen',
          '/ip4/0.0.0.0/tcp/4101',
          '--mesh-mdns',
          'true',
          '--presence-interval-ms',
          '500',
          '--log-level',
          'warn',
        ],
        { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const agentId = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`node in ${host.namespace} did not start`)), 60_000);
        createInterface({ input: child.stdout }).on('line', (line) => {
          const match = /Build Mesh node (\S+) listening/.exec(line);
          if (match?.[1]) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        child.once('exit', (code) => reject(new Error(`node in ${host.namespace} exited with ${code}`)));
      });
      // The node wrote its token secret before it listened; the test acts as Admin, like `token create`.
      const minted = await mintTokenFromDataDir(dataDir, 'Admin', 3600, 'test');
      if (!minted) throw new Error(`node in ${host.namespace} left no JWT secret in ${dataDir}`);
      nodes.push({ namespace: host.namespace, child, agentId, token: minted.token });
    }
  });

  afterAll(async () => {
    for (const node of nodes) node.child.kill('SIGKILL');
    await lan?.destroy();
    await removeDir(root);
  });

  it('finds every peer without bootstrap addresses and runs a build on another one', async () => {
    const [first] = nodes;
    if (!first) throw new Error('no nodes started');
    for (const node of nodes) {
      await waitFor(
        `${node.namespace} to discover the other two`,
        async () => {
          const { agents } = await nsApi<{ agents: { agentId: string; status: string }[] }>(
            node.namespace,
            'GET',
            '/api/v1/agents',
          );
          return agents.filter((agent) => agent.status === 'Idle').length === 3;
        },
        30_000,
      );
    }

    await nsApi(first.namespace, 'POST', `/api/v1/agents/${first.agentId}/maintenance`);
    const submitted = await nsApi<{ executionId: string }>(first.namespace, 'POST', '/api/v1/builds', {
      repositoryUrl: repo.repositoryUrl,
      gitRef: 'main',
      solutionPath: repo.solutionPath,
      publishArtifacts: false,
    });
    const build = await waitFor(
      'the build to finish',
      async () => {
        const body = await nsApi<{
          status: string;
          agent: { agentId: string } | null;
          errorMessage: string | null;
          testResults: { passed: number } | null;
        }>(first.namespace, 'GET', `/api/v1/builds/${submitted.executionId}`);
        return ['Succeeded', 'Failed', 'Cancelled', 'TimedOut'].includes(body.status) ? body : null;
      },
      240_000,
      1000,
    );
    expect(build.status, build.errorMessage ?? '').toBe('Succeeded');
    expect(nodes.slice(1).map((node) => node.agentId)).toContain(build.agent?.agentId);
    expect(build.testResults?.passed).toBe(repo.testCount);
  });
});
