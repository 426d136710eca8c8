import type { BuildOutcome } from './build-execution.js';
import type { BuildRequest, OutputDifference, ProducedArtifact, TestResults } from './models.js';

/**
 * The pure rules of Canary and verify builds: the canary's gates, the properties that make two
 * peers' outputs comparable, and the comparison of their outputs file by file.
 */

export type CanaryGate = 'build' | 'tests' | 'warnings';

export type GateVerdict = { passed: true } | { passed: false; gate: CanaryGate; message: string };

/**
 * The canary passes when its Clean build succeeded, every test passed (100%), and its warnings
 * stay at or under `maxWarnings` (null: unlimited). Failed tests are named before a failed build,
 * since a failed test also fails the build.
 */
export function evaluateCanaryGates(input: {
  outcome: BuildOutcome;
  testResults: TestResults | null;
  warnings: number;
  maxWarnings: number | null;
}): GateVerdict {
  const { outcome, testResults, warnings, maxWarnings } = input;
  if (testResults && testResults.failed > 0) {
    const names = testResults.failures.slice(0, 3).map((failure) => failure.name);
    return {
      passed: false,
      gate: 'tests',
      message: `tests gate: ${testResults.failed} of ${testResults.total} test(s) failed, 100% must pass${names.length > 0 ? ` (${names.join(', ')})` : ''}`,
    };
  }
  if (outcome.status !== 'Succeeded') {
    return { passed: false, gate: 'build', message: `build gate: ${outcome.errorMessage}` };
  }
  if (maxWarnings !== null && warnings > maxWarnings) {
    return {
      passed: false,
      gate: 'warnings',
      message: `warnings gate: ${warnings} warning(s), more than the allowed ${maxWarnings}`,
    };
  }
  return { passed: true };
}

/**
 * MSBuild properties that make outputs independent of the machine and the workspace root. Git is
 * not queried (a peer's workspace may or may not be a git checkout); the commit is passed instead.
 */
export const DETERMINISTIC_BUILD_PROPERTIES: Readonly<Record<string, string>> = {
  ContinuousIntegrationBuild: 'true',
  Deterministic: 'true',
  EnableSourceControlManagerQueries: 'false',
};

/**
 * The request each peer of a Canary or verify build runs: a Clean build for a Canary (with the full
 * test suite), with the deterministic properties and the resolved commit as `SourceRevisionId`
 * (unless the request sets one), so that outputs can be compared by hash.
 */
export function deterministicRequest(request: BuildRequest, commit?: string): BuildRequest {
  const canary = request.strategy === 'Canary';
  return {
    ...request,
    strategy: canary ? 'Clean' : request.strategy,
    job: {
      ...request.job,
      runTests: canary ? true : request.job.runTests,
      buildProperties: {
        ...(commit ? { SourceRevisionId: commit } : {}),
        ...request.job.buildProperties,
        ...DETERMINISTIC_BUILD_PROPERTIES,
      },
    },
  };
}

/** An artifact of one peer's build with the files inside it. */
export interface ArtifactFiles {
  /** Where the artifact came from, relative to the repository, e.g. `src/Lib/bin/Release/net10.0/publish`. */
  path: string;
  files: readonly { path: string; sha256: string }[];
}

/** `src/Lib/Lib.csproj` → `src/Lib` (`.` at the repository root): how marks and differences name a project. */
export function projectDirectoryOf(projectPath: string): string {
  const slash = projectPath.lastIndexOf('/');
  return slash < 0 ? '.' : projectPath.slice(0, slash);
}

/** `src/Lib/bin/Release/net10.0/publish` → `src/Lib`: the project directory an output belongs to. */
export function projectOfOutput(path: string): string {
  const segments = path.split('/');
  const bin = segments.lastIndexOf('bin');
  return bin > 0 ? segments.slice(0, bin).join('/') : path;
}

/**
 * Compares two peers' outputs by path and sha256. A file that differs in several projects'
 * outputs (a library's dll is also in each dependent's publish folder) is reported for the project
 * that produces it (`Lib.dll` → `src/Lib`) when that project is among them.
 */
export function compareOutputs(
  reference: readonly ArtifactFiles[],
  other: readonly ArtifactFiles[],
  names: { reference: string; other: string },
): OutputDifference[] {
  const differences: OutputDifference[] = [];
  const otherByPath = new Map(other.map((artifact) => [artifact.path, artifact]));
  const referencePaths = new Set(reference.map((artifact) => artifact.path));
  for (const artifact of reference) {
    const project = projectOfOutput(artifact.path);
    const counterpart = otherByPath.get(artifact.path);
    if (!counterpart) {
      differences.push({ project, file: artifact.path, reason: `only on ${names.reference}` });
      continue;
    }
    const otherFiles = new Map(counterpart.files.map((file) => [file.path, file.sha256]));
    for (const file of artifact.files) {
      const sha256 = otherFiles.get(file.path);
      if (sha256 === undefined)
        differences.push({ project, file: file.path, reason: `only on ${names.reference}` });
      else if (sha256 !== file.sha256)
        differences.push({ project, file: file.path, reason: 'content differs' });
      otherFiles.delete(file.path);
    }
    for (const path of otherFiles.keys())
      differences.push({ project, file: path, reason: `only on ${names.other}` });
  }
  for (const artifact of other) {
    if (!referencePaths.has(artifact.path))
      differences.push({
        project: projectOfOutput(artifact.path),
        file: artifact.path,
        reason: `only on ${names.other}`,
      });
  }
  return attributeToProducers(differences);
}

function attributeToProducers(differences: OutputDifference[]): OutputDifference[] {
  const byFile = new Map<string, OutputDifference[]>();
  for (const difference of differences) {
    const group = byFile.get(difference.file) ?? [];
    group.push(difference);
    byFile.set(difference.file, group);
  }
  const kept: OutputDifference[] = [];
  for (const [file, group] of byFile) {
    const stem = (file.split('/').pop() ?? file).replace(/\.[^.]+$/, '');
    const producers = group.filter((difference) => difference.project.split('/').pop() === stem);
    kept.push(...(producers.length > 0 ? producers : group));
  }
  return kept.sort((a, b) => a.project.localeCompare(b.project) || a.file.localeCompare(b.file));
}

/** Port: the files inside a stored artifact (a publish folder's `.tar.gz`, or a single file). */
export interface OutputInspector {
  listFiles(artifact: ProducedArtifact): Promise<{ path: string; sha256: string }[]>;
  /** The files of a project task's output tree (`bin/<cfg>`, `obj/<cfg>/<tfm>/ref|refint`), repository-relative. */
  listOutputTree(treeSha256: string): Promise<{ path: string; sha256: string }[]>;
}

/**
 * Outputs that record where the build ran, by design: coverage tools' maps from the deterministic
 * source root (`/_/`) back to the workspace. They always differ between peers and nothing else
 * reads them, so the comparison of output trees leaves them out.
 */
const WORKSPACE_SPECIFIC_OUTPUTS: readonly RegExp[] = [
  /(^|\/)\.msCoverageSourceRootsMapping_[^/]*$/,
  /(^|\/)CoverletSourceRootsMapping_[^/]*$/,
];

/** Whether a file of an output tree records the workspace it was built in (see above). */
export function isWorkspaceSpecificOutput(path: string): boolean {
  return WORKSPACE_SPECIFIC_OUTPUTS.some((pattern) => pattern.test(path));
}

/**
 * Compares two peers' output trees of one project's build task, leaving out the workspace-specific
 * files. Files are reported relative to the project directory (`bin/Release/net10.0/Lib.dll`). The references placed for both builds were the
 * same outputs, so any difference is this project's own.
 */
export function compareProjectOutputs(
  projectPath: string,
  reference: readonly { path: string; sha256: string }[],
  other: readonly { path: string; sha256: string }[],
  names: { reference: string; other: string },
): OutputDifference[] {
  const directory = projectDirectoryOf(projectPath);
  const prefix = directory === '.' ? '' : `${directory}/`;
  const relative = (files: readonly { path: string; sha256: string }[]) =>
    files
      .filter((file) => !isWorkspaceSpecificOutput(file.path))
      .map((file) => ({
        path: file.path.startsWith(prefix) ? file.path.slice(prefix.length) : file.path,
        sha256: file.sha256,
      }));
  // One "artifact" per side whose path is the project directory: differences name that project.
  return compareOutputs(
    [{ path: directory, files: relative(reference) }],
    [{ path: directory, files: relative(other) }],
    names,
  );
}
