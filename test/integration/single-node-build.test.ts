import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
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
import { processGroupMembers } from '../helpers/processes.js';

const LOG_LINE = /^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\] (INFO|WARN|ERROR): /;

describe('a single node builds, tests and packs a real .NET solution', () => {
  let root: string;
  let node: TestNode;
  let packable: GeneratedRepo;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-single-'));
    packable = await generateSolutionRepo({
      root,
      width: 2,
      depth: 2,
      variant: 'packable',
      name: 'packable',
    });
    node = await startTestNode();
  });

  afterAll(async () => {
    await node?.stop();
    await removeDir(root);
    await removeDir(node?.dataDir ?? '');
  });

  it('runs every stage, reports real test counts and stores artifacts whose sha256 matches the download', async () => {
    expect(packable.projectCount).toBeGreaterThanOrEqual(6);
    const submitted = await api<{
      executionId: string;
      status: string;
      queuePosition: number;
      links: { self: string };
    }>(node.url, 'POST', '/api/v1/builds', {
      job: {
        projectName: 'Packable',
        repositoryUrl: packable.repositoryUrl,
        gitRef: 'refs/heads/main',
        solutionPath: packable.solutionPath,
        createPackages: true,
        requesterEmail: 'dev@example.com',
      },
      strategy: 'Clean',
    });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ status: 'Queued', queuePosition: 1 });
    expect(submitted.headers.get('location')).toBe(submitted.body.links.self);

    // A GET straight after the POST never 404s.
    const immediately = await api<BuildBody>(node.url, 'GET', submitted.body.links.self);
    expect(immediately.status).toBe(200);
    expect(['Queued', 'Running']).toContain(immediately.body.status);

    const build = await waitForBuild(node.url, submitted.body.executionId);
    expect(build.status, build.errorMessage ?? '').toBe('Succeeded');
    expect(build.resolvedCommit).toBe(packable.headCommit);
    for (const stage of build.stages) {
      expect(stage.status, stage.name).toBe('Succeeded');
      expect(stage.startTime).not.toBeNull();
      expect(stage.endTime).not.toBeNull();
      expect(stage.duration).toMatch(/^PT/);
    }
    expect(build.testResults).toMatchObject({
      total: packable.testCount,
      passed: packable.testCount,
      failed: 0,
    });
    expect(build.agent?.agentId).toBe(node.node.agentId);

    const names = build.artifacts.map((artifact) => artifact.name);
    expect(names.filter((name) => name.endsWith('.nupkg')).length).toBe(packable.libraryProjects.length);
    expect(names).toContain('App-net10.0-publish.tar.gz');
    for (const artifact of build.artifacts) {
      const download = await apiFetch(`${node.url}${artifact.downloadUrl}`);
      expect(download.status).toBe(200);
      const bytes = Buffer.from(await download.arrayBuffer());
      expect(bytes.length).toBe(artifact.sizeBytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(artifact.sha256Hash);
      expect(download.headers.get('x-checksum-sha256')).toBe(artifact.sha256Hash);
    }

    const listed = await api<{ artifacts: unknown[] }>(
      node.url,
      'GET',
      `/api/v1/builds/${build.executionId}/artifacts`,
    );
    expect(listed.body.artifacts).toHaveLength(build.artifacts.length);

    const logs = await apiFetch(`${node.url}/api/v1/builds/${build.executionId}/logs`);
    expect(logs.headers.get('content-type')).toContain('text/plain');
    const lines = (await logs.text()).trimEnd().split('\n');
    expect(lines.every((line) => LOG_LINE.test(line))).toBe(true);
    expect(lines.some((line) => line.includes(`Checked out commit ${packable.headCommit}`))).toBe(true);
    expect(lines.some((line) => line.includes('Build completed successfully'))).toBe(true);

    const list = await api<{ builds: { executionId: string }[]; totalCount: number }>(
      node.url,
      'GET',
      '/api/v1/builds',
    );
    expect(list.body.builds[0]?.executionId).toBe(build.executionId);
  });

  it('fails a build whose tests fail, naming the failed test', async () => {
    const failing = await generateSolutionRepo({
      root,
      width: 2,
      depth: 1,
      variant: 'failing-test',
      name: 'failing',
      app: false,
    });
    const submitted = await api<{ executionId: string }>(node.url, 'POST', '/api/v1/builds', {
      repositoryUrl: failing.repositoryUrl,
      gitRef: 'main',
      solutionPath: failing.solutionPath,
      publishArtifacts: false,
    });
    const build = await waitForBuild(node.url, submitted.body.executionId);
    expect(build.status).toBe('Failed');
    expect(build.testResults?.failed).toBe(1);
    expect(build.testResults?.passed).toBe(failing.testCount - 1);
    expect(build.testResults?.failures[0]?.name).toBe(failing.failingTestName);
    expect(build.testResults?.failures[0]?.message).not.toBe('');
    expect(build.stages.find((stage) => stage.name === 'Test')?.status).toBe('Failed');
    expect(build.errorMessage).toContain(failing.failingTestName);
  });

  it('fails a build that does not compile, with the CS error code and file', async () => {
    const broken = await generateSolutionRepo({
      root,
      width: 1,
      depth: 2,
      variant: 'compile-error',
      name: 'broken',
      app: false,
    });
    const submitted = await api<{ executionId: string }>(node.url, 'POST', '/api/v1/builds', {
      repositoryUrl: broken.repositoryUrl,
      gitRef: 'main',
      solutionPath: broken.solutionPath,
    });
    const build = await waitForBuild(node.url, submitted.body.executionId);
    expect(build.status).toBe('Failed');
    const stages = Object.fromEntries(build.stages.map((stage) => [stage.name, stage.status]));
    expect(stages).toMatchObject({
      Clone: 'Succeeded',
      Restore: 'Succeeded',
      Build: 'Failed',
      Test: 'Skipped',
      Package: 'Skipped',
      Upload: 'Skipped',
    });
    const error = build.diagnostics.find((d) => d.severity === 'error');
    expect(error).toMatchObject({ code: 'CS1002', file: broken.compileErrorFile });
    expect(build.errors[0]).toContain('CS1002');
    expect(build.errorMessage).toContain('CS1002');
    expect(build.errorMessage).toContain(broken.compileErrorFile);
  });

  it('cancels a build in the middle of Build and leaves none of its dotnet processes behind', async () => {
    const wide = await generateSolutionRepo({ root, width: 4, depth: 3, name: 'wide', testProjects: false });
    const submitted = await api<{ executionId: string }>(node.url, 'POST', '/api/v1/builds', {
      repositoryUrl: wide.repositoryUrl,
      gitRef: 'main',
      solutionPath: wide.solutionPath,
    });
    const id = submitted.body.executionId;
    const buildPid = await waitForDotnetBuildPid(node.url, id);
    expect(processGroupMembers(buildPid).length).toBeGreaterThan(0);

    const cancel = await api<{ status: string }>(node.url, 'POST', `/api/v1/builds/${id}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('Cancelling');

    const build = await waitForBuild(node.url, id, 60_000);
    expect(build.status).toBe('Cancelled');
    const stages = Object.fromEntries(build.stages.map((stage) => [stage.name, stage.status]));
    expect(stages).toMatchObject({
      Build: 'Cancelled',
      Test: 'Skipped',
      Package: 'Skipped',
      Upload: 'Skipped',
    });
    await waitFor(
      'the build process group to be gone',
      () => Promise.resolve(processGroupMembers(buildPid).length === 0),
      10_000,
    );

    const again = await api(node.url, 'POST', `/api/v1/builds/${id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'Conflict' });
  });

  it('serves /metrics whose counters match the builds run above', async () => {
    const response = await apiFetch(`${node.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    };
    // Above: one Clean build that succeeded; a failing-test, a compile-error and a cancelled Incremental build.
    expect(value('builds_started_total{strategy="Clean"}')).toBe(1);
    expect(value('builds_started_total{strategy="Incremental"}')).toBe(3);
    expect(value('builds_completed_total{status="Succeeded",strategy="Clean"}')).toBe(1);
    expect(value('builds_completed_total{status="Failed",strategy="Incremental"}')).toBe(2);
    expect(value('builds_completed_total{status="Cancelled",strategy="Incremental"}')).toBe(1);
    expect(value('builds_failed_total{strategy="Incremental"}')).toBe(2);
    expect(value('build_queue_length')).toBe(0);
    expect(text).toContain('agent_utilization_percent{pool="Linux"} 0');
    expect(text).toMatch(
      /build_duration_seconds_count\{configuration="Release",project="Packable",strategy="Clean",success="true"\} 1/,
    );
    // The failing-test build compiled too.
    expect(value('build_stage_duration_seconds_count{stage="Build",status="Succeeded"}')).toBe(2);
    expect(value('build_stage_duration_seconds_count{stage="Build",status="Failed"}')).toBe(1);
  });
});
