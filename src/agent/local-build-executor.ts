import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildExecutionListener, BuildExecutor, BuildOutcome } from '../core/build-execution.js';
import type { BuildRequest } from '../core/models.js';
import type { Logger } from '../core/ports.js';
import { runBuildPipeline, type PipelineInput } from './build-pipeline.js';
import type { ContentStore } from './content-store.js';

export interface LocalBuildExecutorOptions {
  workspaceRoot: string;
  contentStore: ContentStore;
  logger: Logger;
  /** Keep each build's workspace after it ends (for debugging); by default it is deleted. */
  keepWorkspaces?: boolean;
  retryDelaysMs?: readonly number[];
}

/** Runs whole builds on this machine, each in a fresh workspace under `workspaceRoot`. */
export class LocalBuildExecutor implements BuildExecutor {
  constructor(private readonly options: LocalBuildExecutorOptions) {}

  /** Deletes workspaces left behind by a crash, except those of builds still to run. */
  async pruneWorkspaces(keepExecutionIds: readonly string[]): Promise<number> {
    const keep = new Set(keepExecutionIds);
    const entries = await readdir(this.options.workspaceRoot).catch(() => [] as string[]);
    const stale = entries.filter((entry) => !keep.has(entry));
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
