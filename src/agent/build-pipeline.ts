import { access, readFile, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import type { BuildExecutionListener, BuildOutcome } from '../core/build-execution.js';
import { isStageEnabled, type StageUpdate } from '../core/build-stages.js';
import { describeDiagnostic } from '../core/diagnostic-format.js';
import { CommandFailedError, OperationAbortedError, abortReasonOf, errorMessage } from '../core/errors.js';
import { maskUrlCredentials, urlSecrets } from '../core/git-input.js';
import { planProjectTasks, type PlannedTask } from '../core/project-tasks.js';
import { normaliseRepoPath } from '../core/solution-graph.js';
import {
  STAGE_NAMES,
  type BuildRequest,
  type Diagnostic,
  type LogLevel,
  type ProducedArtifact,
  type StageName,
  type TestResults,
} from '../core/models.js';
import { SecretMasker } from '../core/secret-masker.js';
import { evaluateSolution } from './build-planner.js';
import type { ContentStore } from './content-store.js';
import {
  SOURCE_CONTROL_QUERIES_PROPERTY,
  buildArgs,
  cleanArgs,
  dotnetEnvironment,
  packArgs,
  publishArgs,
  restoreArgs,
  testArgs,
} from './dotnet/dotnet-args.js';
import { checkoutRepository } from './git/git-checkout.js';
import { diagnosticKey, parseDiagnosticLine } from './parsers/msbuild-diagnostics.js';
import { parseRestoreLine } from './parsers/restore-summary.js';
import { mergeTestResults, parseTrx } from './parsers/trx.js';
import type { ProcessGovernor } from './process-governor.js';
import { runCommand } from './run-command.js';
import { tarGzDirectory } from './tar-archive.js';
import {
  changedPaths,
  digestSourceFiles,
  restoreInputsOf,
  writeWorkspaceState,
  type WorkspaceState,
} from './workspace-state.js';

export type PipelineListener = BuildExecutionListener;
export type PipelineOutcome = BuildOutcome;

export interface PipelineInput {
  request: BuildRequest;
  workspaceDir: string;
  signal: AbortSignal;
  contentStore: ContentStore;
  /** Secrets to mask in every log line besides the repository URL's credentials. */
  secrets?: readonly string[];
  retryDelaysMs?: readonly number[];
  /**
   * Where the sources come from when not from git: a peer running a mesh build writes the
   * coordinator's snapshot into `sourceDir` (the Clone stage) and returns its commit.
   */
  fetchSources?: (sourceDir: string, signal: AbortSignal) => Promise<{ commit: string; message: string }>;
  /**
   * The workspace is the persistent one of this repository and solution (Incremental and Clean
   * builds): an Incremental build reuses its checkout, restores only when a restore input changed
   * and tests only the test projects whose inputs changed; `state` is what it remembers.
   */
  persistent?: { state: WorkspaceState; statePath: string; evaluationCacheDir: string };
  /**
   * The owner's CPU share: every dotnet process starts at its priority, and every MSBuild verb
   * gets its `-m:N` limit. Without it dotnet runs at normal priority on every core.
   */
  governor?: ProcessGovernor;
}

/** The test projects an Incremental build runs and skips, with the keys of their inputs. */
interface TestSelection {
  run: PlannedTask[];
  skipped: PlannedTask[];
  /** Why every test runs, when nothing was tested in this workspace before or everything changed. */
  allReason: string | null;
}

/** A stage ended the build: the message is what the user reads in `errorMessage`. */
class StageFailure extends Error {
  constructor(
    message: string,
    readonly failureKind: 'build' | 'infrastructure' = 'build',
  ) {
    super(message);
  }
}

const SOURCE_DIR = 'src';
const RESULTS_DIR = '.buildmesh/test-results';

/**
 * Runs one build on this machine: Clone, Restore, Build, Test, Package, Upload. Each stage
 * streams its output as build-log lines; the first failing stage ends the build, and the stages
 * after it are Skipped.
 */
export async function runBuildPipeline(
  input: PipelineInput,
  listener: PipelineListener,
): Promise<PipelineOutcome> {
  const run = new PipelineRun(input, listener);
  return run.execute();
}

class PipelineRun {
  private readonly masker: SecretMasker;
  private readonly sourceDir: string;
  private readonly diagnostics: Diagnostic[] = [];
  private readonly diagnosticKeys = new Set<string>();
  private readonly clean: boolean;
  private readonly persistent: PipelineInput['persistent'] | null;
  private digests: Map<string, string> | null = null;

  constructor(
    private readonly input: PipelineInput,
    private readonly listener: PipelineListener,
  ) {
    this.masker = new SecretMasker([
      ...urlSecrets(input.request.job.repositoryUrl),
      ...(input.secrets ?? []),
    ]);
    this.sourceDir = join(input.workspaceDir, SOURCE_DIR);
    this.clean = input.request.strategy === 'Clean' || input.request.forceClean;
    this.persistent = input.persistent ?? null;
    const properties = input.request.job.buildProperties;
    if (properties.ContinuousIntegrationBuild === 'true' && properties.PathMap === undefined) {
      // Comparable outputs (Canary, verify): the workspace root differs per peer, so map it away.
      this.input = {
        ...input,
        request: {
          ...input.request,
          job: {
            ...input.request.job,
            buildProperties: { ...properties, PathMap: `${this.sourceDir}/=/_/` },
          },
        },
      };
    }
  }

  /** Incremental semantics in a persistent workspace: reuse, restore and test only what changed. */
  private get incremental(): boolean {
    return this.persistent !== null && !this.clean;
  }

  /** The sources' digests (path → sha256), read once per build, after the Clone stage. */
  private async sourceDigests(): Promise<Map<string, string>> {
    this.digests ??= await digestSourceFiles(this.sourceDir);
    return this.digests;
  }

  private async saveState(): Promise<void> {
    if (!this.persistent) return;
    this.persistent.state.lastUsedAt = new Date().toISOString();
    await writeWorkspaceState(this.persistent.statePath, this.persistent.state);
  }

  async execute(): Promise<PipelineOutcome> {
    const { job } = this.input.request;
    const stages: Record<StageName, () => Promise<string>> = {
      Clone: () => this.cloneStage(),
      Restore: () => this.restoreStage(),
      Build: () => this.buildStage(),
      Test: () => this.testStage(),
      Package: () => this.packageStage(),
      Upload: () => this.uploadStage(),
    };
    this.log(
      'INFO',
      `Starting ${this.input.request.strategy} build of ${job.projectName} (${job.configuration})`,
    );
    const pending = STAGE_NAMES.filter((name) => isStageEnabled(job, name));
    for (const [index, name] of pending.entries()) {
      const later = pending.slice(index + 1);
      this.stage({ name, status: 'Running' });
      try {
        const message = await stages[name]();
        this.stage({ name, status: 'Succeeded', message, ...this.diagnosticCounts(name) });
      } catch (error) {
        return this.endWithError(name, later, error);
      }
    }
    this.log('INFO', 'Build completed successfully');
    return { status: 'Succeeded' };
  }

  private endWithError(name: StageName, later: StageName[], error: unknown): PipelineOutcome {
    const aborted =
      error instanceof OperationAbortedError
        ? error
        : this.input.signal.aborted
          ? abortReasonOf(this.input.signal)
          : null;
    let outcome: PipelineOutcome;
    if (aborted) {
      const timedOut = aborted.reason === 'timeout';
      const message = timedOut
        ? `Build timed out after ${this.input.request.job.timeoutMinutes} minute(s) during ${name}`
        : `Build cancelled during ${name}`;
      this.stage({ name, status: timedOut ? 'Failed' : 'Cancelled', message });
      outcome = { status: timedOut ? 'TimedOut' : 'Cancelled', errorMessage: message, failureKind: 'build' };
    } else {
      const message = this.masker.mask(
        error instanceof StageFailure ? error.message : `${name} failed: ${errorMessage(error)}`,
      );
      this.stage({ name, status: 'Failed', message, ...this.diagnosticCounts(name) });
      const failureKind = error instanceof StageFailure ? error.failureKind : 'infrastructure';
      outcome = { status: 'Failed', errorMessage: message, failureKind };
    }
    for (const skipped of later) {
      this.stage({ name: skipped, status: 'Skipped', message: `Not run: ${name} did not succeed` });
    }
    this.log('ERROR', `Build failed: ${outcome.errorMessage}`);
    return outcome;
  }

  private async cloneStage(): Promise<string> {
    const { job } = this.input.request;
    if (this.input.fetchSources) {
      try {
        const fetched = await this.input.fetchSources(this.sourceDir, this.input.signal);
        this.listener.onCommit(fetched.commit);
        if (this.persistent) this.persistent.state.lastCommit = fetched.commit;
        this.log('INFO', fetched.message);
        return fetched.message;
      } catch (error) {
        if (error instanceof OperationAbortedError) throw error;
        throw new StageFailure(`Fetching sources failed: ${errorMessage(error)}`, 'infrastructure');
      }
    }
    this.log(
      'INFO',
      `Cloning ${maskUrlCredentials(job.repositoryUrl)} at ${job.gitRef}${this.clean ? ' (full history)' : ''}`,
    );
    const checkout = (reuseExisting: boolean) =>
      checkoutRepository({
        repositoryUrl: job.repositoryUrl,
        gitRef: job.gitRef,
        directory: this.sourceDir,
        shallow: !this.clean,
        reuseExisting,
        signal: this.input.signal,
        log: (level, message) => this.log(level, message),
        retryDelaysMs: this.input.retryDelaysMs,
      });
    try {
      const reuse = this.incremental && (await exists(join(this.sourceDir, '.git')));
      let result;
      try {
        result = await checkout(reuse);
      } catch (error) {
        if (!reuse || error instanceof OperationAbortedError) throw error;
        this.log('WARN', `Could not update the workspace (${errorMessage(error)}): cloning afresh`);
        await rm(this.sourceDir, { recursive: true, force: true, maxRetries: 3 });
        result = await checkout(false);
      }
      this.listener.onCommit(result.commit);
      if (this.persistent) this.persistent.state.lastCommit = result.commit;
      return result.previousCommit !== undefined
        ? `Checked out commit ${result.commit} in the workspace of the previous build (fetched, not cloned; it had ${result.previousCommit})`
        : `Checked out commit ${result.commit}`;
    } catch (error) {
      if (error instanceof OperationAbortedError) throw error;
      throw new StageFailure(`Clone failed: ${errorMessage(error)}`);
    }
  }

  private async restoreStage(): Promise<string> {
    const { job } = this.input.request;
    if (this.clean) {
      try {
        await this.dotnet('Clean', cleanArgs(job));
      } catch (error) {
        if (error instanceof OperationAbortedError) throw error;
        // Removing bin/ and obj/ below is what makes the build clean; dotnet clean is the polite part.
        this.log('WARN', `dotnet clean failed (${errorMessage(error)}); removing bin/ and obj/ anyway`);
      }
      const removed = await removeBuildOutputs(this.sourceDir);
      this.log('INFO', `Clean build: removed ${removed} bin/obj folder(s)`);
    }
    const lockedMode = await containsFile(this.sourceDir, 'packages.lock.json');
    const settings = JSON.stringify([
      job.runtimeIdentifier ?? '',
      job.platform,
      job.buildProperties,
      lockedMode,
    ]);
    const inputs = this.persistent ? restoreInputsOf(await this.sourceDigests()) : {};
    if (this.incremental && this.persistent) {
      const reason = await this.restoreReason(this.persistent.state, settings, inputs);
      if (reason === null) {
        const last = this.persistent.state.restore?.commit.slice(0, 12) ?? 'unknown';
        const message =
          `No restore needed: no project, Directory.*, lock, NuGet.config or global.json file changed ` +
          `since this workspace's last restore (at commit ${last}), and every project's assets file is there`;
        this.log('INFO', message);
        return message;
      }
      this.log('INFO', `Restore needed: ${reason}`);
      // Until this restore succeeds, the workspace has no restore to trust.
      this.persistent.state.restore = null;
      await this.saveState();
    }
    if (lockedMode) this.log('INFO', 'packages.lock.json found: restoring in locked mode');
    let restoredProjects = 0;
    await this.dotnet('Restore', restoreArgs(job, { clean: this.clean, lockedMode }), (line) => {
      if (parseRestoreLine(line)?.kind === 'restored') restoredProjects++;
    });
    if (this.persistent) {
      this.persistent.state.restore = { commit: this.persistent.state.lastCommit ?? '', settings, inputs };
      await this.saveState();
    }
    return restoredProjects > 0
      ? `Restored ${restoredProjects} project(s)`
      : 'All projects are up-to-date for restore';
  }

  /** Why an Incremental build must restore, or null when the workspace's last restore still holds. */
  private async restoreReason(
    state: WorkspaceState,
    settings: string,
    inputs: Record<string, string>,
  ): Promise<string | null> {
    if (!state.restore) return 'no successful restore in this workspace yet';
    if (state.restore.settings !== settings)
      return 'the restore settings (RID, platform, properties) changed';
    const changed = changedPaths(state.restore.inputs, inputs);
    if (changed.length > 0)
      return `${changed.length} restore input(s) changed since the last restore: ${listSome(changed)}`;
    const projects = Object.keys(inputs).filter((path) => /\.(cs|fs|vb)proj$/i.test(path));
    const missing: string[] = [];
    for (const project of projects) {
      const assets = join(this.sourceDir, ...dirname(project).split('/'), 'obj', 'project.assets.json');
      if (!(await exists(assets))) missing.push(project);
    }
    return missing.length > 0 ? `no assets file for ${listSome(missing)}` : null;
  }

  private async buildStage(): Promise<string> {
    const { job } = this.input.request;
    this.log('INFO', `Building ${job.solutionPath}`);
    const args = buildArgs(job, { clean: this.clean, incremental: this.incremental });
    if (args.includes(`-p:${SOURCE_CONTROL_QUERIES_PROPERTY}=false`)) {
      this.log(
        'INFO',
        `Incremental build: ${SOURCE_CONTROL_QUERIES_PROPERTY}=false keeps the commit id out of the assemblies, ` +
          'so only projects whose inputs changed are compiled',
      );
    }
    await this.dotnet('Build', args);
    const counts = this.diagnosticCounts('Build');
    return `Build succeeded. ${counts.warningsCount} Warning(s), ${counts.errorsCount} Error(s)`;
  }

  private async testStage(): Promise<string> {
    const { job } = this.input.request;
    const resultsDir = join(this.input.workspaceDir, RESULTS_DIR);
    await rm(resultsDir, { recursive: true, force: true });
    const selection = this.incremental ? await this.selectTests() : null;
    const skippedNote =
      selection && selection.skipped.length > 0
        ? `; skipped ${selection.skipped.length} test project(s) whose inputs did not change: ${namesOf(selection.skipped)}`
        : '';
    if (selection && selection.allReason === null && selection.run.length === 0) {
      const message = `No tests run: no inputs of the ${selection.skipped.length} test project(s) changed since this workspace's last test run${skippedNote}`;
      this.log('INFO', message);
      await this.recordTestKeys(selection);
      return message;
    }
    const subset = selection !== null && selection.allReason === null;
    const targets = subset ? selection.run.map((task) => task.project) : [job.solutionPath];
    if (selection?.allReason) this.log('INFO', `Running every test: ${selection.allReason}`);
    else if (selection)
      this.log('INFO', `Running the tests of ${namesOf(selection.run)}: their inputs changed`);
    this.log('INFO', 'Running tests...');
    let runFailure: unknown = null;
    for (const target of targets) {
      try {
        await this.dotnet('Test', testArgs(job, resultsDir, target));
      } catch (error) {
        if (error instanceof OperationAbortedError) throw error;
        runFailure ??= error;
      }
    }
    const results = await readTestResults(resultsDir);
    if (results) this.listener.onTestResults(results);
    const summary = results
      ? `${results.total} test(s): ${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`
      : 'No test results were produced';
    if (results && results.failed > 0) {
      const names = results.failures.slice(0, 5).map((failure) => failure.name);
      throw new StageFailure(`Tests failed: ${summary}. Failed: ${names.join(', ')}`);
    }
    if (runFailure !== null)
      throw runFailure instanceof Error ? runFailure : new Error(errorMessage(runFailure));
    this.log('INFO', summary);
    if (selection) await this.recordTestKeys(selection);
    const ranNote = subset ? `; ran ${namesOf(selection.run)} (inputs changed)` : '';
    return `${summary}${ranNote}${skippedNote}`;
  }

  /**
   * Which test projects an Incremental build runs: those whose test cache key (their inputs, their
   * references' keys, settings and SDK) differs from the key at this workspace's last successful test
   * run. A change in a library therefore reaches the tests of every project that depends on it.
   * Null (run everything) when the projects cannot be evaluated.
   */
  private async selectTests(): Promise<TestSelection | null> {
    if (!this.persistent) return null;
    const { job } = this.input.request;
    try {
      const fileDigests = await this.sourceDigests();
      const projects = await evaluateSolution({
        solutionPath: normaliseRepoPath(job.solutionPath),
        fileDigests,
        readText: (path) => readFile(join(this.sourceDir, ...path.split('/')), 'utf8'),
        repoRoot: this.sourceDir,
        job,
        evaluationCacheDir: this.persistent.evaluationCacheDir,
        sdkFingerprint: await this.sdkVersion(),
        signal: this.input.signal,
      });
      const sdkVersion = projects[0]?.sdkVersion ?? 'unknown';
      const tests = planProjectTasks({
        projects,
        fileDigests,
        job: { ...job, runTests: true },
        sdkVersion,
      }).filter((task) => task.kind === 'test');
      const previous = this.persistent.state.testKeys;
      const run = tests.filter((task) => previous[task.project] !== task.cacheKey.key);
      const skipped = tests.filter((task) => !run.includes(task));
      const allReason =
        tests.length === 0
          ? 'no test project was found by evaluation'
          : Object.keys(previous).length === 0
            ? 'no earlier test run in this workspace'
            : skipped.length === 0
              ? `the inputs of all ${tests.length} test project(s) changed`
              : null;
      return { run, skipped, allReason };
    } catch (error) {
      if (error instanceof OperationAbortedError || this.input.signal.aborted) throw error;
      this.log(
        'WARN',
        `Could not tell which test projects changed (${errorMessage(error)}): running every test`,
      );
      return null;
    }
  }

  private async recordTestKeys(selection: TestSelection): Promise<void> {
    if (!this.persistent) return;
    const keys: Record<string, string> = {};
    for (const task of [...selection.run, ...selection.skipped]) keys[task.project] = task.cacheKey.key;
    this.persistent.state.testKeys = keys;
    await this.saveState();
  }

  /** The SDK that builds in this workspace (global.json counts), part of the evaluation cache's key. */
  private async sdkVersion(): Promise<string> {
    let version = '';
    await runCommand({
      file: 'dotnet',
      args: ['--version'],
      cwd: this.sourceDir,
      env: dotnetEnvironment(process.env),
      signal: this.input.signal,
      onLine: (line) => {
        if (line.trim()) version = line.trim();
      },
    });
    return version;
  }

  private async packageStage(): Promise<string> {
    const { job } = this.input.request;
    const done: string[] = [];
    // A reused workspace still has the packages and publish folders of earlier builds.
    if (this.persistent) await removePackagedOutputs(this.sourceDir);
    if (job.createPackages) {
      this.log('INFO', 'Creating packages...');
      await this.dotnet('Pack', packArgs(job));
      done.push('packed');
    }
    if (job.publishArtifacts) {
      this.log('INFO', 'Publishing...');
      await this.dotnet('Publish', publishArgs(job));
      done.push('published');
    }
    return `Outputs ${done.join(' and ')}`;
  }

  private async uploadStage(): Promise<string> {
    const { job } = this.input.request;
    this.log('INFO', 'Uploading artifacts...');
    const candidates = await findArtifacts(this.sourceDir, job);
    for (const candidate of candidates) {
      const stored =
        candidate.kind === 'file'
          ? await this.input.contentStore.putFile(join(this.sourceDir, candidate.path))
          : await this.input.contentStore.putStream(tarGzDirectory(join(this.sourceDir, candidate.path)));
      const artifact: ProducedArtifact = {
        name: candidate.name,
        path: candidate.path,
        sizeBytes: stored.sizeBytes,
        contentType: candidate.contentType,
        sha256Hash: stored.sha256,
        createdAt: new Date().toISOString(),
      };
      this.listener.onArtifact(artifact);
      this.log(
        'INFO',
        `Stored artifact ${artifact.name} (${artifact.sizeBytes} bytes, sha256 ${artifact.sha256Hash})`,
      );
    }
    return candidates.length > 0 ? `Stored ${candidates.length} artifact(s)` : 'No artifacts were produced';
  }

  /** Runs one dotnet verb, logging and parsing its output; a failure names the diagnostics. */
  private async dotnet(step: string, verbArgs: string[], onLine?: (line: string) => void): Promise<void> {
    const { governor } = this.input;
    const args = governor
      ? [...verbArgs, `-m:${governor.maxCpuCount()}`, ...governor.dotnetArgs()]
      : verbArgs;
    const before = this.diagnostics.length;
    this.log('INFO', `$ dotnet ${args.join(' ')}`);
    try {
      await runCommand({
        file: 'dotnet',
        args,
        cwd: this.sourceDir,
        env: dotnetEnvironment(process.env),
        signal: this.input.signal,
        governor,
        onSpawn: (pid) => this.log('INFO', `dotnet ${args[0] ?? ''} started (pid ${pid})`),
        onLine: (line) => {
          const diagnostic = parseDiagnosticLine(line, this.sourceDir);
          if (diagnostic) this.recordDiagnostic(diagnostic);
          this.log(
            diagnostic?.severity === 'error' ? 'ERROR' : diagnostic?.severity === 'warning' ? 'WARN' : 'INFO',
            line,
          );
          onLine?.(line);
        },
      });
    } catch (error) {
      if (!(error instanceof CommandFailedError)) throw error;
      const errors = this.diagnostics.slice(before).filter((d) => d.severity === 'error');
      const detail =
        errors.length > 0
          ? `${errors.length} error(s): ${errors.slice(0, 5).map(describeDiagnostic).join('; ')}`
          : `exit code ${error.exitCode}: ${error.outputTail.slice(-3).join(' ')}`;
      throw new StageFailure(`${step} failed: ${detail}`);
    }
  }

  private recordDiagnostic(diagnostic: Diagnostic): void {
    // MSBuild's summary repeats every diagnostic it already printed inline.
    const key = diagnosticKey(diagnostic);
    if (this.diagnosticKeys.has(key)) return;
    this.diagnosticKeys.add(key);
    this.diagnostics.push(diagnostic);
    this.listener.onDiagnostics([diagnostic]);
  }

  private diagnosticCounts(name: StageName): { warningsCount: number; errorsCount: number } {
    if (name !== 'Build' && name !== 'Restore') return { warningsCount: 0, errorsCount: 0 };
    return {
      warningsCount: this.diagnostics.filter((d) => d.severity === 'warning').length,
      errorsCount: this.diagnostics.filter((d) => d.severity === 'error').length,
    };
  }

  private stage(update: Omit<StageUpdate, 'at'>): void {
    this.listener.onStage({ ...update, at: new Date().toISOString() });
  }

  private log(level: LogLevel, message: string): void {
    this.listener.onLog(level, this.masker.mask(message));
  }
}

async function readTestResults(resultsDir: string): Promise<TestResults | null> {
  let files: string[];
  try {
    files = (await readdir(resultsDir, { recursive: true })).filter((file) => file.endsWith('.trx'));
  } catch {
    return null;
  }
  if (files.length === 0) return null;
  const parsed = await Promise.all(
    files.sort().map(async (file) => parseTrx(await readFile(join(resultsDir, file), 'utf8'))),
  );
  return mergeTestResults(parsed);
}

/** Deletes every bin/ and obj/ folder below `root`; returns how many were removed. */
async function removeBuildOutputs(root: string): Promise<number> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  const targets = entries
    .filter((entry) => entry.isDirectory() && (entry.name === 'bin' || entry.name === 'obj'))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => !relative(root, path).split(sep).includes('.git'));
  // Outermost first; nested ones disappear with their parents.
  const outermost = targets.filter(
    (path) => !targets.some((other) => other !== path && path.startsWith(other + sep)),
  );
  await Promise.all(outermost.map((path) => rm(path, { recursive: true, force: true })));
  return outermost.length;
}

/** Deletes the `.nupkg`/`.snupkg` files and `publish/` folders below every bin/, so only this build's are uploaded. */
async function removePackagedOutputs(root: string): Promise<void> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  const targets = entries
    .map((entry) => ({ entry, path: join(entry.parentPath, entry.name) }))
    .filter(({ path }) => {
      const segments = relative(root, path).split(sep);
      return segments.includes('bin') && !segments.includes('.git');
    })
    .filter(
      ({ entry }) =>
        (entry.isFile() && /\.s?nupkg$/.test(entry.name)) ||
        (entry.isDirectory() && entry.name === 'publish'),
    )
    .map(({ path }) => path);
  await Promise.all(targets.map((path) => rm(path, { recursive: true, force: true })));
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function listSome(paths: readonly string[], limit = 5): string {
  return paths.length <= limit
    ? paths.join(', ')
    : `${paths.slice(0, limit).join(', ')} and ${paths.length - limit} more`;
}

/** Project names (file names without extension) of tasks, sorted. */
function namesOf(tasks: readonly PlannedTask[]): string {
  return tasks
    .map((task) => basename(task.project).replace(/\.[^.]+$/, ''))
    .sort()
    .join(', ');
}

async function containsFile(root: string, fileName: string): Promise<boolean> {
  const entries = await readdir(root, { recursive: true });
  return entries.some((entry) => basename(entry) === fileName && !entry.split(sep).includes('.git'));
}

interface ArtifactCandidate {
  kind: 'file' | 'directory';
  name: string;
  path: string;
  contentType: string;
}

/** Packages (`*.nupkg`) and publish folders (archived as `.tar.gz`) of non-test projects. */
async function findArtifacts(sourceDir: string, job: BuildRequest['job']): Promise<ArtifactCandidate[]> {
  const entries = await readdir(sourceDir, { withFileTypes: true, recursive: true });
  const candidates: ArtifactCandidate[] = [];
  for (const entry of entries) {
    const path = relative(sourceDir, join(entry.parentPath, entry.name)).split(sep).join('/');
    const segments = path.split('/');
    if (segments.includes('.git') || !segments.includes('bin')) continue;
    if (job.createPackages && entry.isFile() && /\.s?nupkg$/.test(entry.name)) {
      candidates.push({ kind: 'file', name: entry.name, path, contentType: 'application/zip' });
    }
    if (job.publishArtifacts && entry.isDirectory() && entry.name === 'publish') {
      const files = await readdir(join(entry.parentPath, entry.name));
      if (files.some((file) => /^testhost\.dll$|^Microsoft\.TestPlatform/i.test(file))) continue;
      const project = segments[segments.indexOf('bin') - 1] ?? 'publish';
      const qualifier = segments.slice(segments.indexOf('bin') + 2, -1).join('-');
      candidates.push({
        kind: 'directory',
        name: `${project}${qualifier ? `-${qualifier}` : ''}-publish.tar.gz`,
        path,
        contentType: 'application/gzip',
      });
    }
  }
  return candidates.sort((a, b) => a.path.localeCompare(b.path));
}
