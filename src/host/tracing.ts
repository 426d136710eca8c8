import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  RandomIdGenerator,
  type IdGenerator,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import {
  NOOP_TRACER,
  formatTraceparent,
  isValidTraceId,
  parseTraceparent,
  type TraceAttributes,
  type TraceSpan,
  type TraceSpanKind,
  type TraceSpanOptions,
  type Tracer,
} from '../core/tracing.js';
import type { TracingConfig } from './config.js';

/** The instrumentation scope of every span (digest §5.2: sources `BuildServer.*`). */
export const TRACER_SCOPE = 'BuildServer.BuildMesh';

/** A node's tracing: the tracer its parts use, and the exporter's lifecycle. */
export interface NodeTracing {
  readonly tracer: Tracer;
  /** Exports every ended span now. */
  flush(): Promise<void>;
  /** Flushes and stops exporting; the tracer records nothing afterwards. */
  shutdown(): Promise<void>;
}

const DISABLED: NodeTracing = {
  tracer: NOOP_TRACER,
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

export interface StartTracingOptions {
  /** From `loadTracingConfig`; undefined means tracing is off (unless `exporter` is given). */
  config: TracingConfig | undefined;
  /** This node's peer id: the resource's `service.instance.id`, so each peer's spans can be told apart. */
  agentId: string;
  hostname: string;
  logger: Logger;
  /** Replaces the configured exporter (tests read spans from an in-memory exporter). */
  exporter?: SpanExporter;
}

/**
 * Starts OpenTelemetry tracing for one node: its own tracer provider (not the global one, so
 * several nodes can share a process) with the node's resource (`service.name`, default
 * `BuildServer`; `service.instance.id` = peer id; `host.name`), a batch processor and the OTLP/HTTP
 * exporter. Returns the no-op tracer, and starts nothing, when tracing is not configured.
 */
export function startTracing(options: StartTracingOptions): NodeTracing {
  const { config } = options;
  if (!config && !options.exporter) return DISABLED;
  const logger = options.logger.child('tracing');
  const exporter = new ReportingExporter(
    options.exporter ??
      (config?.exporter === 'console'
        ? new ConsoleSpanExporter()
        : new OTLPTraceExporter({
            url: config?.endpoint,
            headers: config?.headers,
            timeoutMillis: config?.exportTimeoutMs,
          })),
    logger,
  );
  const ids = new ChosenTraceIds();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      ...config?.resourceAttributes,
      'service.name': config?.serviceName ?? 'BuildServer',
      'service.instance.id': options.agentId,
      'host.name': options.hostname,
    }),
    idGenerator: ids,
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        scheduledDelayMillis: config?.scheduleDelayMs ?? 5000,
        exportTimeoutMillis: config?.exportTimeoutMs ?? 10_000,
      }),
    ],
  });
  const tracer = new OtelTracer(provider.getTracer(TRACER_SCOPE), ids);
  let stopped = false;
  logger.info('tracing on', {
    exporter: options.exporter ? 'custom' : config?.exporter,
    endpoint: config?.exporter === 'otlp' ? config.endpoint : undefined,
    serviceName: config?.serviceName ?? 'BuildServer',
  });
  return {
    tracer,
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      if (stopped) return;
      stopped = true;
      tracer.enabled = false;
      await provider
        .shutdown()
        .catch((error: unknown) =>
          logger.warn('could not export the last spans', { error: errorMessage(error) }),
        );
    },
  };
}

/**
 * Trace ids are random, except for a span that starts a trace with a chosen id (a build's trace
 * id is its execution id): `startSpan` is synchronous, so the id set just before it is the one
 * the SDK asks for.
 */
class ChosenTraceIds implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  next: string | undefined;

  generateTraceId(): string {
    const chosen = this.next;
    this.next = undefined;
    return chosen ?? this.random.generateTraceId();
  }

  generateSpanId(): string {
    return this.random.generateSpanId();
  }
}

const KINDS: Record<TraceSpanKind, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
};

class OtelTracer implements Tracer {
  enabled = true;

  constructor(
    private readonly tracer: ReturnType<BasicTracerProvider['getTracer']>,
    private readonly ids: ChosenTraceIds,
  ) {}

  startSpan(name: string, options: TraceSpanOptions = {}): TraceSpan {
    if (!this.enabled) return NOOP_TRACER.startSpan(name);
    const parent = contextOf(options.parent);
    if (parent === ROOT_CONTEXT && options.traceId && isValidTraceId(options.traceId))
      this.ids.next = options.traceId;
    try {
      const span = this.tracer.startSpan(
        name,
        { kind: KINDS[options.kind ?? 'internal'], attributes: cleanAttributes(options.attributes) },
        parent,
      );
      return new OtelSpan(span);
    } finally {
      this.ids.next = undefined;
    }
  }
}

function contextOf(parent: TraceSpan | string | null | undefined): Context {
  if (!parent) return ROOT_CONTEXT;
  if (parent instanceof OtelSpan) return trace.setSpan(ROOT_CONTEXT, parent.span);
  const remote = parseTraceparent(typeof parent === 'string' ? parent : parent.traceparent);
  if (!remote) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: remote.traceId,
    spanId: remote.spanId,
    traceFlags: remote.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  });
}

class OtelSpan implements TraceSpan {
  private ended = false;

  constructor(readonly span: Span) {}

  get traceparent(): string | undefined {
    const context = this.span.spanContext();
    if (!trace.isSpanContextValid(context)) return undefined;
    return formatTraceparent({
      traceId: context.traceId,
      spanId: context.spanId,
      sampled: (context.traceFlags & 1) === 1,
    });
  }

  setAttributes(attributes: TraceAttributes): void {
    if (!this.ended) this.span.setAttributes(cleanAttributes(attributes));
  }

  fail(error: unknown): void {
    if (this.ended) return;
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error).slice(0, 2000) });
    if (error instanceof Error) this.span.recordException(error);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.span.end();
  }
}

function cleanAttributes(attributes: TraceAttributes | undefined): Record<string, string | number | boolean> {
  const clean: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(attributes ?? {}))
    if (value !== null && value !== undefined) clean[key] = value;
  return clean;
}

type ExportCallback = Parameters<SpanExporter['export']>[1];
/** `ExportResultCode.SUCCESS` of @opentelemetry/core (not a direct dependency). */
const EXPORT_SUCCESS = 0;

/** Logs when exports start failing and when they recover, once each, instead of per batch. */
class ReportingExporter implements SpanExporter {
  private failing = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly logger: Logger,
  ) {}

  export(spans: ReadableSpan[], resultCallback: ExportCallback): void {
    this.inner.export(spans, (result) => {
      if (Number(result.code) === EXPORT_SUCCESS) {
        if (this.failing) this.logger.info('span export recovered');
        this.failing = false;
      } else if (!this.failing) {
        this.failing = true;
        this.logger.warn('span export failed; spans are dropped until the collector answers', {
          error: result.error ? errorMessage(result.error) : 'unknown',
        });
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
