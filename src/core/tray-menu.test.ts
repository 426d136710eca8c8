import { describe, expect, it } from 'vitest';
import { DEFAULT_NODE_SETTINGS } from './node-settings.js';
import {
  buildFinishedNotification,
  quitPlan,
  trayMenu,
  trayState,
  trayTooltip,
  type TrayFacts,
  type TrayMenuItem,
} from './tray-menu.js';

const facts = (overrides: Partial<TrayFacts> = {}): TrayFacts => ({
  settings: DEFAULT_NODE_SETTINGS,
  running: [],
  accepting: true,
  reason: null,
  cpuCores: 8,
  canShareMesh: true,
  quitting: false,
  ...overrides,
});

function find(items: TrayMenuItem[], label: string): TrayMenuItem {
  const item = items.find((entry) => 'label' in entry && entry.label === label);
  if (!item) throw new Error(`no menu item "${label}"`);
  return item;
}

function submenu(items: TrayMenuItem[], label: string): TrayMenuItem[] {
  const item = find(items, label);
  if (item.kind !== 'submenu') throw new Error(`"${label}" is not a submenu`);
  return item.items;
}

describe('trayState and trayTooltip', () => {
  it('is offline while the node is not running', () => {
    const offline = facts({ settings: null });
    expect(trayState(offline)).toBe('offline');
    expect(trayTooltip(offline)).toBe('Build Mesh: offline');
  });

  it('is building while work runs, and names the task', () => {
    const building = facts({ running: ['App: build:src/App/App.csproj', 'Lib: test:Lib.Tests'] });
    expect(trayState(building)).toBe('building');
    expect(trayTooltip(building)).toBe('Build Mesh: building App: build:src/App/App.csproj (+1 more)');
  });

  it('is paused when the node takes no work, with the reason', () => {
    const paused = facts({
      accepting: false,
      reason: 'the owner of this peer is using it (donates when idle)',
      settings: { ...DEFAULT_NODE_SETTINGS, donationMode: 'WhenIdle' },
    });
    expect(trayState(paused)).toBe('paused');
    expect(trayTooltip(paused)).toContain('not taking work (the owner of this peer is using it');
  });

  it('is idle otherwise, and keeps tooltips within what Windows shows', () => {
    expect(trayState(facts())).toBe('idle');
    expect(trayTooltip(facts())).toBe('Build Mesh: idle, donating always');
    expect(trayTooltip(facts({ running: ['x'.repeat(300)] })).length).toBeLessThanOrEqual(127);
  });
});

describe('trayMenu', () => {
  it('has the items of the issue, in order', () => {
    const labels = trayMenu(facts())
      .filter((item) => item.kind !== 'separator')
      .map((item) => ('label' in item ? item.label : ''));
    expect(labels).toEqual([
      'Idle: taking work from the mesh',
      'Donate',
      'Max parallel builds',
      'CPU share',
      'When idle',
      'Open dashboard',
      'Copy join code',
      'Join a mesh…',
      'Start at login',
      'Quit',
    ]);
  });

  it('checks the current donation mode and changes it through a settings patch', () => {
    const donate = submenu(
      trayMenu(facts({ settings: { ...DEFAULT_NODE_SETTINGS, donationMode: 'Paused' } })),
      'Donate',
    );
    expect(donate.map((item) => item.kind === 'radio' && [item.label, item.checked])).toEqual([
      ['Always', false],
      ['When idle', false],
      ['Paused', true],
    ]);
    expect(donate[1]).toMatchObject({
      action: { type: 'update-settings', patch: { donationMode: 'WhenIdle' } },
    });
  });

  it('offers slots up to the core count and keeps a value set elsewhere', () => {
    const parallel = submenu(trayMenu(facts({ cpuCores: 4 })), 'Max parallel builds');
    expect(parallel.map((item) => item.kind === 'radio' && item.label)).toEqual(['1', '2', '3', '4']);
    const shares = submenu(
      trayMenu(facts({ settings: { ...DEFAULT_NODE_SETTINGS, cpuSharePercent: 40 } })),
      'CPU share',
    );
    expect(shares.map((item) => item.kind === 'radio' && [item.label, item.checked])).toEqual([
      ['25%', false],
      ['40%', true],
      ['50%', false],
      ['75%', false],
      ['100%', false],
    ]);
    expect(shares[2]).toMatchObject({ action: { patch: { cpuSharePercent: 50 } } });
  });

  it('toggles start at login', () => {
    expect(find(trayMenu(facts()), 'Start at login')).toMatchObject({
      kind: 'checkbox',
      checked: false,
      action: { type: 'update-settings', patch: { startAtLogin: true } },
    });
  });

  it('disables settings while offline or quitting, but never Quit', () => {
    for (const state of [facts({ settings: null }), facts({ quitting: true, running: ['App'] })]) {
      const menu = trayMenu(state);
      expect(find(menu, 'Donate')).toMatchObject({ enabled: false });
      expect(find(menu, 'Join a mesh…')).toMatchObject({ enabled: false });
      const quit = menu.at(-1);
      expect(quit).toMatchObject({ kind: 'action', action: { type: 'quit' }, enabled: true });
    }
    expect(find(trayMenu(facts({ canShareMesh: false })), 'Copy join code')).toMatchObject({
      enabled: false,
    });
  });

  it('says what Quit does with running work', () => {
    expect(trayMenu(facts({ running: ['a', 'b'] })).at(-1)).toMatchObject({
      label: 'Quit (finishes or hands back 2 running)',
    });
    expect(trayMenu(facts({ running: ['a'], quitting: true })).at(-1)).toMatchObject({
      label: 'Quit now (hand running work back)',
    });
  });
});

describe('quitPlan', () => {
  it('quits at once when nothing runs', () => {
    expect(quitPlan(facts())).toEqual({ handBack: false, timeoutMs: 0 });
  });

  it('lets work finish, or hands it back when the owner chose that or quits twice', () => {
    expect(quitPlan(facts({ running: ['a'] }))).toEqual({ handBack: false, timeoutMs: 900_000 });
    expect(
      quitPlan(facts({ running: ['a'], settings: { ...DEFAULT_NODE_SETTINGS, onUserReturn: 'hand-back' } })),
    ).toEqual({ handBack: true, timeoutMs: 30_000 });
    expect(quitPlan(facts({ running: ['a'], quitting: true }))).toEqual({
      handBack: true,
      timeoutMs: 30_000,
    });
  });
});

describe('buildFinishedNotification', () => {
  it('says how the build ended', () => {
    expect(buildFinishedNotification({ projectName: 'App', status: 'Succeeded' })).toEqual({
      title: 'Build succeeded',
      body: 'App: Succeeded. Open the dashboard for the log, tests and artifacts.',
    });
    expect(buildFinishedNotification({ projectName: 'App', status: 'TimedOut' }).title).toBe(
      'Build timed out',
    );
  });
});
