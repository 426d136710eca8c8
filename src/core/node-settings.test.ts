import { describe, expect, it } from 'vitest';
import {
  DEFAULT_NODE_SETTINGS,
  InvalidSettingsError,
  mergeStoredSettings,
  parseSettingsPatch,
} from './node-settings.js';

function problemsOf(body: unknown) {
  try {
    parseSettingsPatch(body);
  } catch (error) {
    if (error instanceof InvalidSettingsError) return error.problems;
    throw error;
  }
  throw new Error('expected a validation error');
}

describe('parseSettingsPatch', () => {
  it('accepts a subset, with enums in any case', () => {
    expect(parseSettingsPatch({ donationMode: 'whenidle', cpuSharePercent: 50 })).toEqual({
      donationMode: 'WhenIdle',
      cpuSharePercent: 50,
    });
    expect(parseSettingsPatch({ onUserReturn: 'HAND-BACK', startAtLogin: true })).toEqual({
      onUserReturn: 'hand-back',
      startAtLogin: true,
    });
  });

  it('names each bad field and what is allowed', () => {
    const problems = problemsOf({ donationMode: 'Sometimes', cpuSharePercent: 5, maxParallelBuilds: 1.5 });
    expect(problems).toEqual(
      expect.arrayContaining([
        { field: 'donationMode', message: 'must be one of: Always, WhenIdle, Paused' },
        { field: 'cpuSharePercent', message: 'must be at least 10 percent' },
        { field: 'maxParallelBuilds', message: 'must be a whole number of builds from 1 to 64' },
      ]),
    );
    expect(problemsOf({ idleAfterMinutes: '5' })).toEqual([
      { field: 'idleAfterMinutes', message: 'must be a whole number of minutes from 1 to 1440' },
    ]);
  });

  it('refuses unknown fields, empty patches and non-objects', () => {
    expect(problemsOf({ donation: 'Paused' })[0]).toMatchObject({ field: 'donation' });
    expect(problemsOf({ donation: 'Paused' })[0]?.message).toContain('donationMode');
    expect(problemsOf({})[0]).toMatchObject({ field: '(body)' });
    expect(problemsOf([1])[0]).toMatchObject({ field: '(body)' });
  });
});

describe('mergeStoredSettings', () => {
  it('lets valid stored keys win and reports the rest', () => {
    const { settings, problems } = mergeStoredSettings(DEFAULT_NODE_SETTINGS, {
      donationMode: 'Paused',
      cpuSharePercent: 3,
      constructor: 1,
      colour: 'red',
    });
    expect(settings).toEqual({ ...DEFAULT_NODE_SETTINGS, donationMode: 'Paused' });
    expect(problems.map((p) => p.field)).toEqual(['cpuSharePercent', 'constructor', 'colour']);
  });

  it('keeps the base when the file is not an object', () => {
    expect(mergeStoredSettings(DEFAULT_NODE_SETTINGS, 'x').settings).toBe(DEFAULT_NODE_SETTINGS);
  });
});
