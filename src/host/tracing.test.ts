import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { NOOP_TRACER, parseTraceparent } from '../core/tracing.js';
import { loadTracingConfig } from './config.js';
import { JsonLogger } from './logger.js';
import { TRACER_SCOPE, startTracing } from './tracing.js';

const logger = new JsonLogger('test', 'silent');

describe('loadTracingConfig (the OTEL_* variables)', () => {
  it('is off when nothing asks for tracing, when disabled, and with the none exporter', () => {
    expect(loadTracingConfig({})).toBeUndefined();
    expect(loadTracingConfig({ OTEL_SERVICE_NAME: 'X' })).toBeUndefined();
    expect(
      loadTracingConfig({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }),
    ).toBeUndefined();
    expect(
      loadTracingConfig({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }),
    ).toBeUndefined();
  });

  it('appends /v1/traces to the base endpoint; the traces endpoint is taken as is', () => {
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318/' })).toEqual({
      exporter: 'otlp',
      endpoint: 'http://jaeger:4318/v1/traces',
      headers: {},
      serviceName: 'BuildServer',
      resourceAttributes: {},
      scheduleDelayMs: 5000,
      exportTimeoutMs: 10_000,
    });
    const config = loadTracingConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example/otlp/traces',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-a=1',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-a=2',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=ci,service.name=FromResource',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    });
    expect(config).toMatchObject({
      endpoint: 'https://collector.example/otlp/traces',
      headers: { authorization: 'Bearer abc', 'x-a': '2' },
      serviceName: 'FromResource',
      resourceAttributes: { 'deployment.environment': 'ci' },
      scheduleDelayMs: 200,
      exportTimeoutMs: 3000,
    });
    expect(loadTracingConfig({ OTEL_TRACES_EXPORTER: 'otlp' })?.endpoint).toBe(
      'http://localhost:4318/v1/traces',
    );
    expect(loadTracingConfig({ OTEL_TRACES_EXPORTER: 'console' })?.exporter).toBe('console');
  });

  it('lists every bad variable with the fix', () => {
    let caught: unknown;
    try {
      loadTracingConfig({
        OTEL_TRACES_EXPORTER: 'jaeger',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_HEADERS: 'novalue',
        OTEL_BSP_SCHEDULE_DELAY: 'soon',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const fields = (caught as ConfigError).problems.map((problem) => problem.field);
    expect(fields).toEqual([
      'OTEL_TRACES_EXPORTER',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'OTEL_EXPORTER_OTLP_HEADERS',
      'OTEL_BSP_SCHEDULE_DELAY',
    ]);
    expect((caught as ConfigError).message).toContain('4318');
  });
});

describe('startTracing', () => {
  it('starts nothing and hands out the no-op tracer when tracing is off', async () => {
    const tracing = startTracing({ config: undefined, agentId: 'peer-a', hostname: 'host-a', logger });
    expect(tracing.tracer).toBe(NOOP_TRACER);
    expect(tracing.tracer.startSpan('x').traceparent).toBeUndefined();
    await tracing.shutdown();
  });

  it("exports spans with the node's resource, chosen trace ids and explicit parents, local or remote", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({
      config: undefined,
      agentId: 'peer-a',
      hostname: 'host-a',
      logger,
      exporter,
    });
    const { tracer } = tracing;
    const traceId = '0f8fad5bd9cb469fa16570867728950e';
    const root = tracer.startSpan('BuildOrchestrator.ExecuteBuild', {
      kind: 'server',
      traceId,
      attributes: { 'build.project': 'App', 'build.agent': null },
    });
    const child = tracer.startSpan('BuildStage.Build', { parent: root });
    const offered = parseTraceparent(child.traceparent);
    expect(offered).toMatchObject({ traceId, sampled: true });
    const remote = tracer.startSpan('BuildAgent.ExecuteTask', { parent: child.traceparent, kind: 'server' });
    const error = new Error('CS1002');
    remote.fail(error);
    remote.end();
    child.setAttributes({ 'build.stage.status': 'Succeeded' });
    child.end();
    child.end();
    root.end();
    const unrelated = tracer.startSpan('other', { traceId: 'not-hex' });
    unrelated.end();
    await tracing.flush();

    const spans = exporter.getFinishedSpans();
    const byName = new Map(spans.map((span) => [span.name, span]));
    expect(spans).toHaveLength(4);
    const rootSpan = byName.get('BuildOrchestrator.ExecuteBuild')!;
    expect(rootSpan.spanContext().traceId).toBe(traceId);
    expect(rootSpan.kind).toBe(1); // SERVER
    expect(rootSpan.attributes).toEqual({ 'build.project': 'App' });
    expect(rootSpan.resource.attributes).toMatchObject({
      'service.name': 'BuildServer',
      'service.instance.id': 'peer-a',
      'host.name': 'host-a',
    });
    expect(rootSpan.instrumentationScope.name).toBe(TRACER_SCOPE);
    const stage = byName.get('BuildStage.Build')!;
    expect(stage.parentSpanContext?.spanId).toBe(rootSpan.spanContext().spanId);
    expect(stage.attributes['build.stage.status']).toBe('Succeeded');
    const task = byName.get('BuildAgent.ExecuteTask')!;
    expect(task.spanContext().traceId).toBe(traceId);
    expect(task.parentSpanContext).toMatchObject({ spanId: offered!.spanId, isRemote: true });
    expect(task.status).toEqual({ code: 2, message: 'CS1002' });
    expect(task.events.map((event) => event.name)).toEqual(['exception']);
    const other = byName.get('other')!;
    expect(other.spanContext().traceId).not.toBe(traceId);
    expect(other.spanContext().traceId).toMatch(/^[\da-f]{32}$/);

    await tracing.shutdown();
    expect(tracing.tracer.enabled).toBe(false);
    tracing.tracer.startSpan('after').end();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});
