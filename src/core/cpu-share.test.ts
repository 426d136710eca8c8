import { describe, expect, it } from 'vitest';
import { LOWEST_NICENESS, processLimitsForCpuShare } from './cpu-share.js';

describe('processLimitsForCpuShare', () => {
  it('gives the whole machine at normal priority at 100%', () => {
    expect(processLimitsForCpuShare(100, 8)).toEqual({ niceness: 0, maxCpuCount: 8 });
  });

  it('lowers the priority and the MSBuild nodes with the share', () => {
    expect(processLimitsForCpuShare(50, 8)).toEqual({ niceness: 11, maxCpuCount: 4 });
    expect(processLimitsForCpuShare(25, 8)).toEqual({ niceness: 16, maxCpuCount: 2 });
    expect(processLimitsForCpuShare(10, 8)).toEqual({ niceness: LOWEST_NICENESS, maxCpuCount: 1 });
  });

  it('keeps at least one MSBuild node', () => {
    expect(processLimitsForCpuShare(30, 2).maxCpuCount).toBe(1);
    expect(processLimitsForCpuShare(100, 0).maxCpuCount).toBe(1);
  });

  it('is monotonic: a larger share never gets a lower priority nor fewer nodes', () => {
    let previous = processLimitsForCpuShare(10, 16);
    for (let share = 11; share <= 100; share++) {
      const next = processLimitsForCpuShare(share, 16);
      expect(next.niceness).toBeLessThanOrEqual(previous.niceness);
      expect(next.maxCpuCount).toBeGreaterThanOrEqual(previous.maxCpuCount);
      previous = next;
    }
  });

  it('clamps shares outside 10–100', () => {
    expect(processLimitsForCpuShare(500, 4)).toEqual(processLimitsForCpuShare(100, 4));
    expect(processLimitsForCpuShare(0, 4)).toEqual(processLimitsForCpuShare(10, 4));
  });
});
