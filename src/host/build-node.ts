import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiApp } from '../api/app.js';
import { isLoopbackHost } from '../api/auth.js';
import type { Role } from '../core/api-access.js';
import { mintToken } from '../core/api-token.js';
import { loadOrCreateJwtSecret } from './jwt-secret.js';
import { ActionCacheStore } from '../agent/action-cache-store.js';
import { MsBuildPlanner } from '../agent/build-planner.js';
import { ProjectTaskRunner } from '../agent/project-task-runner.js';
import { StrategyRouter } from '../coordinator/strategy-router.js';
import { TaskBuildExecutor } from '../coordinator/task-build-executor.js';
import { CanaryBuildExecutor } from '../coordinator/canary-build-executor.js';
import { CasOutputInspector } from '../agent/output-inspector.js';
import { NotReproducibleProjects } from './not-reproducible-projects.js';
import { ActionCacheService } from '../mesh/action-cache-protocol.js';
import { Libp2pEntrySigner } from '../mesh/entry-signer.js';
import { MeshTaskCache } from './mesh-task-cache.js';
import { MeshTaskDispatcher, ProjectTaskHost } from './project-task-host.js';
import { detectCapabilities } from '../agent/capability-detector.js';
import { ContentStore } from '../agent/content-store.js';
import { GitSourcePreparer } from '../agent/git-source-preparer.js';
import { GitSolutionLister } from '../agent/git/git-solution-lister.js';
import { publishTaskEvents } from './task-events.js';
import { LocalBuildExecutor } from '../agent/local-build-executor.js';
import { sleep } from '../agent/sleep.js';
import { BuildCoordinator } from '../coordinator/build-coordinator.js';
import { BuildMetrics } from '../coordinator/build-metrics.js';
import { MeshBuildExecutor } from '../coordinator/mesh-build-executor.js';
import type { BuildExecutor } from '../core/build-execution.js';
import { NodeEventBus } from '../core/build-events.js';
import { targetPoolForOs } from '../core/capabilities.js';
import { isTerminalStatus, type AgentStatus, type BuildStatus, type BuildStrategy } from '../core/models.js';
import type { PeerCandidate } from '../core/peer-selection.js';
import type { Logger } from '../core/ports.js';
import { errorMessage } from '../core/errors.js';
import type { TaskCacheLookup, TaskCacheQuery } from '../core/action-cache.js';
import type { NotReproducibleMark } from '../core/not-reproducible.js';
import { BlobService } from '../mesh/blob-protocol.js';
import { JobService } from '../mesh/job-protocol.js';
import { MeshNode } from '../mesh/mesh-node.js';
import { loadOrCreateIdentity } from '../mesh/mesh-identity.js';
import { MeshPeerDirectory } from '../mesh/mesh-peer-directory.js';
import { PresenceService } from '../mesh/presence-service.js';
import { MeshRemoteJobRunner } from '../mesh/remote-job-runner.js';
import { decodeJoinCode, encodeJoinCode, loadOrCreateSwarmKey, writeSwarmKey } from '../mesh/swarm-key.js';
import { AgentSlots } from './agent-slots.js';
import { DonationController } from './donation-controller.js';
import { ProcessGovernor } from '../agent/process-governor.js';
import type { NodeConfigView, NodeSettings, NodeSettingsPatch } from '../core/node-settings.js';
import { artifactFileName } from '../core/desktop-bridge.js';
import type { NodeConfig } from './config.js';
import { FileBuildLogStore } from './file-build-log-store.js';
import { LocalMachine } from './local-machine.js';
import { JsonLogger } from './logger.js';
import { MeshJobHost } from './mesh-job-host.js';
import { startTracing, type NodeTracing } from './tracing.js';
import { traceAgentRun } from '../core/tracing.js';
import { SqliteAuditStore } from './sqlite-audit-store.js';
import { SqliteBuildStore } from './sqlite-build-store.js';

/** Strategies a node can run today. */
export const RUNNABLE_STRATEGIES: readonly BuildStrategy[] = [
  'Incremental',
  'Clean',
  'Cached',
  'Distributed',
  'Canary',
];

/** Strategies run as project tasks spread over the mesh; the others run whole on one peer. */
const TASK_STRATEGIES: readonly BuildStrategy[] = ['Cached', 'Distributed'];

/** How many builds one node coordinates at once; where they run is limited by the peers' slots. */
const COORDINATION_LIMIT = 32;

export interface BuildNodeOptions {
  config: NodeConfig;
  logger?: Logger;
  /** Delays between retries of git and of attempts on other peers (tests shorten them). */
  retryDelaysMs?: readonly number[];
  /** A join code (`buildmesh mesh join-code` on a member): adopt that mesh's key and dial its address. */
  joinCode?: string;
  /** Interval of the SSE heartbeat comment (tests shorten it). */
  sseHeartbeatMs?: number;
}

/**
 * The composition root: builds the store, CAS, agent, mesh, coordinator and API from config,
 * and starts and stops them in order. Knows nothing of Electron.
 */
export class BuildNode {
  private constructor(
    readonly config: NodeConfig,
    readonly apiUrl: string,
    readonly agentId: string,
    readonly meshAddresses: string[],
    /** Opens the dashboard signed in as Admin for 12 hours: `<apiUrl>/#token=<token>`. */
    readonly signInUrl: string,
    private readonly jwtSecret: Buffer,
    private readonly parts: {
      server: Server;
      coordinator: BuildCoordinator;
      mesh: MeshNode;
      presence: PresenceService;
      jobs: JobService;
      blobs: BlobService;
      cacheService: ActionCacheService;
      store: SqliteBuildStore;
      audit: SqliteAuditStore;
      logs: FileBuildLogStore;
      timers: NodeJS.Timeout[];
      logger: Logger;
      tracing: NodeTracing;
      donation: DonationController;
      slots: AgentSlots;
      events: NodeEventBus;
      swarmKey: Uint8Array;
      configView: () => NodeConfigView;
      contentStore: ContentStore;
      notReproducible: NotReproducibleProjects;
      markNotReproducible: (repositoryUrl: string, projects: string[]) => void;
      taskCache: MeshTaskCache;
    },
  ) {}

  static async start(options: BuildNodeOptions): Promise<BuildNode> {
    const { config } = options;
    const logger = options.logger ?? new JsonLogger('buildmesh', config.logLevel);
    mkdirSync(config.dataDir, { recursive: true });
    mkdirSync(config.workspaceDir, { recursive: true });

    const jwtSecret = await loadOrCreateJwtSecret(config.dataDir);
    const store = new SqliteBuildStore(join(config.dataDir, 'buildmesh.db'));
    const audit = new SqliteAuditStore(join(config.dataDir, 'buildmesh.db'));
    const logs = new FileBuildLogStore(join(config.dataDir, 'logs'));
    const contentStore = new ContentStore(join(config.dataDir, 'cas'));
    const capabilities = await detectCapabilities({
      workspaceDir: config.workspaceDir,
      maxConcurrentBuilds: config.maxConcurrentBuilds,
      logger: logger.child('agent'),
    });

    const identity = await loadOrCreateIdentity(config.dataDir);
    const bootstrap = await meshBootstrap(config, options.joinCode);
    const { swarmKey, created } = await loadOrCreateSwarmKey(config.dataDir);
    if (created) logger.info('created a new mesh; share it with `buildmesh mesh join-code`');
    const mesh = await MeshNode.create({
      privateKey: identity.privateKey,
      swarmKey,
      listenAddresses: config.meshListen,
      bootstrap,
      mdns: config.meshMdns,
      allowList: config.meshAllowList.length > 0 ? config.meshAllowList : undefined,
      logger,
    });
    await mesh.start();
    const agentId = mesh.peerId;
    // Off, with the no-op tracer, unless OTEL_* variables configure an exporter.
    const tracing = startTracing({ config: config.tracing, agentId, hostname: hostname(), logger });
    const { tracer } = tracing;
    const meshAddresses = mesh.multiaddrs();
    await writeFile(
      join(config.dataDir, 'mesh', 'addresses.json'),
      `${JSON.stringify(meshAddresses, null, 2)}\n`,
    );

    const machine = new LocalMachine(agentId, capabilities, config.workspaceDir);
    // The owner's settings: config gives the defaults, settings.json what was changed since.
    const settingsPath = join(config.dataDir, 'settings.json');
    const loaded = await DonationController.loadSettings(settingsPath, settingsFromConfig(config), logger);
    const slots = new AgentSlots(loaded.settings.maxParallelBuilds);
    let maintenance = false;
    const donation: DonationController = new DonationController({
      settingsPath,
      ...loaded,
      cpuCores: capabilities.cpuCores,
      slots,
      isInMaintenance: () => maintenance,
      lowerRunning: (niceness) => governor.lowerRunning(niceness),
      logger,
    });
    const governor = new ProcessGovernor(() => donation.processLimits());
    const ownStatus = (): AgentStatus =>
      maintenance ? 'Maintenance' : slots.jobs().length > 0 ? 'Building' : 'Idle';
    const livePresence = () => {
      const accepting = donation.availability().accepting;
      return {
        status: ownStatus(),
        donationMode: donation.settings().donationMode,
        maxConcurrentBuilds: slots.capacity,
        acceptingWork: accepting,
        freeSlots: accepting ? slots.free() : 0,
        cpuUsage: machine.cpuUsage(),
        memoryUsage: machine.memoryUsage(),
        currentJob: slots.jobs()[0] ?? null,
      };
    };
    // Projects found not reproducible here or by any peer: announced on presence, kept on disk.
    const notReproducible = new NotReproducibleProjects(
      join(config.dataDir, 'action-cache', 'not-reproducible.json'),
    );
    const presence = new PresenceService({
      node: mesh,
      local: {
        notReproducible: notReproducible.announced(),
        hostname: hostname(),
        os: capabilities.os,
        arch: capabilities.arch,
        capabilities,
        startedAt: machine.startedAt.toISOString(),
        ...livePresence(),
      },
      logger,
      announceIntervalMs: config.presenceIntervalMs,
      offlineAfterMs: config.peerOfflineAfterMs,
    });
    /** Marks projects of a repository not reproducible (Canary and verify builds call it) and tells the mesh. */
    const markNotReproducible = (repositoryUrl: string, projects: string[]): void => {
      const added = notReproducible.mark(repositoryUrl, projects);
      if (added.length === 0) return;
      for (const mark of added)
        logger.info('project marked not reproducible', {
          repositoryUrl: mark.repositoryUrl,
          project: mark.project,
        });
      presence.update({ notReproducible: notReproducible.announced() });
    };
    // Every member's marks become this node's too (and so travel on in its own announcements).
    presence.on('change', ({ kind, peer }) => {
      const announced = peer.announcement.notReproducible;
      if (kind === 'offline' || !announced || announced.length === 0) return;
      let added: ReturnType<NotReproducibleProjects['merge']>;
      try {
        added = notReproducible.merge(announced);
      } catch (error) {
        logger.warn('could not keep not-reproducible marks from a peer', {
          agentId: peer.agentId,
          error: errorMessage(error),
        });
        return;
      }
      if (added.length === 0) return;
      for (const mark of added)
        logger.info('learned a not-reproducible project from a peer', {
          agentId: peer.agentId,
          hostname: peer.announcement.hostname,
          repositoryUrl: mark.repositoryUrl ?? '(any repository)',
          project: mark.project,
        });
      presence.update({ notReproducible: notReproducible.announced() });
    });
    presence.start();
    const refreshPresence = () => presence.update(livePresence());
    slots.onChange(refreshPresence);
    donation.onChange(refreshPresence);
    const loadTimer = setInterval(refreshPresence, config.presenceIntervalMs);
    loadTimer.unref();

    const blobs = new BlobService({ node: mesh, store: contentStore, logger });
    await blobs.start();

    const localExecutor = new LocalBuildExecutor({
      workspaceRoot: config.workspaceDir,
      contentStore,
      logger: logger.child('agent'),
      keepWorkspaces: config.keepWorkspaces,
      workspaceBudgetBytes: config.workspaceBudgetBytes,
      retryDelaysMs: options.retryDelaysMs,
      governor,
    });
    if (!config.keepWorkspaces)
      await localExecutor.pruneWorkspaces(store.listByStatus(['Queued']).map((r) => r.executionId));
    // Builds this node runs for itself take a slot like the ones it runs for peers.
    const slottedLocal: BuildExecutor = {
      execute: async (request, run) => {
        const release = await slots.acquire(request.job.projectName, run.signal);
        try {
          return await traceAgentRun(
            tracer,
            { request, agentId, parent: run.span, remote: false },
            run.listener,
            (listener) => localExecutor.execute(request, { ...run, listener }),
          );
        } finally {
          release();
        }
      },
    };

    const signer = new Libp2pEntrySigner(identity.privateKey);
    const actionCache = new ActionCacheStore({
      directory: join(config.dataDir, 'action-cache'),
      contentStore,
    });
    // Expired entries go now, and the size metric starts from what is on disk.
    await actionCache.prune();
    const taskHost = new ProjectTaskHost({
      slots,
      runner: new ProjectTaskRunner({
        workspaceRoot: config.workspaceDir,
        contentStore,
        logger: logger.child('agent'),
        governor,
      }),
      signer,
      sdkVersion: newestSdk(capabilities.installedSdks),
      keepEntry: (signed) => actionCache.keep(signed),
      availability: () => donation.availability(),
    });
    const jobs = new JobService({
      node: mesh,
      logger,
      tracer,
      agentId,
      host: new MeshJobHost({
        tasks: taskHost,
        slots,
        availability: () => donation.availability(),
        executor: localExecutor,
        blobs,
        contentStore,
        logger,
      }),
    });
    await jobs.start();

    const directory = new MeshPeerDirectory({
      presence,
      ownHealth: () => machine.health(ownStatus()),
      setOwnMaintenance: (enabled) => {
        maintenance = enabled;
        logger.info(enabled ? 'entered maintenance: no new work is accepted' : 'left maintenance');
        refreshPresence();
      },
      ban: (peerId) => mesh.ban(peerId),
      ownFreeSlots: () => slots.free(),
      unban: (peerId) => mesh.unban(peerId),
    });
    const remote = new MeshRemoteJobRunner(jobs, blobs, (sha256) => contentStore.has(sha256));
    const sourcePreparer = new GitSourcePreparer({
      workspaceRoot: config.workspaceDir,
      contentStore,
      retryDelaysMs: options.retryDelaysMs,
    });
    const wholeBuilds = new MeshBuildExecutor({
      localAgentId: agentId,
      peers: directory,
      local: slottedLocal,
      sources: sourcePreparer,
      remote,
      logger,
      retryDelaysMs: options.retryDelaysMs,
      sleep,
      tracer,
    });
    const outputInspector = new CasOutputInspector(contentStore);
    const cacheService = new ActionCacheService({
      node: mesh,
      store: {
        get: (cacheKey) => actionCache.get(cacheKey),
        markUsed: (cacheKey) => actionCache.markUsed(cacheKey),
        lastInputs: (kind, project) => actionCache.lastInputs(kind, project),
      },
      // Entries of projects found not reproducible are never served to peers.
      isNotReproducible: (project, repositoryUrl) => notReproducible.has(project, repositoryUrl),
      logger,
    });
    await cacheService.start();
    const taskCache = new MeshTaskCache({
      store: actionCache,
      contentStore,
      peers: cacheService,
      blobs,
      signer,
      onlinePeers: () =>
        directory
          .candidates()
          .filter((peer) => peer.agentId !== agentId && peer.status !== 'Offline')
          .map((peer) => peer.agentId),
      isMember: (peerId) =>
        peerId === agentId || directory.candidates().some((peer) => peer.agentId === peerId),
      logger,
      metrics: { cacheLookup: (hit) => metrics.cacheLookup(hit) },
      isNotReproducible: (project, repositoryUrl) => notReproducible.has(project, repositoryUrl),
    });
    const taskBuilds = new TaskBuildExecutor({
      localAgentId: agentId,
      peers: directory,
      sources: sourcePreparer,
      planner: new MsBuildPlanner({
        workspaceRoot: config.workspaceDir,
        contentStore,
        evaluationCacheDir: join(config.dataDir, 'evaluation-cache'),
        sdkFingerprint: capabilities.installedSdks.join(','),
      }),
      tracer,
      dispatcher: new MeshTaskDispatcher({ localAgentId: agentId, local: taskHost, remote, tracer }),
      cache: taskCache,
      logger,
      retryDelaysMs: options.retryDelaysMs,
      inspector: outputInspector,
      onNotReproducible: markNotReproducible,
    });
    const checkedBuilds = new CanaryBuildExecutor({
      localAgentId: agentId,
      peers: directory,
      local: slottedLocal,
      sources: sourcePreparer,
      remote,
      inspector: outputInspector,
      onNotReproducible: markNotReproducible,
      logger,
      tracer,
    });
    const executor = new StrategyRouter(TASK_STRATEGIES, taskBuilds, wholeBuilds, checkedBuilds);
    const events = new NodeEventBus();
    let lastPeers = '';
    directory.onChange(() => {
      // Load figures change with every announcement; only who is there and their status are events.
      const agents = directory
        .candidates()
        .map(({ agentId, status, freeSlots }) => ({ agentId, status, freeSlots }));
      const summary = JSON.stringify(agents);
      if (summary === lastPeers) return;
      lastPeers = summary;
      events.publish('peer', null, { agents });
    });
    const metrics: BuildMetrics = new BuildMetrics({
      queueLength: (): number => coordinator.queueLength(),
      agentUtilization: () => agentUtilization(directory.candidates()),
      cacheSizeBytes: () => actionCache.knownStats().bytes,
    });
    const coordinator: BuildCoordinator = new BuildCoordinator({
      store,
      logs,
      executor: publishTaskEvents(executor, events),
      agent: { agentId, hostname: hostname(), targetType: targetPoolForOs(capabilities.os) },
      logger,
      maxConcurrentBuilds: COORDINATION_LIMIT,
      runnableStrategies: RUNNABLE_STRATEGIES,
      newId: randomUUID,
      metrics,
      events,
      tracer,
    });
    await coordinator.start();

    let configView = (): NodeConfigView => {
      throw new Error('the API is not listening yet');
    };
    const app = createApiApp({
      auth: { secret: jwtSecret, loopbackOnly: isLoopbackHost(config.apiHost) },
      rateLimits: {
        overallPerMinute: config.rateLimitPerMinute,
        buildsPerMinute: config.buildRateLimitPerMinute,
      },
      corsOrigins: config.corsOrigins,
      builds: coordinator,
      logs,
      artifacts: contentStore,
      agents: directory,
      repositories: new GitSolutionLister({ cacheDir: join(config.dataDir, 'repository-cache') }),
      audit,
      config: {
        view: () => configView(),
        update: async (patch) => {
          await donation.update(patch);
          return configView();
        },
      },
      health: () => directory.health(agentId),
      metrics: () => metrics.render(),
      events,
      sseHeartbeatMs: options.sseHeartbeatMs,
      logger,
      uiDirectory: fileURLToPath(new URL('../../out/renderer', import.meta.url)),
    });
    const server = await new Promise<Server>((resolve, reject) => {
      const listening = app.listen(config.apiPort, config.apiHost, () => resolve(listening));
      listening.once('error', reject);
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const apiUrl = `http://${host}:${address.port}`;
    configView = () => ({
      settings: donation.settings(),
      node: { agentId, apiUrl, meshAddresses, cpuCores: capabilities.cpuCores },
      donation: donationView(donation, slots),
    });
    logger.info('node started', { apiUrl, dataDir: config.dataDir, agentId, meshAddresses });
    // A wildcard bind answers on loopback too; a browser cannot open 0.0.0.0 everywhere.
    const signInHost = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : host;
    const signInToken = mintToken(jwtSecret, { role: 'Admin', ttlSeconds: 12 * 3600, subject: 'dashboard' });
    const signInUrl = `http://${signInHost}:${address.port}/#token=${signInToken.token}`;
    // The link itself is a 12-hour Admin token: shown to the person who started the node, never logged.
    logger.info('dashboard sign-in link ready (Admin, 12 h)', {
      url: `http://${signInHost}:${address.port}/#token=…`,
    });
    return new BuildNode(config, apiUrl, agentId, meshAddresses, signInUrl, jwtSecret, {
      server,
      coordinator,
      mesh,
      presence,
      jobs,
      blobs,
      cacheService,
      store,
      audit,
      logs,
      timers: [loadTimer],
      logger,
      tracing,
      donation,
      slots,
      events,
      swarmKey,
      configView,
      contentStore,
      notReproducible,
      markNotReproducible,
      taskCache,
    });
  }

  /**
   * Signs an API token for `role` with this node's secret: the desktop shell hands one to its UI,
   * tests use them.
   */
  issueToken(role: Role, ttlSeconds: number, subject?: string): string {
    return mintToken(this.jwtSecret, { role, ttlSeconds, subject }).token;
  }

  /** The owner's settings, the node's address and what donation means now (`GET /api/v1/config`). */
  configView(): NodeConfigView {
    return this.parts.configView();
  }

  /** Applies validated settings live and keeps them in `<dataDir>/settings.json` (the tray, `PATCH /api/v1/config`). */
  async updateSettings(patch: NodeSettingsPatch): Promise<NodeConfigView> {
    await this.parts.donation.update(patch);
    return this.parts.configView();
  }

  /**
   * Feeds the owner's idle time (seconds since the last input; null when unknown). Without it, as
   * on a headless node, WhenIdle counts the machine as idle. The desktop shell polls Electron's
   * `powerMonitor.getSystemIdleTime()`.
   */
  setIdleSeconds(seconds: number | null): void {
    this.parts.donation.setIdleSeconds(seconds);
  }

  /** Calls `listener` whenever settings, activity or running work change (the tray redraws). */
  onStateChange(listener: () => void): void {
    this.parts.donation.onChange(listener);
    this.parts.slots.onChange(listener);
  }

  /** Calls `listener` when a build this node coordinates (launched from this machine) ends. */
  onBuildFinished(
    listener: (build: { executionId: string; projectName: string; status: BuildStatus }) => void,
  ): () => void {
    const { events, coordinator } = this.parts;
    return events.subscribe((event) => {
      if (event.type !== 'status' || event.executionId === null) return;
      const { status } = event.data as { status: BuildStatus };
      if (!isTerminalStatus(status)) return;
      const record = coordinator.get(event.executionId);
      listener({ executionId: record.executionId, projectName: record.request.job.projectName, status });
    });
  }

  /**
   * Copies an artifact out of the store into `directory` (verified against its sha256) and
   * returns the file's path: the desktop shell then shows it in the file manager.
   */
  async exportArtifact(artifactId: string, directory: string): Promise<string> {
    const { artifact } = this.parts.coordinator.findArtifact(artifactId);
    const source = await this.parts.contentStore.openVerified(artifact.sha256Hash, artifactId);
    await mkdir(directory, { recursive: true });
    const target = join(directory, artifactFileName(artifact.name));
    await pipeline(source, createWriteStream(target));
    return target;
  }

  /**
   * Marks project directories (`src/Lib`) of a repository as not reproducible, as a Canary or verify
   * build that saw their outputs differ does: their cache entries are no longer served or looked
   * up, and the mark spreads to every peer on presence.
   */
  markNotReproducible(repositoryUrl: string, projects: string[]): void {
    this.parts.markNotReproducible(repositoryUrl, projects);
  }

  /** The projects this node holds as not reproducible (found here or learned from peers), oldest first. */
  notReproducibleMarks(): NotReproducibleMark[] {
    return this.parts.notReproducible.list();
  }

  /** Looks a task up in the mesh-wide action cache exactly as a Cached build does (diagnostics). */
  lookUpCache(query: TaskCacheQuery, signal: AbortSignal): Promise<TaskCacheLookup> {
    return this.parts.taskCache.lookup(query, signal);
  }

  /** Checks a join code before a restart adopts it; throws naming what is wrong. Returns the addresses it names. */
  static checkJoinCode(code: string): string[] {
    return decodeJoinCode(code).addresses;
  }

  /** A join code for this node's mesh (its key and addresses): a secret, like a password. */
  joinCode(): string {
    const addresses = this.meshAddresses.filter((address) => !address.includes('/ip4/0.0.0.0/'));
    return encodeJoinCode({ swarmKey: this.parts.swarmKey, addresses });
  }

  /**
   * Before quitting: takes no more work, hands peers' work back when asked (their coordinators run
   * it elsewhere), then waits for what still runs, at most `timeoutMs`. Resolves with the work
   * still running at the deadline.
   */
  async drain(options: { handBack: boolean; timeoutMs: number }): Promise<string[]> {
    const { donation, slots } = this.parts;
    donation.drain('this peer is shutting down', options.handBack);
    const deadline = Date.now() + options.timeoutMs;
    while (slots.jobs().length > 0 && Date.now() < deadline) await sleep(200);
    return slots.jobs();
  }

  /** Stops in reverse order: API, coordinator (running builds end), mesh services, logs, store. */
  async stop(): Promise<void> {
    const { server, coordinator, mesh, presence, jobs, blobs, cacheService, logs, store, timers, logger } =
      this.parts;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 2000).unref();
    });
    await coordinator.stop();
    for (const timer of timers) clearInterval(timer);
    presence.stop();
    await jobs.stop().catch(() => undefined);
    await blobs.stop().catch(() => undefined);
    await cacheService.stop().catch(() => undefined);
    await mesh.stop();
    // The last spans (the builds just stopped) are exported before the node goes.
    await this.parts.tracing.shutdown();
    logs.close();
    this.parts.audit.close();
    store.close();
    logger.info('node stopped');
  }
}

/**
 * Bootstrap addresses: configured ones plus those remembered from joining. Joining adopts the
 * mesh's key and remembers its address, so later starts need no join code.
 */
async function meshBootstrap(config: NodeConfig, joinCode: string | undefined): Promise<string[]> {
  const rememberedPath = join(config.dataDir, 'mesh', 'bootstrap.json');
  let remembered: string[] = [];
  try {
    const parsed: unknown = JSON.parse(await readFile(rememberedPath, 'utf8'));
    if (Array.isArray(parsed))
      remembered = parsed.filter((entry): entry is string => typeof entry === 'string');
  } catch {
    // Nothing joined yet.
  }
  if (joinCode) {
    const joined = decodeJoinCode(joinCode);
    await writeSwarmKey(config.dataDir, joined.swarmKey);
    remembered = [...new Set([...remembered, ...joined.addresses])];
    mkdirSync(join(config.dataDir, 'mesh'), { recursive: true });
    await writeFile(rememberedPath, `${JSON.stringify(remembered, null, 2)}\n`);
  }
  return [...new Set([...config.meshBootstrap, ...remembered])];
}

/** The owner's settings as config gives them, before `settings.json` overrides them. */
function settingsFromConfig(config: NodeConfig): NodeSettings {
  return {
    donationMode: config.donationMode,
    maxParallelBuilds: config.maxConcurrentBuilds,
    cpuSharePercent: config.cpuSharePercent,
    idleAfterMinutes: config.idleAfterMinutes,
    onUserReturn: config.onUserReturn,
    startAtLogin: false,
  };
}

/** What donation means on this node now, for `GET /api/v1/config` and the tray. */
function donationView(donation: DonationController, slots: AgentSlots): NodeConfigView['donation'] {
  const now = donation.acceptanceNow();
  return {
    accepting: now.accepting,
    reason: now.accepting ? null : now.reason,
    userActivity: donation.activity(),
    idleSeconds: donation.idleSeconds(),
    running: slots.jobs(),
    processLimits: donation.processLimits(),
  };
}

/** The newest SDK installed (`10.0.401`), recorded in the cache entries this machine signs. */
function newestSdk(sdks: readonly string[]): string {
  const parts = (version: string) => version.split(/[.-]/).map((part) => Number.parseInt(part, 10) || 0);
  const sorted = [...sdks].sort((a, b) => {
    const [pa, pb] = [parts(a), parts(b)];
    for (let index = 0; index < Math.max(pa.length, pb.length); index++) {
      const difference = (pa[index] ?? 0) - (pb[index] ?? 0);
      if (difference !== 0) return difference;
    }
    return 0;
  });
  return sorted.at(-1) ?? 'none';
}

/** Busy ÷ online agents × 100, per pool, for `agent_utilization_percent`. */
function agentUtilization(peers: readonly PeerCandidate[]): { pool: string; percent: number }[] {
  const pools = new Map<string, { online: number; busy: number }>();
  for (const peer of peers) {
    if (peer.status === 'Offline') continue;
    const pool = targetPoolForOs(peer.capabilities.os);
    const counts = pools.get(pool) ?? { online: 0, busy: 0 };
    counts.online += 1;
    if (peer.status === 'Building') counts.busy += 1;
    pools.set(pool, counts);
  }
  return [...pools].map(([pool, { online, busy }]) => ({
    pool,
    percent: Math.round((busy / online) * 1000) / 10,
  }));
}
