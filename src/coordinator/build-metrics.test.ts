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
