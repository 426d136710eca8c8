import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
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
  constructor(private readonly options: { workspaceRoot: string; contentStore: ContentStore }) {}

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
    try {
      await materializeSources(manifest, this.options.contentStore, directory);
      const listed = isBuildableProjectPath(solutionPath)
        ? [solutionPath]
        : parseSolution(
            solutionPath,
            await readFile(join(directory, ...solutionPath.split('/')), 'utf8'),
          ).projects.map((project) => project.path);
      const evaluations = new Map<string, ProjectEvaluation>();
      let pending = [...new Set(listed)];
      for (let round = 0; pending.length > 0 && round < MAX_REFERENCE_ROUNDS; round++) {
        const evaluated = await evaluateProjects(pending, {
          repoRoot: directory,
          configuration: job.configuration,
          properties: job.buildProperties,
          signal,
        });
        for (const evaluation of evaluated) evaluations.set(evaluation.path, evaluation);
        pending = [...new Set(evaluated.flatMap((evaluation) => evaluation.projectReferences))].filter(
          (reference) => !evaluations.has(reference) && fileDigests.has(reference),
        );
      }
      const projects = [...evaluations.values()];
      const sdkVersion = projects[0]?.sdkVersion ?? 'unknown';
      const tasks = planProjectTasks({ projects, fileDigests, job, sdkVersion });
      return { tasks, sdkVersion, projectCount: projects.length };
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }
}
