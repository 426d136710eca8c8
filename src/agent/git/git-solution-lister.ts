import { createHash } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandFailedError, InvalidArgumentError } from '../../core/errors.js';
import {
  checkGitRef,
  checkRepositoryUrl,
  isCommitSha,
  maskUrlCredentials,
  repositoryIdentity,
} from '../../core/git-input.js';
import {
  MAX_LISTED_SOLUTIONS,
  sortSolutionPaths,
  type RepositoryBrowser,
  type SolutionList,
  type SolutionsQuery,
} from '../../core/repository-solutions.js';
import { runCommand } from '../run-command.js';

const GIT_ENV = {
  ...process.env,
  GIT_TERMINAL_PROMPT: '0',
  GCM_INTERACTIVE: 'never',
  GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
  GIT_ALLOW_PROTOCOL: 'https:http:ssh:git:file',
};

/** ls-remote and the shallow fetch together may take this long before the lookup gives up. */
const LOOKUP_TIMEOUT_MS = 120_000;

export interface GitSolutionListerOptions {
  /** A folder for the bare caches, one per repository (kept between lookups, so a ref fetches once). */
  cacheDir: string;
}

/**
 * Lists the solution and project files of a repository at a ref, without a working tree: resolves
 * the ref with `git ls-remote`, fetches that one commit (`--depth=1`) into a bare cache of the
 * repository, and reads the file names with `git ls-tree`. Lookups of the same repository run one
 * at a time, so two of them never race on the cache's FETCH_HEAD.
 */
export class GitSolutionLister implements RepositoryBrowser {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly options: GitSolutionListerOptions) {}

  async listSolutions(
    query: SolutionsQuery,
    { signal }: { signal?: AbortSignal } = {},
  ): Promise<SolutionList> {
    // Checked again here, before git runs: the port may have other callers than the API.
    const urlProblem = checkRepositoryUrl(query.repositoryUrl);
    const refProblem = checkGitRef(query.gitRef);
    if (urlProblem || refProblem) {
      throw new InvalidArgumentError([
        ...(urlProblem ? [{ field: 'repositoryUrl', message: urlProblem }] : []),
        ...(refProblem ? [{ field: 'gitRef', message: refProblem }] : []),
      ]);
    }
    const identity = repositoryIdentity(query.repositoryUrl);
    const directory = join(
      this.options.cacheDir,
      `${createHash('sha256').update(identity).digest('hex').slice(0, 32)}.git`,
    );
    const previous = this.queues.get(directory) ?? Promise.resolve();
    const timeout = AbortSignal.timeout(LOOKUP_TIMEOUT_MS);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const run = previous.catch(() => undefined).then(() => this.lookUp(query, directory, combined));
    this.queues.set(directory, run);
    try {
      return await run;
    } finally {
      if (this.queues.get(directory) === run) this.queues.delete(directory);
    }
  }

  private async lookUp(query: SolutionsQuery, directory: string, signal: AbortSignal): Promise<SolutionList> {
    const { repositoryUrl, gitRef } = query;
    await mkdir(this.options.cacheDir, { recursive: true });
    if (!(await isDirectory(directory)))
      await git(['init', '-q', '--bare', '--', directory], this.options.cacheDir, signal);

    const refs = new Map<string, string>();
    try {
      await git(['ls-remote', '--end-of-options', repositoryUrl], directory, signal, (line) => {
        const [sha, name] = line.split('\t');
        if (sha && name) refs.set(name, sha);
      });
    } catch (error) {
      throw new InvalidArgumentError([
        { field: 'repositoryUrl', message: `could not be read by git: ${gitFailure(error)}` },
      ]);
    }
    const candidates = gitRef.startsWith('refs/')
      ? [gitRef]
      : [`refs/heads/${gitRef}`, `refs/tags/${gitRef}`, gitRef];
    const resolvedRef = candidates.find((candidate) => refs.has(candidate)) ?? null;
    if (resolvedRef === null && !isCommitSha(gitRef)) {
      throw new InvalidArgumentError([
        {
          field: 'gitRef',
          message: `was not found in the repository: no branch, tag or commit named '${gitRef}'`,
        },
      ]);
    }
    const wanted = resolvedRef ?? gitRef;
    // A tag's ls-remote id is the tag object; `^{commit}` after the fetch peels it.
    let commit = resolvedRef ? await revParse(directory, `${refs.get(resolvedRef)}^{commit}`, signal) : null;
    if (commit === null) {
      try {
        await git(
          ['fetch', '-q', '--no-tags', '--depth=1', '--end-of-options', repositoryUrl, wanted],
          directory,
          signal,
        );
      } catch (error) {
        throw new InvalidArgumentError([
          { field: 'gitRef', message: `could not be fetched: ${gitFailure(error)}` },
        ]);
      }
      commit = await revParse(directory, 'FETCH_HEAD^{commit}', signal);
      if (commit === null)
        throw new InvalidArgumentError([{ field: 'gitRef', message: 'does not name a commit' }]);
    }

    const files: string[] = [];
    await git(
      ['ls-tree', '-r', '--name-only', '--full-tree', '--end-of-options', commit],
      directory,
      signal,
      (line) => files.push(line),
    );
    const solutions = sortSolutionPaths(files);
    return {
      repositoryUrl: maskUrlCredentials(repositoryUrl),
      gitRef,
      resolvedRef: resolvedRef ?? commit,
      commit,
      solutions: solutions.slice(0, MAX_LISTED_SOLUTIONS),
      truncated: solutions.length > MAX_LISTED_SOLUTIONS,
    };
  }
}

async function git(
  args: string[],
  cwd: string,
  signal: AbortSignal,
  onLine?: (line: string) => void,
): Promise<void> {
  await runCommand({
    file: 'git',
    args,
    cwd,
    env: GIT_ENV,
    signal,
    onLine: onLine ? (line, stream) => (stream === 'stdout' ? onLine(line) : undefined) : undefined,
  });
}

/** The commit an expression names in the cache, or null when the cache does not have it. */
async function revParse(directory: string, expression: string, signal: AbortSignal): Promise<string | null> {
  let output = '';
  try {
    await git(
      ['rev-parse', '--verify', '--quiet', '--end-of-options', expression],
      directory,
      signal,
      (line) => {
        output = line.trim();
      },
    );
  } catch (error) {
    if (error instanceof CommandFailedError) return null;
    throw error;
  }
  return /^[0-9a-f]{40}$/.test(output) ? output : null;
}

function gitFailure(error: unknown): string {
  if (error instanceof CommandFailedError) {
    const lines = error.outputTail.filter((line) => /fatal|error/i.test(line));
    return maskUrlCredentials(
      (lines.join(' ') || `git exited with code ${error.exitCode}`).replace(/^fatal:\s*/i, ''),
    );
  }
  return error instanceof Error ? error.message : String(error);
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}
