import { createHash } from 'node:crypto';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeDiagnostic } from '../core/diagnostic-format.js';
import {
  BuildMeshError,
  CommandFailedError,
  InvalidArgumentError,
  OperationAbortedError,
  abortReasonOf,
} from '../core/errors.js';
import type { TaskSpec } from '../core/job-messages.js';
import type { BuildRequest, Diagnostic, ProducedArtifact, TestResults } from '../core/models.js';
import type { Logger } from '../core/ports.js';
import { isSafeRelativePath, manifestBlobs } from '../core/source-manifest.js';
import { normaliseRepoPath } from '../core/solution-graph.js';
import type { ContentStore } from './content-store.js';
import { dotnetEnvironment, escapeMsBuildValue } from './dotnet/dotnet-args.js';
import { dedupeDiagnostics, parseDiagnosticLine } from './parsers/msbuild-diagnostics.js';
import { mergeTestResults, parseTrx } from './parsers/trx.js';
import { buildProject, readProjectOutputs, storeProjectOutputs } from './project-task.js';
import type { ProcessAdopter } from './process-governor.js';
import { runCommand } from './run-command.js';
import { SourceManifestError, materializeSources, readManifest } from './source-snapshot.js';

/** One project task to run on this peer. */
export interface ProjectTaskInput {
  executionId: string;
  request: BuildRequest;
  task: TaskSpec;
  /** The build's source manifest in the CAS. */
  manifestSha256: string;
  /** Brings these blobs into the local CAS (from the coordinating peer); a no-op when they are already here. */
  fetchBlobs: (sha256s: readonly string[], signal: AbortSignal) => Promise<void>;
}

/** What a project task produced. Build failures are results; infrastructure failures and aborts throw. */
export interface ProjectTaskResult {
  succeeded: boolean;
  /** Why it failed (compile errors, failed tests), for people; null on success. */
  errorMessage: string | null;
  /** build tasks: the project's output tree in the CAS (storeProjectOutputs); null otherwise or on failure. */
  outputTreeSha256: string | null;
  /** pack: the .nupkg files, stored in the CAS. */
  artifacts: ProducedArtifact[];
  /** test: parsed from the TRX. */
  testResults: TestResults | null;
  diagnostics: Diagnostic[];
  /** Every blob the result needs (tree object + its files, artifacts), with sizes. */
  blobs: { sha256: string; sizeBytes: number }[];
  durationMs: number;
}

export interface ProjectTaskRunnerOptions {
  workspaceRoot: string;
  contentStore: ContentStore;
  logger: Logger;
  /** Task workspaces kept on disk; the least recently used idle ones go first. Default 3. */
  maxWorkspaces?: number;
  /** Sets the priority of the dotnet processes from the owner's CPU share (tasks keep `-m:1`). */
  governor?: ProcessAdopter;
}

/** One execution's workspace on this peer and what is already in it. */
interface TaskWorkspace {
  executionId: string;
  /** `<workspaceRoot>/tasks-<executionId>`: `src/` plus `.buildmesh/` for results and packages. */
  dir: string;
  sourceDir: string;
  lastUsed: number;
  running: number;
  /** Aborted when the workspace is released or evicted: stops its fetches and its running tasks. */
  controller: AbortController;
  /** Sources fetched and materialised; resolves to the manifest's symlink paths. Null until first needed or after a failure. */
  sources: Promise<ReadonlySet<string>> | null;
  /** Output trees placed (or being placed), by tree sha256. */
  placed: Map<string, Promise<void>>;
  /** The project of each placed tree. */
  placedProjects: Map<string, string>;
  /** Projects built here by an earlier task: their outputs are already in place. */
  built: Set<string>;
  /** The solution's one restore in this workspace (null until a task needs it, or after it failed). */
  restored: Promise<void> | null;
  /** Every task and background fetch in flight, so deletion waits for them. */
  pending: Set<Promise<unknown>>;
}

const FETCH_BATCH = 256;
const HAS_CONCURRENCY = 64;
const PACKAGE_PATTERN = /\.s?nupkg$/;
// Execution ids are UUIDs on the wire; anything else must not become a directory name.
const EXECUTION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const LOGGER_ARGS = ['-tl:off', '-nologo'];

/**
 * Runs the project tasks of Distributed and Cached builds on this peer. Each execution gets one
 * workspace holding its sources (materialised once from the coordinator's manifest) and the output
 * trees placed or built there by earlier tasks, so a dependent task only fetches what is new.
 */
export class ProjectTaskRunner {
  private readonly workspaces = new Map<string, TaskWorkspace>();
  private readonly maxWorkspaces: number;
  private readonly store: ContentStore;
  private readonly logger: Logger;
  private clock = 0;

  constructor(private readonly options: ProjectTaskRunnerOptions) {
    this.maxWorkspaces = Math.max(1, options.maxWorkspaces ?? 3);
    this.store = options.contentStore;
    this.logger = options.logger.child('project-tasks');
  }

  /**
   * Prepares the workspace, places the task's reference outputs, then builds, tests or packs.
   * @throws OperationAbortedError on abort; other errors for infrastructure problems (a fetch
   *   failed, dotnet is missing, an invalid tree); compile errors and failed tests are results.
   */
  async run(
    input: ProjectTaskInput,
    options: { signal: AbortSignal; onLine: (line: string) => void },
  ): Promise<ProjectTaskResult> {
    const started = performance.now();
    validateInput(input);
    if (options.signal.aborted) throw abortReasonOf(options.signal);
    // A verify build's second builds get their own workspace (see TaskSpec.purpose).
    const { workspace, evictions } = this.acquire(
      input.task.purpose === 'verify' ? `${input.executionId}-verify` : input.executionId,
    );
    const signal = AbortSignal.any([options.signal, workspace.controller.signal]);
    const work = (async () => {
      await evictions;
      const symlinks = await untilAborted(this.prepareSources(workspace, input), signal);
      await this.placeOutputs(workspace, input, symlinks, signal);
      const task = new TaskExecution(
        input,
        workspace,
        this.store,
        signal,
        options.onLine,
        this.options.governor,
      );
      const outcome = await task.execute();
      if (input.task.kind === 'build' && outcome.succeeded) {
        if (input.task.purpose !== 'verify') workspace.built.add(input.task.project);
        // A second build replaced the first build's outputs of this project, placed here for an
        // earlier check: place them again when a later check needs them.
        else
          for (const [tree, project] of workspace.placedProjects)
            if (project === input.task.project) workspace.placed.delete(tree);
      }
      return { ...outcome, durationMs: Math.round(performance.now() - started) };
    })();
    workspace.pending.add(work);
    try {
      return await work;
    } finally {
      workspace.pending.delete(work);
      workspace.running--;
      workspace.lastUsed = ++this.clock;
    }
  }

  /** Deletes this execution's workspace (called when its build ends). */
  async release(executionId: string): Promise<void> {
    const workspace = this.workspaces.get(executionId);
    if (!workspace) return;
    this.workspaces.delete(executionId);
    await this.destroy(workspace);
  }

  /** Finds or creates the execution's workspace and marks it in use; creating one evicts idle ones. */
  private acquire(executionId: string): { workspace: TaskWorkspace; evictions: Promise<void> } {
    let workspace = this.workspaces.get(executionId);
    let evictions = Promise.resolve();
    if (!workspace) {
      const dir = join(this.options.workspaceRoot, `tasks-${executionId}`);
      workspace = {
        executionId,
        dir,
        sourceDir: join(dir, 'src'),
        lastUsed: 0,
        running: 0,
        controller: new AbortController(),
        sources: null,
        placed: new Map(),
        placedProjects: new Map(),
        built: new Set(),
        restored: null,
        pending: new Set(),
      };
      this.workspaces.set(executionId, workspace);
      evictions = this.evictIdle(workspace);
    }
    // Marked synchronously, so a concurrent eviction never picks a workspace about to be used.
    workspace.running++;
    workspace.lastUsed = ++this.clock;
    return { workspace, evictions };
  }

  private async evictIdle(created: TaskWorkspace): Promise<void> {
    const idle = [...this.workspaces.values()]
      .filter((workspace) => workspace !== created && workspace.running === 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    const victims = idle.slice(0, Math.max(0, this.workspaces.size - this.maxWorkspaces));
    for (const victim of victims) this.workspaces.delete(victim.executionId);
    await Promise.all(
      victims.map(async (victim) => {
        this.logger.debug('Evicting task workspace', { executionId: victim.executionId });
        try {
          await this.destroy(victim);
        } catch (error) {
          // A leftover directory costs disk space, not correctness: the new task goes on.
          this.logger.warn('Could not delete task workspace', { dir: victim.dir, error: String(error) });
        }
      }),
    );
  }

  private async destroy(workspace: TaskWorkspace): Promise<void> {
    workspace.controller.abort(
      new OperationAbortedError('cancelled', `Task workspace of ${workspace.executionId} was released`),
    );
    // Wait for fetches and tasks to stop, or they could recreate files below a deleted directory.
    await Promise.allSettled([workspace.sources, ...workspace.placed.values(), ...workspace.pending]);
    await rm(workspace.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  /** The first task of an execution fetches and writes the sources; the others wait for it. */
  private prepareSources(workspace: TaskWorkspace, input: ProjectTaskInput): Promise<ReadonlySet<string>> {
    if (workspace.sources) return workspace.sources;
    const signal = workspace.controller.signal;
    const sources = (async () => {
      // A failed earlier attempt may have left part of the tree (and symlinks would not be overwritten).
      await rm(workspace.sourceDir, { recursive: true, force: true });
      await this.fetchMissing([input.manifestSha256], input.fetchBlobs, signal);
      const manifest = await readManifest(this.store, input.manifestSha256);
      await this.fetchMissing(manifestBlobs(manifest), input.fetchBlobs, signal);
      if (signal.aborted) throw abortReasonOf(signal);
      await materializeSources(manifest, this.store, workspace.sourceDir);
      this.logger.debug('Task workspace ready', {
        executionId: workspace.executionId,
        files: manifest.entries.length,
      });
      return new Set(manifest.entries.filter((entry) => entry.kind === 'symlink').map((entry) => entry.path));
    })();
    workspace.sources = sources;
    // Waiters may have gone (aborted); the failure is theirs to see, and the next task retries.
    sources.catch(() => {
      if (workspace.sources === sources) workspace.sources = null;
    });
    return sources;
  }

  /** Places the listed output trees in order, skipping those already placed or built here. */
  private async placeOutputs(
    workspace: TaskWorkspace,
    input: ProjectTaskInput,
    symlinks: ReadonlySet<string>,
    signal: AbortSignal,
  ): Promise<void> {
    for (const entry of input.task.place) {
      if (workspace.built.has(entry.project)) continue;
      let placing = workspace.placed.get(entry.treeSha256);
      if (!placing) {
        placing = this.placeTree(workspace, entry, symlinks, input.fetchBlobs);
        workspace.placed.set(entry.treeSha256, placing);
        workspace.placedProjects.set(entry.treeSha256, entry.project);
        const current = placing;
        current.catch(() => {
          if (workspace.placed.get(entry.treeSha256) === current) workspace.placed.delete(entry.treeSha256);
        });
      }
      await untilAborted(placing, signal);
    }
  }

  private async placeTree(
    workspace: TaskWorkspace,
    entry: TaskSpec['place'][number],
    symlinks: ReadonlySet<string>,
    fetchBlobs: ProjectTaskInput['fetchBlobs'],
  ): Promise<void> {
    const signal = workspace.controller.signal;
    await this.fetchMissing([entry.treeSha256], fetchBlobs, signal);
    const tree = await readProjectOutputs(this.store, entry.treeSha256);
    if (tree.projectPath !== entry.project) {
      throw new SourceManifestError(
        `output tree ${entry.treeSha256} is for ${tree.projectPath}, not ${entry.project}`,
      );
    }
    for (const file of tree.entries) {
      // The sources' own symlinks would carry a write anywhere on the machine.
      const segments = file.path.split('/');
      for (let i = 1; i < segments.length; i++) {
        if (symlinks.has(segments.slice(0, i).join('/'))) {
          throw new SourceManifestError(
            `output tree ${entry.treeSha256} writes through a symlink of the sources: ${file.path}`,
          );
        }
      }
    }
    await this.fetchMissing(
      tree.entries.flatMap((file) => (file.kind === 'file' ? [file.sha256] : [])),
      fetchBlobs,
      signal,
    );
    if (signal.aborted) throw abortReasonOf(signal);
    await materializeSources(tree, this.store, workspace.sourceDir);
  }

  /** Fetches, in batches, the blobs the local CAS lacks, and checks they arrived. */
  private async fetchMissing(
    sha256s: readonly string[],
    fetchBlobs: ProjectTaskInput['fetchBlobs'],
    signal: AbortSignal,
  ): Promise<void> {
    const unique = [...new Set(sha256s)];
    const missing: string[] = [];
    for (let i = 0; i < unique.length; i += HAS_CONCURRENCY) {
      const slice = unique.slice(i, i + HAS_CONCURRENCY);
      const present = await Promise.all(slice.map((sha256) => this.store.has(sha256)));
      missing.push(...slice.filter((_, index) => !present[index]));
    }
    for (let i = 0; i < missing.length; i += FETCH_BATCH) {
      if (signal.aborted) throw abortReasonOf(signal);
      await fetchBlobs(missing.slice(i, i + FETCH_BATCH), signal);
    }
    for (const sha256 of missing) {
      if (!(await this.store.has(sha256))) {
        throw new BuildMeshError('BlobMissing', `blob ${sha256} is still missing after fetching it`);
      }
    }
  }
}

/** Runs the dotnet part of one task in a prepared workspace. */
class TaskExecution {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly job: BuildRequest['job'];
  private readonly project: string;
  private readonly projectName: string;
  /** Per task, so concurrent tasks of one execution never share a results or packages folder. */
  private readonly taskFolder: string;

  constructor(
    private readonly input: ProjectTaskInput,
    private readonly workspace: TaskWorkspace,
    private readonly store: ContentStore,
    private readonly signal: AbortSignal,
    private readonly onLine: (line: string) => void,
    private readonly governor: ProcessAdopter | undefined,
  ) {
    this.job = input.request.job;
    this.project = input.task.project;
    this.projectName = (this.project.split('/').pop() ?? this.project).replace(/\.[^.]+$/, '');
    this.taskFolder = sanitiseTaskId(input.task.taskId);
  }

  async execute(): Promise<Omit<ProjectTaskResult, 'durationMs'>> {
    switch (this.input.task.kind) {
      case 'build':
        return this.build();
      case 'test':
        return this.test();
      case 'pack':
        return this.pack();
    }
  }

  private async build(): Promise<Omit<ProjectTaskResult, 'durationMs'>> {
    const { sourceDir } = this.workspace;
    const restored = await this.restore();
    if (restored) return restored;
    try {
      const built = await buildProject({
        sourceDir,
        projectPath: this.project,
        job: this.job,
        signal: this.signal,
        onLine: this.onLine,
        restore: false,
        governor: this.governor,
      });
      this.diagnostics.push(...built.diagnostics);
    } catch (error) {
      if (!(error instanceof CommandFailedError)) throw error;
      const attached = (error as CommandFailedError & { diagnostics?: Diagnostic[] }).diagnostics ?? [];
      this.diagnostics.push(...attached);
      return this.failure(`Build of ${this.project} failed: ${this.failureDetail(error)}`);
    }
    const { treeSha256, tree } = await storeProjectOutputs(
      sourceDir,
      this.project,
      this.job.configuration,
      this.store,
    );
    const treeSize = await this.store.sizeOf(treeSha256);
    if (treeSize === null)
      throw new BuildMeshError('BlobMissing', `output tree ${treeSha256} was not stored`);
    const blobs = new Map([[treeSha256, treeSize]]);
    for (const entry of tree.entries) if (entry.kind === 'file') blobs.set(entry.sha256, entry.sizeBytes);
    return {
      ...this.success(),
      outputTreeSha256: treeSha256,
      blobs: [...blobs].map(([sha256, sizeBytes]) => ({ sha256, sizeBytes })),
    };
  }

  private async test(): Promise<Omit<ProjectTaskResult, 'durationMs'>> {
    const resultsDir = join(this.workspace.dir, '.buildmesh', 'results', this.taskFolder);
    await rm(resultsDir, { recursive: true, force: true });
    const restored = await this.restore();
    if (restored) return restored;
    let runFailure: CommandFailedError | null = null;
    try {
      await this.dotnet([
        'test',
        this.project,
        '--no-build',
        '--no-restore',
        '-m:1',
        '-c',
        this.job.configuration,
        ...(this.job.targetFramework ? ['-f', this.job.targetFramework] : []),
        ...this.runtimeArgs(),
        '--logger',
        'trx',
        '--results-directory',
        resultsDir,
        ...this.propertyArgs(),
        ...LOGGER_ARGS,
      ]);
    } catch (error) {
      if (!(error instanceof CommandFailedError)) throw error;
      runFailure = error;
    }
    const testResults = await readTestResults(resultsDir);
    if (testResults && testResults.failed > 0) {
      const names = testResults.failures.slice(0, 5).map((failure) => failure.name);
      return {
        ...this.failure(
          `${testResults.failed} of ${testResults.total} tests failed in ${this.projectName}: ${names.join(', ')}`,
        ),
        testResults,
      };
    }
    if (runFailure) {
      return {
        ...this.failure(`Test run of ${this.project} failed: ${this.failureDetail(runFailure)}`),
        testResults,
      };
    }
    return { ...this.success(), testResults };
  }

  private async pack(): Promise<Omit<ProjectTaskResult, 'durationMs'>> {
    const packagesDir = join(this.workspace.dir, '.buildmesh', 'packages', this.taskFolder);
    await rm(packagesDir, { recursive: true, force: true });
    const restored = await this.restore();
    if (restored) return restored;
    try {
      await this.dotnet([
        'pack',
        this.project,
        '--no-build',
        '--no-restore',
        '-m:1',
        '-c',
        this.job.configuration,
        '-o',
        packagesDir,
        ...this.runtimeArgs(),
        ...this.propertyArgs(),
        ...LOGGER_ARGS,
      ]);
    } catch (error) {
      if (!(error instanceof CommandFailedError)) throw error;
      return this.failure(`Pack of ${this.project} failed: ${this.failureDetail(error)}`);
    }
    const files = await readdir(packagesDir).catch(() => [] as string[]);
    const artifacts: ProducedArtifact[] = [];
    for (const file of files.filter((name) => PACKAGE_PATTERN.test(name)).sort()) {
      const stored = await this.store.putFile(join(packagesDir, file));
      artifacts.push({
        name: file,
        path: `.buildmesh/packages/${this.taskFolder}/${file}`,
        sizeBytes: stored.sizeBytes,
        contentType: 'application/zip',
        sha256Hash: stored.sha256,
        createdAt: new Date().toISOString(),
      });
    }
    return {
      ...this.success(),
      artifacts,
      blobs: artifacts.map((artifact) => ({ sha256: artifact.sha256Hash, sizeBytes: artifact.sizeBytes })),
    };
  }

  /**
   * Restores the whole solution once per workspace (every task after the first builds, tests or
   * packs with `--no-restore`): one restore costs a few seconds, one per task a second or two each.
   * Placed trees lack `obj/project.assets.json`, which build, test and pack read. Null when it worked.
   */
  private async restore(): Promise<Omit<ProjectTaskResult, 'durationMs'> | null> {
    const workspace = this.workspace;
    const restore = (workspace.restored ??= this.dotnet([
      'restore',
      normaliseRepoPath(this.job.solutionPath),
      ...this.runtimeArgs(),
      ...this.propertyArgs(),
      ...LOGGER_ARGS,
    ]));
    try {
      await restore;
      return null;
    } catch (error) {
      // The next task tries again (the failure may have been this task's abort).
      if (workspace.restored === restore) workspace.restored = null;
      if (!(error instanceof CommandFailedError)) throw error;
      return this.failure(`Restore of ${this.job.solutionPath} failed: ${this.failureDetail(error)}`);
    }
  }

  private async dotnet(args: string[]): Promise<void> {
    this.onLine(`$ dotnet ${args.join(' ')}`);
    await runCommand({
      file: 'dotnet',
      args,
      cwd: this.workspace.sourceDir,
      env: dotnetEnvironment(process.env),
      signal: this.signal,
      governor: this.governor,
      onLine: (line) => {
        const diagnostic = parseDiagnosticLine(line, this.workspace.sourceDir);
        if (diagnostic) this.diagnostics.push(diagnostic);
        this.onLine(line);
      },
    });
  }

  // Same as buildProject: the paths of the placed outputs depend on them, so the verbs must agree.
  private runtimeArgs(): string[] {
    return this.job.runtimeIdentifier ? ['-r', this.job.runtimeIdentifier] : [];
  }

  private propertyArgs(): string[] {
    return Object.entries(this.job.buildProperties)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => `-p:${name}=${escapeMsBuildValue(value)}`);
  }

  private failureDetail(error: CommandFailedError): string {
    const errors = dedupeDiagnostics(this.diagnostics).filter((d) => d.severity === 'error');
    return errors.length > 0
      ? `${errors.length} error(s): ${errors.slice(0, 5).map(describeDiagnostic).join('; ')}`
      : `exit code ${error.exitCode ?? 'unknown'}: ${error.outputTail.slice(-3).join(' ')}`;
  }

  private success(): Omit<ProjectTaskResult, 'durationMs'> {
    return {
      succeeded: true,
      errorMessage: null,
      outputTreeSha256: null,
      artifacts: [],
      testResults: null,
      diagnostics: dedupeDiagnostics(this.diagnostics),
      blobs: [],
    };
  }

  private failure(errorMessage: string): Omit<ProjectTaskResult, 'durationMs'> {
    return { ...this.success(), succeeded: false, errorMessage };
  }
}

function validateInput(input: ProjectTaskInput): void {
  if (!EXECUTION_ID_PATTERN.test(input.executionId)) {
    throw new InvalidArgumentError([{ field: 'executionId', message: 'must be a plain identifier' }]);
  }
  // A leading '-' would read as a dotnet option.
  if (!isSafeRelativePath(input.task.project) || input.task.project.startsWith('-')) {
    throw new InvalidArgumentError([
      { field: 'task.project', message: `must be a relative path inside the sources: ${input.task.project}` },
    ]);
  }
}

/** `test:tests/A.Tests/A.Tests.csproj` → a folder name that is safe, short and unique per task id. */
function sanitiseTaskId(taskId: string): string {
  const readable = taskId.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
  const digest = createHash('sha256').update(taskId).digest('hex').slice(0, 12);
  return `${readable}-${digest}`;
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (the shared work goes on for others). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReasonOf(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReasonOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
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
