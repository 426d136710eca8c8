import type { Diagnostic } from '../../core/models.js';

/**
 * Parses MSBuild's canonical diagnostic lines, as `dotnet build|restore|test|pack` print them on stdout:
 *
 *     /ws/src/A/Class1.cs(12,5): error CS1002: ; expected [/ws/src/A/A.csproj]
 *     /ws/tests/T/T.csproj : error NU1101: Unable to find package X. ... [/ws/Fixture.sln]
 *     MSBUILD : error MSB1009: Project file does not exist.
 *     CSC : error CS5001: Program does not contain a static 'Main' method ... [/ws/src/App/App.csproj]
 *
 * The console logger (`-tl:off`, and the default when stdout is not a terminal) prints every
 * diagnostic twice: where it happens and again in the summary after "Build FAILED." / "Build succeeded.".
 * The terminal logger prints it indented, without the `[project]` suffix. Both forms parse.
 */

/** Removes terminal escape sequences (colours, cursor moves, OSC hyperlinks and progress) and carriage returns. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_PATTERN, '');
}

// OSC … (BEL | ST), then CSI sequences, then two-byte escapes such as ESC = and ESC >.
// eslint-disable-next-line no-control-regex
const ANSI_PATTERN = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_=>]|\r/g;

/**
 * `origin[(position)] : [subcategory ]severity [code]: message[ [project]]` — MSBuild's canonical format.
 * The origin is lazy so a Windows drive letter's colon stays part of it.
 */
const DIAGNOSTIC_PATTERN =
  /^(?<origin>.*?)(?:\((?<position>\d+(?:[,-]\d+){0,3})\))?\s*:\s*(?:(?<subcategory>[A-Za-z][\w ]*?)\s+)?(?<severity>error|warning)(?:\s+(?<code>[A-Za-z][A-Za-z0-9_.-]*))?\s*:\s?(?<message>.*)$/;

/** `[/ws/src/A/A.csproj]`, `[/ws/Fixture.sln]`, or with a `::TargetFramework=net8.0` suffix when multi-targeting. */
const PROJECT_SUFFIX_PATTERN =
  /\s+\[(?<project>[^[\]]+?\.(?:[A-Za-z]+proj|sln|slnx|slnf|proj|targets|props))(?:::[^\]]*)?\]$/i;

/** A tool name printed in place of a file: `MSBUILD`, `CSC`, `EXEC`, `VBCSCompiler`. */
const TOOL_ORIGIN_PATTERN = /^[A-Za-z][\w-]*$/;

/**
 * One diagnostic from one line of dotnet output, or null when the line is not a diagnostic.
 * File and project paths under `workspaceRoot` become relative with forward slashes; others are kept as printed.
 * When MSBuild names a solution as the project (NuGet diagnostics do), the project file in the origin is used.
 */
export function parseDiagnosticLine(line: string, workspaceRoot?: string): Diagnostic | null {
  const text = stripAnsi(line).trim();
  if (!text.includes('error') && !text.includes('warning')) return null;
  const match = DIAGNOSTIC_PATTERN.exec(text);
  const groups = match?.groups;
  if (groups === undefined) return null;

  const origin = (groups.origin ?? '').trim();
  const position = groups.position;
  // "Build FAILED." and friends never match, but free text like "note: warning: x" could: a real
  // origin is a path or a tool name, never something with spaces and no path separator.
  if (origin.includes(' ') && !/[\\/]/.test(origin)) return null;
  if (groups.subcategory !== undefined && !/^fatal$/i.test(groups.subcategory.trim())) return null;

  let message = groups.message ?? '';
  let project: string | null = null;
  const suffix = PROJECT_SUFFIX_PATTERN.exec(message);
  if (suffix?.groups?.project !== undefined) {
    project = suffix.groups.project;
    message = message.slice(0, suffix.index);
  }

  const isTool = origin === '' || (position === undefined && TOOL_ORIGIN_PATTERN.test(origin));
  const file = isTool ? null : origin;
  if (project !== null && /\.(?:sln|slnx|slnf)$/i.test(project) && file !== null && /proj$/i.test(file)) {
    project = file;
  }
  const [lineNumber, column] = parsePosition(position);

  return {
    severity: groups.severity === 'warning' ? 'warning' : 'error',
    code: groups.code ?? '',
    message: message.trim(),
    file: file === null ? null : relativeToWorkspace(file, workspaceRoot),
    line: lineNumber,
    column,
    project: project === null ? null : relativeToWorkspace(project, workspaceRoot),
  };
}

/** Every diagnostic in `lines`, each once, in the order first seen. */
export function collectDiagnostics(lines: Iterable<string>, workspaceRoot?: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  for (const line of lines) {
    const diagnostic = parseDiagnosticLine(line, workspaceRoot);
    if (diagnostic !== null) found.push(diagnostic);
  }
  return dedupeDiagnostics(found);
}

/**
 * Drops repeats (the console logger's summary repeats every diagnostic), keeping the first of each.
 * Two diagnostics are the same when every field is; the same warning in two projects stays twice.
 */
export function dedupeDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const unique: Diagnostic[] = [];
  for (const diagnostic of diagnostics) {
    const key = diagnosticKey(diagnostic);
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(diagnostic);
  }
  return unique;
}

/** A stable identity for a diagnostic: equal for the inline and the summary copy of one diagnostic. */
export function diagnosticKey(diagnostic: Diagnostic): string {
  const { severity, code, file, line, column, project, message } = diagnostic;
  return JSON.stringify([severity, code, file, line, column, project, message]);
}

/** What one summary line of a build states; a field is null when the line does not state it. */
export interface BuildSummary {
  succeeded: boolean | null;
  warnings: number | null;
  errors: number | null;
}

/**
 * Reads the build's own summary:
 * the console logger's `Build succeeded.` / `Build FAILED.` / `    2 Warning(s)` / `    1 Error(s)`, and
 * the terminal logger's `Build succeeded in 3.2s`, `Build succeeded with 2 warning(s) in 3.3s` and
 * `Build failed with 1 error(s) and 2 warning(s) in 13.4s`.
 */
export function parseBuildSummary(line: string): BuildSummary | null {
  const text = stripAnsi(line).trim();
  const count = /^(\d+) (Warning|Error)\(s\)$/.exec(text);
  if (count !== null) {
    const value = Number(count[1]);
    return count[2] === 'Warning'
      ? { succeeded: null, warnings: value, errors: null }
      : { succeeded: null, warnings: null, errors: value };
  }
  if (text === 'Build succeeded.') return { succeeded: true, warnings: null, errors: null };
  if (text === 'Build FAILED.') return { succeeded: false, warnings: null, errors: null };

  const outcome = /^Build (succeeded|failed)(?: with (.+?))? in \d+(?:\.\d+)?s$/.exec(text);
  if (outcome === null) return null;
  const details = outcome[2] ?? '';
  const errors = /(\d+) error\(s\)/.exec(details);
  const warnings = /(\d+) warning\(s\)/.exec(details);
  return {
    succeeded: outcome[1] === 'succeeded',
    warnings: warnings === null ? 0 : Number(warnings[1]),
    errors: errors === null ? 0 : Number(errors[1]),
  };
}

/** Folds every summary line of one build's output; later lines win, as the final summary comes last. */
export function collectBuildSummary(lines: Iterable<string>): BuildSummary {
  const summary: BuildSummary = { succeeded: null, warnings: null, errors: null };
  for (const line of lines) {
    const parsed = parseBuildSummary(line);
    if (parsed === null) continue;
    summary.succeeded = parsed.succeeded ?? summary.succeeded;
    summary.warnings = parsed.warnings ?? summary.warnings;
    summary.errors = parsed.errors ?? summary.errors;
  }
  return summary;
}

/** `12,5` → [12, 5]; `12` → [12, null]; `12,5,12,9` and `12-14` keep the start. */
function parsePosition(position: string | undefined): [number | null, number | null] {
  if (position === undefined) return [null, null];
  const [line, column] = position.split(/[,-]/);
  const separator = position.charAt((line ?? '').length);
  return [
    line === undefined ? null : Number(line),
    column === undefined || separator === '-' ? null : Number(column),
  ];
}

/** `filePath` relative to `workspaceRoot` with forward slashes when it lies under it; otherwise unchanged. */
export function relativeToWorkspace(filePath: string, workspaceRoot: string | undefined): string {
  if (workspaceRoot === undefined || workspaceRoot === '') return filePath;
  const root = workspaceRoot.replace(/[\\/]+$/, '');
  const sameStart = isWindowsPath(root)
    ? filePath.toLowerCase().startsWith(root.toLowerCase())
    : filePath.startsWith(root);
  const next = filePath.charAt(root.length);
  if (!sameStart || (next !== '/' && next !== '\\')) return filePath;
  return filePath.slice(root.length + 1).replaceAll('\\', '/');
}

function isWindowsPath(value: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(value) || value.startsWith('\\\\');
}
