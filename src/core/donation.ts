import type { DonationMode } from './mesh-messages.js';

/**
 * Whether the machine's owner is using it, from the system idle time:
 * - `away` — no keyboard or mouse input for at least the idle threshold;
 * - `present` — input more recently than that;
 * - `unknown` — no idle source (a headless node): treated as away, so `WhenIdle` still donates.
 */
export type UserActivity = 'away' | 'present' | 'unknown';

/** What a node does with the tasks it is running for peers when its owner comes back. */
export const USER_RETURN_ACTIONS = ['lower-priority', 'hand-back'] as const;
/**
 * - `lower-priority` — keep running them at the lowest OS priority;
 * - `hand-back` — cancel them as an infrastructure decline, so their coordinators run them elsewhere.
 */
export type UserReturnAction = (typeof USER_RETURN_ACTIONS)[number];

/** Whether the node takes new work now, and why not when it does not. */
export type Acceptance = { accepting: true } | { accepting: false; reason: string };

/** The activity the system idle time (seconds, or null without an idle source) means. */
export function userActivity(idleSeconds: number | null, idleAfterMinutes: number): UserActivity {
  if (idleSeconds === null || !Number.isFinite(idleSeconds)) return 'unknown';
  return idleSeconds >= idleAfterMinutes * 60 ? 'away' : 'present';
}

export interface AcceptanceInput {
  mode: DonationMode;
  activity: UserActivity;
  /** Build slots free now (`maxParallelBuilds` minus the running ones); omitted, slots are not considered. */
  freeSlots?: number;
  /** The node was put in Maintenance through the API. */
  maintenance?: boolean;
}

/**
 * Whether this node accepts new work: Paused never; WhenIdle only while its owner is away (or when
 * nobody can tell, on a headless node); Always whenever a slot is free. Maintenance wins over all.
 */
export function acceptance({ mode, activity, freeSlots, maintenance = false }: AcceptanceInput): Acceptance {
  if (maintenance) return { accepting: false, reason: 'this peer is in Maintenance' };
  switch (mode) {
    case 'Paused':
      return { accepting: false, reason: 'donation is paused on this peer' };
    case 'WhenIdle':
      if (activity === 'present')
        return { accepting: false, reason: 'the owner of this peer is using it (donates when idle)' };
      break;
    case 'Always':
      break;
  }
  if (freeSlots !== undefined && freeSlots <= 0) return { accepting: false, reason: 'no free build slot' };
  return { accepting: true };
}

/**
 * What to do with running work when the owner's activity changes: only a return (away → present)
 * of a WhenIdle node's owner acts, by the configured action; anything else leaves work alone.
 */
export function actionOnActivityChange(
  mode: DonationMode,
  previous: UserActivity,
  next: UserActivity,
  onUserReturn: UserReturnAction,
): UserReturnAction | null {
  if (mode !== 'WhenIdle' || next !== 'present' || previous === 'present') return null;
  return onUserReturn;
}
