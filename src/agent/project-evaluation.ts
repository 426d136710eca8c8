import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { ProjectEvaluationError } from '../core/errors.js';
import { normaliseRepoPath } from '../core/solution-graph.js';
import { dotnetEnvironment, escapeMsBuildValue } from './dotnet/dotnet-args.js';
import { runCommand } from './run-command.js';

/**
 * Project evaluation with MSBuild itself: target frameworks, test/packable flags, the input files,
 * project and package references of a project, as `dotnet msbuild` evaluates them — no guessed globs.
 *
 * Two ways, same result ({@link ProjectEvaluation}):
 * - {@link evaluateProject}: one project, one `dotnet msbuild <project> -getProperty:… -getItem:…`
 *   process (about 1 s each; a multi-targeting project takes one more per target framework);
 * - {@link evaluateProjects}: many projects in a few processes. Each process builds a generated
 *   traversal project whose target calls the `MSBuild` task on every project with an injected,
 *   read-only target (`CustomAfterMicrosoftCommonTargets`) that returns the same properties and items
 *   (`-getTargetResult`). About 0.1 s per project after a 1 s start, batches run in parallel.
 *
 * Without a restore, MSBuild evaluates without the props/targets that packages import: a test project
 * that gets `IsTestProject` from `Microsoft.NET.Test.Sdk` then reads as not a test project, so a
 * reference to that package counts as one (`restored` says which case applied). Items that packages add
 * live in the NuGet cache, outside the repository, and are dropped either way.
 */

/** A package a project references and the version it asks for (`''` when none is given). */
export interface PackageReference {
  id: string;
  version: string;
}

/** What MSBuild says about one project. Paths are relative to the repository root, `/`-separated. */
export interface ProjectEvaluation {
  /** The project file. */
  path: string;
  /** `['net10.0']`, or every framework of a multi-targeting project, as declared. */
  targetFrameworks: string[];
  isTestProject: boolean;
  isPackable: boolean;
  assemblyName: string;
  /** `Library`, `Exe`, `WinExe`… */
  outputType: string;
  /**
   * The files the build reads, from every target framework: `Compile`, `EmbeddedResource`, `None`,
   * `Content`, `AdditionalFiles` and the other {@link INPUT_ITEM_TYPES}, plus `Reference` hint paths.
   * Only files inside the repository; sorted. MSBuild also lists files that do not exist (Roslyn names a
   * `.globalconfig` candidate in every folder above a source file; an `Include` may name a missing
   * file): with `existingOnly` (the default) those are dropped — re-evaluate, or re-check these
   * candidates, to notice one appearing.
   */
  inputFiles: string[];
  /** Referenced projects, sorted. */
  projectReferences: string[];
  /** Sorted by id then version; the version resolved through central package management when used. */
  packageReferences: PackageReference[];
  /** `Directory.Build.props`, `Directory.Build.targets`, `Directory.Packages.props` that MSBuild found, sorted. */
  buildFiles: string[];
  /** `NETCoreSdkVersion` of the SDK that evaluated it. */
  sdkVersion: string;
  /** Whether package-imported props/targets were in effect (the project had been restored). */
  restored: boolean;
}

/** Item types whose files are inputs of a build. */
export const INPUT_ITEM_TYPES: readonly string[] = [
  'Compile',
  'EmbeddedResource',
  'None',
  'Content',
  'AdditionalFiles',
  'EditorConfigFiles',
  'GlobalAnalyzerConfigFiles',
  'Analyzer',
  'Page',
  'ApplicationDefinition',
  'Resource',
];

/** Properties read from every evaluation. */
export const EVALUATED_PROPERTIES: readonly string[] = [
  'TargetFramework',
  'TargetFrameworks',
  'IsTestProject',
  'IsPackable',
  'AssemblyName',
  'OutputType',
  'NETCoreSdkVersion',
  'RestoreTool',
  'DirectoryBuildPropsPath',
  'DirectoryBuildTargetsPath',
  'DirectoryPackagesPropsPath',
];

/** Item types read besides the inputs. */
const REFERENCE_ITEM_TYPES = ['ProjectReference', 'PackageReference', 'PackageVersion', 'Reference'] as const;

const TEST_SDK_PACKAGE = 'microsoft.net.test.sdk';

/** Options shared by both ways of evaluating. */
export interface EvaluationOptions {
  /** Absolute path of the repository's working copy. */
  repoRoot: string;
  /** `-p:Configuration=…`; default MSBuild's (Debug). */
  configuration?: string;
  /** More global properties (`-p:Name=Value`). */
  properties?: Readonly<Record<string, string>>;
  /** Restore first, so package-imported props count (slower; writes `obj/`). Default false. */
  restore?: boolean;
  /** Drop input files that do not exist on disk. Default true. */
  existingOnly?: boolean;
  /** The dotnet executable. Default `dotnet`. */
  dotnet?: string;
  /** Environment of the dotnet processes. Default: this process's, with dotnet's banners and telemetry off. */
  env?: Record<string, string | undefined>;
  /** MSBuild's own messages (errors, warnings), not the JSON it prints. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
}

/** Options of {@link evaluateProjects}. */
export interface BatchEvaluationOptions extends EvaluationOptions {
  /** dotnet processes at once. Default: the CPU count, at most 4. */
  concurrency?: number;
  /** Fewest projects worth a process of their own (a process costs about a second to start). Default 12. */
  minBatchSize?: number;
}

/**
 * Evaluates one project with `dotnet msbuild <project> -getProperty:… -getItem:…`, then once per
 * target framework of a multi-targeting project (items can depend on `$(TargetFramework)`).
 *
 * @param project the project file, relative to `options.repoRoot`
 * @throws ProjectEvaluationError when MSBuild cannot evaluate it, or it references a project outside the repository
 * @throws ToolNotFoundError when dotnet is not on PATH; OperationAbortedError on abort
 */
export async function evaluateProject(
  project: string,
  options: EvaluationOptions,
): Promise<ProjectEvaluation> {
  const repoRoot = path.resolve(options.repoRoot);
  const relative = normaliseRepoPath(project);
  const fullPath = path.join(repoRoot, ...relative.split('/'));
  if (options.restore) {
    await runDotnet(options, ['restore', fullPath, '-nologo', ...globalPropertyArgs(options)], [0]);
  }
  const evaluate = async (extraProperties: string[]): Promise<RawEvaluation> => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const args = [
      'msbuild',
      fullPath,
      '-nologo',
      '-nodeReuse:false',
      ...globalPropertyArgs(options),
      ...extraProperties,
      ...EVALUATED_PROPERTIES.map((name) => `-getProperty:${name}`),
      ...[...INPUT_ITEM_TYPES, ...REFERENCE_ITEM_TYPES].map((type) => `-getItem:${type}`),
    ];
    const result = await runDotnet(options, args, [0, 1], stdout, stderr);
    const json = result.exitCode === 0 ? parseJsonOutput(stdout) : undefined;
    if (json === undefined) {
      throw new ProjectEvaluationError(
        relative,
        `MSBuild could not evaluate ${relative}: ${firstError(stderr, stdout)}`,
        [...stderr, ...stdout].slice(-40),
      );
    }
    return parseGetItemOutput(json, fullPath);
  };
  const primary = await evaluate([]);
  const evaluations = [primary];
  const frameworks = crossTargetingFrameworks(primary.properties);
  for (const framework of frameworks) {
    evaluations.push(await evaluate([`-p:TargetFramework=${escapeMsBuildValue(framework)}`]));
  }
  return dropMissingInputs(toProjectEvaluation(relative, evaluations, repoRoot), repoRoot, options);
}

/** With `existingOnly` (default), keeps the input files that exist as files. */
async function dropMissingInputs(
  evaluation: ProjectEvaluation,
  repoRoot: string,
  options: EvaluationOptions,
): Promise<ProjectEvaluation> {
  if (options.existingOnly === false) return evaluation;
  const exists = await Promise.all(
    evaluation.inputFiles.map(async (file) => {
      try {
        return (await stat(path.join(repoRoot, ...file.split('/')))).isFile();
      } catch {
        return false;
      }
    }),
  );
  return { ...evaluation, inputFiles: evaluation.inputFiles.filter((_file, index) => exists[index]) };
}

/**
 * Evaluates many projects in as few dotnet processes as pays off, in parallel up to `concurrency`.
 * With `restore`, one process restores them all first. Results come in the order of `projects`.
 *
 * @param projects project files relative to `options.repoRoot`
 * @throws ProjectEvaluationError naming every project MSBuild could not evaluate
 * @throws ToolNotFoundError when dotnet is not on PATH; OperationAbortedError on abort
 */
export async function evaluateProjects(
  projects: readonly string[],
  options: BatchEvaluationOptions,
): Promise<ProjectEvaluation[]> {
  const repoRoot = path.resolve(options.repoRoot);
  const relative = [...new Set(projects.map((project) => normaliseRepoPath(project)))];
  if (relative.length === 0) return [];
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? Math.min(4, availableParallelism())));
  const minBatchSize = Math.max(1, Math.floor(options.minBatchSize ?? 12));
  const batchCount = Math.min(concurrency, Math.ceil(relative.length / minBatchSize));
  const batches: string[][] = Array.from({ length: batchCount }, () => []);
  relative.forEach((project, index) => batches[index % batchCount]?.push(project));

  const workDir = await mkdtemp(path.join(tmpdir(), 'buildmesh-eval-'));
  try {
    const targetsFile = path.join(workDir, 'buildmesh-evaluate.targets');
    await writeFile(targetsFile, EVALUATE_TARGETS);
    const fullPathOf = (project: string): string => path.join(repoRoot, ...project.split('/'));
    if (options.restore) {
      const traversal = path.join(workDir, 'restore.proj');
      await writeFile(traversal, traversalProject(relative.map(fullPathOf), targetsFile));
      await runDotnet(
        options,
        [
          'msbuild',
          traversal,
          '-restore',
          `-t:${NOOP_TARGET}`,
          '-nologo',
          '-nodeReuse:false',
          '-m:1',
          ...globalPropertyArgs(options),
        ],
        [0],
      );
    }
    // One batch failing outright (not a project failing) stops the others.
    const siblings = new AbortController();
    const batchOptions: BatchEvaluationOptions = {
      ...options,
      signal: options.signal ? AbortSignal.any([options.signal, siblings.signal]) : siblings.signal,
    };
    const results = await Promise.all(
      batches.map(async (batch, index) => {
        const traversal = path.join(workDir, `evaluate-${index}.proj`);
        await writeFile(traversal, traversalProject(batch.map(fullPathOf), targetsFile));
        const stdout: string[] = [];
        const stderr: string[] = [];
        const args = [
          'msbuild',
          traversal,
          `-t:${EVALUATE_ALL_TARGET}`,
          `-getTargetResult:${EVALUATE_ALL_TARGET}`,
          '-nologo',
          '-nodeReuse:false',
          // In-process: evaluations share the process's caches; worker nodes cost more than they save.
          '-m:1',
          ...globalPropertyArgs(options),
        ];
        try {
          // Exit code 1 means some project failed; the others still report.
          await runDotnet(batchOptions, args, [0, 1], stdout, stderr);
        } catch (error) {
          siblings.abort();
          throw error;
        }
        return { batch, stdout, stderr };
      }),
    );

    const evaluations = new Map<string, ProjectEvaluation>();
    const failures: { project: string; output: string[] }[] = [];
    for (const { batch, stdout, stderr } of results) {
      const json = parseJsonOutput(stdout);
      const byProject = json === undefined ? new Map<string, RawEvaluation[]>() : parseBatchOutput(json);
      for (const project of batch) {
        const fullPath = fullPathOf(project);
        const raw = byProject.get(path.resolve(fullPath));
        if (raw === undefined || raw.length === 0) {
          const mine = stderr.filter((line) => line.includes(fullPath));
          failures.push({ project, output: mine.length > 0 ? mine : [...stderr, ...stdout].slice(-20) });
          continue;
        }
        evaluations.set(project, toProjectEvaluation(project, raw, repoRoot));
      }
    }
    if (failures.length > 0) {
      const [first] = failures;
      const names = failures.map((failure) => failure.project).join(', ');
      throw new ProjectEvaluationError(
        first?.project ?? '',
        `MSBuild could not evaluate ${failures.length} project(s): ${names}: ${firstError(first?.output ?? [], [])}`,
        failures.flatMap((failure) => failure.output),
      );
    }
    const ordered = relative.map((project) => evaluations.get(project) as ProjectEvaluation);
    return await Promise.all(ordered.map((evaluation) => dropMissingInputs(evaluation, repoRoot, options)));
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

const EVALUATE_ALL_TARGET = 'BuildMeshEvaluateAll';
const NOOP_TARGET = 'BuildMeshRestored';

/**
 * Injected into every evaluated project. It only reads: it returns one `Properties` item with the
 * evaluated properties as metadata, and one item per input, reference and package, tagged with its
 * kind. A multi-targeting project calls itself once per framework, whose items join its own.
 * Paths are made absolute here, inside the project: relative ones would resolve against the caller.
 */
const EVALUATE_TARGETS = `<Project>
  <Target Name="BuildMeshEvaluateProject" Returns="@(_BuildMeshEvaluation)">
    <ItemGroup>
      <_BuildMeshTargetFramework Include="$(TargetFrameworks)" Condition="'$(TargetFrameworks)' != '' and '$(TargetFramework)' == ''" />
    </ItemGroup>
    <MSBuild Projects="$(MSBuildProjectFullPath)" Targets="BuildMeshEvaluateProject" Properties="TargetFramework=%(_BuildMeshTargetFramework.Identity)" Condition="'%(_BuildMeshTargetFramework.Identity)' != ''">
      <Output TaskParameter="TargetOutputs" ItemName="_BuildMeshEvaluation" />
    </MSBuild>
    <ItemGroup>
      <_BuildMeshHintPath Include="@(Reference->'%(HintPath)')" />
      <_BuildMeshEvaluation Include="$(MSBuildProjectFullPath)" BuildMeshKind="Properties" BuildMeshProject="$(MSBuildProjectFullPath)"
${EVALUATED_PROPERTIES.map((name) => `        ${name}="$(${name})"`).join('\n')} />
${INPUT_ITEM_TYPES.map((type) => `      <_BuildMeshEvaluation Include="@(${type}->'%(FullPath)')" BuildMeshKind="${type}" BuildMeshProject="$(MSBuildProjectFullPath)" KeepMetadata="BuildMeshKind;BuildMeshProject" />`).join('\n')}
      <_BuildMeshEvaluation Include="@(_BuildMeshHintPath->'%(FullPath)')" BuildMeshKind="Reference" BuildMeshProject="$(MSBuildProjectFullPath)" KeepMetadata="BuildMeshKind;BuildMeshProject" />
      <_BuildMeshEvaluation Include="@(ProjectReference->'%(FullPath)')" BuildMeshKind="ProjectReference" BuildMeshProject="$(MSBuildProjectFullPath)" KeepMetadata="BuildMeshKind;BuildMeshProject" />
      <_BuildMeshEvaluation Include="@(PackageReference)" BuildMeshKind="PackageReference" BuildMeshProject="$(MSBuildProjectFullPath)" KeepMetadata="BuildMeshKind;BuildMeshProject;Version;VersionOverride" />
      <_BuildMeshEvaluation Include="@(PackageVersion)" BuildMeshKind="PackageVersion" BuildMeshProject="$(MSBuildProjectFullPath)" KeepMetadata="BuildMeshKind;BuildMeshProject;Version" />
    </ItemGroup>
  </Target>
</Project>
`;

/** The generated traversal project: evaluate (or restore) each listed project, one failure not stopping the rest. */
function traversalProject(projectFullPaths: readonly string[], targetsFile: string): string {
  const items = projectFullPaths
    .map((fullPath) => `    <BuildMeshProject Include="${escapeXml(escapeMsBuildItem(fullPath))}" />`)
    .join('\n');
  const injected = escapeXml(escapeMsBuildItem(targetsFile));
  return `<Project>
  <ItemGroup>
${items}
  </ItemGroup>
  <Target Name="Restore">
    <MSBuild Projects="@(BuildMeshProject)" Targets="Restore" />
  </Target>
  <Target Name="${NOOP_TARGET}" />
  <Target Name="${EVALUATE_ALL_TARGET}" Returns="@(_BuildMeshResult)">
    <MSBuild Projects="%(BuildMeshProject.Identity)" Targets="BuildMeshEvaluateProject" ContinueOnError="true"
      Properties="CustomAfterMicrosoftCommonTargets=${injected};CustomAfterMicrosoftCommonCrossTargetingTargets=${injected}">
      <Output TaskParameter="TargetOutputs" ItemName="_BuildMeshResult" />
    </MSBuild>
  </Target>
</Project>
`;
}

/** One evaluation (one project, one target framework or the outer build) as MSBuild printed it. */
export interface RawEvaluation {
  properties: Record<string, string>;
  items: RawItem[];
}

/** One item: its type, its absolute path (for files and references) or identity, and its metadata. */
export interface RawItem {
  type: string;
  identity: string;
  /** Absolute path; for a `Reference`, its resolved hint path. */
  fullPath: string;
  metadata: Record<string, string>;
}

/**
 * Parses the JSON of `dotnet msbuild -getProperty:… -getItem:…`:
 * `{ "Properties": { "Name": "value" }, "Items": { "Compile": [{ "Identity", "FullPath", …metadata }] } }`.
 * `Reference` items count only with a `HintPath`, resolved against the project's folder.
 */
export function parseGetItemOutput(json: unknown, projectFullPath: string): RawEvaluation {
  const root = asRecord(json);
  const properties = stringRecord(root?.Properties);
  const items: RawItem[] = [];
  const itemGroups = asRecord(root?.Items) ?? {};
  for (const [type, list] of Object.entries(itemGroups)) {
    if (!Array.isArray(list)) continue;
    for (const entry of list) {
      const metadata = stringRecord(entry);
      const identity = metadata.Identity ?? '';
      if (type === 'Reference') {
        const hintPath = metadata.HintPath ?? '';
        if (hintPath === '') continue;
        const fullPath = path.resolve(path.dirname(projectFullPath), hintPath.replaceAll('\\', '/'));
        items.push({ type, identity, fullPath, metadata });
        continue;
      }
      items.push({ type, identity, fullPath: metadata.FullPath ?? '', metadata });
    }
  }
  return { properties, items };
}

/**
 * Parses the JSON of the traversal's `-getTargetResult`:
 * `{ "TargetResults": { "BuildMeshEvaluateAll": { "Result": "Success", "Items": [{ "Identity",
 * "BuildMeshKind", "BuildMeshProject", …metadata }] } } }` into evaluations per project full path:
 * one per `Properties` item, each with the items that follow it from the same project.
 */
export function parseBatchOutput(json: unknown): Map<string, RawEvaluation[]> {
  const target = asRecord(asRecord(asRecord(json)?.TargetResults)?.[EVALUATE_ALL_TARGET]);
  const list = Array.isArray(target?.Items) ? (target.Items as unknown[]) : [];
  const byProject = new Map<string, RawEvaluation[]>();
  const pendingItems = new Map<string, RawItem[]>();
  for (const entry of list) {
    const metadata = stringRecord(entry);
    const kind = metadata.BuildMeshKind ?? '';
    if (!metadata.BuildMeshProject || kind === '') continue;
    const project = path.resolve(metadata.BuildMeshProject);
    if (kind === 'Properties') {
      const evaluations = byProject.get(project) ?? [];
      evaluations.push({ properties: pick(metadata, EVALUATED_PROPERTIES), items: [] });
      byProject.set(project, evaluations);
      continue;
    }
    const item: RawItem = {
      type: kind,
      identity: metadata.Identity ?? '',
      fullPath: metadata.FullPath ?? '',
      metadata,
    };
    if (kind === 'ProjectReference' || INPUT_ITEM_TYPES.includes(kind) || kind === 'Reference') {
      item.fullPath = metadata.Identity ?? '';
    }
    const items = pendingItems.get(project) ?? [];
    items.push(item);
    pendingItems.set(project, items);
  }
  // Items are deduplicated across frameworks by MSBuild (same identity and metadata), so they are
  // attached to the project's first evaluation; the union is what counts.
  for (const [project, items] of pendingItems) {
    const first = byProject.get(project)?.[0];
    if (first) first.items.push(...items);
  }
  return byProject;
}

/**
 * Folds the evaluations of one project (the outer build and one per target framework, or just one)
 * into a {@link ProjectEvaluation} with repository-relative paths.
 *
 * @param project the project file, relative to the repository root
 * @throws ProjectEvaluationError when it references a project outside the repository
 */
export function toProjectEvaluation(
  project: string,
  evaluations: readonly RawEvaluation[],
  repoRoot: string,
): ProjectEvaluation {
  const primary =
    evaluations.find((evaluation) => (evaluation.properties.TargetFramework ?? '') === '') ?? evaluations[0];
  const properties = primary?.properties ?? {};
  const frameworks = crossTargetingFrameworks(properties);
  const targetFrameworks =
    frameworks.length > 0 ? frameworks : [properties.TargetFramework ?? ''].filter((tf) => tf !== '');
  const restored = evaluations.every((evaluation) => (evaluation.properties.RestoreTool ?? '') !== '');

  const inputFiles = new Set<string>();
  const projectReferences = new Set<string>();
  const packages = new Map<string, PackageReference>();
  const toRelative = (fullPath: string): string | undefined => repoRelative(repoRoot, fullPath);
  for (const evaluation of evaluations) {
    const centralVersions = new Map<string, string>();
    for (const item of evaluation.items) {
      if (item.type === 'PackageVersion')
        centralVersions.set(item.identity.toLowerCase(), item.metadata.Version ?? '');
    }
    for (const item of evaluation.items) {
      if (INPUT_ITEM_TYPES.includes(item.type) || item.type === 'Reference') {
        const relative = toRelative(item.fullPath);
        if (relative !== undefined) inputFiles.add(relative);
      } else if (item.type === 'ProjectReference') {
        const relative = toRelative(item.fullPath);
        if (relative === undefined) {
          throw new ProjectEvaluationError(
            project,
            `${project} references ${item.identity}, which is outside the repository`,
            [],
          );
        }
        projectReferences.add(relative);
      } else if (item.type === 'PackageReference') {
        const version =
          item.metadata.VersionOverride ||
          item.metadata.Version ||
          centralVersions.get(item.identity.toLowerCase()) ||
          '';
        packages.set(`${item.identity.toLowerCase()}\u0000${version}`, { id: item.identity, version });
      }
    }
  }
  const packageReferences = [...packages.entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([, reference]) => reference);
  const isTestProject =
    evaluations.some((evaluation) => isTrue(evaluation.properties.IsTestProject)) ||
    (!restored && packageReferences.some((reference) => reference.id.toLowerCase() === TEST_SDK_PACKAGE));
  const buildFiles = ['DirectoryBuildPropsPath', 'DirectoryBuildTargetsPath', 'DirectoryPackagesPropsPath']
    .map((name) => properties[name] ?? '')
    .filter((value) => value !== '')
    .map((value) => toRelative(value))
    .filter((value): value is string => value !== undefined);

  return {
    path: project,
    targetFrameworks,
    isTestProject,
    isPackable: isTrue(properties.IsPackable),
    assemblyName: properties.AssemblyName ?? '',
    outputType: properties.OutputType ?? '',
    inputFiles: [...inputFiles].sort(compareStrings),
    projectReferences: [...projectReferences].sort(compareStrings),
    packageReferences,
    buildFiles: [...new Set(buildFiles)].sort(compareStrings),
    sdkVersion: properties.NETCoreSdkVersion ?? '',
    restored,
  };
}

/** The frameworks of an outer (multi-targeting) build, or `[]` for a single-framework evaluation. */
function crossTargetingFrameworks(properties: Record<string, string>): string[] {
  if ((properties.TargetFramework ?? '') !== '') return [];
  const frameworks = (properties.TargetFrameworks ?? '')
    .split(';')
    .map((framework) => framework.trim())
    .filter((framework) => framework !== '');
  return [...new Set(frameworks)];
}

/** `src/A/x.cs` for a file inside the repository, `undefined` for one outside it. */
function repoRelative(repoRoot: string, fullPath: string): string | undefined {
  if (fullPath === '' || !path.isAbsolute(fullPath)) return undefined;
  const relative = path.relative(repoRoot, fullPath);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  const posix = relative.split(path.sep).join('/');
  if (posix === '.git' || posix.startsWith('.git/')) return undefined;
  return posix;
}

async function runDotnet(
  options: EvaluationOptions,
  args: string[],
  successExitCodes: number[],
  stdout: string[] = [],
  stderr: string[] = [],
): Promise<{ exitCode: number }> {
  let inJson = false;
  const result = await runCommand({
    file: options.dotnet ?? 'dotnet',
    args,
    cwd: path.resolve(options.repoRoot),
    env: options.env ?? { ...dotnetEnvironment(process.env), MSBUILDDISABLENODEREUSE: '1' },
    successExitCodes,
    ...(options.signal ? { signal: options.signal } : {}),
    onLine: (line, stream) => {
      if (stream === 'stdout') {
        stdout.push(line);
        inJson ||= line.trimStart().startsWith('{');
      } else {
        stderr.push(line);
      }
      // The JSON is data, not a message: only MSBuild's diagnostics go to the caller.
      if (stream === 'stderr' || !inJson) options.onLine?.(line, stream);
    },
  });
  return { exitCode: result.exitCode };
}

function globalPropertyArgs(options: EvaluationOptions): string[] {
  const properties: [string, string][] = Object.entries(options.properties ?? {});
  if (options.configuration !== undefined) properties.unshift(['Configuration', options.configuration]);
  return properties.map(([name, value]) => `-p:${name}=${escapeMsBuildValue(value)}`);
}

/** The JSON document MSBuild printed on stdout, or `undefined` when there is none. */
function parseJsonOutput(stdout: readonly string[]): unknown {
  const start = stdout.findIndex((line) => line.trimStart().startsWith('{'));
  if (start < 0) return undefined;
  try {
    return JSON.parse(stdout.slice(start).join('\n')) as unknown;
  } catch {
    return undefined;
  }
}

function firstError(...outputs: (readonly string[])[]): string {
  for (const output of outputs) {
    const line = output.find((candidate) => /\berror\b/i.test(candidate));
    if (line !== undefined) return line.trim();
  }
  const last = outputs.flat().filter((line) => line.trim() !== '');
  return last.at(-1)?.trim() ?? 'no output';
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function stringRecord(value: unknown): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, entry] of Object.entries(asRecord(value) ?? {})) {
    if (typeof entry === 'string') record[key] = entry;
  }
  return record;
}

function pick(record: Record<string, string>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, record[name] ?? '']));
}

function isTrue(value: string | undefined): boolean {
  return (value ?? '').trim().toLowerCase() === 'true';
}

/** MSBuild item specs treat `%`, `$`, `@`, `;`, `'`, `*`, `?` specially: escape them as `%XX`. */
function escapeMsBuildItem(value: string): string {
  return value.replace(
    /[%$@;'*?]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

function escapeXml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
