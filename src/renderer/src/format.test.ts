import { describe, expect, it } from 'vitest';
import { formatIsoDuration } from '../../core/durations.js';
import { formatDuration, formatOs, formatPercent, parseIsoDuration } from './format.js';
import { agentStatusTone, buildStatusTone } from './status-tone.js';

describe('parseIsoDuration', () => {
  it('reads back every duration the API writes', () => {
    for (const ms of [0, 450, 90_500, 3_723_000, 36_000_000]) {
      expect(parseIsoDuration(formatIsoDuration(ms))).toBe(ms);
    }
  });

  it('is null for anything else', () => {
    expect(parseIsoDuration('PT')).toBeNull();
    expect(parseIsoDuration('P1D')).toBeNull();
    expect(parseIsoDuration('90 s')).toBeNull();
  });
});

describe('formatDuration', () => {
  it('shows durations the way people say them', () => {
    expect(formatDuration('PT4.25S')).toBe('4.3 s');
    expect(formatDuration('PT42S')).toBe('42 s');
    expect(formatDuration('PT3M5.9S')).toBe('3 min 5 s');
    expect(formatDuration('PT1H2M3S')).toBe('1 h 2 min');
  });

  it('shows a dash when there is no duration', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration('garbage')).toBe('—');
  });
});

describe('formatPercent and formatOs', () => {
  it('rounds usage and names the OS', () => {
    expect(formatPercent(42.46)).toBe('42 %');
    expect(formatPercent(Number.NaN)).toBe('—');
    expect(formatOs('macos', 'arm64')).toBe('macOS arm64');
    expect(formatOs('windows', '')).toBe('Windows');
  });
});

describe('status tones', () => {
  it('colours failures, work in progress and success apart', () => {
    expect(buildStatusTone('Failed')).toBe('bad');
    expect(buildStatusTone('TimedOut')).toBe('bad');
    expect(buildStatusTone('Running')).toBe('active');
    expect(buildStatusTone('Queued')).toBe('waiting');
    expect(buildStatusTone('Succeeded')).toBe('good');
    expect(buildStatusTone('Cancelled')).toBe('muted');
    expect(agentStatusTone('Building')).toBe('active');
    expect(agentStatusTone('Offline')).toBe('muted');
  });
});
