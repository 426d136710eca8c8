import { describe, expect, it, vi } from 'vitest';
import { applyStageUpdate, initialStages } from './build-stages.js';
import { canBuildFramework, frameworksForSdk, frameworksForSdks, targetPoolForOs } from './capabilities.js';
import { formatIsoDuration } from './durations.js';
import { formatLogLine } from './log-format.js';
import type { BuildJob } from './models.js';
import { withRetry } from './retry.js';
import { REDACTED, SecretMasker } from './secret-masker.js';

describe('formatIsoDuration', () => {
  it.each([
    [0, 'PT0S'],
    [1500, 'PT1.5S'],
    [60_000, 'PT1M'],
    [3_723_000, 'PT1H2M3S'],
  ])('%i ms is %s', (ms, text) => expect(formatIsoDuration(ms)).toBe(text));
});

describe('formatLogLine', () => {
  it('uses the [yyyy-MM-dd HH:mm:ss] LEVEL: message format', () => {
    expect(
      formatLogLine({ timestamp: '2026-01-02T03:04:05.678Z', level: 'WARN', message: 'CS8618: x' }),
    ).toBe('[2026-01-02 03:04:05] WARN: CS8618: x');
  });
});

describe('SDK to framework mapping', () => {
  it('lets a 10.0 SDK build net10.0 down to netstandard', () => {
    const frameworks = frameworksForSdk('10.0.401');
    expect(frameworks[0]).toBe('net10.0');
    expect(frameworks).toEqual(
      expect.arrayContaining(['net8.0', 'net5.0', 'netcoreapp3.1', 'netstandard2.0']),
    );
    expect(frameworks).not.toContain('net11.0');
  });
  it('merges SDKs newest first and answers TFM questions', () => {
    const frameworks = frameworksForSdks(['8.0.100', '9.0.200']);
    expect(frameworks.slice(0, 2)).toEqual(['net9.0', 'net8.0']);
    expect(canBuildFramework({ buildableFrameworks: frameworks }, 'net9.0-windows')).toBe(true);
    expect(canBuildFramework({ buildableFrameworks: frameworks }, 'net10.0')).toBe(false);
    expect(frameworksForSdk('garbage')).toEqual([]);
  });
  it('maps operating systems to pools', () => {
    expect(targetPoolForOs('windows')).toBe('Windows');
    expect(targetPoolForOs('macos')).toBe('MacOS');
    expect(targetPoolForOs('linux')).toBe('Linux');
  });
});

describe('SecretMasker', () => {
  it('masks every occurrence, longest secret first', () => {
    const masker = new SecretMasker(['tok', 'token123']);
    expect(masker.mask('a token123 b tok')).toBe(`a ${REDACTED} b ${REDACTED}`);
    expect(masker.withSecrets(['b']).mask('b')).toBe(REDACTED);
  });
});

describe('withRetry', () => {
  it('retries retryable errors with the configured delays, then gives up', async () => {
    const sleep = vi.fn(() => Promise.resolve());
    const attempts: number[] = [];
    await expect(
      withRetry(
        (attempt) => {
          attempts.push(attempt);
          return Promise.reject(new Error('network down'));
        },
        { attempts: 3, delaysMs: [2000, 4000], isRetryable: () => true, sleep },
      ),
    ).rejects.toThrow('network down');
    expect(attempts).toEqual([1, 2, 3]);
    expect(sleep.mock.calls.map((call) => (call as unknown[])[0])).toEqual([2000, 4000]);
  });
  it('does not retry other errors', async () => {
    const sleep = vi.fn(() => Promise.resolve());
    let calls = 0;
    await expect(
      withRetry(() => Promise.reject(new Error(`fatal ${++calls}`)), {
        attempts: 3,
        delaysMs: [1],
        isRetryable: () => false,
        sleep,
      }),
    ).rejects.toThrow('fatal 1');
    expect(sleep).not.toHaveBeenCalled();
  });
  it('returns the first success', async () => {
    let calls = 0;
    const value = await withRetry(
      () => (++calls < 2 ? Promise.reject(new Error('x')) : Promise.resolve('ok')),
      {
        attempts: 3,
        delaysMs: [0],
        isRetryable: () => true,
        sleep: () => Promise.resolve(),
      },
    );
    expect(value).toBe('ok');
  });
});

describe('stages', () => {
  const job = { runTests: false, createPackages: false, publishArtifacts: true } as BuildJob;
  it('skips disabled stages from the start', () => {
    const stages = initialStages(job);
    expect(stages.map((s) => `${s.name}:${s.status}`)).toEqual([
      'Clone:Pending',
      'Restore:Pending',
      'Build:Pending',
      'Test:Skipped',
      'Package:Pending',
      'Upload:Pending',
    ]);
    expect(initialStages({ ...job, publishArtifacts: false }).find((s) => s.name === 'Upload')?.status).toBe(
      'Skipped',
    );
  });
  it('records start and end times of a stage', () => {
    let stages = applyStageUpdate(initialStages(job), { name: 'Clone', status: 'Running', at: 't1' });
    stages = applyStageUpdate(stages, {
      name: 'Clone',
      status: 'Succeeded',
      at: 't2',
      message: 'ok',
      warningsCount: 1,
    });
    expect(stages[0]).toMatchObject({
      status: 'Succeeded',
      startTime: 't1',
      endTime: 't2',
      message: 'ok',
      warningsCount: 1,
    });
  });
});
