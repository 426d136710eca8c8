import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildExecutionListener } from '../core/build-execution.js';
import { isStageEnabled } from '../core/build-stages.js';
import { OperationAbortedError, SourcePreparationError, errorMessage } from '../core/errors.js';
import { maskUrlCredentials, urlSecrets } from '../core/git-input.js';
import type { PreparedSources, SourcePreparer } from '../core/mesh-ports.js';
import { STAGE_NAMES, type BuildRequest } from '../core/models.js';
import { frameworksInProjectText } from '../core/project-frameworks.js';
import { SecretMasker } from '../core/secret-masker.js';
import type { ContentStore } from './content-store.js';
import { checkoutRepository } from './git/git-checkout.js';
import { snapshotSources } from './source-snapshot.js';

const PROJECT_FILE = /\.(csproj|fsproj|vbproj)$|^Directory\.Build\.props$/;

/**
 * The Clone stage of a mesh build, run on the coordinating node: checks out the ref, stores the
 * tree in the CAS for peers to fetch, and notes the frameworks its projects target.
 */
export class GitSourcePreparer implements SourcePreparer {
  constructor(
    private readonly options: {
      workspaceRoot: string;
      contentStore: ContentStore;
      retryDelaysMs?: readonly number[];
    },
  ) {}

  async prepare(
    request: BuildRequest,
    { signal, listener }: { signal: AbortSignal; listener: BuildExecutionListener },
  ): Promise<PreparedSources> {
    const { job } = request;
    const masker = new SecretMasker(urlSecrets(job.repositoryUrl));
    const log = (level: 'INFO' | 'WARN' | 'ERROR', message: string) =>
      listener.onLog(level, masker.mask(message));
    const directory = join(this.options.workspaceRoot, `sources-${request.executionId}`);
    const stage = (status: 'Running' | 'Succeeded' | 'Failed' | 'Cancelled', message: string | null = null) =>
      listener.onStage({ name: 'Clone', status, at: new Date().toISOString(), message });

    stage('Running');
    log('INFO', `Cloning ${maskUrlCredentials(job.repositoryUrl)} at ${job.gitRef} to share with the mesh`);
    try {
      await rm(directory, { recursive: true, force: true });
      const checkout = await checkoutRepository({
        repositoryUrl: job.repositoryUrl,
        gitRef: job.gitRef,
        directory,
        shallow: true,
        signal,
        log,
        retryDelaysMs: this.options.retryDelaysMs,
      });
      listener.onCommit(checkout.commit);
      const { manifestSha256, manifest } = await snapshotSources(
        directory,
        checkout.commit,
        this.options.contentStore,
      );
      const frameworks = await scanFrameworks(directory);
      const message = `Checked out commit ${checkout.commit}; ${manifest.entries.length} file(s) stored for peers`;
      log('INFO', message);
      stage('Succeeded', message);
      return { manifestSha256, commit: checkout.commit, frameworks };
    } catch (error) {
      if (error instanceof OperationAbortedError || signal.aborted) {
        stage('Cancelled', 'Cancelled during Clone');
        throw error instanceof OperationAbortedError ? error : new OperationAbortedError('cancelled');
      }
      const message = masker.mask(`Clone failed: ${errorMessage(error)}`);
      stage('Failed', message);
      const at = new Date().toISOString();
      for (const name of STAGE_NAMES) {
        if (name !== 'Clone' && isStageEnabled(job, name))
          listener.onStage({ name, status: 'Skipped', at, message: 'Not run: Clone did not succeed' });
      }
      log('ERROR', message);
      throw new SourcePreparationError(message, { cause: error });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }
}

async function scanFrameworks(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  const frameworks = new Set<string>();
  for (const entry of entries) {
    if (
      !entry.isFile() ||
      !PROJECT_FILE.test(entry.name) ||
      entry.parentPath.includes(`${join(directory, '.git')}`)
    )
      continue;
    for (const framework of frameworksInProjectText(
      await readFile(join(entry.parentPath, entry.name), 'utf8'),
    )) {
      frameworks.add(framework);
    }
  }
  return [...frameworks].sort();
}
