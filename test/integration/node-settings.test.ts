import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentView } from '../../src/core/agent-view.js';
import { JobRejectedError } from '../../src/core/errors.js';
import type { JobOffer } from '../../src/core/job-messages.js';
import type { NodeConfigView } from '../../src/core/node-settings.js';
import { BLOB_PROTOCOL } from '../../src/mesh/blob-protocol.js';
import { JobService } from '../../src/mesh/job-protocol.js';
import type { MeshNode } from '../../src/mesh/mesh-node.js';
import { PresenceService } from '../../src/mesh/presence-service.js';
import { loadSwarmKey } from '../../src/mesh/swarm-key.js';
import { startMeshNode, stopAll, testLogger, testPresence } from '../helpers/mesh-harness.js';
import { api, apiFetch, removeDir, startTestNode, waitFor, type TestNode } from '../helpers/node-harness.js';
import { sampleBuildRequest, sampleJobOffer } from '../helpers/sample-build-request.js';

/**
 * The owner's settings on a real node: `PATCH /api/v1/config` applies them live, the node then
 * declines offers from a real peer over the job protocol and announces it in presence, and the
 * settings survive a restart. No dotnet build runs: every offer is declined or handed back before
 * its sources arrive.
 */
describe('node settings (GET/PATCH /api/v1/config)', () => {
  let donor: TestNode;
  let peer: MeshNode;
  let peerJobs: JobService;
  let peerPresence: PresenceService;

  beforeAll(async () => {
    donor = await startTestNode();
    const swarmKey = await loadSwarmKey(donor.dataDir);
    if (!swarmKey) throw new Error('the node created no mesh key');
    peer = await startMeshNode({ swarmKey, bootstrap: [donor.node.meshAddresses[0] ?? ''] });
    // The peer serves no sources: a job accepted by the donor waits on its first blob until stopped.
    await peer.handle(BLOB_PROTOCOL, () => undefined);
    peerJobs = new JobService({
      node: peer,
      host: { consider: () => ({ accept: false, reason: 'test peer' }) },
      logger: testLogger,
    });
    await peerJobs.start();
    peerPresence = new PresenceService({
      node: peer,
      local: testPresence('coordinator'),
      logger: testLogger,
      announceIntervalMs: 300,
      offlineAfterMs: 4_000,
    });
    peerPresence.start();
    await waitFor('the peer to hear the donor', () => Promise.resolve(donorAnnouncement()), 20_000, 50);
  }, 60_000);

  afterAll(async () => {
    peerPresence.stop();
    await peerJobs.stop().catch(() => undefined);
    await stopAll([peer]);
    await donor.stop();
    await removeDir(donor.dataDir);
  });

  function donorAnnouncement() {
    return peerPresence.peer(donor.node.agentId)?.announcement ?? null;
  }

  const config = async () => (await api<NodeConfigView>(donor.url, 'GET', '/api/v1/config')).body;
  const offer = (executionId: string, task = false): JobOffer => {
    const base = sampleJobOffer(sampleBuildRequest(executionId));
    if (!task) return base;
    return {
      ...base,
      task: {
        taskId: 'build:App.csproj',
        kind: 'build',
        project: 'App.csproj',
        cacheKey: 'c'.repeat(64),
        place: [],
      },
    };
  };
  const offerToDonor = (job: JobOffer, signal = new AbortController().signal) =>
    peerJobs.runJob(donor.node.agentId, job, { signal, onEvent: () => undefined });

  it('reads the settings and facts about the node', async () => {
    const view = await config();
    expect(view.settings).toEqual({
      donationMode: 'Always',
      maxParallelBuilds: 1,
      cpuSharePercent: 100,
      idleAfterMinutes: 10,
      onUserReturn: 'lower-priority',
      startAtLogin: false,
    });
    expect(view.node).toMatchObject({ agentId: donor.node.agentId, apiUrl: donor.url });
    expect(view.donation).toMatchObject({
      accepting: true,
      reason: null,
      userActivity: 'unknown',
      idleSeconds: null,
      running: [],
      processLimits: { niceness: 0 },
    });
  });

  it('refuses bad settings with 400 naming the field, and non-Admins with 403', async () => {
    const bad = await api<{ details: { field: string; message: string }[] }>(
      donor.url,
      'PATCH',
      '/api/v1/config',
      { cpuSharePercent: 5, donationMode: 'Sometimes', colour: 'red' },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual(
      expect.arrayContaining([
        { field: 'cpuSharePercent', message: 'must be at least 10 percent' },
        { field: 'donationMode', message: 'must be one of: Always, WhenIdle, Paused' },
        expect.objectContaining({ field: 'colour' }),
      ]),
    );
    const developer = await apiFetch(`${donor.url}/api/v1/config`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${donor.node.issueToken('Developer', 60)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ donationMode: 'Paused' }),
    });
    expect(developer.status).toBe(403);
    expect((await config()).settings.donationMode).toBe('Always');
  });

  it('Paused: the node declines whole builds and tasks, and announces it', async () => {
    const patched = await api<NodeConfigView>(donor.url, 'PATCH', '/api/v1/config', {
      donationMode: 'paused',
      cpuSharePercent: 50,
    });
    expect(patched.status).toBe(200);
    expect(patched.body.settings).toMatchObject({ donationMode: 'Paused', cpuSharePercent: 50 });
    expect(patched.body.donation).toMatchObject({
      accepting: false,
      reason: 'donation is paused on this peer',
    });
    expect(patched.body.donation.processLimits.niceness).toBe(11);

    for (const job of [
      offer('00000000-0000-4000-8000-000000000001'),
      offer('00000000-0000-4000-8000-000000000002', true),
    ]) {
      const declined = await offerToDonor(job).then(
        () => null,
        (error: unknown) => error,
      );
      expect(declined).toBeInstanceOf(JobRejectedError);
      expect((declined as JobRejectedError).reason).toBe('donation is paused on this peer');
    }

    const announced = await waitFor(
      'the donor to announce Paused',
      () => Promise.resolve(donorAnnouncement()?.donationMode === 'Paused' && donorAnnouncement()),
      10_000,
      50,
    );
    expect(announced).toMatchObject({ acceptingWork: false, freeSlots: 0 });
    const agents = await api<{ agents: AgentView[] }>(donor.url, 'GET', '/api/v1/agents');
    expect(agents.body.agents.find((agent) => agent.isLocal)).toMatchObject({
      donationMode: 'Paused',
      acceptingWork: false,
      freeSlots: 0,
    });

    const stored = JSON.parse(await readFile(join(donor.dataDir, 'settings.json'), 'utf8')) as unknown;
    expect(stored).toEqual({ donationMode: 'Paused', cpuSharePercent: 50 });
  });

  it('When idle: declines while the owner is at the machine, hands running work back when they return', async () => {
    await api(donor.url, 'PATCH', '/api/v1/config', {
      donationMode: 'WhenIdle',
      idleAfterMinutes: 1,
      onUserReturn: 'hand-back',
    });
    donor.node.setIdleSeconds(5);
    expect((await config()).donation).toMatchObject({
      accepting: false,
      userActivity: 'present',
      idleSeconds: 5,
    });
    const declined = await offerToDonor(offer('00000000-0000-4000-8000-000000000003')).then(
      () => null,
      (error: unknown) => error,
    );
    expect((declined as JobRejectedError).reason).toBe(
      'the owner of this peer is using it (donates when idle)',
    );

    donor.node.setIdleSeconds(120);
    expect((await config()).donation).toMatchObject({ accepting: true, userActivity: 'away' });
    await waitFor(
      'the donor to announce it accepts work',
      () => Promise.resolve(donorAnnouncement()?.acceptingWork === true),
      10_000,
      50,
    );
    const running = offerToDonor(offer('00000000-0000-4000-8000-000000000004'));
    await waitFor(
      'the donor to run the job',
      async () => (await config()).donation.running.length === 1,
      10_000,
      50,
    );
    donor.node.setIdleSeconds(0);
    const outcome = await running;
    expect(outcome).toEqual({
      status: 'Failed',
      errorMessage: 'Handed back: the owner of this peer came back',
      failureKind: 'infrastructure',
    });
    await waitFor(
      'the slot to be free',
      async () => (await config()).donation.running.length === 0,
      10_000,
      50,
    );
  });

  it('keeps the settings across a restart', async () => {
    await donor.stop();
    donor = await startTestNode({ dataDir: donor.dataDir });
    const view = await config();
    expect(view.settings).toMatchObject({
      donationMode: 'WhenIdle',
      cpuSharePercent: 50,
      idleAfterMinutes: 1,
      onUserReturn: 'hand-back',
    });
    // No idle source after a restart: a WhenIdle node counts as idle.
    expect(view.donation).toMatchObject({ accepting: true, userActivity: 'unknown' });
  }, 60_000);
});
