import type { DonationMode } from './mesh-messages.js';
import type { BuildStatus } from './models.js';
import type { NodeSettings, NodeSettingsPatch } from './node-settings.js';

/**
 * The desktop tray, as pure data: its icon state, tooltip and menu follow from what the node
 * reports; src/main turns them into Electron objects and runs the actions.
 */

/**
 * What the tray icon shows:
 * - `offline` — the node is not running (starting, stopping, failed to start);
 * - `building` — this machine runs a build or project task;
 * - `paused` — it takes no work from peers (Paused, Maintenance, or its owner is at a WhenIdle machine);
 * - `idle` — it waits for work.
 */
export type TrayState = 'idle' | 'building' | 'paused' | 'offline';

/** What the tray knows of the node. */
export interface TrayFacts {
  /** Null while the node is not running. */
  settings: NodeSettings | null;
  /** Builds and project tasks running on this machine. */
  running: readonly string[];
  accepting: boolean;
  /** Why it does not accept work, when it does not. */
  reason: string | null;
  cpuCores: number;
  /** The node listens on addresses others can dial, so a join code can be made. */
  canShareMesh: boolean;
  /** Quit was chosen and the node is finishing or handing back its work. */
  quitting: boolean;
}

/** What choosing a menu item does. */
export type TrayAction =
  | { type: 'update-settings'; patch: NodeSettingsPatch }
  | { type: 'open-dashboard' }
  | { type: 'copy-join-code' }
  | { type: 'join-mesh' }
  | { type: 'quit' };

export type TrayMenuItem =
  | { kind: 'separator' }
  /** A line of text that cannot be chosen. */
  | { kind: 'label'; label: string }
  | { kind: 'action'; label: string; action: TrayAction; enabled: boolean }
  | { kind: 'radio' | 'checkbox'; label: string; checked: boolean; action: TrayAction; enabled: boolean }
  | { kind: 'submenu'; label: string; items: TrayMenuItem[]; enabled: boolean };

const DONATION_LABELS: Record<DonationMode, string> = {
  Always: 'Always',
  WhenIdle: 'When idle',
  Paused: 'Paused',
};
const CPU_SHARES = [25, 50, 75, 100];
const PARALLEL_BUILDS = [1, 2, 3, 4, 6, 8, 12, 16];
const IDLE_MINUTES = [5, 10, 15, 30, 60];
/** The longest tooltip Windows shows. */
const TOOLTIP_MAX = 127;

export function trayState(facts: TrayFacts): TrayState {
  if (!facts.settings) return 'offline';
  if (facts.running.length > 0) return 'building';
  return facts.accepting ? 'idle' : 'paused';
}

/** The tooltip: the state, and the running task when there is one. */
export function trayTooltip(facts: TrayFacts): string {
  const text = ((): string => {
    if (!facts.settings) return 'Build Mesh: offline';
    const first = facts.running[0];
    if (facts.quitting)
      return first ? `Build Mesh: quitting after ${describeRunning(facts.running)}` : 'Build Mesh: quitting';
    if (first) return `Build Mesh: building ${describeRunning(facts.running)}`;
    if (!facts.accepting) return `Build Mesh: not taking work (${facts.reason ?? 'paused'})`;
    return `Build Mesh: idle, donating ${facts.settings.donationMode === 'WhenIdle' ? 'when idle' : 'always'}`;
  })();
  return text.length > TOOLTIP_MAX ? `${text.slice(0, TOOLTIP_MAX - 1)}…` : text;
}

function describeRunning(running: readonly string[]): string {
  const [first] = running;
  return running.length > 1 ? `${first} (+${running.length - 1} more)` : (first ?? '');
}

/** The menu, top to bottom. */
export function trayMenu(facts: TrayFacts): TrayMenuItem[] {
  const { settings } = facts;
  const live = settings !== null && !facts.quitting;
  const set = (patch: NodeSettingsPatch): TrayAction => ({ type: 'update-settings', patch });
  const radios = <T extends number | string>(
    values: readonly T[],
    current: T | undefined,
    label: (value: T) => string,
    patch: (value: T) => NodeSettingsPatch,
  ): TrayMenuItem[] =>
    withCurrent(values, current).map((value) => ({
      kind: 'radio',
      label: label(value),
      checked: value === current,
      action: set(patch(value)),
      enabled: live,
    }));
  const parallelChoices = PARALLEL_BUILDS.filter((count) => count <= Math.max(1, facts.cpuCores));

  return [
    { kind: 'label', label: statusLine(facts) },
    { kind: 'separator' },
    {
      kind: 'submenu',
      label: 'Donate',
      enabled: live,
      items: radios(
        ['Always', 'WhenIdle', 'Paused'] as const,
        settings?.donationMode,
        (mode) => DONATION_LABELS[mode],
        (donationMode) => ({ donationMode }),
      ),
    },
    {
      kind: 'submenu',
      label: 'Max parallel builds',
      enabled: live,
      items: radios(
        parallelChoices,
        settings?.maxParallelBuilds,
        (count) => String(count),
        (maxParallelBuilds) => ({ maxParallelBuilds }),
      ),
    },
    {
      kind: 'submenu',
      label: 'CPU share',
      enabled: live,
      items: radios(
        CPU_SHARES,
        settings?.cpuSharePercent,
        (share) => `${share}%`,
        (cpuSharePercent) => ({ cpuSharePercent }),
      ),
    },
    {
      kind: 'submenu',
      label: 'When idle',
      enabled: live,
      items: [
        ...radios(
          IDLE_MINUTES,
          settings?.idleAfterMinutes,
          (minutes) => `Idle after ${minutes} min`,
          (idleAfterMinutes) => ({ idleAfterMinutes }),
        ),
        { kind: 'separator' },
        ...radios(
          ['lower-priority', 'hand-back'] as const,
          settings?.onUserReturn,
          (action) =>
            action === 'hand-back'
              ? 'When I come back: hand running work back'
              : 'When I come back: lower its priority',
          (onUserReturn) => ({ onUserReturn }),
        ),
      ],
    },
    { kind: 'separator' },
    {
      kind: 'action',
      label: 'Open dashboard',
      action: { type: 'open-dashboard' },
      enabled: settings !== null,
    },
    {
      kind: 'action',
      label: 'Copy join code',
      action: { type: 'copy-join-code' },
      enabled: live && facts.canShareMesh,
    },
    { kind: 'action', label: 'Join a mesh…', action: { type: 'join-mesh' }, enabled: live },
    { kind: 'separator' },
    {
      kind: 'checkbox',
      label: 'Start at login',
      checked: settings?.startAtLogin ?? false,
      action: set({ startAtLogin: !(settings?.startAtLogin ?? false) }),
      enabled: live,
    },
    { kind: 'separator' },
    { kind: 'action', label: quitLabel(facts), action: { type: 'quit' }, enabled: true },
  ];
}

function statusLine(facts: TrayFacts): string {
  switch (trayState(facts)) {
    case 'offline':
      return 'Offline: the node is not running';
    case 'building':
      return `Building: ${describeRunning(facts.running)}`;
    case 'paused':
      return `Not taking work: ${facts.reason ?? 'paused'}`;
    case 'idle':
      return 'Idle: taking work from the mesh';
  }
}

function quitLabel(facts: TrayFacts): string {
  if (facts.quitting) return 'Quit now (hand running work back)';
  return facts.running.length > 0 ? `Quit (finishes or hands back ${facts.running.length} running)` : 'Quit';
}

/** The choices, plus the current value when it is none of them (set through the API). */
function withCurrent<T extends number | string>(values: readonly T[], current: T | undefined): T[] {
  if (current === undefined || values.includes(current)) return [...values];
  const all = [...values, current];
  return typeof current === 'number' ? all.sort((a, b) => Number(a) - Number(b)) : all;
}

/** How Quit ends running work. */
export interface QuitPlan {
  /** Hand peers' work back at once, so their coordinators run it elsewhere. */
  handBack: boolean;
  /** How long to wait for running work before stopping anyway (it is then cancelled). */
  timeoutMs: number;
}

/** Lets running work finish unless the owner chose hand-back; a second Quit hands back at once. */
export function quitPlan(facts: Pick<TrayFacts, 'settings' | 'running' | 'quitting'>): QuitPlan {
  if (facts.running.length === 0) return { handBack: false, timeoutMs: 0 };
  if (facts.quitting || facts.settings?.onUserReturn === 'hand-back')
    return { handBack: true, timeoutMs: 30_000 };
  return { handBack: false, timeoutMs: 15 * 60_000 };
}

/** The notification for a build launched from this machine that ended. */
export function buildFinishedNotification(build: { projectName: string; status: BuildStatus }): {
  title: string;
  body: string;
} {
  const verdict: Partial<Record<BuildStatus, string>> = {
    Succeeded: 'succeeded',
    Failed: 'failed',
    Cancelled: 'was cancelled',
    TimedOut: 'timed out',
  };
  return {
    title: `Build ${verdict[build.status] ?? build.status.toLowerCase()}`,
    body: `${build.projectName}: ${build.status}. Open the dashboard for the log, tests and artifacts.`,
  };
}
