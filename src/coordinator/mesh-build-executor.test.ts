import { describe, expect, it } from 'vitest';
import type {
  BuildAttempt,
  BuildExecutionListener,
  BuildExecutor,
  BuildOutcome,
} from '../core/build-execution.js';
import { parseBuildRequest } from '../core/build-request.js';
import { frameworksForSdks } from '../core/capabilities.js';
import {
  JobRejectedError,
  OperationAbortedError,
  PeerLostError,
  SourcePreparationError,
} from '../core/errors.js';
import type { PeerDirectory, PreparedSources, RemoteJobRunner, SourcePreparer } from '../core/mesh-ports.js';
import type { PeerCandidate } from '../core/peer-selection.js';
import type { Logger } from '../core/ports.js';
import { MeshBuildExecutor } from './mesh-build-executor.js';

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};

function candidate(agentId: string, overrides: Partial<PeerCandidate> = {}): PeerCandidate {
  return {
    agentId,
    status: 'Idle',
    donationMode: 'Always',
    acceptingWork: true,
    freeSlots: 1,
    cpuUsage: 0,
    memoryUsage: 0,
    capabilities: {
      os: 'linux',
      buildableFrameworks: frameworksForSdks(['10.0.100']),
      installedTools: ['dotnet', 'git'],
    },
    ...overrides,
  };
}

class Directory implements PeerDirectory {
  listeners: (() => void)[] = [];
  constructor(public peers: PeerCandidate[]) {}
  candidates(): PeerCandidate[] {
    return this.peers;
  }
  hostnameOf(agentId: string): string {
    return `host-${agentId}`;
  }
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
}

function recorder() {
  const attempts: BuildAttempt[] = [];
  const logs: string[] = [];
  const stages: string[] = [];
  const listener: BuildExecutionListener = {
    onLog: (level, message) => logs.push(`${level}: ${message}`),
    onStage: (update) => stages.push(`${update.name}:${update.status}`),
    onCommit: () => undefined,
    onDiagnostics: () => undefined,
    onTestResults: () => undefined,
    onArtifact: () => undefined,
    onAttempt: (attempt) => attempts.push({ ...attempt }),
  };
  return { attempts, logs, stages, listener };
}

const request = parseBuildRequest(
  { repositoryUrl: 'file:///tmp/r.git', gitRef: 'main', solutionPath: 'A.sln' },
  {
    newId: () => '00000000-0000-4000-8000-000000000009',
    now: new Date(),
    runnableStrategies: ['Incremental'],
  },
);

const prepared: PreparedSources = {
  manifestSha256: 'a'.repeat(64),
  commit: 'b'.repeat(40),
  frameworks: ['net10.0'],
};

function makeExecutor(
  peers: PeerCandidate[],
  remote: RemoteJobRunner['run'],
  options: { local?: BuildExecutor; sources?: SourcePreparer } = {},
) {
  const directory = new Directory(peers);
  let prepares = 0;
  const executor = new MeshBuildExecutor({
    localAgentId: 'self',
    peers: directory,
    local: options.local ?? { execute: () => Promise.resolve({ status: 'Succeeded' }) },
    sources: options.sources ?? {
      prepare: () => {
        prepares++;
        return Promise.resolve(prepared);
      },
    },
    remote: { run: remote },
    logger: silent,
    retryDelaysMs: [1, 2],
    sleep: () => Promise.resolve(),
  });
  return { executor, directory, prepares: () => prepares };
}

const run = (
  executor: MeshBuildExecutor,
  listener: BuildExecutionListener,
  signal = new AbortController().signal,
) => executor.execute(request, { signal, listener });

describe('MeshBuildExecutor', () => {
  it('runs on the chosen remote peer with sources prepared once', async () => {
    const ran: string[] = [];
    const { executor, prepares } = makeExecutor(
      [candidate('self', { status: 'Maintenance' }), candidate('b')],
      (peerId) => {
        ran.push(peerId);
        return Promise.resolve({ status: 'Succeeded' });
      },
    );
    const { attempts, listener } = recorder();
    expect(await run(executor, listener)).toEqual({ status: 'Succeeded' });
    expect(ran).toEqual(['b']);
    expect(prepares()).toBe(1);
    expect(attempts.map((a) => `${a.attempt}:${a.agentId}:${a.outcome}`)).toEqual([
      '1:b:Running',
      '1:b:Succeeded',
    ]);
  });

  it('sends the next Incremental build of a repository to the peer that built it last', async () => {
    const ran: string[] = [];
    const { executor } = makeExecutor(
      [candidate('self', { status: 'Maintenance' }), candidate('b'), candidate('c')],
      (peerId) => {
        ran.push(peerId);
        return Promise.resolve({ status: 'Succeeded' });
      },
    );
    await run(executor, recorder().listener);
    await run(executor, recorder().listener);
    // Without the preference, spreading would have sent the second build to c.
    expect(ran).toEqual(['b', 'b']);
    const other = { ...request, job: { ...request.job, solutionPath: 'Other.sln' } };
    await executor.execute(other, { signal: new AbortController().signal, listener: recorder().listener });
    expect(ran).toEqual(['b', 'b', 'c']);
  });

  it('retries an infrastructure failure on another peer, reusing the sources and resetting later stages', async () => {
    const ran: string[] = [];
    const { executor, prepares } = makeExecutor(
      [candidate('b'), candidate('c', { cpuUsage: 50 })],
      (peerId) => {
        ran.push(peerId);
        return peerId === 'b'
          ? Promise.reject(new PeerLostError('b', 'connection to b lost'))
          : Promise.resolve({ status: 'Succeeded' });
      },
    );
    const { attempts, logs, stages, listener } = recorder();
    expect(await run(executor, listener)).toEqual({ status: 'Succeeded' });
    expect(ran).toEqual(['b', 'c']);
    expect(prepares()).toBe(1);
    expect(attempts.filter((a) => a.endTime).map((a) => `${a.attempt}:${a.agentId}:${a.outcome}`)).toEqual([
      '1:b:Lost',
      '2:c:Succeeded',
    ]);
    expect(attempts[1]?.reason).toBe('connection to b lost');
    expect(logs.some((line) => line.includes('Retrying on another peer in 0.001s'))).toBe(true);
    expect(stages).toContain('Restore:Pending');
    expect(stages).not.toContain('Clone:Pending');
  });

  it('never retries a build failure', async () => {
    const failed: BuildOutcome = {
      status: 'Failed',
      errorMessage: '1 error(s): CS1002',
      failureKind: 'build',
    };
    let calls = 0;
    const { executor } = makeExecutor([candidate('b'), candidate('c')], () => {
      calls++;
      return Promise.resolve(failed);
    });
    expect(await run(executor, recorder().listener)).toEqual(failed);
    expect(calls).toBe(1);
  });

  it('gives up after 3 attempts, or earlier when no peer is left', async () => {
    const lost = (peerId: string) => Promise.reject(new PeerLostError(peerId, `lost ${peerId}`));
    const three = makeExecutor([candidate('b'), candidate('c'), candidate('d'), candidate('e')], lost);
    const outcome = await run(three.executor, recorder().listener);
    expect(outcome).toMatchObject({ status: 'Failed', failureKind: 'infrastructure' });
    const two = makeExecutor([candidate('b'), candidate('c')], lost);
    const early = await run(two.executor, recorder().listener);
    expect(early.status === 'Failed' && early.errorMessage).toContain('No peer can run this build');
    expect(early.status === 'Failed' && early.errorMessage).toContain('previous attempt: lost c');
  });

  it('moves on at once when a peer declines, without using up an attempt', async () => {
    const { executor } = makeExecutor([candidate('b'), candidate('c'), candidate('d')], (peerId) =>
      peerId === 'd'
        ? Promise.resolve({ status: 'Succeeded' })
        : Promise.reject(new JobRejectedError(peerId, 'busy')),
    );
    const { attempts, listener } = recorder();
    expect(await run(executor, listener)).toEqual({ status: 'Succeeded' });
    expect(attempts.filter((a) => a.endTime).map((a) => a.outcome)).toEqual([
      'Rejected',
      'Rejected',
      'Succeeded',
    ]);
  });

  it('runs locally when this node is the best peer, and fails cleanly when the clone fails', async () => {
    const local = makeExecutor([candidate('self'), candidate('b', { status: 'Building' })], () =>
      Promise.reject(new Error('not used')),
    );
    expect(await run(local.executor, recorder().listener)).toEqual({ status: 'Succeeded' });
    expect(local.prepares()).toBe(0);

    const broken = makeExecutor([candidate('b')], () => Promise.resolve({ status: 'Succeeded' }), {
      sources: { prepare: () => Promise.reject(new SourcePreparationError('Clone failed: no such ref')) },
    });
    expect(await run(broken.executor, recorder().listener)).toEqual({
      status: 'Failed',
      errorMessage: 'Clone failed: no such ref',
      failureKind: 'build',
    });
  });

  it('reports cancel and timeout from the signal', async () => {
    const controller = new AbortController();
    const { executor } = makeExecutor([candidate('b')], () => {
      controller.abort(new OperationAbortedError('timeout'));
      return Promise.reject(new OperationAbortedError('timeout'));
    });
    expect((await run(executor, recorder().listener, controller.signal)).status).toBe('TimedOut');
  });

  it('keeps a build queued with a readable reason until a capable peer appears', () => {
    const { executor, directory } = makeExecutor(
      [
        candidate('nosdk', {
          capabilities: { os: 'linux', buildableFrameworks: [], installedTools: ['git'] },
        }),
      ],
      () => Promise.resolve({ status: 'Succeeded' }),
    );
    expect(executor.checkStart(request)).toEqual({ ready: false, reason: 'no peer with a .NET SDK online' });
    let changed = 0;
    executor.onCapacityChange(() => changed++);
    directory.peers.push(candidate('b'));
    for (const listener of directory.listeners) listener();
    expect(changed).toBe(1);
    expect(executor.checkStart(request)).toEqual({ ready: true });
  });
});
