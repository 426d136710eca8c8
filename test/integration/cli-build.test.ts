import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import { removeDir, startTestNode, type TestNode, apiFetch } from '../helpers/node-harness.js';
import { runCliInProcess as runCli, startCliInProcess } from '../helpers/cli-in-process.js';
import { waitFor } from '../helpers/node-harness.js';

describe('buildmesh build --wait', () => {
  let root: string;
  let node: TestNode;
  let slnx: GeneratedRepo;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-cli-'));
    slnx = await generateSolutionRepo({ root, width: 1, depth: 2, variant: 'slnx', name: 'slnx' });
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.stop();
    await removeDir(root);
    await removeDir(node.dataDir);
  });

  it('builds a .slnx solution from a tag, prints each stage and the test summary, and exits 0', async () => {
    expect(slnx.solutionPath).toMatch(/\.slnx$/);
    const result = await runCli([
      'build',
      slnx.repositoryUrl,
      '--ref',
      slnx.tag,
      '--solution',
      slnx.solutionPath,
      '--strategy',
      'clean',
      '--wait',
      '--api',
      node.url,
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    for (const stage of ['Clone', 'Restore', 'Build', 'Test', 'Package', 'Upload']) {
      expect(result.stdout).toMatch(new RegExp(`✓ ${stage}\\s+Succeeded`));
    }
    expect(result.stdout).toContain(`tests: ${slnx.testCount} total, ${slnx.testCount} passed, 0 failed`);
    expect(result.stdout).toContain(`commit: ${slnx.headCommit}`);
    expect(result.stdout).toMatch(/App-net10\.0-publish\.tar\.gz\s+\d+ bytes\s+sha256 [0-9a-f]{64}/);
    expect(result.stdout).toContain('Build Succeeded');

    // The build's events replay from the node's buffer, end after its terminal status, and resume after Last-Event-ID.
    const executionId = /Build (\S+) queued/.exec(result.stdout)?.[1];
    const replay = await (await apiFetch(`${node.url}/api/v1/builds/${executionId}/events`)).text();
    const events = [...replay.matchAll(/id: (\d+)\nevent: (\w+)\ndata: (.*)\n/g)].map((m) => ({
      id: Number(m[1]),
      type: m[2],
      data: JSON.parse(m[3]!) as Record<string, unknown>,
    }));
    const statuses = events.filter((e) => e.type === 'status').map((e) => e.data.status);
    // One status event per change of status or current stage.
    expect(statuses.filter((status, i) => status !== statuses[i - 1])).toEqual([
      'Queued',
      'Running',
      'Succeeded',
    ]);
    expect(events.filter((e) => e.type === 'status').map((e) => e.data.currentStage)).toEqual(
      expect.arrayContaining(['Clone', 'Restore', 'Build', 'Test', 'Package', 'Upload']),
    );
    expect(events.some((e) => e.type === 'stage')).toBe(true);
    expect(
      events.some((e) => e.type === 'log' && String(e.data.message).includes('Build completed successfully')),
    ).toBe(true);
    const middle = events[Math.floor(events.length / 2)]!.id;
    const resumed = await (
      await apiFetch(`${node.url}/api/v1/builds/${executionId}/events`, {
        headers: { 'last-event-id': String(middle) },
      })
    ).text();
    const resumedIds = [...resumed.matchAll(/id: (\d+)/g)].map((m) => Number(m[1]));
    expect(resumedIds[0]).toBe(middle + 1);
    expect(resumedIds.every((id) => id > middle)).toBe(true);
  });

  it('streams all events with a heartbeat comment while quiet', async () => {
    const controller = new AbortController();
    const response = await apiFetch(`${node.url}/api/v1/events`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    let text = '';
    const deadline = Date.now() + 5000;
    while (!text.includes(': heartbeat') && Date.now() < deadline) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    expect(text).toContain(': heartbeat');
    expect(
      (await apiFetch(`${node.url}/api/v1/builds/00000000-0000-4000-8000-000000000000/events`)).status,
    ).toBe(404);
  });

  it('explains a rejected request field by field and exits 2', async () => {
    const result = await runCli([
      'build',
      'not-a-url',
      '--ref=--bad',
      '--solution',
      'X.sln',
      '--api',
      node.url,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Request rejected (400 Validation Failed)');
    expect(result.stderr).toContain('repositoryUrl: must be an absolute git URL');
  });

  it('says when the node cannot be reached', async () => {
    const result = await runCli([
      'build',
      slnx.repositoryUrl,
      '--ref',
      'main',
      '--solution',
      'X.sln',
      '--api',
      'http://127.0.0.1:9',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Cannot reach the node at http://127.0.0.1:9');
  });

  it('prints usage for help and unknown commands', async () => {
    expect((await runCli(['help'])).stdout).toContain('Usage:');
    expect((await runCli(['build', '--help'])).stdout).toContain('--solution <path>');
    expect((await runCli(['node', '--help'])).stdout).toContain('BUILDMESH_API_PORT');
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown command "frobnicate"');
    expect((await runCli(['build', 'x'])).stderr).toContain('Missing --ref, --solution');
    expect(
      (await runCli(['build', 'x', '--ref', 'main', '--solution', 'A.sln', '-p', 'novalue'])).stderr,
    ).toContain('Key=Value');
  });
});

describe('buildmesh node', () => {
  it('lists every config problem and exits 2', async () => {
    const result = await runCli([
      'node',
      '--api-port',
      '99999',
      '--log-level',
      'loud',
      '--data-dir',
      tmpdir(),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('apiPort:');
    expect(result.stderr).toContain('(from flag --api-port)');
    expect(result.stderr).toContain('logLevel:');
  });

  it('starts, prints where it listens, and stops on SIGINT', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'buildmesh-cli-node-'));
    const run = startCliInProcess(['node', '--data-dir', dataDir, '--port', '0', '--log-level', 'silent']);
    try {
      const url = await waitFor(
        'the node to listen',
        () => Promise.resolve(/listening on (http:\/\/\S+)/.exec(run.stdout.join('\n'))?.[1] ?? null),
        30_000,
      );
      expect((await apiFetch(`${url}/health`)).status).toBe(200);
      process.emit('SIGINT');
      expect(await run.done).toBe(0);
    } finally {
      run.restore();
      await removeDir(dataDir);
    }
  });
});
