import { describe, expect, it } from 'vitest';
import type { BuildRecord, PeerBuildResult } from '../core/models.js';
import { BuildMetrics } from './build-metrics.js';

const canary = (overrides: Partial<PeerBuildResult>): PeerBuildResult => ({
  agentId: 'peer',
  hostname: 'host',
  role: 'canary',
  status: 'Succeeded',
  startTime: '2026-11-27T10:00:00.000Z',
  endTime: '2026-11-27T10:01:00.000Z',
  failedGate: null,
  message: null,
  testResults: null,
  warningsCount: 0,
  ...overrides,
});

function record(overrides: Omit<Partial<BuildRecord>, 'request'> & { request?: unknown }): BuildRecord {
  return {
    request: { strategy: 'Canary', job: { projectName: 'App', configuration: 'Release' } },
    status: 'Succeeded',
    startTime: '2026-11-27T10:00:00.000Z',
    endTime: '2026-11-27T10:02:00.000Z',
    stages: [],
    ...overrides,
  } as BuildRecord;
}

describe('BuildMetrics: Canary and reproducibility', () => {
  it('counts canaries by result and reproducibility checks by outcome', () => {
    const metrics = new BuildMetrics({ queueLength: () => 0, agentUtilization: () => [] });
    metrics.buildFinished(
      record({
        peerResults: [canary({})],
        reproducibility: { checkedOn: ['a', 'b'], reproducible: false, differences: [], message: null },
      }),
    );
    metrics.buildFinished(
      record({ status: 'Failed', peerResults: [canary({ status: 'Failed', failedGate: 'tests' })] }),
    );
    metrics.buildFinished(record({ status: 'Cancelled', peerResults: [canary({ status: 'Cancelled' })] }));
    metrics.buildFinished(
      record({
        request: { strategy: 'Incremental', job: { projectName: 'App', configuration: 'Release' } },
        reproducibility: { checkedOn: ['a', 'b'], reproducible: true, differences: [], message: null },
      }),
    );
    const text = metrics.render();
    expect(text).toContain('build_canary_total{result="passed"} 1');
    expect(text).toContain('build_canary_total{result="tests"} 1');
    expect(text).not.toContain('build_canary_total{result="build"}');
    expect(text).toContain('build_reproducibility_checks_total{result="not_reproducible"} 1');
    expect(text).toContain('build_reproducibility_checks_total{result="reproducible"} 1');
  });
});

describe('BuildMetrics: builds, stages, queue wait and tasks', () => {
  it('counts started, completed and failed builds, times them and their stages, and counts tasks', () => {
    const metrics = new BuildMetrics({
      queueLength: () => 3,
      agentUtilization: () => [{ pool: 'Linux', percent: 50 }],
    });
    const queued = record({
      request: { strategy: 'Distributed', job: { projectName: 'App', configuration: 'Release' } },
      queuedAt: '2026-11-27T09:59:58.000Z',
      startTime: '2026-11-27T10:00:00.000Z',
    });
    metrics.buildStarted(queued);
    metrics.buildStarted(queued);
    const task = (status: string, cache: string) => ({ kind: 'build', status, cache });
    metrics.buildFinished(
      record({
        request: { strategy: 'Distributed', job: { projectName: 'App', configuration: 'Release' } },
        stages: [
          {
            name: 'Build',
            status: 'Succeeded',
            startTime: '2026-11-27T10:00:00.000Z',
            endTime: '2026-11-27T10:00:30.000Z',
          },
          { name: 'Test', status: 'Skipped', startTime: null, endTime: null },
        ] as BuildRecord['stages'],
        timeline: [task('Succeeded', 'hit'), task('Succeeded', 'miss')] as BuildRecord['timeline'],
      }),
    );
    metrics.buildFinished(
      record({
        status: 'Failed',
        request: { strategy: 'Distributed', job: { projectName: 'App', configuration: 'Release' } },
        timeline: [task('Failed', 'off')] as BuildRecord['timeline'],
      }),
    );
    metrics.cacheLookup(true);
    metrics.cacheLookup(false);
    const text = metrics.render();
    expect(text).toContain('builds_started_total{strategy="Distributed"} 2\n');
    expect(text).toContain('builds_completed_total{status="Succeeded",strategy="Distributed"} 1\n');
    expect(text).toContain('builds_completed_total{status="Failed",strategy="Distributed"} 1\n');
    expect(text).toContain('builds_failed_total{strategy="Distributed"} 1\n');
    expect(text).toContain(
      'build_duration_seconds_sum{configuration="Release",project="App",strategy="Distributed",success="true"} 120\n',
    );
    expect(text).toContain('build_stage_duration_seconds_sum{stage="Build",status="Succeeded"} 30\n');
    expect(text).not.toContain('stage="Test"');
    expect(text).toContain('build_queue_wait_seconds_bucket{strategy="Distributed",le="1"} 0\n');
    expect(text).toContain('build_queue_wait_seconds_bucket{strategy="Distributed",le="5"} 2\n');
    expect(text).toContain('build_tasks_total{cache="hit",kind="build",status="Succeeded"} 1\n');
    expect(text).toContain('build_tasks_total{cache="off",kind="build",status="Failed"} 1\n');
    expect(text).toContain('build_queue_length 3\n');
    expect(text).toContain('agent_utilization_percent{pool="Linux"} 50\n');
    expect(text).toContain('build_cache_hit_rate 0.5\n');
  });
});
