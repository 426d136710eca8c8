import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiApp } from '../api/app.js';
import { detectCapabilities } from '../agent/capability-detector.js';
import { ContentStore } from '../agent/content-store.js';
import { LocalBuildExecutor } from '../agent/local-build-executor.js';
import { BuildCoordinator } from '../coordinator/build-coordinator.js';
import { targetPoolForOs } from '../core/capabilities.js';
import type { BuildStrategy } from '../core/models.js';
import type { Logger } from '../core/ports.js';
import type { NodeConfig } from './config.js';
import { FileBuildLogStore } from './file-build-log-store.js';
import { LocalAgentDirectory } from './local-agent-directory.js';
import { JsonLogger } from './logger.js';
import { SqliteBuildStore } from './sqlite-build-store.js';

/** Strategies a single node can run on its own; the mesh-based ones arrive with the mesh. */
export const LOCAL_STRATEGIES: readonly BuildStrategy[] = ['Incremental', 'Clean'];

export interface BuildNodeOptions {
  config: NodeConfig;
  logger?: Logger;
  /** Delays between git retries (tests shorten them). */
  retryDelaysMs?: readonly number[];
}

/**
 * The composition root: builds the store, CAS, agent, coordinator and API from config, and
 * starts and stops them in order. Knows nothing of Electron.
 */
export class BuildNode {
  private constructor(
    readonly config: NodeConfig,
    readonly apiUrl: string,
    readonly agentId: string,
    private readonly server: Server,
    private readonly coordinator: BuildCoordinator,
    private readonly store: SqliteBuildStore,
    private readonly logs: FileBuildLogStore,
    private readonly logger: Logger,
  ) {}

  static async start(options: BuildNodeOptions): Promise<BuildNode> {
    const { config } = options;
    const logger = options.logger ?? new JsonLogger('buildmesh', config.logLevel);
    mkdirSync(config.dataDir, { recursive: true });
    mkdirSync(config.workspaceDir, { recursive: true });

    const store = new SqliteBuildStore(join(config.dataDir, 'buildmesh.db'));
    const logs = new FileBuildLogStore(join(config.dataDir, 'logs'));
    const contentStore = new ContentStore(join(config.dataDir, 'cas'));
    const capabilities = await detectCapabilities({
      workspaceDir: config.workspaceDir,
      maxConcurrentBuilds: config.maxConcurrentBuilds,
      logger: logger.child('agent'),
    });
    const agent = { agentId: loadNodeId(config.dataDir), hostname: hostname(), targetType: targetPoolForOs(capabilities.os) };
    const executor = new LocalBuildExecutor({
      workspaceRoot: config.workspaceDir,
      contentStore,
      logger: logger.child('agent'),
      keepWorkspaces: config.keepWorkspaces,
      retryDelaysMs: options.retryDelaysMs,
    });
    if (!config.keepWorkspaces) await executor.pruneWorkspaces(store.listByStatus(['Queued']).map((r) => r.executionId));
    const coordinator = new BuildCoordinator({
      store,
      logs,
      executor,
      agent,
      logger,
      maxConcurrentBuilds: config.maxConcurrentBuilds,
      runnableStrategies: LOCAL_STRATEGIES,
      newId: randomUUID,
    });
    await coordinator.start();

    const agents = new LocalAgentDirectory(agent, capabilities, { runningJobs: () => coordinator.runningJobs() }, config.workspaceDir);
    const app = createApiApp({
      builds: coordinator,
      logs,
      artifacts: contentStore,
      agents,
      health: () => agents.ownHealth(),
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
    logger.info('node started', { apiUrl, dataDir: config.dataDir, agentId: agent.agentId });
    return new BuildNode(config, apiUrl, agent.agentId, server, coordinator, store, logs, logger);
  }

  /** Stops in reverse order: API, coordinator (running builds are cancelled), logs, store. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      setTimeout(() => this.server.closeAllConnections(), 2000).unref();
    });
    await this.coordinator.stop();
    this.logs.close();
    this.store.close();
    this.logger.info('node stopped');
  }
}

/** A stable id for this node, kept in its data dir. */
function loadNodeId(dataDir: string): string {
  const path = join(dataDir, 'node-id');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const id = `node-${randomUUID()}`;
  writeFileSync(path, `${id}\n`);
  return id;
}
