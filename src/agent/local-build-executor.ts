import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildExecutionListener, BuildExecutor, BuildOutcome } from '../core/build-execution.js';
import type { BuildRequest } from '../core/models.js';
import type { Logger } from '../core/ports.js';
import { maskUrlCredentials } from '../core/git-input.js';
import { runBuildPipeline, type PipelineInput } from './build-pipeline.js';
import type { ContentStore } from './content-store.js';
import type { ProcessGovernor } from './process-governor.js';
import {
  DEFAULT_WORKSPACE_BUDGET_BYTES,
  PERSISTENT_WORKSPACES_DIR,
  PersistentWorkspaces,
  WORKSPACE_STATE_FILE,
  persistentWorkspaceKey,
} from './persistent-workspaces.js';
import {
  emptyWorkspaceState,
  readWorkspaceState,
  writeWorkspaceState,
  type WorkspaceState,
} from './workspace-state.js';

export interface LocalBuildExecutorOptions {
  workspaceRoot: string;
  contentStore: ContentStore;
  logger: Logger;
  /** Keep each build's workspace after it ends (for debugging); by default it is deleted. */
  keepWorkspaces?: boolean;
  retryDelaysMs?: readonly number[];
  /** Disk budget of the persistent workspaces; past it the least recently used are deleted. */
  workspaceBudgetBytes?: number;
  /** Priority and MSBuild `-m` of the dotnet processes, from the owner's CPU share. */
  governor?: ProcessGovernor;
}

/**
 * Runs whole builds on this machine. Incremental and Clean builds use the persistent workspace of
 * their repository and solution (`<workspaceRoot>/.repos/<key>/`): Incremental reuses it, Clean
 * deletes it and starts afresh. Other strategies, and a build whose persistent workspace is busy
 * with another build, get a fresh workspace of their own under `<workspaceRoot>/<executionId>/`.
 */
export class LocalBuildExecutor implements BuildExecutor {
  readonly workspaces: PersistentWorkspaces;

  constructor(private readonly options: LocalBuildExecutorOptions) {
    this.workspaces = new PersistentWorkspaces({
      root: options.workspaceRoot,
      budgetBytes: options.workspaceBudgetBytes ?? DEFAULT_WORKSPACE_BUDGET_BYTES,
      logger: options.logger,
    });
  }

  /** Deletes workspaces left behind by a crash, except those of builds still to run. */
  async pruneWorkspaces(keepExecutionIds: readonly string[]): Promise<number> {
    const keep = new Set(keepExecutionIds);
    const entries = await readdir(this.options.workspaceRoot).catch(() => [] as string[]);
    const stale = entries.filter((entry) => !keep.has(entry) && entry !== PERSISTENT_WORKSPACES_DIR);
    await Promise.all(
      stale.map((entry) => rm(join(this.options.workspaceRoot, entry), { recursive: true, force: true })),
    );
    if (stale.length > 0) this.options.logger.info('removed stale workspaces', { count: stale.length });
    return stale.length;
  }

  async execute(
    request: BuildRequest,
    {
      signal,
      listener,
      fetchSources,
    }: {
      signal: AbortSignal;
      listener: BuildExecutionListener;
      fetchSources?: PipelineInput['fetchSources'];
    },
  ): Promise<BuildOutcome> {
    if (request.strategy === 'Incremental' || request.strategy === 'Clean') {
      const key = persistentWorkspaceKey(request.job.repositoryUrl, request.job.solutionPath);
      const lease = this.workspaces.tryAcquire(key);
      if (lease) {
        try {
          return await this.executePersistent(request, lease.dir, { signal, listener, fetchSources });
        } finally {
          await this.workspaces
            .evict()
            .catch((error: unknown) =>
              this.options.logger.warn('could not evict workspaces', { error: String(error) }),
            );
          lease.release();
        }
      }
      listener.onLog(
        'WARN',
        'The workspace of this repository and solution is in use by another build: building in a fresh workspace',
      );
    }
    return this.executeFresh(request, { signal, listener, fetchSources });
  }

  /** A build in the persistent workspace of its repository and solution, which it then remembers. */
  private async executePersistent(
    request: BuildRequest,
    workspaceDir: string,
    run: {
      signal: AbortSignal;
      listener: BuildExecutionListener;
      fetchSources?: PipelineInput['fetchSources'];
    },
  ): Promise<BuildOutcome> {
    const { job } = request;
    const statePath = join(workspaceDir, WORKSPACE_STATE_FILE);
    const clean = request.strategy === 'Clean' || request.forceClean;
    let state: WorkspaceState | null = clean ? null : await readWorkspaceState(statePath);
    if (!state) {
      // Clean, or nothing trustworthy to reuse: a fresh workspace.
      await rm(workspaceDir, { recursive: true, force: true, maxRetries: 3 });
      state = emptyWorkspaceState(maskUrlCredentials(job.repositoryUrl), job.solutionPath);
    }
    await mkdir(workspaceDir, { recursive: true });
    run.listener.onLog(
      'INFO',
      state.lastCommit
        ? `Reusing this machine's workspace of ${job.solutionPath} (last built at commit ${state.lastCommit})`
        : `Fresh workspace for ${job.solutionPath}, kept for the next Incremental build of it`,
    );
    const persistent = {
      state,
      statePath,
      evaluationCacheDir: join(workspaceDir, 'evaluations'),
    };
    try {
      return await runBuildPipeline(
        {
          request,
          workspaceDir,
          signal: run.signal,
          contentStore: this.options.contentStore,
          retryDelaysMs: this.options.retryDelaysMs,
          governor: this.options.governor,
          fetchSources: run.fetchSources,
          persistent,
        },
        run.listener,
      );
    } finally {
      state.lastUsedAt = new Date().toISOString();
      await writeWorkspaceState(statePath, state).catch((error: unknown) =>
        this.options.logger.warn('could not save the workspace state', { statePath, error: String(error) }),
      );
    }
  }

  private async executeFresh(
    request: BuildRequest,
    {
      signal,
      listener,
      fetchSources,
    }: {
      signal: AbortSignal;
      listener: BuildExecutionListener;
      fetchSources?: PipelineInput['fetchSources'];
    },
  ): Promise<BuildOutcome> {
    const workspaceDir = join(this.options.workspaceRoot, request.executionId);
    await rm(workspaceDir, { recursive: true, force: true });
    await mkdir(workspaceDir, { recursive: true });
    try {
      return await runBuildPipeline(
        {
          request,
          workspaceDir,
          signal,
          contentStore: this.options.contentStore,
          retryDelaysMs: this.options.retryDelaysMs,
          governor: this.options.governor,
          fetchSources,
        },
        listener,
      );
    } finally {
      if (!this.options.keepWorkspaces) {
        await rm(workspaceDir, { recursive: true, force: true, maxRetries: 3 }).catch((error: unknown) =>
          this.options.logger.warn('could not delete workspace', { workspaceDir, error: String(error) }),
        );
      }
    }
  }
}
