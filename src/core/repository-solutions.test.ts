import { describe, expect, it } from 'vitest';
import { isSolutionFile, solutionsQuerySchema, sortSolutionPaths } from './repository-solutions.js';

describe('repository solutions', () => {
  it('lists solutions first, shallow before deep, and only solution and project files', () => {
    expect(
      sortSolutionPaths([
        'src/B/B.csproj',
        'README.md',
        'tests/T/T.fsproj',
        'All.slnx',
        'src/A/A.csproj',
        'build/Tools.sln',
        'App.sln',
        'src/Lib/Lib.vbproj',
        'Directory.Build.props',
      ]),
    ).toEqual([
      'All.slnx',
      'App.sln',
      'build/Tools.sln',
      'src/A/A.csproj',
      'src/B/B.csproj',
      'src/Lib/Lib.vbproj',
      'tests/T/T.fsproj',
    ]);
    expect(isSolutionFile('X.SLN')).toBe(true);
    expect(isSolutionFile('x.proj.bak')).toBe(false);
  });

  it('rejects refs and URLs that git would read as options, naming the field', () => {
    const bad = solutionsQuerySchema.safeParse({
      repositoryUrl: '--upload-pack=touch /tmp/x',
      gitRef: '--output=/tmp/y',
    });
    expect(bad.success).toBe(false);
    const fields = bad.error?.issues.map((issue) => [issue.path.join('.'), issue.message]);
    expect(fields?.map(([field]) => field)).toEqual(['repositoryUrl', 'gitRef']);
    expect(fields?.[1]?.[1]).toContain('may not start with "-"');
    expect(
      solutionsQuerySchema.safeParse({ repositoryUrl: 'ext::sh -c touch% /tmp/pwned', gitRef: 'main' })
        .success,
    ).toBe(false);
    expect(solutionsQuerySchema.safeParse({}).error?.issues.map((issue) => issue.message)).toEqual([
      'is required (the git URL of the repository)',
      'is required (branch, tag or commit SHA)',
    ]);
    expect(
      solutionsQuerySchema.safeParse({ repositoryUrl: 'file:///srv/git/app.git', gitRef: 'refs/tags/v1.0.0' })
        .success,
    ).toBe(true);
  });
});
