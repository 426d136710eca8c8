import { describe, expect, it } from 'vitest';
import {
  compareOutputs,
  compareProjectOutputs,
  deterministicRequest,
  evaluateCanaryGates,
  isWorkspaceSpecificOutput,
  projectOfOutput,
  type ArtifactFiles,
} from './canary.js';
import type { BuildRequest, TestResults } from './models.js';

const results = (failed: number): TestResults => ({
  total: 10,
  passed: 10 - failed,
  failed,
  skipped: 0,
  durationMs: 5,
  failures: failed > 0 ? [{ name: 'Tests.Fails', message: 'boom', stackTrace: '', durationMs: 1 }] : [],
});

describe('evaluateCanaryGates', () => {
  const succeeded = { status: 'Succeeded' } as const;

  it('passes a clean build with every test passing and warnings within the limit', () => {
    expect(
      evaluateCanaryGates({ outcome: succeeded, testResults: results(0), warnings: 2, maxWarnings: 2 }),
    ).toEqual({ passed: true });
    expect(
      evaluateCanaryGates({ outcome: succeeded, testResults: results(0), warnings: 500, maxWarnings: null }),
    ).toEqual({ passed: true });
  });

  it('names the tests gate when any test failed, even though the build failed too', () => {
    const verdict = evaluateCanaryGates({
      outcome: { status: 'Failed', errorMessage: 'Tests failed', failureKind: 'build' },
      testResults: results(1),
      warnings: 0,
      maxWarnings: null,
    });
    expect(verdict).toMatchObject({ passed: false, gate: 'tests' });
    expect(verdict.passed || verdict.message).toContain('1 of 10 test(s) failed');
    expect(verdict.passed || verdict.message).toContain('Tests.Fails');
  });

  it('names the build gate for a failed build and the warnings gate above the threshold', () => {
    expect(
      evaluateCanaryGates({
        outcome: { status: 'Failed', errorMessage: 'CS1002', failureKind: 'build' },
        testResults: null,
        warnings: 0,
        maxWarnings: 0,
      }),
    ).toEqual({ passed: false, gate: 'build', message: 'build gate: CS1002' });
    expect(
      evaluateCanaryGates({ outcome: succeeded, testResults: results(0), warnings: 3, maxWarnings: 2 }),
    ).toEqual({
      passed: false,
      gate: 'warnings',
      message: 'warnings gate: 3 warning(s), more than the allowed 2',
    });
  });
});

describe('deterministicRequest', () => {
  it('turns a Canary into a Clean build with the full tests and deterministic, CI path properties', () => {
    const request = {
      strategy: 'Canary',
      job: { runTests: false, buildProperties: { Version: '1.2.3', Deterministic: 'false' } },
    } as unknown as BuildRequest;
    const result = deterministicRequest(request, 'c'.repeat(40));
    expect(result.strategy).toBe('Clean');
    expect(result.job.runTests).toBe(true);
    expect(result.job.buildProperties).toEqual({
      Version: '1.2.3',
      Deterministic: 'true',
      ContinuousIntegrationBuild: 'true',
      EnableSourceControlManagerQueries: 'false',
      SourceRevisionId: 'c'.repeat(40),
    });
    const incremental = deterministicRequest({ ...request, strategy: 'Incremental' });
    expect(incremental.strategy).toBe('Incremental');
    expect(incremental.job.runTests).toBe(false);
  });
});

describe('compareOutputs', () => {
  const names = { reference: 'peer-a', other: 'peer-b' };
  const lib = (dll: string): ArtifactFiles => ({
    path: 'src/Lib/bin/Release/net10.0/publish',
    files: [
      { path: 'Lib.deps.json', sha256: 'd1' },
      { path: 'Lib.dll', sha256: dll },
    ],
  });
  const app = (libDll: string): ArtifactFiles => ({
    path: 'src/App/bin/Release/net10.0/publish',
    files: [
      { path: 'App.dll', sha256: 'a1' },
      { path: 'Lib.dll', sha256: libDll },
    ],
  });

  it('finds nothing when every file has the same hash', () => {
    expect(compareOutputs([lib('x'), app('x')], [app('x'), lib('x')], names)).toEqual([]);
  });

  it('reports a differing file once, for the project that produces it', () => {
    expect(compareOutputs([lib('x'), app('x')], [lib('y'), app('y')], names)).toEqual([
      { project: 'src/Lib', file: 'Lib.dll', reason: 'content differs' },
    ]);
  });

  it('reports a file that differs only in a dependent, and files and artifacts on one side only', () => {
    const other: ArtifactFiles = { ...app('x'), files: [{ path: 'App.dll', sha256: 'a2' }] };
    expect(compareOutputs([app('x'), lib('x')], [other], names)).toEqual([
      { project: 'src/App', file: 'App.dll', reason: 'content differs' },
      { project: 'src/App', file: 'Lib.dll', reason: 'only on peer-a' },
      { project: 'src/Lib', file: 'src/Lib/bin/Release/net10.0/publish', reason: 'only on peer-a' },
    ]);
  });

  it('maps output paths to project directories', () => {
    expect(projectOfOutput('src/Lib/bin/Release/net10.0/publish')).toBe('src/Lib');
    expect(projectOfOutput('src/Lib/bin/Release/Lib.1.0.0.nupkg')).toBe('src/Lib');
    expect(projectOfOutput('Lib.1.0.0.nupkg')).toBe('Lib.1.0.0.nupkg');
  });
});

describe('compareProjectOutputs', () => {
  const file = (path: string, content: string) => ({ path, sha256: content.repeat(64).slice(0, 64) });

  it('names files relative to the project, and leaves out coverage source-root maps', () => {
    const first = [
      file('src/Lib/bin/Release/net10.0/Lib.dll', 'a'),
      file('src/Lib/obj/Release/net10.0/ref/Lib.dll', 'b'),
      file('src/Lib/bin/Release/net10.0/CoverletSourceRootsMapping_Lib', 'c'),
      file('src/Lib/bin/Release/net10.0/.msCoverageSourceRootsMapping_Lib', 'c'),
    ];
    const second = [
      file('src/Lib/bin/Release/net10.0/Lib.dll', 'd'),
      file('src/Lib/obj/Release/net10.0/ref/Lib.dll', 'b'),
      file('src/Lib/bin/Release/net10.0/CoverletSourceRootsMapping_Lib', 'e'),
      file('src/Lib/bin/Release/net10.0/.msCoverageSourceRootsMapping_Lib', 'e'),
      file('src/Lib/bin/Release/net10.0/extra.txt', 'f'),
    ];
    expect(
      compareProjectOutputs('src/Lib/Lib.csproj', first, second, { reference: 'a', other: 'b' }),
    ).toEqual([
      { project: 'src/Lib', file: 'bin/Release/net10.0/extra.txt', reason: 'only on b' },
      { project: 'src/Lib', file: 'bin/Release/net10.0/Lib.dll', reason: 'content differs' },
    ]);
    expect(isWorkspaceSpecificOutput('tests/T/bin/Release/net10.0/Lib.dll')).toBe(false);
  });
});
