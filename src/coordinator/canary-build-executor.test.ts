import { describe, expect, it } from 'vitest';
import type { BuildExecutionListener, BuildExecutor, BuildOutcome } from '../core/build-execution.js';
import { parseBuildRequest } from '../core/build-request.js';
import type { OutputInspector } from '../core/canary.js';
import { frameworksForSdks } from '../core/capabilities.js';
import { JobRejectedError } from '../core/errors.js';
import type { PeerDirectory, PreparedSources, RemoteJobRunner, SourcePreparer } from '../core/mesh-ports.js';
import type {
  BuildRequest,
  PeerBuildResult,
  ProducedArtifact,
  ReproducibilityReport,
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
const inspector: OutputInspector = {
  listFiles: (produced) => Promise.resolve([{ path: 'Lib.dll', sha256: produced.sha256Hash }]),
};

function fakePeer(behaviour: Behaviour, ran: BuildRequest[]) {
  return async (request: BuildRequest, listener: BuildExecutionListener): Promise<BuildOutcome> => {
    await Promise.resolve();
    if (behaviour.reject) throw new JobRejectedError('peer', 'busy');
    ran.push(request);
    listener.onLog('INFO', 'building');
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
  const marked: string[][] = [];
  const executor = new CanaryBuildExecutor({
    localAgentId: 'local',
    peers: directory(peers),
    local,
    sources,
    remote,
    inspector,
    onNotReproducible: (projects) => {
      marked.push(projects);
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
  const listener: BuildExecutionListener = {
    onLog: () => undefined,
    onStage: () => undefined,
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
    expect(marked).toEqual([['src/Lib']]);
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
