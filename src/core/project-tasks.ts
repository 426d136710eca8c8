import {
  ambientCandidates,
  ambientFilesAmong,
  computeCacheKey,
  type CacheKey,
  type CacheKeyInput,
  type TaskKind,
} from './cache-key.js';
import { InvalidGraphError } from './errors.js';
import type { BuildJob, BuildRequest } from './models.js';
import { buildSolutionGraph, topologicalOrder } from './solution-graph.js';

/**
 * Turns an evaluated project graph into the project tasks of a Distributed or Cached build: one
 * build task per project, a test task per test project, a pack task per packable project, each with
 * its cache key (DESIGN.md §4) and the output trees it needs placed before it runs.
 */

/** What planning needs from MSBuild's evaluation of one project (paths relative to the repository root). */
export interface EvaluatedProject {
  path: string;
  targetFrameworks: string[];
  isTestProject: boolean;
  isPackable: boolean;
  inputFiles: string[];
  projectReferences: string[];
}

export interface PlannedTask {
  /** `build:src/A/A.csproj`. */
  taskId: string;
  kind: TaskKind;
  project: string;
  /** Task ids that must succeed first. */
  dependencies: string[];
  cacheKey: CacheKey;
  /** Projects whose build outputs must be in the workspace first, dependencies before dependents. */
  placeProjects: string[];
  /** Target frameworks of the project, for choosing a capable peer. */
  frameworks: string[];
  /** Estimated relative duration, for the critical-path order. */
  cost: number;
}

export function taskIdOf(kind: TaskKind, project: string): string {
  return `${kind}:${project}`;
}

/**
 * Plans the tasks, dependencies first. A project's key covers its file, its evaluated input files,
 * the ambient files above it, the build settings, the SDK, and its direct references' build keys
 * (which cover theirs), so a change anywhere reaches every dependent.
 *
 * @param fileDigests every file of the commit (its source manifest): path → sha256
 * @throws CycleDetectedError naming the cycle; InvalidGraphError when a project file is not in the commit
 */
export function planProjectTasks(input: {
  projects: readonly EvaluatedProject[];
  fileDigests: ReadonlyMap<string, string>;
  job: Pick<
    BuildJob,
    | 'configuration'
    | 'targetFramework'
    | 'runtimeIdentifier'
    | 'platform'
    | 'buildProperties'
    | 'runTests'
    | 'createPackages'
  >;
  sdkVersion: string;
}): PlannedTask[] {
  const { job, fileDigests } = input;
  const graph = buildSolutionGraph(
    input.projects.map((project) => ({ path: project.path, references: project.projectReferences })),
  );
  const byPath = new Map(input.projects.map((project) => [project.path, project]));
  const missing = input.projects.filter((project) => !fileDigests.has(project.path));
  if (missing.length > 0)
    throw new InvalidGraphError(missing.map((project) => `${project.path} is not a file of the commit`));

  const candidates = ambientCandidates(fileDigests.keys());
  const buildKeys = new Map<string, string>();
  const closures = new Map<string, string[]>();
  const tasks: PlannedTask[] = [];
  const order = topologicalOrder(graph);
  const position = new Map(order.map((path, index) => [path, index]));
  for (const path of order) {
    const project = byPath.get(path);
    if (!project) continue;
    const references = [...new Set(project.projectReferences)].sort();
    const closure = new Set<string>();
    for (const reference of references) {
      for (const transitive of closures.get(reference) ?? []) closure.add(transitive);
      closure.add(reference);
    }
    const placeProjects = [...closure].sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0));
    closures.set(path, placeProjects);

    const digestsOf = (paths: readonly string[]) =>
      paths.flatMap((file) => {
        const sha256 = fileDigests.get(file);
        return sha256 === undefined ? [] : [{ path: file, sha256 }];
      });
    const keyInput = (kind: TaskKind): CacheKeyInput => ({
      kind,
      project: { path, sha256: fileDigests.get(path) ?? '' },
      inputs: digestsOf(project.inputFiles),
      ambient: digestsOf(ambientFilesAmong(path, candidates)),
      references: references.map((reference) => ({
        project: reference,
        digest: buildKeys.get(reference) ?? '',
      })),
      configuration: job.configuration,
      targetFramework: job.targetFramework ?? '',
      runtimeIdentifier: job.runtimeIdentifier ?? '',
      platform: job.platform,
      properties: job.buildProperties,
      sdkVersion: input.sdkVersion,
    });
    const buildKey = computeCacheKey(keyInput('build'));
    buildKeys.set(path, buildKey.key);
    const buildTaskId = taskIdOf('build', path);
    tasks.push({
      taskId: buildTaskId,
      kind: 'build',
      project: path,
      dependencies: references.map((reference) => taskIdOf('build', reference)),
      cacheKey: buildKey,
      placeProjects,
      frameworks: project.targetFrameworks,
      cost: 1 + project.inputFiles.length / 100,
    });
    const afterBuild = (kind: TaskKind, cost: number): PlannedTask => ({
      taskId: taskIdOf(kind, path),
      kind,
      project: path,
      dependencies: [buildTaskId],
      cacheKey: computeCacheKey(keyInput(kind)),
      placeProjects: [...placeProjects, path],
      frameworks: project.targetFrameworks,
      cost,
    });
    if (job.runTests && project.isTestProject) tasks.push(afterBuild('test', 2));
    if (job.createPackages && project.isPackable && !project.isTestProject)
      tasks.push(afterBuild('pack', 0.5));
  }
  return tasks;
}

/** The tasks of one build and what they were planned with. */
export interface BuildPlan {
  tasks: PlannedTask[];
  /** The SDK that evaluated the projects (part of every key). */
  sdkVersion: string;
  projectCount: number;
}

/** Port: evaluates a build's projects from its stored sources and plans its tasks. */
export interface BuildPlanner {
  /** @throws BuildMeshError subclasses (evaluation failed, cycle, missing solution) with a message for people */
  plan(
    request: Pick<BuildRequest, 'executionId' | 'job'>,
    manifestSha256: string,
    signal: AbortSignal,
  ): Promise<BuildPlan>;
}
