import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildExecutionListener, BuildOutcome } from '../../src/core/build-execution.js';
import { JobRejectedError, PeerLostError } from '../../src/core/errors.js';
import { jobReplySchema } from '../../src/core/job-messages.js';
import { MeshProtocolError } from '../../src/core/mesh-errors.js';
import { framed } from '../../src/mesh/framed-json.js';
import { JOB_PROTOCOL, JobService, type JobHost } from '../../src/mesh/job-protocol.js';
import type { MeshNode } from '../../src/mesh/mesh-node.js';
import { MeshRemoteJobRunner } from '../../src/mesh/remote-job-runner.js';
import { createSwarmKey } from '../../src/mesh/swarm-key.js';
import { startMeshNode, stopAll, testLogger } from '../helpers/mesh-harness.js';
import { waitFor } from '../helpers/node-harness.js';
import { sampleBuildRequest, sampleJobOffer } from '../helpers/sample-build-request.js';

const request = sampleBuildRequest();
const offer = sampleJobOffer(request);

function recordingListener() {
  const events: string[] = [];
  const listener: BuildExecutionListener = {
    onLog: (level, message) => events.push(`log:${level}:${message}`),
    onStage: (update) => events.push(`stage:${update.name}:${update.status}`),
    onCommit: (commit) => events.push(`commit:${commit}`),
    onDiagnostics: (diagnostics) => events.push(`diagnostics:${diagnostics.length}`),
    onTestResults: (results) => events.push(`tests:${results.total}`),
    onArtifact: (artifact) => events.push(`artifact:${artifact.name}`),
  };
  return { events, listener };
}

describe('the job protocol between two real mesh nodes', () => {
  let coordinator: MeshNode;
  let worker: MeshNode;
  let host: JobHost;
  let workerJobs: JobService;
  let coordinatorJobs: JobService;

  beforeAll(async () => {
    const swarmKey = createSwarmKey();
    coordinator = await startMeshNode({ swarmKey });
    worker = await startMeshNode({ swarmKey, bootstrap: [coordinator.multiaddrs()[0]!] });
    await waitFor(
      'the nodes to connect',
      () => Promise.resolve(coordinator.connectedPeers().includes(worker.peerId)),
      20_000,
      50,
    );
    host = { consider: () => ({ accept: false, reason: 'not set' }) };
    workerJobs = new JobService({
      node: worker,
      host: { consider: (o, from) => host.consider(o, from) },
      logger: testLogger,
      heartbeatIntervalMs: 100,
    });
    await workerJobs.start();
    coordinatorJobs = new JobService({
      node: coordinator,
      host: { consider: () => ({ accept: false, reason: 'coordinator' }) },
      logger: testLogger,
      silenceTimeoutMs: 1500,
    });
  });
  afterAll(async () => {
    await workerJobs?.stop();
    await stopAll([worker, coordinator]);
  });

  it('relays every kind of event and the outcome; artifacts are fetched before they are reported', async () => {
    host = {
      consider: () => ({
        accept: true,
        run: ({ listener }) => {
          listener.onStage({ name: 'Build', status: 'Running', at: new Date().toISOString() });
          listener.onLog('WARN', 'CS8618: something');
          listener.onCommit('c'.repeat(40));
          listener.onDiagnostics([
            {
              severity: 'warning',
              code: 'CS8618',
              message: 'm',
              file: 'a.cs',
              line: 1,
              column: 2,
              project: null,
            },
          ]);
          listener.onTestResults({
            total: 3,
            passed: 3,
            failed: 0,
            skipped: 0,
            durationMs: 10,
            failures: [],
          });
          listener.onArtifact({
            name: 'A.nupkg',
            path: 'bin/A.nupkg',
            sizeBytes: 3,
            contentType: 'application/zip',
            sha256Hash: 'd'.repeat(64),
            createdAt: new Date().toISOString(),
          });
          return Promise.resolve({ status: 'Succeeded' });
        },
      }),
    };
    const fetched: string[] = [];
    let failures = 1;
    const runner = new MeshRemoteJobRunner(coordinatorJobs, {
      fetchBlob: (_peer, sha256) => {
        fetched.push(sha256);
        // The first copy arrives corrupted: it must be fetched again.
        if (failures-- > 0) return Promise.reject(new Error('hash mismatch'));
        return Promise.resolve({ sha256, sizeBytes: 3 });
      },
    });
    const { events, listener } = recordingListener();
    const outcome = await runner.run(
      worker.peerId,
      {
        request,
        attempt: 1,
        source: { manifestSha256: 'a'.repeat(64), commit: 'b'.repeat(40), frameworks: [] },
      },
      { signal: new AbortController().signal, listener },
    );
    expect(outcome).toEqual({ status: 'Succeeded' });
    expect(fetched).toEqual(['d'.repeat(64), 'd'.repeat(64)]);
    expect(events).toEqual([
      'stage:Build:Running',
      'log:WARN:CS8618: something',
      `commit:${'c'.repeat(40)}`,
      'diagnostics:1',
      'tests:3',
      expect.stringContaining('log:WARN:Fetching artifact'),
      'artifact:A.nupkg',
    ]);
  });

  it('reports a rejection with its reason', async () => {
    host = { consider: () => ({ accept: false, reason: 'no free build slot (1 in use)' }) };
    const error = await coordinatorJobs
      .runJob(worker.peerId, offer, { signal: new AbortController().signal, onEvent: () => undefined })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobRejectedError);
    expect((error as JobRejectedError).reason).toBe('no free build slot (1 in use)');
  });

  it('carries a cancel to the running job, which ends Cancelled', async () => {
    let sawAbort = false;
    host = {
      consider: () => ({
        accept: true,
        run: ({ signal }) =>
          new Promise<BuildOutcome>((resolve) => {
            signal.addEventListener('abort', () => {
              sawAbort = true;
              resolve({
                status: 'Cancelled',
                errorMessage: 'Build cancelled during Build',
                failureKind: 'build',
              });
            });
          }),
      }),
    };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const outcome = await coordinatorJobs.runJob(worker.peerId, offer, {
      signal: controller.signal,
      onEvent: () => undefined,
    });
    expect(outcome.status).toBe('Cancelled');
    expect(sawAbort).toBe(true);
  });

  it('treats a peer that stops sending (no heartbeat) as lost', async () => {
    const silentJobs = new JobService({
      node: coordinator,
      host: { consider: () => ({ accept: false, reason: 'x' }) },
      logger: testLogger,
      silenceTimeoutMs: 800,
    });
    const quietWorker = new JobService({
      node: worker,
      host: { consider: () => ({ accept: true, run: () => new Promise<BuildOutcome>(() => undefined) }) },
      logger: testLogger,
      heartbeatIntervalMs: 60_000,
    });
    await workerJobs.stop();
    await quietWorker.start();
    try {
      const error = await silentJobs
        .runJob(worker.peerId, offer, { signal: new AbortController().signal, onEvent: () => undefined })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PeerLostError);
      expect((error as Error).message).toContain('went silent');
    } finally {
      await quietWorker.stop();
      await workerJobs.start();
    }
  });

  it('closes a stream that sends a malformed offer, and keeps serving', async () => {
    host = { consider: () => ({ accept: true, run: () => Promise.resolve({ status: 'Succeeded' }) }) };
    const stream = await coordinator.openStream(worker.peerId, JOB_PROTOCOL);
    const frames = framed(stream);
    await frames.writeJson({ type: 'offer', executionId: 'not-a-uuid', attempt: 1 });
    // The peer answers nothing and aborts the stream.
    await expect(frames.readJson(jobReplySchema, { signal: AbortSignal.timeout(5000) })).rejects.toThrow(
      MeshProtocolError,
    );
    const outcome = await coordinatorJobs.runJob(worker.peerId, offer, {
      signal: new AbortController().signal,
      onEvent: () => undefined,
    });
    expect(outcome).toEqual({ status: 'Succeeded' });
  });
});
