import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Histogram, MetricsRegistry } from './metrics.js';

describe('MetricsRegistry', () => {
  it('renders counters, gauges and histograms in the Prometheus text format', () => {
    const registry = new MetricsRegistry();
    const counter = registry.register(new Counter('jobs_total', 'Jobs.'));
    counter.inc({ kind: 'build' });
    counter.inc({ kind: 'build' }, 2);
    registry.register(
      new Gauge('queue_length', 'Queue.', () => [{ value: 4 }, { labels: { pool: 'Li"nux' }, value: 1.5 }]),
    );
    const histogram = registry.register(new Histogram('duration_seconds', 'Durations.', [1, 10]));
    histogram.observe(0.5, { stage: 'Build' });
    histogram.observe(5, { stage: 'Build' });
    histogram.observe(50, { stage: 'Build' });
    expect(counter.value({ kind: 'build' })).toBe(3);
    expect(registry.render()).toBe(
      [
        '# HELP jobs_total Jobs.',
        '# TYPE jobs_total counter',
        'jobs_total{kind="build"} 3',
        '# HELP queue_length Queue.',
        '# TYPE queue_length gauge',
        'queue_length 4',
        'queue_length{pool="Li\\"nux"} 1.5',
        '# HELP duration_seconds Durations.',
        '# TYPE duration_seconds histogram',
        'duration_seconds_bucket{stage="Build",le="1"} 1',
        'duration_seconds_bucket{stage="Build",le="10"} 2',
        'duration_seconds_bucket{stage="Build",le="+Inf"} 3',
        'duration_seconds_sum{stage="Build"} 55.5',
        'duration_seconds_count{stage="Build"} 3',
        '',
      ].join('\n'),
    );
  });

  it('shows a counter that never counted as 0', () => {
    const registry = new MetricsRegistry();
    registry.register(new Counter('nothing_total', 'Nothing.'));
    expect(registry.render()).toContain('\nnothing_total 0\n');
  });
});
