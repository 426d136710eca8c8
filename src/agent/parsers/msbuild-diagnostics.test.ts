import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  collectBuildSummary,
  collectDiagnostics,
  dedupeDiagnostics,
  parseBuildSummary,
  parseDiagnosticLine,
  relativeToWorkspace,
  stripAnsi,
} from './msbuild-diagnostics.js';

/** Output of .NET SDK 10.0.401 on generated fixtures, captured with `dotnet build ... 2>&1 | cat`. */
function recorded(name: string): string[] {
  return readFileSync(new URL(`./__recorded__/${name}`, import.meta.url), 'utf8').split('\n');
}

describe('parseDiagnosticLine', () => {
  it('parses a compiler error with position and project, relative to the workspace', () => {
    const line =
      '/tmp/fx/ce/clone/src/Lib1B/Calculator.cs(10,23): error CS1002: ; expected [/tmp/fx/ce/clone/src/Lib1B/Lib1B.csproj]';
    expect(parseDiagnosticLine(line, '/tmp/fx/ce/clone')).toEqual({
      severity: 'error',
      code: 'CS1002',
      message: '; expected',
      file: 'src/Lib1B/Calculator.cs',
      line: 10,
      column: 23,
      project: 'src/Lib1B/Lib1B.csproj',
    });
  });

  it('keeps absolute paths when no workspace root is given or the file is outside it', () => {
    const line =
      '/usr/share/dotnet/sdk/10.0.401/Microsoft.Common.CurrentVersion.targets(2205,5): warning MSB9008: The referenced project ../Missing/Missing.csproj does not exist. [/tmp/fx/d3/src/Lib1A/Lib1A.csproj]';
    expect(parseDiagnosticLine(line, '/tmp/fx/d3')).toEqual({
      severity: 'warning',
      code: 'MSB9008',
      message: 'The referenced project ../Missing/Missing.csproj does not exist.',
      file: '/usr/share/dotnet/sdk/10.0.401/Microsoft.Common.CurrentVersion.targets',
      line: 2205,
      column: 5,
      project: 'src/Lib1A/Lib1A.csproj',
    });
    expect(parseDiagnosticLine(line)?.project).toBe('/tmp/fx/d3/src/Lib1A/Lib1A.csproj');
  });

  it('treats a tool name as no file (MSBUILD, CSC)', () => {
    expect(parseDiagnosticLine('MSBUILD : error MSB1009: Project file does not exist.')).toEqual({
      severity: 'error',
      code: 'MSB1009',
      message: 'Project file does not exist.',
      file: null,
      line: null,
      column: null,
      project: null,
    });
    const csc = parseDiagnosticLine(
      "CSC : error CS5001: Program does not contain a static 'Main' method suitable for an entry point [/tmp/fx/d3/src/App/App.csproj]",
      '/tmp/fx/d3',
    );
    expect(csc).toMatchObject({ code: 'CS5001', file: null, project: 'src/App/App.csproj' });
  });

  it('names the project file, not the solution, for NuGet diagnostics', () => {
    const line =
      '/tmp/fx/d2/tests/Layer0.Tests/Layer0.Tests.csproj : error NU1101: Unable to find package Does.Not.Exist. No packages exist with this id in source(s): local [/tmp/fx/d2/Fixture.sln]';
    expect(parseDiagnosticLine(line, '/tmp/fx/d2')).toEqual({
      severity: 'error',
      code: 'NU1101',
      message: 'Unable to find package Does.Not.Exist. No packages exist with this id in source(s): local',
      file: 'tests/Layer0.Tests/Layer0.Tests.csproj',
      line: null,
      column: null,
      project: 'tests/Layer0.Tests/Layer0.Tests.csproj',
    });
  });

  it('parses NETSDK errors raised from SDK targets', () => {
    const [line = ''] = recorded('build-netsdk1004.txt');
    expect(parseDiagnosticLine(line, '/tmp/fx/d3')).toMatchObject({
      severity: 'error',
      code: 'NETSDK1004',
      message:
        "Assets file '/tmp/fx/d3/src/App/obj/project.assets.json' not found. Run a NuGet package restore to generate this file.",
      line: 266,
      column: 5,
      project: 'src/App/App.csproj',
    });
  });

  it('parses the terminal logger form: indented, ANSI-coloured, no project suffix', () => {
    const line =
      "    /tmp/fx/diag/src/Lib0B/\x1b[1mPerson.cs\x1b[m(8,13): \x1b[33;1mwarning\x1b[m \x1b[33;1mCS0168\x1b[m: The variable 'x' is declared but never used";
    expect(parseDiagnosticLine(line, '/tmp/fx/diag')).toEqual({
      severity: 'warning',
      code: 'CS0168',
      message: "The variable 'x' is declared but never used",
      file: 'src/Lib0B/Person.cs',
      line: 8,
      column: 13,
      project: null,
    });
  });

  // Not recorded here (Linux only): the canonical format as MSBuild documents it for Windows paths,
  // ranges and multi-targeted projects.
  it('handles Windows paths, position ranges and a TargetFramework suffix on the project', () => {
    const line =
      'C:\\ws\\src\\A\\Class1.cs(12,5,12,9): error CS1002: ; expected [C:\\ws\\src\\A\\A.csproj::TargetFramework=net8.0]';
    expect(parseDiagnosticLine(line, 'C:\\ws')).toMatchObject({
      file: 'src/A/Class1.cs',
      line: 12,
      column: 5,
      project: 'src/A/A.csproj',
    });
    expect(parseDiagnosticLine('/ws/a.cs(7-9): warning CS1234: x', '/ws')).toMatchObject({
      line: 7,
      column: null,
    });
    expect(parseDiagnosticLine('/ws/a.cs(7): fatal error CS2001: gone', '/ws')).toMatchObject({
      severity: 'error',
      code: 'CS2001',
      line: 7,
      column: null,
    });
  });

  it('accepts an error without a code, as the MSBuild Error task prints it', () => {
    expect(
      parseDiagnosticLine('/ws/build.proj(3,5): error : Custom failure [/ws/build.proj]', '/ws'),
    ).toEqual({
      severity: 'error',
      code: '',
      message: 'Custom failure',
      file: 'build.proj',
      line: 3,
      column: 5,
      project: 'build.proj',
    });
  });

  it('keeps brackets that are part of the message', () => {
    expect(parseDiagnosticLine('/ws/a.cs(1,1): warning CS0001: see [docs]')?.message).toBe('see [docs]');
  });

  it('returns null for lines that are not diagnostics', () => {
    for (const line of [
      '  Lib0A -> /tmp/fx/ce/clone/src/Lib0A/bin/Release/net10.0/Lib0A.dll',
      'Build FAILED.',
      '    1 Error(s)',
      'Time Elapsed 00:00:14.47',
      '  Error Message:',
      'some free text: error: not MSBuild',
      '',
    ]) {
      expect(parseDiagnosticLine(line)).toBeNull();
    }
  });

  it('finds no diagnostics in dotnet test output with a failing test', () => {
    expect(collectDiagnostics(recorded('test-failing.txt'))).toEqual([]);
  });
});

describe('collectDiagnostics on recorded builds', () => {
  it('reports the compile error once although MSBuild prints it twice', () => {
    const lines = recorded('build-compile-error.txt');
    expect(lines.filter((line) => parseDiagnosticLine(line) !== null)).toHaveLength(2);
    expect(collectDiagnostics(lines, '/tmp/fx/ce/clone')).toEqual([
      {
        severity: 'error',
        code: 'CS1002',
        message: '; expected',
        file: 'src/Lib1B/Calculator.cs',
        line: 10,
        column: 23,
        project: 'src/Lib1B/Lib1B.csproj',
      },
    ]);
  });

  it('reports warnings and errors in the order first seen', () => {
    const diagnostics = collectDiagnostics(recorded('build-warnings-and-error.txt'), '/tmp/fx/diag');
    expect(diagnostics.map((d) => [d.severity, d.code, d.file, d.line])).toEqual([
      ['warning', 'CS0168', 'src/Lib0B/Person.cs', 8],
      ['warning', 'CS8618', 'src/Lib0B/Person.cs', 5],
      ['error', 'CS1002', 'src/Lib1B/Calculator.cs', 10],
    ]);
    expect(diagnostics[1]?.message).toBe(
      "Non-nullable property 'Name' must contain a non-null value when exiting constructor. Consider adding the 'required' modifier or declaring the property as nullable.",
    );
  });

  it('gives the same diagnostics for colour output from a terminal (ANSI and CR stripped)', () => {
    expect(collectDiagnostics(recorded('build-tty-ansi.txt'), '/tmp/fx/diag')).toEqual(
      collectDiagnostics(recorded('build-warnings-and-error.txt'), '/tmp/fx/diag'),
    );
  });

  it('keeps the same NuGet warning once per project', () => {
    const diagnostics = collectDiagnostics(recorded('build-restore-failure.txt'), '/tmp/fx/d2');
    expect(diagnostics.map((d) => [d.severity, d.code, d.project])).toEqual([
      ['warning', 'NU1603', 'tests/Layer1.Tests/Layer1.Tests.csproj'],
      ['warning', 'NU1603', 'tests/Layer0.Tests/Layer0.Tests.csproj'],
      ['error', 'NU1101', 'tests/Layer0.Tests/Layer0.Tests.csproj'],
    ]);
  });

  it('parses tool-origin errors and SDK-target warnings from one build', () => {
    const diagnostics = collectDiagnostics(recorded('build-cs5001-msb9008.txt'), '/tmp/fx/d3');
    expect(diagnostics.map((d) => [d.code, d.file, d.project])).toEqual([
      [
        'MSB9008',
        '/usr/share/dotnet/sdk/10.0.401/Microsoft.Common.CurrentVersion.targets',
        'src/Lib1A/Lib1A.csproj',
      ],
      ['CS5001', null, 'src/App/App.csproj'],
    ]);
  });

  it('parses the terminal logger output, escape sequences and all', () => {
    const lines = recorded('build-terminal-logger.txt');
    expect(collectDiagnostics(lines, '/tmp/fx/diag').map((d) => [d.code, d.file, d.project])).toEqual([
      ['CS0168', 'src/Lib0B/Person.cs', null],
      ['CS8618', 'src/Lib0B/Person.cs', null],
    ]);
    expect(collectBuildSummary(lines)).toEqual({ succeeded: true, warnings: 2, errors: 0 });
  });

  it('reads a top-level MSBuild error', () => {
    expect(collectDiagnostics(recorded('build-msb1009.txt'))).toMatchObject([
      { code: 'MSB1009', file: null },
    ]);
  });
});

describe('dedupeDiagnostics', () => {
  it('keeps the first of identical diagnostics and all distinct ones', () => {
    const base = {
      severity: 'warning' as const,
      code: 'CS0168',
      message: 'm',
      file: 'a.cs',
      line: 1,
      column: 1,
      project: 'A.csproj',
    };
    const other = { ...base, project: 'B.csproj' };
    expect(dedupeDiagnostics([base, { ...base }, other, { ...other }])).toEqual([base, other]);
    expect(dedupeDiagnostics([])).toEqual([]);
  });
});

describe('parseBuildSummary', () => {
  it('reads the console logger summary', () => {
    expect(parseBuildSummary('    2 Warning(s)')).toEqual({ succeeded: null, warnings: 2, errors: null });
    expect(parseBuildSummary('    1 Error(s)')).toEqual({ succeeded: null, warnings: null, errors: 1 });
    expect(parseBuildSummary('Build succeeded.')).toEqual({ succeeded: true, warnings: null, errors: null });
    expect(parseBuildSummary('Build FAILED.')).toEqual({ succeeded: false, warnings: null, errors: null });
  });

  it('reads the terminal logger summary', () => {
    expect(parseBuildSummary('Build succeeded in 3.2s')).toEqual({ succeeded: true, warnings: 0, errors: 0 });
    expect(parseBuildSummary('Build \x1b[33;1msucceeded with 2 warning(s)\x1b[m in 3.3s')).toEqual({
      succeeded: true,
      warnings: 2,
      errors: 0,
    });
    expect(
      parseBuildSummary('Build \x1b[31;1mfailed with 1 error(s) and 2 warning(s)\x1b[m in 13.4s'),
    ).toEqual({
      succeeded: false,
      warnings: 2,
      errors: 1,
    });
    expect(parseBuildSummary('Build failed with 3 error(s) in 1s')).toEqual({
      succeeded: false,
      warnings: 0,
      errors: 3,
    });
  });

  it('ignores everything else', () => {
    expect(parseBuildSummary('Time Elapsed 00:00:14.47')).toBeNull();
    expect(parseBuildSummary('  Lib0A -> /x/Lib0A.dll')).toBeNull();
  });

  it('folds a whole recorded build', () => {
    expect(collectBuildSummary(recorded('build-compile-error.txt'))).toEqual({
      succeeded: false,
      warnings: 0,
      errors: 1,
    });
    expect(collectBuildSummary(recorded('build-ok-cold-restore.txt'))).toEqual({
      succeeded: true,
      warnings: 0,
      errors: 0,
    });
    expect(collectBuildSummary(['nothing here'])).toEqual({ succeeded: null, warnings: null, errors: null });
  });
});

describe('stripAnsi and relativeToWorkspace', () => {
  it('removes colours, cursor moves, OSC hyperlinks and carriage returns', () => {
    expect(
      stripAnsi(
        '\x1b[?1h\x1b=\x1b[39;49m\x1b[33mwarn\x1b[m \x1b]8;;file:///x\x1b\\link\x1b]8;;\x1b\\\x1b]9;4;0;\x07\r',
      ),
    ).toBe('warn link');
  });

  it('only strips a root that ends at a path separator', () => {
    expect(relativeToWorkspace('/ws/a/b.cs', '/ws/')).toBe('a/b.cs');
    expect(relativeToWorkspace('/ws2/a.cs', '/ws')).toBe('/ws2/a.cs');
    expect(relativeToWorkspace('c:\\WS\\a\\b.cs', 'C:\\ws')).toBe('a/b.cs');
    expect(relativeToWorkspace('/ws/a.cs', '')).toBe('/ws/a.cs');
  });
});
