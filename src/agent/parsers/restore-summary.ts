import { relativeToWorkspace, stripAnsi } from './msbuild-diagnostics.js';

/**
 * Recognises NuGet's per-project restore lines, as `dotnet restore` and the implicit restore of
 * `dotnet build` print them with the console logger:
 *
 *     Restored /ws/src/Lib/Lib.csproj (in 217 ms).
 *     Restored /ws/tests/T/T.csproj (in 1.7 sec).
 *     Failed to restore /ws/tests/T/T.csproj (in 34 ms).
 *     All projects are up-to-date for restore.
 *     Skipping project "/ws/src/Missing/Missing.csproj" because it was not found.
 *
 * The failure's reason comes on its own diagnostic line (`error NU1101: ...`), parsed by msbuild-diagnostics.
 */
export type RestoreLine =
  /** A project's packages were restored (its assets file was written). */
  | { kind: 'restored'; project: string; durationMs: number | null }
  /** NuGet could not restore a project. */
  | { kind: 'failed'; project: string; durationMs: number | null }
  /** Nothing to do: every project's assets file was current. */
  | { kind: 'up-to-date' }
  /** A referenced project file does not exist, so restore skipped it. */
  | { kind: 'skipped'; project: string };

const RESTORED_PATTERN = /^(Restored|Failed to restore) (.+) \(in (\d+(?:\.\d+)?) ([a-z]+)\)\.$/;
const SKIPPED_PATTERN = /^Skipping project "(.+)" because it was not found\.$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, sec: 1000, min: 60_000, hours: 3_600_000 };

/** What one line says about restore, or null when it says nothing. Project paths are made relative to `workspaceRoot` when under it. */
export function parseRestoreLine(line: string, workspaceRoot?: string): RestoreLine | null {
  const text = stripAnsi(line).trim();
  if (text === 'All projects are up-to-date for restore.') return { kind: 'up-to-date' };

  const restored = RESTORED_PATTERN.exec(text);
  if (restored !== null) {
    const [, verb = '', project = '', amount = '', unit = ''] = restored;
    const factor = UNIT_MS[unit];
    return {
      kind: verb === 'Restored' ? 'restored' : 'failed',
      project: relativeToWorkspace(project, workspaceRoot),
      durationMs: factor === undefined ? null : Math.round(Number(amount) * factor * 1000) / 1000,
    };
  }

  const skipped = SKIPPED_PATTERN.exec(text);
  if (skipped !== null)
    return { kind: 'skipped', project: relativeToWorkspace(skipped[1] ?? '', workspaceRoot) };
  return null;
}
