import { durationBetween } from '../core/durations.js';
import { Counter, Gauge, Histogram, MetricsRegistry } from '../core/metrics.js';
import type { BuildRecord, StageResult } from '../core/models.js';

const DURATION_BUCKETS_SECONDS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600];
const QUEUE_WAIT_BUCKETS_SECONDS = [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3600];

/** Live values the metrics read when scraped. */
export interface BuildMetricsSources {
  queueLength: () => number;
  /** Busy agents ÷ online agents × 100, per pool. */
  agentUtilization: () => { pool: string; percent: number }[];
  /** Bytes the action cache's entries take (their blobs); 0 when the node has no cache. */
  cacheSizeBytes?: () => number;
}

/** The node's Prometheus metrics, with the design's names (digest §5.2). */
export class BuildMetrics {
  readonly registry = new MetricsRegistry();
  private readonly started: Counter;
  private readonly completed: Counter;
  private readonly failed: Counter;
  private readonly duration: Histogram;
  private readonly stageDuration: Histogram;
  private readonly queueWait: Histogram;
  private readonly tasks: Counter;
  private readonly cacheHits: Counter;
  private readonly cacheMisses: Counter;
  private readonly canaries: Counter;
  private readonly reproducibility: Counter;

  constructor(sources: BuildMetricsSources) {
    this.started = this.registry.register(
      new Counter('builds_started_total', 'Builds that started running.'),
    );
    this.completed = this.registry.register(
      new Counter('builds_completed_total', 'Builds that reached a terminal status, by status.'),
    );
    this.failed = this.registry.register(
      new Counter('builds_failed_total', 'Builds that ended Failed or TimedOut.'),
    );
    this.duration = this.registry.register(
      new Histogram('build_duration_seconds', 'Build duration from start to end.', DURATION_BUCKETS_SECONDS),
    );
    this.stageDuration = this.registry.register(
      new Histogram(
        'build_stage_duration_seconds',
        'Duration of each finished stage.',
        DURATION_BUCKETS_SECONDS,
      ),
    );
    this.queueWait = this.registry.register(
      new Histogram(
        'build_queue_wait_seconds',
        'Time a build waited in the queue before it started.',
        QUEUE_WAIT_BUCKETS_SECONDS,
      ),
    );
    this.tasks = this.registry.register(
      new Counter(
        'build_tasks_total',
        'Project tasks of finished Distributed and Cached builds, by kind, status and cache use (hit, miss, off).',
      ),
    );
    this.registry.register(
      new Gauge('build_queue_length', 'Builds accepted and waiting to start.', () => [
        { value: sources.queueLength() },
      ]),
    );
    this.registry.register(
      new Gauge('agent_utilization_percent', 'Busy agents as a percentage of online agents, per pool.', () =>
        sources.agentUtilization().map(({ pool, percent }) => ({ labels: { pool }, value: percent })),
      ),
    );
    this.cacheHits = this.registry.register(
      new Counter('build_cache_hits_total', 'Task lookups the action cache answered with a verified entry.'),
    );
    this.cacheMisses = this.registry.register(
      new Counter('build_cache_misses_total', 'Task lookups the action cache could not answer.'),
    );
    this.registry.register(
      new Gauge(
        'build_cache_hit_rate',
        'Cache hits ÷ (hits + misses) since start; 0 before any lookup.',
        () => {
          const hits = this.cacheHits.value();
          const total = hits + this.cacheMisses.value();
          return [{ value: total === 0 ? 0 : hits / total }];
        },
      ),
    );
    this.canaries = this.registry.register(
      new Counter(
        'build_canary_total',
        'Canary builds whose canary finished, by result (passed, or the gate it failed).',
      ),
    );
    this.reproducibility = this.registry.register(
      new Counter(
        'build_reproducibility_checks_total',
        'Canary and verify builds whose outputs were compared, by result (reproducible or not).',
      ),
    );
    this.registry.register(
      new Gauge('build_cache_size_bytes', 'Bytes of the blobs the local action cache keeps.', () => [
        { value: sources.cacheSizeBytes?.() ?? 0 },
      ]),
    );
  }

  /** Counts one action-cache lookup. */
  cacheLookup(hit: boolean): void {
    (hit ? this.cacheHits : this.cacheMisses).inc();
  }

  buildStarted(record: BuildRecord): void {
    this.started.inc({ strategy: record.request.strategy });
    const waitedMs = durationBetween(record.queuedAt, record.startTime);
    if (waitedMs !== null)
      this.queueWait.observe(Math.max(0, waitedMs) / 1000, { strategy: record.request.strategy });
  }

  buildFinished(record: BuildRecord): void {
    const { strategy } = record.request;
    this.completed.inc({ strategy, status: record.status });
    if (record.status === 'Failed' || record.status === 'TimedOut') this.failed.inc({ strategy });
    const ms = durationBetween(record.startTime, record.endTime);
    if (ms !== null) {
      this.duration.observe(ms / 1000, {
        project: record.request.job.projectName,
        strategy,
        configuration: record.request.job.configuration,
        success: String(record.status === 'Succeeded'),
      });
    }
    for (const stage of record.stages) this.stageFinished(stage);
    for (const task of record.timeline ?? [])
      this.tasks.inc({ kind: task.kind, status: task.status, cache: task.cache });
    const canary = record.peerResults?.find((result) => result.role === 'canary');
    if (canary && (canary.status === 'Succeeded' || canary.status === 'Failed')) {
      const passed = canary.status === 'Succeeded' && canary.failedGate === null;
      this.canaries.inc({ result: passed ? 'passed' : (canary.failedGate ?? 'build') });
    }
    const reproducible = record.reproducibility?.reproducible;
    if (reproducible === true || reproducible === false)
      this.reproducibility.inc({ result: reproducible ? 'reproducible' : 'not_reproducible' });
  }

  render(): string {
    return this.registry.render();
  }

  private stageFinished(stage: StageResult): void {
    if (stage.status !== 'Succeeded' && stage.status !== 'Failed') return;
    const ms = durationBetween(stage.startTime, stage.endTime);
    if (ms !== null) this.stageDuration.observe(ms / 1000, { stage: stage.name, status: stage.status });
  }
}
