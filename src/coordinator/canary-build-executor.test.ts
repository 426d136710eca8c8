import { describe, expect, it } from 'vitest';
import type { BuildExecutionListener, BuildExecutor, BuildOutcome } from '../core/build-execution.js';
import { parseBuildRequest } from '../core/build-request.js';
import { applyStageUpdate, initialStages } from '../core/build-stages.js';
import type { OutputInspector } from '../core/canary.js';
import { frameworksForSdks } from '../core/capabilities.js';
import { JobRejectedError } from '../core/errors.js';
import type { PeerDirectory, PreparedSources, RemoteJobRunner, SourcePreparer } from '../core/mesh-ports.js';
import type {
  BuildRequest,
  PeerBuildResult,
  ProducedArtifact,
  ReproducibilityReport,
  StageResult,
  TestResults,
} from '../core/models.js';
import type { PeerCandidate } from '../core/peer-selection.js';
import type { Logger } from '../core/ports.js';
import { CanaryBuildExecutor } from './canary-build-executor.js';

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};

function candidate(
  agentId: string,
  os: PeerCandidate['capabilities']['os'] = 'linux',
  cpuUsage = 0,
): PeerCandidate {
  return {
    agentId,
    status: 'Idle',
    donationMode: 'Always',
    acceptingWork: true,
    freeSlots: 1,
    cpuUsage,
    memoryUsage: 0,
    capabilities: {
      os,
      buildableFrameworks: frameworksForSdks(['10.0.100']),
      installedTools: ['dotnet', 'git'],
    },
  };
}

const directory = (peers: PeerCandidate[]): PeerDirectory => ({
  candidates: () => peers,
  hostnameOf: (agentId) => `host-${agentId}`,
  onChange: () => undefined,
});

const prepared: PreparedSources = { manifestSha256: 'a'.repeat(64), commit: 'b'.repeat(40), frameworks: [] };
const sources: SourcePreparer = { prepare: () => Promise.resolve(prepared) };

const tests = (failed: number): TestResults => ({
  total: 4,
  passed: 4 - failed,
  failed,
  skipped: 0,
  durationMs: 1,
  failures: [],
});

/** What a fake peer does with a build: its warnings, tests, outcome and the dll hash it produces. */
interface Behaviour {
  warnings?: number;
  failedTests?: number;
  dll?: string;
  reject?: boolean;
}

function artifact(dll: string): ProducedArtifact {
  return {
    name: `Lib-publish.tar.gz`,
    path: 'src/Lib/bin/Release/net10.0/publish',
    sizeBytes: 1,
    contentType: 'application/gzip',
    sha256Hash: dll.padEnd(64, '0'),
    createdAt: new Date().toISOString(),
  };
}

/** The inspector reads the dll hash back from the artifact hash. */
const inspector: Pick<OutputInspector, 'listFiles'> = {
  listFiles: (produced) => Promise.resolve([{ path: 'Lib.dll', sha256: produced.sha256Hash }]),
};

function fakePeer(behaviour: Behaviour, ran: BuildRequest[]) {
  return async (request: BuildRequest, listener: BuildExecutionListener): Promise<BuildOutcome> => {
    await Promise.resolve();
    if (behaviour.reject) throw new JobRejectedError('peer', 'busy');
    ran.push(request);
    listener.onLog('INFO', 'building');
    const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
    for (const name of ['Clone', 'Restore'] as const) {
      listener.onStage({ name, status: 'Running', at: at(0) });
      listener.onStage({ name, status: 'Succeeded', at: at(1) });
    }
    listener.onStage({ name: 'Build', status: 'Running', at: at(1) });
    listener.onStage({
      name: 'Build',
      status: 'Succeeded',
      at: at(2),
      message: 'Build succeeded',
      warningsCount: behaviour.warnings ?? 0,
    });
    listener.onStage({ name: 'Test', status: 'Running', at: at(2) });
    listener.onStage({
      name: 'Test',
      status: behaviour.failedTests ? 'Failed' : 'Succeeded',
      at: at(3),
      message: behaviour.failedTests ? 'Tests failed' : 'Tests passed',
    });
    listener.onDiagnostics(
      Array.from({ length: behaviour.warnings ?? 0 }, () => ({
        severity: 'warning' as const,
        code: 'CS0168',
        message: 'unused',
        file: null,
        line: null,
        column: null,
        project: null,
      })),
    );
    listener.onTestResults(tests(behaviour.failedTests ?? 0));
    if (behaviour.failedTests)
      return { status: 'Failed', errorMessage: 'Tests failed', failureKind: 'build' };
    listener.onArtifact(artifact(behaviour.dll ?? 'same'));
    return { status: 'Succeeded' };
  };
}

function setup(behaviours: Record<string, Behaviour>, peers: PeerCandidate[]) {
  const ran = new Map<string, BuildRequest[]>(peers.map((peer) => [peer.agentId, []]));
  const local: BuildExecutor = {
    execute: (request, { listener }) =>
      fakePeer(behaviours.local ?? {}, ran.get('local')!)(request, listener),
  };
  const remote: RemoteJobRunner = {
    run: (peerId, job, { listener }) =>
      fakePeer(behaviours[peerId] ?? {}, ran.get(peerId)!)(job.request, listener),
  };
  const marked: Array<{ repositoryUrl: string; projects: string[] }> = [];
  const executor = new CanaryBuildExecutor({
    localAgentId: 'local',
    peers: directory(peers),
    local,
    sources,
    remote,
    inspector,
    onNotReproducible: (repositoryUrl, projects) => {
      marked.push({ repositoryUrl, projects });
    },
    logger: silent,
  });
  return { executor, ran, marked };
}

async function run(executor: CanaryBuildExecutor, body: Record<string, unknown>) {
  const request = parseBuildRequest(
    { repositoryUrl: 'file:///tmp/r.git', gitRef: 'main', solutionPath: 'A.sln', ...body },
    {
      newId: () => '00000000-0000-4000-8000-000000000009',
      now: new Date(),
      runnableStrategies: ['Incremental', 'Canary'],
    },
  );
  const results = new Map<string, PeerBuildResult>();
  const artifacts: ProducedArtifact[] = [];
  let report: ReproducibilityReport | null = null;
  let stages: StageResult[] = initialStages(request.job);
  const listener: BuildExecutionListener = {
    onLog: () => undefined,
    onStage: (update) => {
      stages = applyStageUpdate(stages, update);
    },
    onCommit: () => undefined,
    onDiagnostics: () => undefined,
    onTestResults: () => undefined,
    onArtifact: (produced) => artifacts.push(produced),
    onPeerResult: (result) => results.set(`${result.agentId}/${result.role}`, result),
    onReproducibility: (found) => {
      report = found;
    },
  };
  const outcome = await executor.execute(request, { signal: new AbortController().signal, listener });
  return {
    outcome,
    results: [...results.values()],
    artifacts,
    report: report as ReproducibilityReport | null,
    stages,
  };
}

// 'local' is the least loaded, so it is always the canary.
const peers = [candidate('local'), candidate('p2', 'linux', 30), candidate('p3', 'linux', 30)];

describe('CanaryBuildExecutor', () => {
  it('runs a Clean, deterministic canary with the full tests, then fans out to every other peer', async () => {
    const { executor, ran } = setup({}, peers);
    const { outcome, results, artifacts, report } = await run(executor, {
      strategy: 'Canary',
      runTests: false,
    });
    expect(outcome).toEqual({ status: 'Succeeded' });
    expect(results.map((result) => `${result.agentId}:${result.role}:${result.status}`).sort()).toEqual([
      'local:canary:Succeeded',
      'p2:fan-out:Succeeded',
      'p3:fan-out:Succeeded',
    ]);
    const canaryRun = ran.get('local')![0]!;
    expect(canaryRun.strategy).toBe('Clean');
    expect(canaryRun.job.runTests).toBe(true);
    expect(canaryRun.job.buildProperties).toMatchObject({
      ContinuousIntegrationBuild: 'true',
      Deterministic: 'true',
    });
    expect(artifacts).toHaveLength(1);
    expect(report).toMatchObject({ checkedOn: ['local', 'p2', 'p3'], reproducible: true, differences: [] });
  });

  it('stops after a canary with a failed test or too many warnings, naming the gate', async () => {
    const failing = setup({ local: { failedTests: 1 } }, peers);
    const failed = await run(failing.executor, { strategy: 'Canary' });
    expect(failed.outcome).toMatchObject({ status: 'Failed', failureKind: 'build' });
    expect(failed.outcome.status !== 'Succeeded' && failed.outcome.errorMessage).toContain('tests gate');
    expect(failed.results).toMatchObject([{ agentId: 'local', role: 'canary', failedGate: 'tests' }]);
    expect(failing.ran.get('p2')).toEqual([]);
    expect(failing.ran.get('p3')).toEqual([]);
    expect(failed.artifacts).toEqual([]);

    const noisy = setup({ local: { warnings: 3 } }, peers);
    const warned = await run(noisy.executor, { strategy: 'Canary', maxWarnings: 2 });
    expect(warned.outcome.status !== 'Succeeded' && warned.outcome.errorMessage).toContain(
      'warnings gate: 3 warning(s), more than the allowed 2',
    );
    expect(warned.results).toMatchObject([{ status: 'Failed', failedGate: 'warnings', warningsCount: 3 }]);
    expect(warned.artifacts).toEqual([]);
    expect(noisy.ran.get('p2')).toEqual([]);
  });

  it('marks the Build stage Failed when only the warnings gate failed, keeping its times', async () => {
    const noisy = setup({ local: { warnings: 3 } }, peers);
    const { outcome, stages } = await run(noisy.executor, { strategy: 'Canary', maxWarnings: 2 });
    expect(outcome).toMatchObject({ status: 'Failed', failureKind: 'build' });
    const byName = new Map(stages.map((stage) => [stage.name, stage]));
    expect(byName.get('Build')).toMatchObject({
      status: 'Failed',
      message: 'Canary failed the warnings gate: 3 warning(s), more than the allowed 2; nothing is published',
      warningsCount: 3,
      startTime: '2026-01-01T00:00:01.000Z',
      endTime: '2026-01-01T00:00:02.000Z',
    });
    expect(byName.get('Test')?.status).toBe('Succeeded');
    expect(stages.filter((stage) => stage.status === 'Failed').map((stage) => stage.name)).toEqual(['Build']);

    // Within the threshold, every stage stays as the canary reported it.
    const quiet = setup({ local: { warnings: 2 } }, peers);
    const passed = await run(quiet.executor, { strategy: 'Canary', maxWarnings: 2 });
    expect(passed.outcome).toEqual({ status: 'Succeeded' });
    expect(passed.stages.find((stage) => stage.name === 'Build')?.status).toBe('Succeeded');
  });

  it('leaves the stages alone when a stage of the canary failed already (the tests gate)', async () => {
    const failing = setup({ local: { failedTests: 1 } }, peers);
    const { stages } = await run(failing.executor, { strategy: 'Canary' });
    const failed = stages.filter((stage) => stage.status === 'Failed');
    expect(failed.map((stage) => [stage.name, stage.message])).toEqual([['Test', 'Tests failed']]);
    expect(stages.find((stage) => stage.name === 'Build')?.status).toBe('Succeeded');
  });

  it('fans out per targetPool, or to every OS when the request named none', async () => {
    const mixed = [candidate('local'), candidate('p2', 'linux', 30), candidate('p3', 'windows', 30)];
    const pooled = setup({}, mixed);
    await run(pooled.executor, { strategy: 'Canary', targetPool: 'Linux' });
    expect(pooled.ran.get('p3')).toEqual([]);
    const any = setup({}, mixed);
    await run(any.executor, { strategy: 'Canary' });
    expect(any.ran.get('p3')).toHaveLength(1);
  });

  it('reports differing outputs per project and file, and marks the project', async () => {
    const { executor, marked } = setup({ p2: { dll: 'other' }, p3: { reject: true } }, peers);
    const { outcome, results, report } = await run(executor, { strategy: 'Canary' });
    expect(outcome).toEqual({ status: 'Succeeded' });
    expect(results.find((result) => result.agentId === 'p3')).toMatchObject({
      status: 'Rejected',
      message: 'busy',
    });
    expect(report).toMatchObject({
      checkedOn: ['local', 'p2'],
      reproducible: false,
      differences: [{ project: 'src/Lib', file: 'Lib.dll', reason: 'content differs' }],
    });
    expect(marked).toEqual([{ repositoryUrl: 'file:///tmp/r.git', projects: ['src/Lib'] }]);
  });

  it('verifies an ordinary build on one second peer', async () => {
    const { executor, ran } = setup({}, peers);
    const { outcome, results, report } = await run(executor, { verify: true });
    expect(outcome).toEqual({ status: 'Succeeded' });
    expect(results.map((result) => result.role)).toEqual(['verify', 'verify']);
    expect(ran.get('local')![0]!.strategy).toBe('Incremental');
    expect([...ran.values()].flat()).toHaveLength(2);
    expect(report).toMatchObject({ reproducible: true });
  });
});
