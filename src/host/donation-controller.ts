import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LOWEST_NICENESS, processLimitsForCpuShare, type ProcessLimits } from '../core/cpu-share.js';
import {
  acceptance,
  actionOnActivityChange,
  userActivity,
  type Acceptance,
  type UserActivity,
} from '../core/donation.js';
import { errorMessage } from '../core/errors.js';
import { mergeStoredSettings, type NodeSettings, type NodeSettingsPatch } from '../core/node-settings.js';
import type { Logger } from '../core/ports.js';
import type { AgentSlots } from './agent-slots.js';

export interface DonationControllerOptions {
  /** `<dataDir>/settings.json`: the settings changed through the API or the tray. */
  settingsPath: string;
  settings: NodeSettings;
  /** The settings keys that `settingsPath` holds (they win over config on the next start). */
  stored: NodeSettingsPatch;
  cpuCores: number;
  slots: AgentSlots;
  isInMaintenance: () => boolean;
  /** Lowers every running dotnet process group to this nice value (owner came back). */
  lowerRunning: (niceness: number) => number;
  logger: Logger;
}

/**
 * The owner's say over this machine, applied live: the settings (kept in `settings.json`), the
 * system idle time fed by the desktop shell, and what they mean now — whether the node takes
 * work, how many slots it has, and how its dotnet processes run. When the owner of a WhenIdle
 * machine comes back, running work is lowered in priority or handed back to the peers' coordinators.
 *
 * Not responsible for deciding where work goes (the coordinators) nor for reading the idle time
 * (Electron's powerMonitor, in src/main).
 */
export class DonationController {
  private current: NodeSettings;
  private stored: NodeSettingsPatch;
  private idle: number | null = null;
  private activityNow: UserActivity = 'unknown';
  /** Set when the owner came back and running work went to the lowest priority; cleared when work ends. */
  private lowered = false;
  private draining: string | null = null;
  private readonly listeners: (() => void)[] = [];
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly options: DonationControllerOptions) {
    this.current = options.settings;
    this.stored = options.stored;
    options.slots.onChange(() => {
      if (this.lowered && options.slots.jobs().length === 0) this.lowered = false;
    });
  }

  /** Reads `settings.json` over `base` (from config); invalid keys are dropped and logged. */
  static async loadSettings(
    settingsPath: string,
    base: NodeSettings,
    logger: Logger,
  ): Promise<{ settings: NodeSettings; stored: NodeSettingsPatch }> {
    let text: string;
    try {
      text = await readFile(settingsPath, 'utf8');
    } catch {
      return { settings: base, stored: {} };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      logger.warn('settings file is not valid JSON; using the config', {
        settingsPath,
        error: errorMessage(error),
      });
      return { settings: base, stored: {} };
    }
    const { settings, problems } = mergeStoredSettings(base, parsed);
    for (const problem of problems)
      logger.warn('settings file entry ignored', {
        settingsPath,
        field: problem.field,
        problem: problem.message,
      });
    const stored = Object.fromEntries(
      Object.keys(settings)
        .filter((key) => typeof parsed === 'object' && parsed !== null && Object.hasOwn(parsed, key))
        .filter((key) => !problems.some((problem) => problem.field === key))
        .map((key) => [key, settings[key as keyof NodeSettings]]),
    ) as NodeSettingsPatch;
    return { settings, stored };
  }

  settings(): NodeSettings {
    return this.current;
  }

  /** Applies a validated patch at once and keeps it in `settings.json` (written atomically). */
  async update(patch: NodeSettingsPatch): Promise<NodeSettings> {
    const previous = this.current;
    this.current = { ...this.current, ...patch };
    this.stored = { ...this.stored, ...patch };
    this.options.slots.setCapacity(this.current.maxParallelBuilds);
    if (previous.donationMode !== this.current.donationMode)
      this.options.logger.info('donation mode changed', {
        from: previous.donationMode,
        to: this.current.donationMode,
      });
    // A change of mode or threshold can mean the owner now counts as back.
    this.observe(userActivity(this.idle, this.current.idleAfterMinutes), previous.donationMode);
    const snapshot = `${JSON.stringify(this.stored, null, 2)}\n`;
    const write = this.writes.then(() => writeAtomically(this.options.settingsPath, snapshot));
    this.writes = write.catch(() => undefined);
    this.changed();
    await write;
    return this.current;
  }

  /** Seconds since the owner's last input, or null when unknown; fed every few seconds by the desktop shell. */
  setIdleSeconds(seconds: number | null): void {
    this.idle = seconds === null || !Number.isFinite(seconds) ? null : Math.max(0, seconds);
    this.observe(userActivity(this.idle, this.current.idleAfterMinutes), this.current.donationMode);
  }

  idleSeconds(): number | null {
    return this.idle;
  }

  activity(): UserActivity {
    return this.activityNow;
  }

  /** Whether the node takes work, ignoring free slots (the hosts check those as they take one). */
  availability(): Acceptance {
    if (this.draining) return { accepting: false, reason: this.draining };
    return acceptance({
      mode: this.current.donationMode,
      activity: this.activityNow,
      maintenance: this.options.isInMaintenance(),
    });
  }

  /** Whether the node takes work now, free slots included: what presence announces. */
  acceptanceNow(): Acceptance {
    const available = this.availability();
    if (!available.accepting) return available;
    return this.options.slots.free() > 0 ? available : { accepting: false, reason: 'no free build slot' };
  }

  /** Priority and `-m` of new dotnet processes: the CPU share, or the lowest priority after the owner came back. */
  processLimits(): ProcessLimits {
    const limits = processLimitsForCpuShare(this.current.cpuSharePercent, this.options.cpuCores);
    return this.lowered ? { ...limits, niceness: LOWEST_NICENESS } : limits;
  }

  /** Stops taking work for good (the node is quitting); optionally hands peers' work back. */
  drain(reason: string, handBack: boolean): number {
    this.draining = reason;
    this.changed();
    return handBack ? this.options.slots.handBackPeerWork(reason) : 0;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private observe(next: UserActivity, previousMode: NodeSettings['donationMode']): void {
    const previous = this.activityNow;
    this.activityNow = next;
    const mode = this.current.donationMode;
    // Switching to WhenIdle while the owner is at the machine counts as a return too.
    const before = previousMode !== mode && mode === 'WhenIdle' ? 'away' : previous;
    const action = actionOnActivityChange(mode, before, next, this.current.onUserReturn);
    if (action === 'hand-back') {
      const count = this.options.slots.handBackPeerWork('the owner of this peer came back');
      this.options.logger.info('owner came back: handing peers’ work back', { tasks: count });
    } else if (action === 'lower-priority' && this.options.slots.jobs().length > 0) {
      this.lowered = true;
      const count = this.options.lowerRunning(LOWEST_NICENESS);
      this.options.logger.info('owner came back: running work lowered to the lowest priority', {
        processGroups: count,
      });
    }
    if (previous !== next || action) this.changed();
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

/** Writes `text` to a temporary file beside `path`, then renames it over `path`. */
async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o600 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
