import { describe, expect, it } from 'vitest';
import { checkGitRef, checkRepositoryUrl, isCommitSha, maskUrlCredentials, urlSecrets } from './git-input.js';

describe('checkRepositoryUrl', () => {
  it.each([
    'https://github.com/org/repo.git',
    'ssh://git@host/repo.git',
    'git@github.com:org/repo.git',
    'file:///srv/repo.git',
  ])('accepts %s', (url) => expect(checkRepositoryUrl(url)).toBeNull());
  it.each([
    '--upload-pack=x',
    'ext::sh -c id',
    'fd::3',
    'relative/path',
    'ftp://host/repo',
    'https://',
    ' https://x/y',
    'https://host/a b',
  ])('rejects %s', (url) => expect(checkRepositoryUrl(url)).not.toBeNull());
});

describe('checkGitRef', () => {
  it.each(['main', 'refs/heads/feature/x', 'refs/tags/v1.0.0', 'v1.0.0', '3f2a9c1', 'a'.repeat(40)])(
    'accepts %s',
    (ref) => expect(checkGitRef(ref)).toBeNull(),
  );
  it.each([
    '-x',
    '--upload-pack=evil',
    'a..b',
    'a b',
    'x~1',
    'x^',
    'x:y',
    'branch.lock',
    'trailing/',
    '.hidden',
    '@',
    'a@{1}',
  ])('rejects %s', (ref) => expect(checkGitRef(ref)).not.toBeNull());
  it('recognises SHAs', () => {
    expect(isCommitSha('abc1234')).toBe(true);
    expect(isCommitSha('main')).toBe(false);
  });
});

describe('credentials', () => {
  it('masks the userinfo of a URL and lists every printable form of it', () => {
    const url = 'https://bot:s%40cret@example.com/repo.git';
    expect(maskUrlCredentials(url)).toBe('https://***@example.com/repo.git');
    expect(urlSecrets(url)).toEqual(
      expect.arrayContaining(['bot:s%40cret', 'bot:s@cret', 's%40cret', 's@cret']),
    );
    expect(urlSecrets('https://example.com/repo.git')).toEqual([]);
  });
});
