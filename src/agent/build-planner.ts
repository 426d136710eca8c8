import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BuildMeshError } from '../core/errors.js';
import { planProjectTasks, type BuildPlan, type BuildPlanner } from '../core/project-tasks.js';
import type { BuildRequest } from '../core/models.js';
import { isBuildableProjectPath, normaliseRepoPath, parseSolution } from '../core/solution-graph.js';
import type { ContentStore } from './content-store.js';
import { evaluateProjects, type ProjectEvaluation } from './project-evaluation.js';
import { materializeSources, readManifest } from './source-snapshot.js';

/** Rounds of following references to projects the solution does not list. */
const MAX_REFERENCE_ROUNDS = 50;

export class SolutionNotFoundError extends BuildMeshError {
  constructor(solutionPath: string) {
    super('SolutionNotFound', `The solution '${solutionPath}' is not in the commit; check solutionPath`);
    this.name = 'SolutionNotFoundError';
  }
}

/**
 * Plans a task-engine build on the coordinating node: writes the stored sources to a scratch
 * directory, asks MSBuild for every project's inputs and references (following references to
 * projects the solution does not list), and turns the graph into tasks with cache keys.
 */
export class MsBuildPlanner implements BuildPlanner {
  constructor(
    private readonly options: {
      workspaceRoot: string;
      contentStore: ContentStore;
      /** Keeps evaluations by what they depend on, so an unchanged project is not evaluated again. */
      evaluationCacheDir?: string;
      /** The SDKs installed here (part of an evaluation's cache key). */
      sdkFingerprint?: string;
    },
  ) {}

  async plan(
    request: Pick<BuildRequest, 'executionId' | 'job'>,
    manifestSha256: string,
    signal: AbortSignal,
  ): Promise<BuildPlan> {
    const { job } = request;
    const manifest = await readManifest(this.options.contentStore, manifestSha256);
    const fileDigests = new Map<string, string>();
    for (const entry of manifest.entries)
      if (entry.kind === 'file') fileDigests.set(entry.path, entry.sha256);
    const solutionPath = normaliseRepoPath(job.solutionPath);
    if (!fileDigests.has(solutionPath)) throw new SolutionNotFoundError(job.solutionPath);

    const directory = join(this.options.workspaceRoot, `plan-${request.executionId}`);
    await rm(directory, { recursive: true, force: true });
    // The sources are written out only when MSBuild has something to evaluate.
    let written: Promise<void> | null = null;
    const writeSources = () =>
      (written ??= materializeSources(manifest, this.options.contentStore, directory));
    try {
      const projects = await evaluateSolution({
        solutionPath,
        fileDigests,
        readText: (path) => readStoredText(this.options.contentStore, fileDigests.get(path) ?? ''),
        repoRoot: directory,
        writeSources,
        job,
        evaluationCacheDir: this.options.evaluationCacheDir,
        sdkFingerprint: this.options.sdkFingerprint,
        signal,
      });
      const sdkVersion = projects[0]?.sdkVersion ?? 'unknown';
      const tasks = planProjectTasks({ projects, fileDigests, job, sdkVersion });
      return { tasks, sdkVersion, projectCount: projects.length };
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }
}

export interface SolutionEvaluationInput {
  /** The solution (or project) file, relative to the repository root. */
  solutionPath: string;
  /** Every file of the commit: path → sha256. */
  fileDigests: ReadonlyMap<string, string>;
  /** Reads a file of the commit as text (the solution file). */
  readText: (path: string) => Promise<string>;
  /** Where the sources are, or will be once `writeSources` has run. */
  repoRoot: string;
  /** Makes the sources available in `repoRoot`; called only when MSBuild has something to evaluate. */
  writeSources?: () => Promise<void>;
  job: BuildRequest['job'];
  /** Keeps evaluations by what they depend on, so an unchanged project is not evaluated again. */
  evaluationCacheDir?: string;
  sdkFingerprint?: string;
  signal: AbortSignal;
}

/**
 * Evaluates every project of a solution with MSBuild, plus the projects they reference that the
 * solution does not list, taking unchanged ones from the evaluation cache.
 */
export async function evaluateSolution(input: SolutionEvaluationInput): Promise<ProjectEvaluation[]> {
  const { solutionPath } = input;
  const listed = isBuildableProjectPath(solutionPath)
    ? [solutionPath]
    : parseSolution(solutionPath, await input.readText(solutionPath)).projects.map((project) => project.path);
  const evaluations = new Map<string, ProjectEvaluation>();
  let pending = [...new Set(listed)];
  for (let round = 0; pending.length > 0 && round < MAX_REFERENCE_ROUNDS; round++) {
    const evaluated = await evaluateWithCache(pending, input);
    for (const evaluation of evaluated) evaluations.set(evaluation.path, evaluation);
    pending = [...new Set(evaluated.flatMap((evaluation) => evaluation.projectReferences))].filter(
      (reference) => !evaluations.has(reference) && input.fileDigests.has(reference),
    );
  }
  return [...evaluations.values()];
}

/** Evaluates the projects, taking unchanged ones from the evaluation cache. */
async function evaluateWithCache(
  projects: readonly string[],
  input: SolutionEvaluationInput,
): Promise<ProjectEvaluation[]> {
  const { job, fileDigests, signal } = input;
  const cacheDir = input.evaluationCacheDir;
  const keys = new Map(
    projects.map((project) => [
      project,
      evaluationKey(project, job, fileDigests, input.sdkFingerprint ?? ''),
    ]),
  );
  const found = new Map<string, ProjectEvaluation>();
  if (cacheDir) {
    for (const [project, key] of keys) {
      const cached = await readFile(join(cacheDir, `${key}.json`), 'utf8').catch(() => null);
      if (cached === null) continue;
      try {
        const evaluation = JSON.parse(cached) as ProjectEvaluation;
        if (evaluation.path === project) found.set(project, evaluation);
      } catch {
        // A damaged entry is evaluated again and rewritten.
      }
    }
  }
  const missing = projects.filter((project) => !found.has(project));
  if (missing.length > 0) {
    await input.writeSources?.();
    const evaluated = await evaluateProjects(missing, {
      repoRoot: input.repoRoot,
      configuration: job.configuration,
      properties: job.buildProperties,
      signal,
    });
    for (const evaluation of evaluated) {
      found.set(evaluation.path, evaluation);
      const key = keys.get(evaluation.path);
      if (cacheDir && key)
        await writeFileAtomically(join(cacheDir, `${key}.json`), JSON.stringify(evaluation));
    }
  }
  return projects.flatMap((project) => {
    const evaluation = found.get(project);
    return evaluation ? [evaluation] : [];
  });
}

const EVALUATION_KEY_FORMAT = 'buildmesh-evaluation/1';
const MSBUILD_FILE =
  /\.(props|targets|rsp)$|(^|\/)(global\.json|nuget\.config|packages(\.[^/]*)?\.lock\.json)$/i;

/**
 * What an evaluation depends on: the project's path, every file in and below its folder (globs), every
 * MSBuild file and `global.json`/`NuGet.config` of the repository (imports), the settings and the SDKs.
 * Generous on purpose: a needless re-evaluation costs a second, a stale one a wrong plan.
 */
function evaluationKey(
  project: string,
  job: BuildRequest['job'],
  fileDigests: ReadonlyMap<string, string>,
  sdkFingerprint: string,
): string {
  const slash = project.lastIndexOf('/');
  const projectDir = slash < 0 ? '' : project.slice(0, slash + 1);
  const hash = createHash('sha256');
  const field = (value: string) => hash.update(`${value.length}:${value}`);
  field(EVALUATION_KEY_FORMAT);
  field(project);
  field(sdkFingerprint);
  field(job.configuration);
  for (const [name, value] of Object.entries(job.buildProperties).sort(([a], [b]) => (a < b ? -1 : 1))) {
    field(name);
    field(value);
  }
  const paths = [...fileDigests.keys()]
    .filter((path) => path.startsWith(projectDir) || MSBUILD_FILE.test(path))
    .sort();
  for (const path of paths) {
    field(path);
    field(fileDigests.get(path) ?? '');
  }
  return hash.digest('hex');
}

async function readStoredText(store: ContentStore, sha256: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of store.openRead(sha256)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function writeFileAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${randomUUID()}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}
