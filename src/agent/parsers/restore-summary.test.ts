import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRestoreLine, type RestoreLine } from './restore-summary.js';

/** Output of .NET SDK 10.0.401 on generated fixtures, captured with `dotnet build ... 2>&1 | cat`. */
function recordedRestoreLines(name: string, workspaceRoot: string): RestoreLine[] {
  return readFileSync(new URL(`./__recorded__/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .map((line) => parseRestoreLine(line, workspaceRoot))
    .filter((parsed): parsed is RestoreLine => parsed !== null);
}

describe('parseRestoreLine', () => {
  it('reads every restored project of a cold restore, in ms and sec', () => {
    expect(recordedRestoreLines('build-ok-cold-restore.txt', '/tmp/fx/ok22/clone')).toEqual([
      { kind: 'restored', project: 'src/Lib1B/Lib1B.csproj', durationMs: 217 },
      { kind: 'restored', project: 'src/Lib1A/Lib1A.csproj', durationMs: 5 },
      { kind: 'restored', project: 'tests/Layer0.Tests/Layer0.Tests.csproj', durationMs: 1700 },
      { kind: 'restored', project: 'src/Lib0B/Lib0B.csproj', durationMs: 1 },
      { kind: 'restored', project: 'src/Lib0A/Lib0A.csproj', durationMs: 0.8 },
      { kind: 'restored', project: 'tests/Layer1.Tests/Layer1.Tests.csproj', durationMs: 841 },
      { kind: 'restored', project: 'src/App/App.csproj', durationMs: 3 },
    ]);
  });

  it('reads a failed project among restored ones', () => {
    const lines = recordedRestoreLines('build-restore-failure.txt', '/tmp/fx/d2');
    expect(lines.filter((line) => line.kind === 'restored')).toHaveLength(6);
    expect(lines.filter((line) => line.kind === 'failed')).toEqual([
      { kind: 'failed', project: 'tests/Layer0.Tests/Layer0.Tests.csproj', durationMs: 34 },
    ]);
  });

  it('reads a skipped missing project', () => {
    const lines = recordedRestoreLines('build-cs5001-msb9008.txt', '/tmp/fx/d3');
    expect(lines.filter((line) => line.kind === 'skipped')).toEqual([
      { kind: 'skipped', project: 'src/Missing/Missing.csproj' },
      { kind: 'skipped', project: 'src/Missing/Missing.csproj' },
    ]);
  });

  it('reads "up-to-date", also from coloured terminal output', () => {
    expect(recordedRestoreLines('build-tty-ansi.txt', '/tmp/fx/diag')).toEqual([{ kind: 'up-to-date' }]);
    expect(parseRestoreLine('  All projects are up-to-date for restore.')).toEqual({ kind: 'up-to-date' });
  });

  it('keeps paths outside the workspace and unknown units', () => {
    expect(parseRestoreLine('  Restored /other/A.csproj (in 2 min).', '/ws')).toEqual({
      kind: 'restored',
      project: '/other/A.csproj',
      durationMs: 120_000,
    });
    expect(parseRestoreLine('  Restored /ws/A.csproj (in 2 fortnights).', '/ws')).toEqual({
      kind: 'restored',
      project: 'A.csproj',
      durationMs: null,
    });
  });

  it('ignores other lines', () => {
    for (const line of ['  Determining projects to restore...', 'Build succeeded.', '']) {
      expect(parseRestoreLine(line)).toBeNull();
    }
  });
});
