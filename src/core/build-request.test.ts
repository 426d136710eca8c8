import { describe, expect, it } from 'vitest';
import { parseBuildRequest, type ParseBuildRequestContext } from './build-request.js';
import { InvalidBuildRequestError } from './errors.js';

const context: ParseBuildRequestContext = {
  newId: () => '00000000-0000-4000-8000-000000000001',
  now: new Date('2026-11-27T10:00:00Z'),
  runnableStrategies: ['Incremental', 'Clean'],
};

const valid = {
  repositoryUrl: 'file:///tmp/repo.git',
  gitRef: 'main',
  solutionPath: 'Fixture.sln',
};

function problemsOf(body: unknown): Record<string, string> {
  try {
    parseBuildRequest(body, context);
  } catch (error) {
    if (error instanceof InvalidBuildRequestError) {
      return Object.fromEntries(error.problems.map((p) => [p.field, p.message]));
    }
    throw error;
  }
  throw new Error('expected the request to be rejected');
}

describe('parseBuildRequest', () => {
  it('fills the design defaults for a minimal flat request', () => {
    const request = parseBuildRequest(valid, context);
    expect(request.strategy).toBe('Incremental');
    expect(request.targetPool).toBe('Linux');
    expect(request.priority).toBe('Normal');
    expect(request.job).toMatchObject({
      configuration: 'Release',
      platform: 'AnyCPU',
      runTests: true,
      createPackages: false,
      publishArtifacts: true,
      timeoutMinutes: 60,
      projectName: 'Fixture',
    });
    expect(request.executionId).toBe(context.newId());
    expect(request.createdAt).toBe('2026-11-27T10:00:00.000Z');
  });

  it('accepts the nested form and copies requesterEmail between levels', () => {
    const request = parseBuildRequest(
      {
        job: { ...valid, projectName: 'App', requesterEmail: 'dev@example.com' },
        strategy: 'clean',
        targetPool: 'linux',
      },
      context,
    );
    expect(request.strategy).toBe('Clean');
    expect(request.targetPool).toBe('Linux');
    expect(request.requesterEmail).toBe('dev@example.com');
    expect(request.job.requesterEmail).toBe('dev@example.com');
  });

  it('lists every bad field at once', () => {
    const problems = problemsOf({ repositoryUrl: 'not a url', strategy: 'Fastest', timeoutMinutes: 0 });
    expect(Object.keys(problems).sort()).toEqual([
      'gitRef',
      'repositoryUrl',
      'solutionPath',
      'strategy',
      'timeoutMinutes',
    ]);
    expect(problems.strategy).toContain('Incremental, Clean, Cached, Distributed, Canary');
    expect(problems.solutionPath).toContain('is required');
  });

  it('names nested fields with their path', () => {
    const problems = problemsOf({ job: { ...valid, repositoryUrl: 'ftp://x' } });
    expect(problems['job.repositoryUrl']).toContain('absolute git URL');
  });

  it('rejects git option injection in the URL and the ref', () => {
    const problems = problemsOf({
      ...valid,
      repositoryUrl: '--upload-pack=touch /tmp/x',
      gitRef: '--upload-pack=evil',
    });
    expect(problems.repositoryUrl).toContain('git option');
    expect(problems.gitRef).toContain('git option');
    expect(
      problemsOf({ ...valid, repositoryUrl: 'ext::sh -c touch% /tmp/pwned' }).repositoryUrl,
    ).toBeDefined();
  });

  it('rejects paths that leave the repository and normalises Windows separators', () => {
    expect(problemsOf({ ...valid, solutionPath: '../other/X.sln' }).solutionPath).toContain('relative path');
    expect(problemsOf({ ...valid, solutionPath: '/etc/X.sln' }).solutionPath).toContain('absolute');
    expect(
      parseBuildRequest({ ...valid, solutionPath: 'src\\App\\App.csproj' }, context).job.solutionPath,
    ).toBe('src/App/App.csproj');
  });

  it('refuses a known strategy this node cannot run, naming the allowed ones', () => {
    expect(problemsOf({ ...valid, strategy: 'Distributed' }).strategy).toBe(
      'Distributed cannot run on this node; allowed: Incremental, Clean',
    );
  });

  it('rejects unknown fields, wrong types and bad emails', () => {
    const problems = problemsOf({ ...valid, runTest: false, runTests: 'yes', requesterEmail: 'nobody' });
    expect(problems.runTest).toContain('not a known field');
    expect(problems.runTests).toBe('must be true or false');
    expect(problems.requesterEmail).toBe('must be a valid email address');
  });

  it('rejects a body that is not an object', () => {
    expect(problemsOf([1, 2])['(body)']).toBe('must be a JSON object');
    expect(problemsOf(null)['(body)']).toBe('must be a JSON object');
  });

  it('limits metadata and build property names', () => {
    const metadata = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    expect(problemsOf({ ...valid, metadata }).metadata).toContain('at most 50');
    expect(
      problemsOf({ ...valid, buildProperties: { 'bad name': 'x' } })['buildProperties.bad name'],
    ).toContain('keys');
  });

  it('reads the Canary and verify fields: maxWarnings (unlimited when absent), verify, and whether a pool was named', () => {
    const all = {
      ...context,
      runnableStrategies: ['Incremental', 'Clean', 'Canary', 'Distributed', 'Cached'] as const,
    };
    const canary = parseBuildRequest({ ...valid, strategy: 'canary' }, all);
    expect(canary).toMatchObject({ strategy: 'Canary', maxWarnings: null, verify: true, anyPool: true });
    const pooled = parseBuildRequest(
      { job: valid, strategy: 'Canary', targetPool: 'Linux', maxWarnings: 0 },
      all,
    );
    expect(pooled).toMatchObject({ maxWarnings: 0, anyPool: false, targetPool: 'Linux' });
    expect(parseBuildRequest({ ...valid, verify: true }, all)).toMatchObject({ verify: true });
    // Every strategy can verify, the task-engine ones included.
    for (const strategy of ['Distributed', 'Cached', 'Clean'])
      expect(parseBuildRequest({ ...valid, strategy, verify: true }, all)).toMatchObject({
        strategy,
        verify: true,
      });
    expect(parseBuildRequest(valid, all).verify).toBeUndefined();
    const wrong = { ...context, runnableStrategies: ['Incremental', 'Clean', 'Cached', 'Canary'] as const };
    const problems = (body: unknown) => {
      try {
        parseBuildRequest(body, wrong);
      } catch (error) {
        if (error instanceof InvalidBuildRequestError)
          return Object.fromEntries(error.problems.map((p) => [p.field, p.message]));
      }
      throw new Error('expected the request to be rejected');
    };
    expect(problems({ ...valid, strategy: 'Canary', maxWarnings: 1.5 })).toEqual({
      maxWarnings: 'must be a whole number of warnings (0 or more), or absent for unlimited',
    });
    expect(problems({ ...valid, strategy: 'Cached', verify: true, maxWarnings: 2 })).toEqual({
      maxWarnings: 'applies to Canary builds only',
    });
  });
});
