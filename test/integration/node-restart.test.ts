import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import {
  api,
  removeDir,
  waitForBuild,
  waitForDotnetBuildPid,
  type BuildBody,
  apiFetch,
} from '../helpers/node-harness.js';
import { startNodeProcess, type NodeProcess } from '../helpers/node-process.js';
import { processGroupMembers } from '../helpers/processes.js';

describe('builds survive a crash of the node process', () => {
  let root: string;
  let dataDir: string;
  let repo: GeneratedRepo;
  let nodeProcess: NodeProcess | undefined;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-restart-'));
    dataDir = join(root, 'data');
    repo = await generateSolutionRepo({ root, width: 3, depth: 2, testProjects: false });
  });
  afterAll(async () => {
    nodeProcess?.child.kill('SIGKILL');
    await removeDir(root);
  });

  it('marks the running build Failed with the reason, keeps every build listed and runs the queued one', async () => {
    nodeProcess = await startNodeProcess(dataDir);
    const body = {
      repositoryUrl: repo.repositoryUrl,
      gitRef: 'main',
      solutionPath: repo.solutionPath,
      publishArtifacts: false,
    };
    const first = await api<{ executionId: string }>(nodeProcess.url, 'POST', '/api/v1/builds', body);
    const second = await api<{ executionId: string; queuePosition: number }>(
      nodeProcess.url,
      'POST',
      '/api/v1/builds',
      body,
    );
    expect(second.body.queuePosition).toBe(1); // the first one is already running

    const url = nodeProcess.url;
    const buildPid = await waitForDotnetBuildPid(url, first.body.executionId);
    nodeProcess.child.kill('SIGKILL');
    await new Promise((resolve) => nodeProcess!.child.once('exit', resolve));
    // The crashed node could not stop its build; do it for it so the machine stays quiet.
    for (const pid of processGroupMembers(buildPid)) process.kill(pid, 'SIGKILL');

    nodeProcess = await startNodeProcess(dataDir);
    const list = await api<{ builds: { executionId: string }[]; totalCount: number }>(
      nodeProcess.url,
      'GET',
      '/api/v1/builds',
    );
    expect(list.body.totalCount).toBe(2);
    expect(list.body.builds.map((b) => b.executionId)).toEqual([
      second.body.executionId,
      first.body.executionId,
    ]);

    const interrupted = await api<BuildBody>(
      nodeProcess.url,
      'GET',
      `/api/v1/builds/${first.body.executionId}`,
    );
    expect(interrupted.body.status).toBe('Failed');
    expect(interrupted.body.errorMessage).toBe(
      'The node stopped while this build was running (during Build); the build did not complete',
    );
    expect(interrupted.body.stages.find((s) => s.name === 'Build')?.status).toBe('Failed');
    const oldLog = await (
      await apiFetch(`${nodeProcess.url}/api/v1/builds/${first.body.executionId}/logs`)
    ).text();
    expect(oldLog).toContain('dotnet build started');
    expect(oldLog).toContain('The node stopped while this build was running');

    const resumed = await waitForBuild(nodeProcess.url, second.body.executionId);
    expect(resumed.status, resumed.errorMessage ?? '').toBe('Succeeded');
  });
});
