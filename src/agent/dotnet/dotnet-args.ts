import type { BuildJob } from '../../core/models.js';

/**
 * Argument lists for each dotnet verb. Test, pack and publish reuse the build's configuration,
 * framework and RID with `--no-build`, or they would look for Debug outputs.
 */

export interface VerbOptions {
  /** Clean semantics: `restore --force`, `build --no-incremental`. */
  clean: boolean;
}

/**
 * The SDK asks git for the commit and puts it into every assembly's informational version (and
 * Source Link), so a new commit changes every project's generated AssemblyInfo and MSBuild
 * recompiles them all. An Incremental build turns those queries off, unless the request sets the
 * property itself, so only the projects whose inputs changed compile.
 */
export const SOURCE_CONTROL_QUERIES_PROPERTY = 'EnableSourceControlManagerQueries';

/** Whether the request's build properties set `name` (MSBuild property names ignore case). */
export function setsProperty(job: Pick<BuildJob, 'buildProperties'>, name: string): boolean {
  return Object.keys(job.buildProperties).some((key) => key.toLowerCase() === name.toLowerCase());
}

function propertyArgs(job: BuildJob): string[] {
  const properties: string[] = [];
  // A solution names the default platform "Any CPU", a project "AnyCPU": pass only a real choice.
  if (job.platform.toLowerCase() !== 'anycpu') properties.push(`-p:Platform=${job.platform}`);
  for (const [name, value] of Object.entries(job.buildProperties).sort(([a], [b]) => a.localeCompare(b))) {
    properties.push(`-p:${name}=${escapeMsBuildValue(value)}`);
  }
  return properties;
}

/** MSBuild splits `-p:` values on `;` and `,`; escape them so a value stays one value. */
export function escapeMsBuildValue(value: string): string {
  return value.replace(/%/g, '%25').replace(/;/g, '%3B').replace(/,/g, '%2C');
}

const frameworkArgs = (job: BuildJob) => (job.targetFramework ? ['-f', job.targetFramework] : []);
const runtimeArgs = (job: BuildJob) => (job.runtimeIdentifier ? ['-r', job.runtimeIdentifier] : []);
// The console logger, not the terminal logger: its lines are what the parsers read.
const LOGGER_ARGS = ['-tl:off', '-nologo'];

export function restoreArgs(job: BuildJob, options: VerbOptions & { lockedMode: boolean }): string[] {
  return [
    'restore',
    job.solutionPath,
    ...(options.lockedMode ? ['--locked-mode'] : []),
    ...(options.clean ? ['--force'] : []),
    ...runtimeArgs(job),
    ...propertyArgs(job),
    ...LOGGER_ARGS,
  ];
}

/**
 * `dotnet build` of the solution. `incremental` (an Incremental build in a kept workspace) keeps
 * the commit out of the assemblies (`SOURCE_CONTROL_QUERIES_PROPERTY`) unless the request sets it.
 */
export function buildArgs(job: BuildJob, options: VerbOptions & { incremental?: boolean }): string[] {
  const stableRevision =
    options.incremental === true && !options.clean && !setsProperty(job, SOURCE_CONTROL_QUERIES_PROPERTY);
  return [
    'build',
    job.solutionPath,
    '-c',
    job.configuration,
    '--no-restore',
    ...(options.clean ? ['--no-incremental'] : []),
    ...frameworkArgs(job),
    ...runtimeArgs(job),
    ...propertyArgs(job),
    ...(stableRevision ? [`-p:${SOURCE_CONTROL_QUERIES_PROPERTY}=false`] : []),
    ...LOGGER_ARGS,
  ];
}

/** `dotnet clean` of the solution with the build's configuration, framework and RID (Clean builds). */
export function cleanArgs(job: BuildJob): string[] {
  return [
    'clean',
    job.solutionPath,
    '-c',
    job.configuration,
    ...frameworkArgs(job),
    ...runtimeArgs(job),
    ...propertyArgs(job),
    ...LOGGER_ARGS,
  ];
}

/** `dotnet test` of the solution, or of one test project (`target`) when an Incremental build selects tests. */
export function testArgs(
  job: BuildJob,
  resultsDirectory: string,
  target: string = job.solutionPath,
): string[] {
  return [
    'test',
    target,
    '--no-build',
    '-c',
    job.configuration,
    ...frameworkArgs(job),
    ...runtimeArgs(job),
    '--logger',
    'trx',
    '--results-directory',
    resultsDirectory,
    ...propertyArgs(job),
    ...LOGGER_ARGS,
  ];
}

export function packArgs(job: BuildJob): string[] {
  return [
    'pack',
    job.solutionPath,
    '--no-build',
    '-c',
    job.configuration,
    ...runtimeArgs(job),
    ...propertyArgs(job),
    ...LOGGER_ARGS,
  ];
}

export function publishArgs(job: BuildJob): string[] {
  return [
    'publish',
    job.solutionPath,
    '--no-build',
    '-c',
    job.configuration,
    ...frameworkArgs(job),
    ...runtimeArgs(job),
    ...propertyArgs(job),
    ...LOGGER_ARGS,
  ];
}

/** Environment for every dotnet process: no telemetry, banners or first-run work. */
export function dotnetEnvironment(base: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return {
    ...base,
    DOTNET_CLI_TELEMETRY_OPTOUT: '1',
    DOTNET_NOLOGO: '1',
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE: '1',
    DOTNET_CLI_UI_LANGUAGE: 'en',
    MSBUILDTERMINALLOGGER: 'off',
  };
}
