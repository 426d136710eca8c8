import { createServer, type Server } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskTimelineEntry } from '../../src/core/models.js';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import {
  api,
  apiFetch,
  removeDir,
  startTestNode,
  waitFor,
  waitForBuild,
  type BuildBody,
  type TestNode,
} from '../helpers/node-harness.js';
import { startNodeProcess, type NodeProcess } from '../helpers/node-process.js';

/** One span as an OTLP/HTTP JSON export carries it, with its resource's attributes. */
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
  events: { name: string }[];
  resource: Record<string, unknown>;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    const [first] = Object.values(value);
    result[key] = first;
  }
  return result;
}

/** A plain OTLP/HTTP receiver on 127.0.0.1: POST /v1/traces with JSON bodies, kept in memory. */
async function startOtlpReceiver(): Promise<{ server: Server; url: string; spans: ReceivedSpan[] }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      let body = Buffer.concat(chunks);
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const payload = JSON.parse(body.toString('utf8')) as {
        resourceSpans?: {
          resource?: { attributes?: OtlpAttribute[] };
          scopeSpans?: {
            spans?: (Omit<ReceivedSpan, 'attributes' | 'resource'> & { attributes?: OtlpAttribute[] })[];
          }[];
        }[];
      };
      for (const resourceSpans of payload.resourceSpans ?? []) {
        const resource = attributesOf(resourceSpans.resource?.attributes);
        for (const scope of resourceSpans.scopeSpans ?? [])
          for (const span of scope.spans ?? [])
            spans.push({
              ...span,
              parentSpanId: span.parentSpanId ?? '',
              attributes: attributesOf(span.attributes),
              status: span.status ?? {},
              events: span.events ?? [],
              resource,
            });
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, spans };
}

async function agentIdOf(url: string): Promise<string> {
  const agents = (
    await api<{ agents: { agentId: string; isLocal: boolean }[] }>(url, 'GET', '/api/v1/agents')
  ).body.agents;
  return agents.find((agent) => agent.isLocal)?.agentId ?? '';
}

interface TracedBuildBody extends BuildBody {
  traceId: string;
  timeline: TaskTimelineEntry[];
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;
const STATUS_ERROR = 2;

describe('tracing and metrics: one Distributed build on two peers is one trace', () => {
  let root: string;
  let repo: GeneratedRepo;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let a: TestNode;
  let b: NodeProcess;
  const ids = { a: '', b: '' };
  let succeeded: TracedBuildBody;

  const submit = async (body: Record<string, unknown>): Promise<TracedBuildBody> => {
    const submitted = await api<{ executionId: string }>(a.url, 'POST', '/api/v1/builds', {
      projectName: 'Traced',
      repositoryUrl: repo.repositoryUrl,
      solutionPath: repo.solutionPath,
      strategy: 'Distributed',
      ...body,
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    return (await waitForBuild(a.url, submitted.body.executionId, 300_000)) as TracedBuildBody;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-tracing-'));
    receiver = await startOtlpReceiver();
    // 2 libraries, their test project and the app: two tasks are ready at once, one per peer.
    repo = await generateSolutionRepo({ root, width: 2, depth: 1, testLayers: 1, name: 'traced' });
    expect(repo.projectCount).toBe(4);
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'BuildServer',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
    a = await startTestNode({ dataDir: join(root, 'a'), env });
    ids.a = a.node.agentId;
    const joinCode = await runCliInProcess(['mesh', 'join-code', '--data-dir', join(root, 'a')]);
    expect(joinCode.code, joinCode.stderr).toBe(0);
    // B is its own process: its spans reach the receiver through its own exporter.
    b = await startNodeProcess(join(root, 'b'), ['--join', joinCode.stdout.trim()], env);
    ids.b = await agentIdOf(b.url);
    await waitFor(
      'node A to see A and B idle',
      async () => {
        const agents = (await api<{ agents: { status: string }[] }>(a.url, 'GET', '/api/v1/agents')).body
          .agents;
        return agents.filter((agent) => agent.status === 'Idle').length === 2;
      },
      60_000,
    );
  }, 120_000);

  afterAll(async () => {
    b?.child.kill('SIGKILL');
    await a?.stop();
    await new Promise((resolve) => receiver?.server.close(resolve));
    await removeDir(root);
  });

  it('exports the coordinator, stage and task spans of both peers under the build trace id', async () => {
    succeeded = await submit({ gitRef: 'main' });
    expect(succeeded.status, succeeded.errorMessage ?? '').toBe('Succeeded');
    expect(new Set(succeeded.timeline.map((task) => task.agentId))).toEqual(new Set([ids.a, ids.b]));
    const traceId = succeeded.traceId;
    expect(traceId).toBe(succeeded.executionId.replace(/-/g, ''));

    const onPeer = (spans: ReceivedSpan[], peer: string) =>
      spans.filter((span) => span.resource['service.instance.id'] === peer);
    const trace = await waitFor(
      'the spans of both peers to arrive',
      () => {
        const spans = receiver.spans.filter((span) => span.traceId === traceId);
        const tasks = spans.filter((span) => span.name === 'BuildAgent.ExecuteTask');
        const done =
          spans.some((span) => span.name === 'BuildOrchestrator.ExecuteBuild') &&
          tasks.length === succeeded.timeline.length;
        return Promise.resolve(done ? spans : null);
      },
      60_000,
    );

    const [root] = trace.filter((span) => span.name === 'BuildOrchestrator.ExecuteBuild');
    expect(root).toBeDefined();
    expect(root!.resource).toMatchObject({ 'service.name': 'BuildServer', 'service.instance.id': ids.a });
    expect(root!.kind).toBe(SPAN_KIND_SERVER);
    expect(root!.parentSpanId).toBe('');
    expect(root!.attributes).toMatchObject({
      'build.project': 'Traced',
      'build.configuration': 'Release',
      'build.strategy': 'Distributed',
      'build.executionId': succeeded.executionId,
      'build.success': true,
    });
    expect(root!.attributes['build.duration']).toBeGreaterThan(0);
    const pipeline = trace.find((span) => span.name === 'BuildOrchestrator.ExecuteBuildPipeline');
    expect(pipeline?.parentSpanId).toBe(root!.spanId);

    // Stages the coordinator drove, as children of its pipeline.
    const stageNames = onPeer(trace, ids.a)
      .filter((span) => span.name.startsWith('BuildStage.') && span.parentSpanId === pipeline!.spanId)
      .map((span) => span.name);
    expect(stageNames).toEqual(
      expect.arrayContaining([
        'BuildStage.Clone',
        'BuildStage.Restore',
        'BuildStage.Build',
        'BuildStage.Test',
      ]),
    );
    expect(trace.some((span) => span.name === 'BuildOrchestrator.PlanTasks')).toBe(true);

    // Every task ran under a span on the peer that ran it, continuing the coordinator's dispatch span.
    const byId = new Map(trace.map((span) => [span.spanId, span]));
    for (const task of succeeded.timeline) {
      const spans = trace.filter(
        (span) => span.name === 'BuildAgent.ExecuteTask' && span.attributes['build.task.id'] === task.taskId,
      );
      expect(spans, task.taskId).toHaveLength(1);
      const span = spans[0]!;
      expect(span.resource['service.instance.id'], task.taskId).toBe(task.agentId);
      expect(span.attributes).toMatchObject({ 'build.agent': task.agentId, 'build.project': 'Traced' });
      const dispatch = byId.get(span.parentSpanId);
      expect(dispatch?.name, task.taskId).toBe('BuildOrchestrator.DispatchTask');
      expect(dispatch?.kind).toBe(SPAN_KIND_CLIENT);
      expect(dispatch?.resource['service.instance.id']).toBe(ids.a);
    }
    const remote = onPeer(trace, ids.b).filter((span) => span.name === 'BuildAgent.ExecuteTask');
    expect(remote.length).toBeGreaterThan(0);
    expect(remote.every((span) => span.kind === SPAN_KIND_SERVER)).toBe(true);
    expect(onPeer(trace, ids.a).some((span) => span.name === 'BuildAgent.ExecuteTask')).toBe(true);
    // Nothing in the trace points at a span that was never exported: one connected tree.
    for (const span of trace)
      if (span.parentSpanId) expect(byId.has(span.parentSpanId), span.name).toBe(true);
  }, 400_000);

  it('marks a failed build Error in its trace, and /metrics counts exactly the builds run', async () => {
    const failed = await submit({ gitRef: 'no-such-branch' });
    expect(failed.status).toBe('Failed');
    const root = await waitFor(
      'the failed build to be exported',
      () =>
        Promise.resolve(
          receiver.spans.find(
            (span) => span.traceId === failed.traceId && span.name === 'BuildOrchestrator.ExecuteBuild',
          ),
        ),
      30_000,
    );
    expect(root.attributes['build.success']).toBe(false);
    expect(root.status.code).toBe(STATUS_ERROR);
    const clone = receiver.spans.find(
      (span) => span.traceId === failed.traceId && span.name === 'BuildStage.Clone',
    );
    expect(clone?.status.code).toBe(STATUS_ERROR);

    const text = await (await apiFetch(`${a.url}/metrics`)).text();
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    };
    expect(value('builds_started_total{strategy="Distributed"}')).toBe(2);
    expect(value('builds_completed_total{status="Succeeded",strategy="Distributed"}')).toBe(1);
    expect(value('builds_completed_total{status="Failed",strategy="Distributed"}')).toBe(1);
    expect(value('builds_failed_total{strategy="Distributed"}')).toBe(1);
    expect(
      value(
        'build_duration_seconds_count{configuration="Release",project="Traced",strategy="Distributed",success="true"}',
      ),
    ).toBe(1);
    expect(
      value(
        'build_duration_seconds_count{configuration="Release",project="Traced",strategy="Distributed",success="false"}',
      ),
    ).toBe(1);
    expect(value('build_stage_duration_seconds_count{stage="Clone",status="Succeeded"}')).toBe(1);
    expect(value('build_stage_duration_seconds_count{stage="Clone",status="Failed"}')).toBe(1);
    expect(value('build_stage_duration_seconds_count{stage="Build",status="Succeeded"}')).toBe(1);
    expect(value('build_queue_length')).toBe(0);
    expect(value('build_queue_wait_seconds_count{strategy="Distributed"}')).toBe(2);
    // The succeeded build's 4 build tasks and 1 test task; the failed one planned none.
    expect(value('build_tasks_total{cache="off",kind="build",status="Succeeded"}')).toBe(4);
    expect(value('build_tasks_total{cache="off",kind="test",status="Succeeded"}')).toBe(1);
    expect(text).toMatch(/^agent_utilization_percent\{pool="Linux"\} \d/m);
    // B ran tasks for A but coordinated nothing.
    const bText = await (await apiFetch(`${b.url}/metrics`)).text();
    expect(bText).toContain('builds_started_total 0\n');
  }, 120_000);
});
