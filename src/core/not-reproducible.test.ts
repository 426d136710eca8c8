import { describe, expect, it } from 'vitest';
import { presenceAnnouncementSchema } from './mesh-messages.js';
import {
  MAX_ANNOUNCED_MARKS,
  MAX_MARK_PROJECT_CHARS,
  MAX_MARK_REPOSITORY_CHARS,
  markCovers,
  normalizeRepositoryUrl,
} from './not-reproducible.js';

describe('normalizeRepositoryUrl', () => {
  it.each([
    ['https://git.example.com/team/app', 'git.example.com/team/app'],
    ['HTTPS://Git.Example.COM/Team/App.git/', 'git.example.com/Team/App'],
    ['https://git.example.com/team/app/', 'git.example.com/team/app'],
    ['  https://git.example.com/team/app.git  ', 'git.example.com/team/app'],
    ['https://user:s3cret@git.example.com/team/app.git', 'git.example.com/team/app'],
    ['https://git.example.com:443/team/app', 'git.example.com/team/app'],
    ['ssh://git@Git.Example.com/team/app.git', 'git.example.com/team/app'],
    ['ssh://git@git.example.com:22/team/app', 'git.example.com/team/app'],
    ['git@Git.Example.com:team/app.git', 'git.example.com/team/app'],
    ['ssh://git@Git.Example.com:2222/team/app.git', 'git.example.com:2222/team/app'],
    ['http://git.example.com:8080/team/app', 'git.example.com:8080/team/app'],
    ['git@GitHub.com:Team/App.git', 'github.com/Team/App'],
    ['file:///srv/Repos/App.git', 'file:///srv/Repos/App'],
    ['/srv/repos/app.git/', '/srv/repos/app'],
    ['C:\\repos\\app.git', 'C:\\repos\\app'],
  ])('%s → %s', (url, expected) => {
    expect(normalizeRepositoryUrl(url)).toBe(expected);
    expect(normalizeRepositoryUrl(expected)).toBe(expected);
  });
});

describe('markCovers', () => {
  const app = 'https://git.example.com/team/app';
  const mark = { repositoryUrl: app, project: 'src/Lib' };

  it('covers the marked directory and its project files in the marked repository only', () => {
    expect(markCovers(mark, app, 'src/Lib')).toBe(true);
    expect(markCovers(mark, app, 'src/Lib/Lib.csproj')).toBe(true);
    expect(markCovers(mark, app, 'src/Lib/Deeper/Deeper.csproj')).toBe(false);
    expect(markCovers(mark, app, 'src/Library/Library.csproj')).toBe(false);
    expect(markCovers(mark, 'https://git.example.com/team/other', 'src/Lib/Lib.csproj')).toBe(false);
  });

  it('lets a mark of any repository, or a lookup without one, cover every repository', () => {
    expect(markCovers({ repositoryUrl: null, project: 'src/Lib' }, app, 'src/Lib/Lib.csproj')).toBe(true);
    expect(markCovers(mark, undefined, 'src/Lib/Lib.csproj')).toBe(true);
    expect(markCovers(mark, undefined, 'src/Other/Other.csproj')).toBe(false);
  });
});

describe('the marks of a presence announcement', () => {
  const base = {
    agentId: '12D3KooWGRUVh8wYYwVYcsFULnRNoAUjo2tDXQWzXAAr4ffg5Shf',
    hostname: 'alpha',
    os: 'linux',
    arch: 'x64',
    status: 'Idle',
    donationMode: 'Always',
    freeSlots: 1,
    maxConcurrentBuilds: 1,
    cpuUsage: 1,
    memoryUsage: 1,
    capabilities: {
      os: 'linux',
      arch: 'x64',
      cpuCores: 2,
      totalMemoryGB: 4,
      freeMemoryGB: 2,
      availableDiskSpaceGB: 10,
      installedSdks: [],
      installedRuntimes: [],
      buildableFrameworks: [],
      installedTools: [],
      gitVersion: null,
      dockerVersion: null,
      maxConcurrentBuilds: 1,
    },
    currentJob: null,
    sequence: 1,
    sentAt: '2026-11-27T21:00:00.000Z',
  };
  const parse = (notReproducible: unknown) =>
    presenceAnnouncementSchema.safeParse({ ...base, notReproducible });
  const mark = (index: number) => ({ repositoryUrl: 'https://git.example.com/a', project: `src/P${index}` });

  it('are optional (older peers send none) and bounded in count and length', () => {
    expect(presenceAnnouncementSchema.safeParse(base).success).toBe(true);
    expect(parse([mark(1), { repositoryUrl: null, project: 'src/Any' }]).success).toBe(true);
    expect(parse(Array.from({ length: MAX_ANNOUNCED_MARKS }, (_, index) => mark(index))).success).toBe(true);
    expect(parse(Array.from({ length: MAX_ANNOUNCED_MARKS + 1 }, (_, index) => mark(index))).success).toBe(
      false,
    );
    expect(
      parse([{ repositoryUrl: 'x'.repeat(MAX_MARK_REPOSITORY_CHARS + 1), project: 'src/A' }]).success,
    ).toBe(false);
    expect(parse([{ repositoryUrl: null, project: 'p'.repeat(MAX_MARK_PROJECT_CHARS + 1) }]).success).toBe(
      false,
    );
    expect(parse([{ repositoryUrl: null, project: '' }]).success).toBe(false);
    expect(parse([{ project: 'src/A' }]).success).toBe(false);
    expect(parse('src/A').success).toBe(false);
  });
});
