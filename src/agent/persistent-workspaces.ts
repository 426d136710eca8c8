import { createHash } from 'node:crypto';
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { repositoryIdentity } from '../core/git-input.js';
import type { Logger } from '../core/ports.js';
import { readWorkspaceState } from './workspace-state.js';

/** The folder below the workspace root that holds the persistent workspaces. */
export const PERSISTENT_WORKSPACES_DIR = '.repos';
export const WORKSPACE_STATE_FILE = 'state.json';
export const DEFAULT_WORKSPACE_BUDGET_BYTES = 20 * 1024 ** 3;

/**
 * The persistent workspace of a repository and solution: the same folder for every Incremental
 * build of them on this machine. Credentials in the URL do not count, nor a trailing `.git` or `/`.
 */
export function persistentWorkspaceKey(repositoryUrl: string, solutionPath: string): string {
  const url = repositoryIdentity(repositoryUrl);
  const solution = solutionPath.replaceAll('\\', '/').replace(/^\.\//, '');
  return createHash('sha256').update(`${url}\n${solution}`).digest('hex').slice(0, 16);
}

/**
 * One workspace per repository and solution under `<root>/.repos/<key>/`, kept between builds, used by
 * one build at a time, and evicted least recently used first when they all take more than the budget.
 */
export class PersistentWorkspaces {
  private readonly inUse = new Set<string>();

  constructor(private readonly options: { root: string; budgetBytes: number; logger: Logger }) {}

  get directory(): string {
    return join(this.options.root, PERSISTENT_WORKSPACES_DIR);
  }

  pathOf(key: string): string {
    return join(this.directory, key);
  }

  /** Claims the workspace of `key`; null when another build is using it. */
  tryAcquire(key: string): { dir: string; release: () => void } | null {
    if (this.inUse.has(key)) return null;
    this.inUse.add(key);
    let released = false;
    return {
      dir: this.pathOf(key),
      release: () => {
        if (released) return;
        released = true;
        this.inUse.delete(key);
      },
    };
  }

  /**
   * Deletes the least recently used workspaces not in use until the rest fit the budget. A workspace
   * in use is never deleted, even when it alone is over the budget. Returns the keys it evicted.
   */
  async evict(): Promise<string[]> {
    const keys = await readdir(this.directory).catch(() => [] as string[]);
    const workspaces = await Promise.all(
      keys.map(async (key) => {
        const dir = this.pathOf(key);
        const state = await readWorkspaceState(join(dir, WORKSPACE_STATE_FILE));
        const lastUsed = state ? Date.parse(state.lastUsedAt) : 0;
        return { key, dir, bytes: await sizeOf(dir), lastUsed: Number.isNaN(lastUsed) ? 0 : lastUsed };
      }),
    );
    let total = workspaces.reduce((sum, workspace) => sum + workspace.bytes, 0);
    const evicted: string[] = [];
    for (const workspace of workspaces.sort((a, b) => a.lastUsed - b.lastUsed)) {
      if (total <= this.options.budgetBytes) break;
      if (this.inUse.has(workspace.key)) continue;
      await rm(workspace.dir, { recursive: true, force: true, maxRetries: 3 });
      total -= workspace.bytes;
      evicted.push(workspace.key);
      this.options.logger.info('evicted a workspace over the disk budget', {
        key: workspace.key,
        bytes: workspace.bytes,
        budgetBytes: this.options.budgetBytes,
      });
    }
    return evicted;
  }
}

/** Bytes of every file below `path` (symlinks not followed). */
export async function sizeOf(path: string): Promise<number> {
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else total += (await lstat(full).catch(() => null))?.size ?? 0;
    }
  };
  await walk(path);
  return total;
}
