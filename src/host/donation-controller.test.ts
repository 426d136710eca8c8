import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_NODE_SETTINGS, type NodeSettings } from '../core/node-settings.js';
import type { Logger } from '../core/ports.js';
import { AgentSlots } from './agent-slots.js';
import { DonationController } from './donation-controller.js';

const warnings: string[] = [];
const logger: Logger = {
  child: () => logger,
  debug: () => undefined,
  info: () => undefined,
  warn: (message) => warnings.push(message),
  error: () => undefined,
};

describe('DonationController', () => {
  let dir: string;
  let settingsPath: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'buildmesh-donation-'));
    settingsPath = join(dir, 'settings.json');
    warnings.length = 0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function controller(settings: Partial<NodeSettings> = {}, slots = new AgentSlots(1)) {
    const lowered: number[] = [];
    let maintenance = false;
    const donation = new DonationController({
      settingsPath,
      settings: { ...DEFAULT_NODE_SETTINGS, ...settings },
      stored: {},
      cpuCores: 8,
      slots,
      isInMaintenance: () => maintenance,
      lowerRunning: (niceness) => {
        lowered.push(niceness);
        return 1;
      },
      logger,
    });
    return { donation, slots, lowered, setMaintenance: (value: boolean) => (maintenance = value) };
  }

  it('loads settings.json over the config, dropping bad entries', async () => {
    expect(await DonationController.loadSettings(settingsPath, DEFAULT_NODE_SETTINGS, logger)).toEqual({
      settings: DEFAULT_NODE_SETTINGS,
      stored: {},
    });
    await writeFile(settingsPath, JSON.stringify({ donationMode: 'Paused', cpuSharePercent: 7 }));
    expect(await DonationController.loadSettings(settingsPath, DEFAULT_NODE_SETTINGS, logger)).toEqual({
      settings: { ...DEFAULT_NODE_SETTINGS, donationMode: 'Paused' },
      stored: { donationMode: 'Paused' },
    });
    expect(warnings).toEqual(['settings file entry ignored']);
    await writeFile(settingsPath, '{ not json');
    expect(
      (await DonationController.loadSettings(settingsPath, DEFAULT_NODE_SETTINGS, logger)).stored,
    ).toEqual({});
  });

  it('applies a patch live and keeps only what was changed', async () => {
    const { donation, slots } = controller();
    let changes = 0;
    donation.onChange(() => changes++);
    await donation.update({ maxParallelBuilds: 3, cpuSharePercent: 50 });
    expect(slots.capacity).toBe(3);
    expect(donation.processLimits()).toEqual({ niceness: 11, maxCpuCount: 4 });
    expect(changes).toBeGreaterThan(0);
    expect(JSON.parse(await readFile(settingsPath, 'utf8'))).toEqual({
      maxParallelBuilds: 3,
      cpuSharePercent: 50,
    });
  });

  it('WhenIdle follows the idle time; Paused and Maintenance never accept', async () => {
    const { donation, setMaintenance } = controller({ donationMode: 'WhenIdle', idleAfterMinutes: 5 });
    expect(donation.availability()).toEqual({ accepting: true });
    donation.setIdleSeconds(10);
    expect(donation.activity()).toBe('present');
    expect(donation.availability().accepting).toBe(false);
    donation.setIdleSeconds(301);
    expect(donation.availability()).toEqual({ accepting: true });
    setMaintenance(true);
    expect(donation.availability()).toEqual({ accepting: false, reason: 'this peer is in Maintenance' });
    setMaintenance(false);
    await donation.update({ donationMode: 'Paused' });
    expect(donation.acceptanceNow()).toEqual({ accepting: false, reason: 'donation is paused on this peer' });
  });

  it('counts a full machine as not accepting in what it announces', () => {
    const { donation, slots } = controller();
    slots.tryAcquire('busy');
    expect(donation.availability()).toEqual({ accepting: true });
    expect(donation.acceptanceNow()).toEqual({ accepting: false, reason: 'no free build slot' });
  });

  it('lowers running work when the owner returns, until it ends', () => {
    const { donation, slots, lowered } = controller({ donationMode: 'WhenIdle', idleAfterMinutes: 1 });
    donation.setIdleSeconds(120);
    const release = slots.tryAcquireForPeer('peer task');
    donation.setIdleSeconds(2);
    expect(lowered).toEqual([19]);
    expect(donation.processLimits().niceness).toBe(19);
    expect(release?.handedBack.aborted).toBe(false);
    release?.release();
    expect(donation.processLimits().niceness).toBe(0);
  });

  it("hands peers' work back when so configured, also on switching to WhenIdle at the machine", async () => {
    const { donation, slots } = controller({ onUserReturn: 'hand-back' });
    donation.setIdleSeconds(2);
    const lease = slots.tryAcquireForPeer('peer task');
    expect(lease?.handedBack.aborted).toBe(false);
    await donation.update({ donationMode: 'WhenIdle' });
    expect(lease?.handedBack.aborted).toBe(true);
  });

  it('drains: no more work, and optionally hands back', () => {
    const { donation, slots } = controller();
    const lease = slots.tryAcquireForPeer('peer task');
    expect(donation.drain('this peer is shutting down', true)).toBe(1);
    expect(lease?.handedBack.aborted).toBe(true);
    expect(donation.availability()).toEqual({ accepting: false, reason: 'this peer is shutting down' });
  });
});
