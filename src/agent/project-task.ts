import { Readable } from 'node:stream';
import { z } from 'zod';
import { CommandFailedError } from '../core/errors.js';
import type { BuildJob, Diagnostic } from '../core/models.js';
import { isSafeRelativePath, sourceManifestSchema } from '../core/source-manifest.js';
import type { ContentStore } from './content-store.js';
import { dotnetEnvironment, escapeMsBuildValue } from './dotnet/dotnet-args.js';
import { parseDiagnosticLine } from './parsers/msbuild-diagnostics.js';
import type { ProcessAdopter } from './process-governor.js';
import { runCommand } from './run-command.js';
import { SourceManifestError, materializeSources, storeTree } from './source-snapshot.js';

/**
 * The outputs of one project's build task, as content-addressed files: `bin/<configuration>/`
 * and the reference assemblies under `obj/<configuration>/<tfm>/ref|refint/`, which is what a
 * dependent needs to build against it with `-p:BuildProjectReferences=false`.
 */
export const projectOutputTreeSchema = z.strictObject({
  version: z.literal(1),
  projectPath: z.string().min(1).max(4096),
  configuration: z.string().min(1).max(64),
  entries: sourceManifestSchema.shape.entries,
});
export type ProjectOutputTree = z.infer<typeof projectOutputTreeSchema>;

function projectDirectory(projectPath: string): string {
  const slash = projectPath.lastIndexOf('/');
  return slash < 0 ? '' : projectPath.slice(0, slash + 1);
}

/** Stores a built project's outputs in the CAS; returns the tree and its sha256. */
export async function storeProjectOutputs(
  sourceDir: string,
  projectPath: string,
  configuration: string,
  store: ContentStore,
): Promise<{ treeSha256: string; tree: ProjectOutputTree }> {
  const dir = projectDirectory(projectPath);
  const bin = `${dir}bin/${configuration}/`;
  const obj = `${dir}obj/${configuration}/`;
  const entries = await storeTree(
    sourceDir,
    store,
    (path) =>
      path.startsWith(bin) || (path.startsWith(obj) && /\/(ref|refint)\/[^/]+$/.test(path.slice(obj.length))),
  );
  const tree: ProjectOutputTree = { version: 1, projectPath, configuration, entries };
  const stored = await store.putStream(Readable.from([Buffer.from(JSON.stringify(tree))]));
  return { treeSha256: stored.sha256, tree };
}

/** Reads a stored output tree, refusing any path outside the workspace. */
export async function readProjectOutputs(
  store: ContentStore,
  treeSha256: string,
): Promise<ProjectOutputTree> {
  const chunks: Buffer[] = [];
  for await (const chunk of store.openRead(treeSha256)) chunks.push(chunk as Buffer);
  const parsed = projectOutputTreeSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
  if (!parsed.success)
    throw new SourceManifestError(`output tree ${treeSha256} is invalid: ${parsed.error.message}`);
  for (const entry of parsed.data.entries) {
    if (!isSafeRelativePath(entry.path) || entry.kind === 'symlink') {
      throw new SourceManifestError(
        `output tree ${treeSha256} has an entry outside the workspace: ${entry.path}`,
      );
    }
  }
  return parsed.data;
}

/** Places referenced projects' outputs into a workspace, where MSBuild expects them. */
export async function placeProjectOutputs(
  store: ContentStore,
  treeSha256s: readonly string[],
  sourceDir: string,
): Promise<void> {
  for (const treeSha256 of treeSha256s) {
    await materializeSources(await readProjectOutputs(store, treeSha256), store, sourceDir);
  }
}

export interface ProjectBuildResult {
  diagnostics: Diagnostic[];
  durationMs: number;
}

/**
 * Restores and builds one project without building its references (their outputs must already
 * be in place): the unit of distributed work.
 */
export async function buildProject(options: {
  sourceDir: string;
  projectPath: string;
  job: Pick<BuildJob, 'configuration' | 'targetFramework' | 'runtimeIdentifier' | 'buildProperties'>;
  signal: AbortSignal;
  onLine?: (line: string) => void;
  /** False when the workspace was restored already (`--no-restore`). Default true. */
  restore?: boolean;
  /** Sets the process's priority from the owner's CPU share. */
  governor?: ProcessAdopter;
}): Promise<ProjectBuildResult> {
  const { job } = options;
  const diagnostics: Diagnostic[] = [];
  const properties = { ...job.buildProperties };
  // Deterministic builds (verify): map this workspace's root away so that peers' outputs compare.
  if (properties.ContinuousIntegrationBuild === 'true' && properties.PathMap === undefined)
    properties.PathMap = `${options.sourceDir}/=/_/`;
  const args = [
    'build',
    options.projectPath,
    '-c',
    job.configuration,
    '-p:BuildProjectReferences=false',
    // One project: worker nodes would only cost their start-up (about a second each).
    '-m:1',
    ...(options.restore === false ? ['--no-restore'] : []),
    ...(job.targetFramework ? ['-f', job.targetFramework] : []),
    ...(job.runtimeIdentifier ? ['-r', job.runtimeIdentifier] : []),
    ...Object.entries(properties)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => `-p:${name}=${escapeMsBuildValue(value)}`),
    ...(options.governor?.dotnetArgs?.() ?? []),
    '-tl:off',
    '-nologo',
  ];
  try {
    const result = await runCommand({
      file: 'dotnet',
      args,
      cwd: options.sourceDir,
      env: dotnetEnvironment(process.env),
      signal: options.signal,
      governor: options.governor,
      onLine: (line) => {
        const diagnostic = parseDiagnosticLine(line, options.sourceDir);
        if (diagnostic) diagnostics.push(diagnostic);
        options.onLine?.(line);
      },
    });
    return { diagnostics, durationMs: result.durationMs };
  } catch (error) {
    if (error instanceof CommandFailedError) Object.assign(error, { diagnostics });
    throw error;
  }
}
