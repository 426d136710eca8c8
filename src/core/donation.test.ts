import { describe, expect, it } from 'vitest';
import { acceptance, actionOnActivityChange, userActivity } from './donation.js';

describe('userActivity', () => {
  it('is away once the idle time reaches the threshold, present before', () => {
    expect(userActivity(600, 10)).toBe('away');
    expect(userActivity(3_600, 10)).toBe('away');
    expect(userActivity(599, 10)).toBe('present');
    expect(userActivity(0, 1)).toBe('present');
  });

  it('is unknown without an idle source', () => {
    expect(userActivity(null, 10)).toBe('unknown');
    expect(userActivity(Number.NaN, 10)).toBe('unknown');
  });
});

describe('acceptance', () => {
  it('When idle: an idle machine accepts, an active one does not', () => {
    const idle = userActivity(15 * 60, 10);
    const active = userActivity(30, 10);
    expect(acceptance({ mode: 'WhenIdle', activity: idle, freeSlots: 1 })).toEqual({ accepting: true });
    expect(acceptance({ mode: 'WhenIdle', activity: active, freeSlots: 1 })).toEqual({
      accepting: false,
      reason: 'the owner of this peer is using it (donates when idle)',
    });
  });

  it('When idle on a headless node (no idle source) accepts', () => {
    expect(acceptance({ mode: 'WhenIdle', activity: 'unknown', freeSlots: 2 }).accepting).toBe(true);
  });

  it('Paused never accepts, whatever the activity and slots', () => {
    for (const activity of ['away', 'present', 'unknown'] as const) {
      for (const freeSlots of [0, 1, 8]) {
        expect(acceptance({ mode: 'Paused', activity, freeSlots })).toEqual({
          accepting: false,
          reason: 'donation is paused on this peer',
        });
      }
    }
  });

  it('Always accepts even while the owner works, within the free slots', () => {
    expect(acceptance({ mode: 'Always', activity: 'present', freeSlots: 1 }).accepting).toBe(true);
    expect(acceptance({ mode: 'Always', activity: 'present', freeSlots: 0 })).toEqual({
      accepting: false,
      reason: 'no free build slot',
    });
  });

  it('Maintenance wins over every mode', () => {
    expect(acceptance({ mode: 'Always', activity: 'away', freeSlots: 1, maintenance: true })).toEqual({
      accepting: false,
      reason: 'this peer is in Maintenance',
    });
  });
});

describe('actionOnActivityChange', () => {
  it('acts when the owner of a WhenIdle machine comes back', () => {
    expect(actionOnActivityChange('WhenIdle', 'away', 'present', 'hand-back')).toBe('hand-back');
    expect(actionOnActivityChange('WhenIdle', 'unknown', 'present', 'lower-priority')).toBe('lower-priority');
  });

  it('does nothing otherwise', () => {
    expect(actionOnActivityChange('WhenIdle', 'present', 'present', 'hand-back')).toBeNull();
    expect(actionOnActivityChange('WhenIdle', 'present', 'away', 'hand-back')).toBeNull();
    expect(actionOnActivityChange('Always', 'away', 'present', 'hand-back')).toBeNull();
    expect(actionOnActivityChange('Paused', 'away', 'present', 'hand-back')).toBeNull();
  });
});
