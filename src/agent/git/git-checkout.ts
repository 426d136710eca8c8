import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildMeshError, CommandFailedError, OperationAbortedError } from '../../core/errors.js';
import { checkGitRef, checkRepositoryUrl, isCommitSha } from '../../core/git-input.js';
import { DEFAULT_RETRY_DELAYS_MS, withRetry } from '../../core/retry.js';
import { runCommand } from '../run-command.js';
import { sleep as defaultSleep } from '../sleep.js';

/** A git operation failed; `transient` failures (network, remote hang-up) are worth retrying. */
export class GitError extends BuildMeshError {
  readonly transient: boolean;
  constructor(message: string, transient: boolean, options?: { cause?: unknown }) {
    super(transient ? 'GitTransientFailure' : 'GitFailed', message, options);
    this.name = 'GitError';
    this.transient = transient;
  }
}

export type GitLog = (level: 'INFO' | 'WARN' | 'ERROR', message: string) => void;

export interface CheckoutOptions {
  repositoryUrl: string;
  gitRef: string;
  /** An empty or missing directory to check out into. */
  directory: string;
  /** Fetch only the one commit (Incremental) or the full history (Clean). */
  shallow: boolean;
  /**
   * When the directory already holds a checkout of this repository (a persistent workspace), fetch
   * into it and check the new commit out over it: tracked files are reset, untracked ones deleted,
   * but `bin/` and `obj/` stay for MSBuild's incremental build.
   */
  reuseExisting?: boolean;
  signal?: AbortSignal;
  log: GitLog;
  retryDelaysMs?: readonly number[];
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface CheckoutResult {
  commit: string;
  /** The remote ref the request's gitRef matched, or the commit when it was a SHA. */
  resolvedRef: string;
  /** The commit the directory had checked out before, when an existing checkout was reused. */
  previousCommit?: string;
}

const GIT_ENV = {
  ...process.env,
  GIT_TERMINAL_PROMPT: '0',
  GCM_INTERACTIVE: 'never',
  GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
  // No `ext::`/`fd::` transports, whatever the URL says.
  GIT_ALLOW_PROTOCOL: 'https:http:ssh:git:file',
};

const TRANSIENT_PATTERNS =
  /could not resolve host|failed to connect|couldn't connect|connection (timed out|refused|reset)|operation timed out|early eof|remote end hung up|rpc failed|temporary failure|gnutls|ssl_|index-pack failed|returned error: 5\d\d/i;

/**
 * Checks out `gitRef` of a repository: a branch, `refs/heads/x`, a tag or a full or short SHA.
 * Uses `git init` + `fetch` rather than `clone --branch`, which cannot take SHAs or `refs/...` forms.
 */
export async function checkoutRepository(options: CheckoutOptions): Promise<CheckoutResult> {
  const urlProblem = checkRepositoryUrl(options.repositoryUrl);
  if (urlProblem) throw new GitError(`repositoryUrl ${urlProblem}`, false);
  const refProblem = checkGitRef(options.gitRef);
  if (refProblem) throw new GitError(`gitRef ${refProblem}`, false);

  const { directory, signal, log } = options;
  const git = (args: string[], onLine?: (line: string) => void) =>
    runGit(args, directory, signal, onLine ?? log.bind(null, 'INFO'));
  const retrying = <T>(what: string, operation: () => Promise<T>) =>
    withRetry(operation, {
      attempts: 3,
      delaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
      isRetryable: (error) => error instanceof GitError && error.transient,
      onRetry: ({ attempt, attempts, delayMs }) =>
        log('WARN', `${what} failed (attempt ${attempt}/${attempts}). Retrying in ${delayMs / 1000}s...`),
      sleep: options.sleep ?? defaultSleep,
      signal,
    });

  await mkdir(directory, { recursive: true });
  const reusing = options.reuseExisting === true && (await isDirectory(join(directory, '.git')));
  let previousCommit: string | undefined;
  if (reusing) {
    previousCommit = await revParse(directory, 'HEAD^{commit}', signal).catch(() => undefined);
    await git(['remote', 'set-url', '--', 'origin', options.repositoryUrl]);
  } else {
    await git(['init', '-q']);
    await git(['remote', 'add', '--', 'origin', options.repositoryUrl]);
  }

  const remoteRefs = await retrying('git ls-remote', async () => {
    const refs = new Map<string, string>();
    await git(['ls-remote', '--end-of-options', 'origin'], (line) => {
      const [sha, name] = line.split('\t');
      if (sha && name) refs.set(name, sha);
    });
    return refs;
  });

  const depth = options.shallow ? ['--depth=1'] : [];
  const matchedRef = findRemoteRef(remoteRefs, options.gitRef);
  let commit: string;
  if (matchedRef) {
    await retrying('git fetch', () =>
      git(['fetch', '-q', '--no-tags', ...depth, '--end-of-options', 'origin', matchedRef]),
    );
    commit = await revParse(directory, 'FETCH_HEAD^{commit}', signal);
  } else if (isCommitSha(options.gitRef)) {
    commit = await fetchCommit(options.gitRef, depth, git, retrying, directory, signal);
  } else {
    throw new GitError(
      `gitRef '${options.gitRef}' was not found in the repository: no branch, tag or commit by that name`,
      false,
    );
  }
  if (reusing) {
    await git(['checkout', '-q', '--force', '--detach', commit]);
    // Untracked sources go; ignored files and every bin/ and obj/ stay.
    await git(['clean', '-q', '-f', '-f', '-d', '-e', 'bin/', '-e', 'obj/']);
  } else {
    await git(['checkout', '-q', '--detach', commit]);
  }
  log(
    'INFO',
    `Checked out commit ${commit}${matchedRef ? ` (${matchedRef})` : ''}${
      reusing ? ` over the workspace's previous commit ${previousCommit ?? 'unknown'}` : ''
    }`,
  );
  return { commit, resolvedRef: matchedRef ?? commit, ...(reusing ? { previousCommit } : {}) };
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

function findRemoteRef(remoteRefs: Map<string, string>, gitRef: string): string | null {
  const candidates = gitRef.startsWith('refs/')
    ? [gitRef]
    : [`refs/heads/${gitRef}`, `refs/tags/${gitRef}`, gitRef];
  return candidates.find((candidate) => remoteRefs.has(candidate)) ?? null;
}

async function fetchCommit(
  sha: string,
  depth: string[],
  git: (args: string[]) => Promise<void>,
  retrying: <T>(what: string, operation: () => Promise<T>) => Promise<T>,
  directory: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  if (sha.length === 40) {
    try {
      await retrying('git fetch', () =>
        git(['fetch', '-q', '--no-tags', ...depth, '--end-of-options', 'origin', sha]),
      );
      return await revParse(directory, 'FETCH_HEAD^{commit}', signal);
    } catch (error) {
      if (error instanceof OperationAbortedError || (error instanceof GitError && error.transient))
        throw error;
      // Servers that refuse to serve an unadvertised SHA: fall back to fetching everything.
    }
  }
  await retrying('git fetch', () =>
    git([
      'fetch',
      '-q',
      '--end-of-options',
      'origin',
      '+refs/heads/*:refs/remotes/origin/*',
      '+refs/tags/*:refs/tags/*',
    ]),
  );
  try {
    return await revParse(directory, `${sha}^{commit}`, signal);
  } catch (error) {
    if (error instanceof OperationAbortedError) throw error;
    throw new GitError(`gitRef '${sha}' was not found in the repository: no commit matches that SHA`, false, {
      cause: error,
    });
  }
}

async function revParse(
  directory: string,
  expression: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  let output = '';
  await runGit(
    ['rev-parse', '--verify', '--quiet', '--end-of-options', expression],
    directory,
    signal,
    (line) => {
      output = line.trim();
    },
  );
  return output;
}

/** Runs one git verb; failures become GitError, classified as transient or not by git's message. */
async function runGit(
  args: string[],
  cwd: string,
  signal: AbortSignal | undefined,
  onLine: (line: string) => void,
): Promise<void> {
  try {
    await runCommand({ file: 'git', args, cwd, env: GIT_ENV, signal, onLine: (line) => onLine(line) });
  } catch (error) {
    if (error instanceof CommandFailedError) {
      const output = error.outputTail.join('\n');
      const detail = error.outputTail.filter((line) => /fatal|error/i.test(line)).join(' ') || output;
      throw new GitError(
        `git ${args[0] ?? ''} failed: ${detail || `exit code ${error.exitCode}`}`,
        TRANSIENT_PATTERNS.test(output),
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}
