import type { BuildExecutionListener, BuildOutcome } from './build-execution.js';
import type { StageUpdate } from './build-stages.js';
import type { BuildRequest, StageName } from './models.js';

/**
 * Tracing as the build code sees it: a small port the coordinator, the mesh services and the
 * hosts of remote work call, implemented in `src/host/tracing.ts` over OpenTelemetry. With tracing
 * off the node is handed {@link NOOP_TRACER}: no SDK, no span objects, no `traceparent` on the wire.
 *
 * Spans are parented explicitly (a span of this process, or a W3C `traceparent` that came with a
 * mesh message), never through ambient async context, so one process can host several nodes and
 * a span's parent is always the one the code names.
 */

/** `internal` (default), `server` for work done on another's behalf, `client` for work handed to a peer. */
export type TraceSpanKind = 'internal' | 'server' | 'client';

/** Attribute values; `null` and `undefined` entries are left out. */
export type TraceAttributes = Record<string, string | number | boolean | null | undefined>;

export interface TraceSpan {
  /**
   * The span's W3C `traceparent` (`00-<trace id>-<span id>-<flags>`), to continue the trace on
   * another peer; undefined when the span is not recorded.
   */
  readonly traceparent: string | undefined;
  setAttributes(attributes: TraceAttributes): void;
  /** Status Error with the error's message, and the exception recorded when it is an Error. */
  fail(error: unknown): void;
  /** Ends the span; later calls do nothing. */
  end(): void;
}

export interface TraceSpanOptions {
  kind?: TraceSpanKind;
  attributes?: TraceAttributes;
  /** A span of this process, or a `traceparent` from a peer. Without one the span starts a trace. */
  parent?: TraceSpan | string | null;
  /**
   * For a span that starts a trace: its trace id (32 lowercase hex digits), so a build's trace id
   * is known before the trace exists (the record's `traceId`). Ignored when a parent is given or
   * the id is not valid.
   */
  traceId?: string;
}

/** Port: starts spans. */
export interface Tracer {
  /** False for {@link NOOP_TRACER}: callers may skip work that only feeds spans. */
  readonly enabled: boolean;
  startSpan(name: string, options?: TraceSpanOptions): TraceSpan;
}

const NOOP_SPAN: TraceSpan = {
  traceparent: undefined,
  setAttributes: () => undefined,
  fail: () => undefined,
  end: () => undefined,
};

/** The tracer of a node without tracing: every span is the same inert object. */
export const NOOP_TRACER: Tracer = { enabled: false, startSpan: () => NOOP_SPAN };

const TRACEPARENT = /^([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/;

/** A parsed W3C `traceparent` (version 00). */
export interface TraceContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/**
 * Parses a W3C `traceparent` header value. Null for anything the spec says to ignore: a bad
 * shape, version `ff`, an all-zero trace or span id.
 */
export function parseTraceparent(value: string | null | undefined): TraceContext | null {
  const match = value ? TRACEPARENT.exec(value.trim().toLowerCase()) : null;
  if (!match) return null;
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  if (version === 'ff' || !isValidTraceId(traceId) || /^0+$/.test(spanId)) return null;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

/** `00-<trace id>-<span id>-<01 when sampled, else 00>`. */
export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.sampled ? '01' : '00'}`;
}

/** 32 lowercase hex digits, not all zero. */
export function isValidTraceId(value: string): boolean {
  return /^[\da-f]{32}$/.test(value) && !/^0+$/.test(value);
}

/** The trace id of a build: its execution id without dashes (a UUID's 32 hex digits). */
export function traceIdOfExecution(executionId: string): string {
  return executionId.replace(/-/g, '').toLowerCase();
}

/** The `build.*` attributes every build span carries (digest §5.2). */
export function buildAttributes(request: BuildRequest): TraceAttributes {
  return {
    'build.project': request.job.projectName,
    'build.configuration': request.job.configuration,
    'build.strategy': request.strategy,
    'build.executionId': request.executionId,
  };
}

/** Marks a span with a build's outcome: `build.status`, and status Error unless it succeeded. */
export function recordOutcome(span: TraceSpan, outcome: BuildOutcome): void {
  span.setAttributes({
    'build.status': outcome.status,
    'build.success': outcome.status === 'Succeeded',
    'build.failureKind': outcome.status === 'Succeeded' ? null : outcome.failureKind,
  });
  if (outcome.status !== 'Succeeded') span.fail(outcome.errorMessage);
}

/**
 * Opens a `BuildStage.<name>` span when a stage starts Running and ends it when the stage ends,
 * as the stage events pass through {@link StageSpans.listener} to the listener it wraps.
 */
export class StageSpans {
  private readonly open = new Map<StageName, TraceSpan>();
  readonly listener: BuildExecutionListener;

  constructor(
    private readonly tracer: Tracer,
    private readonly parent: TraceSpan | string | null | undefined,
    inner: BuildExecutionListener,
    private readonly attributes: TraceAttributes = {},
  ) {
    // Inherits every other callback of `inner` (which may itself delegate through its prototype).
    this.listener = tracer.enabled
      ? Object.assign(Object.create(inner) as BuildExecutionListener, {
          onStage: (update: StageUpdate) => {
            this.observe(update);
            inner.onStage(update);
          },
        })
      : inner;
  }

  /** The open span of a stage, for its children (a task of the Build stage). */
  spanOf(stage: StageName): TraceSpan | undefined {
    return this.open.get(stage);
  }

  /** Ends every stage span still open (the run threw or was abandoned). */
  close(error?: unknown): void {
    for (const span of this.open.values()) {
      if (error !== undefined) span.fail(error);
      span.end();
    }
    this.open.clear();
  }

  private observe(update: StageUpdate): void {
    const current = this.open.get(update.name);
    if (update.status === 'Running') {
      if (current) return;
      this.open.set(
        update.name,
        this.tracer.startSpan(`BuildStage.${update.name}`, {
          parent: this.parent,
          attributes: { ...this.attributes, 'build.stage': update.name },
        }),
      );
      return;
    }
    if (!current) return;
    current.setAttributes({
      'build.stage.status': update.status,
      'build.stage.warnings': update.warningsCount,
      'build.stage.errors': update.errorsCount,
    });
    if (update.status === 'Failed') current.fail(update.message ?? `${update.name} failed`);
    current.end();
    this.open.delete(update.name);
  }
}

/**
 * Runs a whole build under a span with its stages as child spans: status Error and the exception
 * recorded when `run` throws (then rethrown), the outcome recorded when it returns.
 */
export async function traceBuildRun(
  tracer: Tracer,
  name: string,
  options: TraceSpanOptions,
  listener: BuildExecutionListener,
  run: (listener: BuildExecutionListener, span: TraceSpan) => Promise<BuildOutcome>,
): Promise<BuildOutcome> {
  if (!tracer.enabled) return run(listener, NOOP_SPAN);
  const span = tracer.startSpan(name, options);
  const stages = new StageSpans(tracer, span, listener);
  try {
    const outcome = await run(stages.listener, span);
    stages.close();
    recordOutcome(span, outcome);
    return outcome;
  } catch (error) {
    stages.close(error);
    span.fail(error);
    throw error;
  } finally {
    span.end();
  }
}

/** Work a peer runs: a whole build, or one project task of a Distributed or Cached build. */
export interface AgentWork {
  request: BuildRequest;
  task?: { taskId: string; kind: string; project: string };
  /** The peer running it (this node). */
  agentId: string;
  /** The coordinator's span: a span of this process, or the `traceparent` of the offer. */
  parent: TraceSpan | string | null | undefined;
  /** True when the work came from another peer over the mesh (span kind server). */
  remote: boolean;
}

/**
 * Runs a peer's work under `BuildAgent.ExecuteBuild` (whole builds, with their stages as
 * `BuildStage.*` children) or `BuildAgent.ExecuteTask` (project tasks), continuing the
 * coordinator's trace.
 */
export function traceAgentRun(
  tracer: Tracer,
  work: AgentWork,
  listener: BuildExecutionListener,
  run: (listener: BuildExecutionListener) => Promise<BuildOutcome>,
): Promise<BuildOutcome> {
  const { request, task } = work;
  return traceBuildRun(
    tracer,
    task ? 'BuildAgent.ExecuteTask' : 'BuildAgent.ExecuteBuild',
    {
      kind: work.remote ? 'server' : 'internal',
      parent: work.parent,
      attributes: {
        'build.project': request.job.projectName,
        'build.configuration': request.job.configuration,
        'build.agent': work.agentId || undefined,
        'build.executionId': request.executionId,
        'build.strategy': request.strategy,
        'build.task.id': task?.taskId,
        'build.task.kind': task?.kind,
        'build.task.project': task?.project,
      },
    },
    listener,
    run,
  );
}

/** Runs `work` in a child span that fails (and rethrows) when `work` throws. */
export async function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: TraceSpanOptions,
  work: (span: TraceSpan) => Promise<T>,
): Promise<T> {
  if (!tracer.enabled) return work(NOOP_SPAN);
  const span = tracer.startSpan(name, options);
  try {
    return await work(span);
  } catch (error) {
    span.fail(error);
    throw error;
  } finally {
    span.end();
  }
}
