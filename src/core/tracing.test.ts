import { describe, expect, it } from 'vitest';
import type { BuildExecutionListener } from './build-execution.js';
import type { BuildRequest } from './models.js';
import {
  NOOP_TRACER,
  StageSpans,
  formatTraceparent,
  inSpan,
  isValidTraceId,
  parseTraceparent,
  traceAgentRun,
  traceIdOfExecution,
  type TraceAttributes,
  type TraceSpan,
  type TraceSpanOptions,
  type Tracer,
} from './tracing.js';

interface RecordedSpan {
  name: string;
  options: TraceSpanOptions;
  attributes: TraceAttributes;
  failures: unknown[];
  ended: number;
  span: TraceSpan;
}

/** A tracer that remembers what was asked of it (the port's contract, not OpenTelemetry's). */
function recordingTracer(): Tracer & { spans: RecordedSpan[] } {
  const spans: RecordedSpan[] = [];
  return {
    enabled: true,
    spans,
    startSpan(name, options = {}) {
      const recorded: RecordedSpan = {
        name,
        options,
        attributes: { ...options.attributes },
        failures: [],
        ended: 0,
        span: undefined as unknown as TraceSpan,
      };
      recorded.span = {
        traceparent: formatTraceparent({
          traceId: 'a'.repeat(32),
          spanId: (spans.length + 1).toString(16).padStart(16, '0'),
          sampled: true,
        }),
        setAttributes: (attributes) => Object.assign(recorded.attributes, attributes),
        fail: (error) => recorded.failures.push(error),
        end: () => {
          recorded.ended++;
        },
      };
      spans.push(recorded);
      return recorded.span;
    },
  };
}

function listener(stages: string[] = []): BuildExecutionListener {
  return {
    onLog: () => undefined,
    onStage: (update) => stages.push(`${update.name}:${update.status}`),
    onCommit: () => undefined,
    onDiagnostics: () => undefined,
    onTestResults: () => undefined,
    onArtifact: () => undefined,
  };
}

const request = {
  executionId: '0f8fad5b-d9cb-469f-a165-70867728950e',
  strategy: 'Distributed',
  job: { projectName: 'App', configuration: 'Release' },
} as BuildRequest;

describe('traceparent helpers', () => {
  it('round-trips a W3C traceparent and reads the sampled flag', () => {
    const value = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const parsed = parseTraceparent(value);
    expect(parsed).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      sampled: true,
    });
    expect(formatTraceparent(parsed!)).toBe(value);
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')?.sampled).toBe(false);
    expect(parseTraceparent(' 00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01 ')?.traceId).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
  });

  it('ignores what the spec says to ignore', () => {
    for (const bad of [
      undefined,
      null,
      '',
      'garbage',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`,
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
    ])
      expect(parseTraceparent(bad), String(bad)).toBeNull();
  });

  it("makes a build's trace id from its execution id", () => {
    const traceId = traceIdOfExecution(request.executionId);
    expect(traceId).toBe('0f8fad5bd9cb469fa16570867728950e');
    expect(isValidTraceId(traceId)).toBe(true);
    expect(isValidTraceId('0'.repeat(32))).toBe(false);
    expect(isValidTraceId('xyz')).toBe(false);
  });
});

describe('StageSpans', () => {
  it('opens a span when a stage runs and closes it with its status; skipped stages get none', () => {
    const tracer = recordingTracer();
    const parent = tracer.startSpan('parent');
    const seen: string[] = [];
    const stages = new StageSpans(tracer, parent, listener(seen));
    const at = '2026-11-27T10:00:00.000Z';
    stages.listener.onStage({ name: 'Clone', status: 'Running', at });
    stages.listener.onStage({ name: 'Clone', status: 'Running', at });
    expect(stages.spanOf('Clone')).toBeDefined();
    stages.listener.onStage({ name: 'Clone', status: 'Succeeded', at, warningsCount: 2 });
    stages.listener.onStage({ name: 'Build', status: 'Running', at });
    stages.listener.onStage({ name: 'Build', status: 'Failed', at, message: 'CS1002', errorsCount: 1 });
    stages.listener.onStage({ name: 'Test', status: 'Skipped', at });
    expect(seen).toEqual([
      'Clone:Running',
      'Clone:Running',
      'Clone:Succeeded',
      'Build:Running',
      'Build:Failed',
      'Test:Skipped',
    ]);
    const [clone, build, ...rest] = tracer.spans.slice(1);
    expect(rest).toEqual([]);
    expect(clone).toMatchObject({ name: 'BuildStage.Clone', ended: 1, failures: [] });
    expect(clone!.options.parent).toBe(parent);
    expect(clone!.attributes).toMatchObject({ 'build.stage': 'Clone', 'build.stage.status': 'Succeeded' });
    expect(clone!.attributes['build.stage.warnings']).toBe(2);
    expect(build).toMatchObject({ name: 'BuildStage.Build', ended: 1, failures: ['CS1002'] });
    expect(stages.spanOf('Build')).toBeUndefined();
  });

  it('keeps the callbacks a listener inherits, and closes what is still open', () => {
    const tracer = recordingTracer();
    const logs: string[] = [];
    const base = listener();
    base.onLog = (_level, message) => logs.push(message);
    const inheriting = Object.create(base) as BuildExecutionListener;
    const stages = new StageSpans(tracer, undefined, inheriting);
    stages.listener.onLog('INFO', 'hello');
    expect(logs).toEqual(['hello']);
    stages.listener.onStage({ name: 'Restore', status: 'Running', at: '2026-11-27T10:00:00.000Z' });
    const error = new Error('lost');
    stages.close(error);
    expect(tracer.spans[0]).toMatchObject({ name: 'BuildStage.Restore', ended: 1, failures: [error] });
  });

  it('passes the listener through untouched when tracing is off', () => {
    const inner = listener();
    expect(new StageSpans(NOOP_TRACER, undefined, inner).listener).toBe(inner);
  });
});

describe('traceAgentRun and inSpan', () => {
  it('runs remote work as a server span continuing the offered traceparent, with the outcome', async () => {
    const tracer = recordingTracer();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const outcome = await traceAgentRun(
      tracer,
      {
        request,
        task: { taskId: 'build:src/A/A.csproj', kind: 'build', project: 'src/A/A.csproj' },
        agentId: 'peer-b',
        parent: traceparent,
        remote: true,
      },
      listener(),
      () => Promise.resolve({ status: 'Failed', errorMessage: 'CS1002', failureKind: 'build' }),
    );
    expect(outcome.status).toBe('Failed');
    const [span] = tracer.spans;
    expect(span).toMatchObject({ name: 'BuildAgent.ExecuteTask', ended: 1, failures: ['CS1002'] });
    expect(span!.options).toMatchObject({ kind: 'server', parent: traceparent });
    expect(span!.attributes).toMatchObject({
      'build.project': 'App',
      'build.configuration': 'Release',
      'build.agent': 'peer-b',
      'build.task.kind': 'build',
      'build.success': false,
      'build.status': 'Failed',
    });
  });

  it('records an exception, rethrows it and ends the span; whole builds get stage spans', async () => {
    const tracer = recordingTracer();
    const error = new Error('disk full');
    await expect(
      traceAgentRun(tracer, { request, agentId: 'me', parent: null, remote: false }, listener(), (traced) => {
        traced.onStage({ name: 'Build', status: 'Running', at: '2026-11-27T10:00:00.000Z' });
        return Promise.reject(error);
      }),
    ).rejects.toBe(error);
    expect(tracer.spans.map((span) => [span.name, span.ended, span.failures])).toEqual([
      ['BuildAgent.ExecuteBuild', 1, [error]],
      ['BuildStage.Build', 1, [error]],
    ]);
    expect(tracer.spans[0]!.options.kind).toBe('internal');
  });

  it('inSpan returns the value, or fails the span and rethrows', async () => {
    const tracer = recordingTracer();
    expect(await inSpan(tracer, 'ok', {}, () => Promise.resolve(42))).toBe(42);
    await expect(inSpan(tracer, 'bad', {}, () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(tracer.spans.map((span) => [span.name, span.ended, span.failures.length])).toEqual([
      ['ok', 1, 0],
      ['bad', 1, 1],
    ]);
    expect(await inSpan(NOOP_TRACER, 'off', {}, (span) => Promise.resolve(span.traceparent))).toBeUndefined();
  });
});
