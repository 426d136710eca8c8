import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import {
  api,
  removeDir,
  startTestNode,
  waitFor,
  waitForBuild,
  waitForDotnetBuildPid,
  type BuildBody,
  type TestNode,
  apiFetch,
} from '../helpers/node-harness.js';
import { startNodeProcess, type NodeProcess } from '../helpers/node-process.js';
import { processGroupMembers } from '../helpers/processes.js';

interface AgentBody {
  agentId: string;
  status: string;
  isLocal: boolean;
  capabilities: { installedSdks: string[] };
}

interface MeshBuildBody extends BuildBody {
  attempts: { attempt: number; agentId: string; outcome: string; reason: string | null }[];
  queueReason: string | null;
}

async function agentsSeenBy(url: string): Promise<AgentBody[]> {
  return (await api<{ agents: AgentBody[] }>(url, 'GET', '/api/v1/agents')).body.agents;
}

async function agentIdOf(url: string): Promise<string> {
  return (await agentsSeenBy(url)).find((agent) => agent.isLocal)?.agentId ?? '';
}

describe('three nodes on 127.0.0.1 form one build farm', () => {
  let root: string;
  let repo: GeneratedRepo;
  let a: TestNode;
  const processes: NodeProcess[] = [];
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-mesh-'));
    repo = await generateSolutionRepo({ root, width: 2, depth: 2, variant: 'packable', name: 'meshrepo' });
    a = await startTestNode({ dataDir: join(root, 'a') });
    ids.a = a.node.agentId;
    const joinCode = await runCliInProcess(['mesh', 'join-code', '--data-dir', join(root, 'a')]);
    expect(joinCode.code, joinCode.stderr).toBe(0);
    for (const name of ['b', 'c']) {
      const started = await startNodeProcess(join(root, name), ['--join', joinCode.stdout.trim()]);
      processes.push(started);
      ids[name] = await agentIdOf(started.url);
    }
    await waitFor(
      'node A to see B and C idle',
      async () => {
        const agents = await agentsSeenBy(a.url);
        return agents.filter((agent) => agent.status === 'Idle').length === 3;
      },
      60_000,
    );
  });

  afterAll(async () => {
    for (const started of processes) started.child.kill('SIGKILL');
    await a?.stop();
    await removeDir(root);
  });

  it('runs a build POSTed to A on B because A and C are in Maintenance, with real results and artifacts', async () => {
    expect((await api(a.url, 'POST', `/api/v1/agents/${ids.a}/maintenance`)).status).toBe(200);
    expect((await api<AgentBody>(a.url, 'POST', `/api/v1/agents/${ids.c}/maintenance`)).body.status).toBe(
      'Maintenance',
    );
    try {
      const submitted = await api<{ executionId: string }>(a.url, 'POST', '/api/v1/builds', {
        repositoryUrl: repo.repositoryUrl,
        gitRef: 'main',
        solutionPath: repo.solutionPath,
        createPackages: true,
      });
      expect(submitted.status).toBe(202);
      const build = (await waitForBuild(a.url, submitted.body.executionId)) as MeshBuildBody;
      expect(build.status, build.errorMessage ?? '').toBe('Succeeded');
      expect(build.agent?.agentId).toBe(ids.b);
      expect(build.attempts.map((attempt) => `${attempt.agentId}:${attempt.outcome}`)).toEqual([
        `${ids.b}:Succeeded`,
      ]);
      expect(build.resolvedCommit).toBe(repo.headCommit);
      expect(build.testResults).toMatchObject({ total: repo.testCount, passed: repo.testCount, failed: 0 });
      expect(build.artifacts.filter((artifact) => artifact.name.endsWith('.nupkg'))).toHaveLength(
        repo.libraryProjects.length,
      );
      for (const artifact of build.artifacts) {
        const bytes = Buffer.from(await (await apiFetch(`${a.url}${artifact.downloadUrl}`)).arrayBuffer());
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(artifact.sha256Hash);
      }
      const log = await (await apiFetch(`${a.url}/api/v1/builds/${build.executionId}/logs`)).text();
      expect(log).toContain(`Fetched the sources of commit ${repo.headCommit}`);
      expect(log).toContain('Build completed successfully');
    } finally {
      await api(a.url, 'DELETE', `/api/v1/agents/${ids.c}/maintenance`);
    }
  });

  it('cancels a build on a remote peer, killing its dotnet processes there', async () => {
    const submitted = await api<{ executionId: string }>(a.url, 'POST', '/api/v1/builds', {
      repositoryUrl: repo.repositoryUrl,
      gitRef: 'main',
      solutionPath: repo.solutionPath,
    });
    const id = submitted.body.executionId;
    const remotePid = await waitForDotnetBuildPid(a.url, id);
    const build = (await api<MeshBuildBody>(a.url, 'GET', `/api/v1/builds/${id}`)).body;
    expect([ids.b, ids.c]).toContain(build.attempts[0]?.agentId);
    expect((await api(a.url, 'POST', `/api/v1/builds/${id}/cancel`)).body).toMatchObject({
      status: 'Cancelling',
    });
    const cancelled = (await waitForBuild(a.url, id, 60_000)) as MeshBuildBody;
    expect(cancelled.status).toBe('Cancelled');
    expect(cancelled.stages.find((stage) => stage.name === 'Build')?.status).toBe('Cancelled');
    // The peers run on this machine, so the remote build's process group is visible here.
    await waitFor(
      'the remote build process group to be gone',
      () => Promise.resolve(processGroupMembers(remotePid).length === 0),
      15_000,
    );
  });

  it('finishes a build on the third peer when the executing peer is killed, and records the lost attempt', async () => {
    const submitted = await api<{ executionId: string }>(a.url, 'POST', '/api/v1/builds', {
      repositoryUrl: repo.repositoryUrl,
      gitRef: 'main',
      solutionPath: repo.solutionPath,
      strategy: 'Clean',
    });
    const id = submitted.body.executionId;
    const victim = await waitFor(
      'the build to reach dotnet build on a peer',
      async () => {
        const build = (await api<MeshBuildBody>(a.url, 'GET', `/api/v1/builds/${id}`)).body;
        const log = await (await apiFetch(`${a.url}/api/v1/builds/${id}/logs?follow=false`)).text();
        return build.attempts[0] && log.includes('dotnet build started') ? build.attempts[0].agentId : null;
      },
      120_000,
      100,
    );
    const victimProcess = processes[victim === ids.b ? 0 : 1]!;
    victimProcess.child.kill('SIGKILL');

    const build = (await waitForBuild(a.url, id)) as MeshBuildBody;
    expect(build.status, build.errorMessage ?? '').toBe('Succeeded');
    const survivor = victim === ids.b ? ids.c : ids.b;
    expect(
      build.attempts.map((attempt) => `${attempt.attempt}:${attempt.agentId}:${attempt.outcome}`),
    ).toEqual([`1:${victim}:Lost`, `2:${survivor}:Succeeded`]);
    expect(build.attempts[0]?.reason).toMatch(/lost|silent|reach/i);
    expect(build.testResults?.passed).toBe(repo.testCount);
  });

  it('keeps out a node with another mesh key', async () => {
    const bootstrap = a.node.meshAddresses[0]!;
    const outsider = await startNodeProcess(join(root, 'outsider'), ['--mesh-bootstrap', bootstrap]);
    processes.push(outsider);
    const outsiderId = await agentIdOf(outsider.url);
    // Give presence several announce intervals to (not) arrive.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await agentsSeenBy(a.url)).map((agent) => agent.agentId)).not.toContain(outsiderId);
    expect((await agentsSeenBy(outsider.url)).map((agent) => agent.agentId)).toEqual([outsiderId]);
  });

  it('joins with a join code, and never gives a .NET build to a peer without an SDK', async () => {
    const code = await runCliInProcess(['mesh', 'join-code', '--data-dir', join(root, 'a')]);
    expect(code.code, code.stderr).toBe(0);
    // A PATH with git but no dotnet: this peer detects and advertises no SDK.
    const bin = join(root, 'no-dotnet-bin');
    await mkdir(bin, { recursive: true });
    await symlink('/usr/bin/git', join(bin, 'git'));
    const noSdk = await startNodeProcess(join(root, 'nosdk'), ['--join', code.stdout.trim()], { PATH: bin });
    processes.push(noSdk);
    const noSdkId = await agentIdOf(noSdk.url);
    await waitFor(
      'A to see the SDK-less peer',
      async () => (await agentsSeenBy(a.url)).some((agent) => agent.agentId === noSdkId),
      30_000,
    );
    const seen = (await agentsSeenBy(a.url)).find((agent) => agent.agentId === noSdkId);
    expect(seen?.capabilities.installedSdks).toEqual([]);

    // Only the SDK-less peer is free: the build waits, saying why.
    const others = (await agentsSeenBy(a.url)).filter(
      (agent) => agent.agentId !== noSdkId && agent.agentId !== ids.a,
    );
    for (const agent of others) await api(a.url, 'POST', `/api/v1/agents/${agent.agentId}/maintenance`);
    const submitted = await api<{ executionId: string }>(a.url, 'POST', '/api/v1/builds', {
      repositoryUrl: repo.repositoryUrl,
      gitRef: 'main',
      solutionPath: repo.solutionPath,
    });
    const waiting = await waitFor(
      'the queue reason',
      async () => {
        const build = (await api<MeshBuildBody>(a.url, 'GET', `/api/v1/builds/${submitted.body.executionId}`))
          .body;
        return build.queueReason ? build : null;
      },
      20_000,
    );
    expect(waiting.status).toBe('Queued');
    expect(waiting.queueReason).toMatch(
      /^every capable peer is in Maintenance.*; 1 free peer cannot build it \(no suitable \.NET SDK\)$/,
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(
      (await api<MeshBuildBody>(a.url, 'GET', `/api/v1/builds/${submitted.body.executionId}`)).body.status,
    ).toBe('Queued');
    expect(
      (await api(a.url, 'POST', `/api/v1/builds/${submitted.body.executionId}/cancel`)).body,
    ).toMatchObject({ status: 'Cancelled' });

    // Forgetting a peer bans it until it is re-admitted.
    expect((await api(a.url, 'DELETE', `/api/v1/agents/${noSdkId}`)).status).toBe(204);
    expect((await agentsSeenBy(a.url)).map((agent) => agent.agentId)).not.toContain(noSdkId);
    expect((await api(a.url, 'GET', `/api/v1/agents/${noSdkId}`)).status).toBe(404);
    expect((await api(a.url, 'POST', `/api/v1/agents/${noSdkId}/admit`)).status).toBe(204);
    await waitFor(
      'the re-admitted peer to be seen again',
      async () => (await agentsSeenBy(a.url)).some((agent) => agent.agentId === noSdkId),
      60_000,
    );
    expect((await api(a.url, 'DELETE', `/api/v1/agents/${ids.a}`)).status).toBe(404);
  });
});
