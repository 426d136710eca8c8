/**
 * Mesh transport figures over loopback, each against its baseline in the same run:
 *
 *   npm run bench:mesh [-- --dispatches 300 --blob-mb 64 --log-lines 200]
 *
 * 1. Job dispatch round trip (offer → accept → result) between two mesh nodes: p50 and p99.
 * 2. Blob transfer: one object fetched over the blob protocol into a CAS, against a raw TCP copy
 *    of the same bytes into a file; once with both ends in this process, once with the serving
 *    side in its own process (a real node, and a plain TCP server), as between two machines.
 * 3. Log latency: a line emitted on the executing peer until it arrives at the coordinator's
 *    `GET /builds/{id}/logs` stream (a real coordinating node; the peer emits timestamped lines).
 * Every loop is bounded in count and time, and only 127.0.0.1 is used.
 */
import '../src/host/polyfills.js';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { parseArgs } from 'node:util';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { ContentStore } from '../src/agent/content-store.js';
import { BlobService } from '../src/mesh/blob-protocol.js';
import { JobService, type JobHost } from '../src/mesh/job-protocol.js';
import { MeshNode } from '../src/mesh/mesh-node.js';
import { PresenceService } from '../src/mesh/presence-service.js';
import { createSwarmKey, writeSwarmKey } from '../src/mesh/swarm-key.js';
import { JsonLogger } from '../src/host/logger.js';
import { generateSolutionRepo } from '../test/fixtures/generate-solution.js';
import { api, apiFetch, startTestNode, waitForBuild } from '../test/helpers/node-harness.js';
import { testPresence } from '../test/helpers/mesh-harness.js';
import { startNodeProcess } from '../test/helpers/node-process.js';
import { sampleJobOffer } from '../test/helpers/sample-build-request.js';

const { values } = parseArgs({
  options: {
    dispatches: { type: 'string', default: '300' },
    'blob-mb': { type: 'string', default: '64' },
    'log-lines': { type: 'string', default: '200' },
  },
});
const dispatches = Math.min(2000, Math.max(10, Number(values.dispatches)));
const blobBytes = Math.min(512, Math.max(1, Number(values['blob-mb']))) * 1024 * 1024;
const logLines = Math.min(2000, Math.max(10, Number(values['log-lines'])));
const DEADLINE = Date.now() + 10 * 60_000;

const logger = new JsonLogger('bench', 'silent');
const root = await mkdtemp(join(tmpdir(), 'buildmesh-meshbench-'));
const swarmKey = createSwarmKey();

async function connected(node: MeshNode, peerId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!node.connectedPeers().includes(peerId)) {
    if (Date.now() > deadline) throw new Error(`${peerId} did not connect`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function meshNode(bootstrap: string[] = []): Promise<MeshNode> {
  const node = await MeshNode.create({
    privateKey: await generateKeyPair('Ed25519'),
    swarmKey,
    listenAddresses: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap,
    mdns: false,
    logger,
  });
  await node.start();
  return node;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const rows: string[][] = [['measure', 'Build Mesh', 'baseline', 'ratio / goal']];

try {
  // 1. Dispatch round trip.
  const coordinator = await meshNode();
  const worker = await meshNode([coordinator.multiaddrs()[0]!]);
  await connected(coordinator, worker.peerId);
  const immediate: JobHost = {
    consider: () => ({ accept: true, run: () => Promise.resolve({ status: 'Succeeded' }) }),
  };
  const workerJobs = new JobService({ node: worker, host: immediate, logger });
  await workerJobs.start();
  const coordinatorJobs = new JobService({
    node: coordinator,
    host: { consider: () => ({ accept: false, reason: 'bench' }) },
    logger,
  });
  const offer = sampleJobOffer();
  const roundTrips: number[] = [];
  for (let i = 0; i < dispatches + 20 && Date.now() < DEADLINE; i++) {
    const started = performance.now();
    await coordinatorJobs.runJob(worker.peerId, offer, {
      signal: AbortSignal.timeout(10_000),
      onEvent: () => undefined,
    });
    if (i >= 20) roundTrips.push(performance.now() - started); // the first 20 warm up
  }
  roundTrips.sort((a, b) => a - b);
  rows.push(['dispatch round trip p50 (ms)', percentile(roundTrips, 50).toFixed(2), '-', '']);
  rows.push(['dispatch round trip p99 (ms)', percentile(roundTrips, 99).toFixed(2), '-', `goal ≤ 20 ms`]);

  // 2. Blob transfer against a raw TCP copy of the same bytes.
  const payload = randomBytes(blobBytes);
  const sourceStore = new ContentStore(join(root, 'cas-source'));
  const stored = await sourceStore.putStream(Readable.from([payload]));
  const serving = new BlobService({ node: coordinator, store: sourceStore, logger });
  await serving.start();
  const blobTimes: number[] = [];
  const tcpTimes: number[] = [];
  const rawServer = createServer((socket) => socket.end(payload));
  await new Promise<void>((resolve) => rawServer.listen(0, '127.0.0.1', resolve));
  const rawPort = (rawServer.address() as { port: number }).port;
  for (let run = 0; run < 3 && Date.now() < DEADLINE; run++) {
    const target = new ContentStore(join(root, `cas-target-${run}`));
    const fetching = new BlobService({ node: worker, store: target, logger });
    let started = performance.now();
    await fetching.fetchBlob(coordinator.peerId, stored.sha256, { timeoutMs: 120_000 });
    blobTimes.push(performance.now() - started);

    started = performance.now();
    const file = join(root, `raw-${run}.bin`);
    const hash = createHash('sha256');
    const socket = connect(rawPort, '127.0.0.1');
    socket.on('data', (chunk: Buffer) => hash.update(chunk));
    await pipeline(socket, createWriteStream(file));
    if (hash.digest('hex') !== stored.sha256) throw new Error('raw TCP copy differs');
    tcpTimes.push(performance.now() - started);
  }
  rawServer.close();
  const mbps = (ms: number) => blobBytes / 1e6 / (ms / 1000);
  const blobBest = mbps(Math.min(...blobTimes));
  const tcpBest = mbps(Math.min(...tcpTimes));
  rows.push([
    `blob transfer ${blobBytes / 1024 / 1024} MiB (MB/s, best of ${blobTimes.length})`,
    blobBest.toFixed(0),
    `${tcpBest.toFixed(0)} (raw TCP + sha256 + file)`,
    `${(blobBest / tcpBest).toFixed(2)} (goal ≥ 0.50)`,
  ]);

  // The same, with the serving side in its own process, as on two machines: a real node and a
  // plain Node TCP server, each sending the same bytes.
  const servingDir = join(root, 'serving-node');
  await writeSwarmKey(servingDir, swarmKey);
  const seeded = new ContentStore(join(servingDir, 'cas'));
  await seeded.putStream(Readable.from([payload]));
  const servingNode = await startNodeProcess(servingDir);
  let servingAddress: string | undefined;
  for (let i = 0; i < 100 && !servingAddress; i++) {
    servingAddress = /Mesh: (\S+)/.exec(servingNode.output.join('\n'))?.[1];
    if (!servingAddress) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!servingAddress) throw new Error('the serving node printed no mesh address');
  const payloadFile = join(root, 'payload.bin');
  await writeFile(payloadFile, payload);
  const rawChild = spawn(process.execPath, [
    '-e',
    `const net=require('node:net'),fs=require('node:fs');const s=net.createServer(c=>fs.createReadStream(${JSON.stringify(payloadFile)}).pipe(c));s.listen(0,'127.0.0.1',()=>console.log(s.address().port));`,
  ]);
  const childPort = await new Promise<number>((resolve) =>
    rawChild.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
  );
  const remoteBlob: number[] = [];
  const remoteTcp: number[] = [];
  const servingPeer = await worker.dial(servingAddress);
  for (let run = 0; run < 3 && Date.now() < DEADLINE; run++) {
    const target = new ContentStore(join(root, `cas-remote-${run}`));
    const fetching = new BlobService({ node: worker, store: target, logger });
    let started = performance.now();
    await fetching.fetchBlob(servingPeer, stored.sha256, { timeoutMs: 120_000 });
    remoteBlob.push(performance.now() - started);
    started = performance.now();
    const hash = createHash('sha256');
    const socket = connect(childPort, '127.0.0.1');
    socket.on('data', (chunk: Buffer) => hash.update(chunk));
    await pipeline(socket, createWriteStream(join(root, `raw-remote-${run}.bin`)));
    if (hash.digest('hex') !== stored.sha256) throw new Error('raw TCP copy differs');
    remoteTcp.push(performance.now() - started);
  }
  rawChild.kill();
  servingNode.child.kill('SIGTERM');
  const remoteBlobBest = mbps(Math.min(...remoteBlob));
  const remoteTcpBest = mbps(Math.min(...remoteTcp));
  rows.push([
    'blob transfer, serving peer in its own process (MB/s)',
    remoteBlobBest.toFixed(0),
    `${remoteTcpBest.toFixed(0)} (raw TCP from a process)`,
    `${(remoteBlobBest / remoteTcpBest).toFixed(2)} (goal ≥ 0.50)`,
  ]);

  await workerJobs.stop();
  await serving.stop();
  await worker.stop();
  await coordinator.stop();

  // 3. Log latency through a real coordinating node.
  const repo = await generateSolutionRepo({
    root,
    width: 1,
    depth: 1,
    testProjects: false,
    app: false,
    name: 'logbench',
  });
  const nodeDir = join(root, 'coordinator');
  await writeSwarmKey(nodeDir, swarmKey);
  const node = await startTestNode({ dataDir: nodeDir });
  await api(node.url, 'POST', `/api/v1/agents/${node.node.agentId}/maintenance`);
  const emitter = await meshNode([node.node.meshAddresses[0]!]);
  const presence = new PresenceService({
    node: emitter,
    local: testPresence('log-emitter', { freeSlots: 1, maxConcurrentBuilds: 1 }),
    logger,
    announceIntervalMs: 300,
  });
  presence.start();
  const emitterBlobs = new BlobService({
    node: emitter,
    store: new ContentStore(join(root, 'cas-emitter')),
    logger,
  });
  await emitterBlobs.start();
  const emitting: JobHost = {
    consider: () => ({
      accept: true,
      run: async ({ listener }) => {
        for (let i = 0; i < logLines; i++) {
          listener.onLog('INFO', `bench-line ${i} t=${Date.now()}`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        return { status: 'Succeeded' };
      },
    }),
  };
  const emitterJobs = new JobService({ node: emitter, host: emitting, logger });
  await emitterJobs.start();
  const submitted = await api<{ executionId: string }>(node.url, 'POST', '/api/v1/builds', {
    repositoryUrl: repo.repositoryUrl,
    gitRef: 'main',
    solutionPath: repo.solutionPath,
  });
  const latencies: number[] = [];
  const response = await apiFetch(`${node.url}/api/v1/builds/${submitted.body.executionId}/logs`, {
    signal: AbortSignal.timeout(120_000),
  });
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of Readable.fromWeb(response.body! as WebReadableStream<Uint8Array>)) {
    const arrived = Date.now();
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const match = /bench-line \d+ t=(\d+)/.exec(line);
      if (match) latencies.push(arrived - Number(match[1]));
    }
  }
  const build = await waitForBuild(node.url, submitted.body.executionId, 60_000);
  if (build.status !== 'Succeeded')
    throw new Error(`log bench build ${build.status}: ${build.errorMessage ?? ''}`);
  latencies.sort((a, b) => a - b);
  rows.push([
    `log line to coordinator /logs p50 (ms, ${latencies.length} lines)`,
    String(percentile(latencies, 50)),
    '-',
    '',
  ]);
  rows.push([
    'log line to coordinator /logs p95 (ms)',
    String(percentile(latencies, 95)),
    '-',
    'goal ≤ 250 ms',
  ]);
  await emitterJobs.stop();
  await emitterBlobs.stop();
  presence.stop();
  await emitter.stop();
  await node.stop();

  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows)
    console.log(`| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`);
  await writeFile(join(root, 'done'), '');
} finally {
  await rm(root, { recursive: true, force: true });
}
