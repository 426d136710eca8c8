import { access, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitError, checkoutRepository } from '../../src/agent/git/git-checkout.js';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import { api, removeDir, startTestNode, waitForBuild, apiFetch } from '../helpers/node-harness.js';

describe('git checkout of every kind of ref, with real git over file://', () => {
  let root: string;
  let repo: GeneratedRepo;
  let counter = 0;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-git-'));
    repo = await generateSolutionRepo({
      root,
      width: 1,
      depth: 1,
      testProjects: false,
      app: false,
      extraCommits: 2,
    });
  });
  afterAll(async () => removeDir(root));

  const checkout = (gitRef: string, shallow = true) => {
    const lines: string[] = [];
    return checkoutRepository({
      repositoryUrl: repo.repositoryUrl,
      gitRef,
      directory: join(root, `checkout-${++counter}`),
      shallow,
      log: (_level, message) => lines.push(message),
      retryDelaysMs: [10, 20],
    }).then((result) => ({ ...result, lines }));
  };

  it('resolves a branch name and refs/heads/x', async () => {
    expect((await checkout('main')).commit).toBe(repo.headCommit);
    const feature = await checkout(`refs/heads/${repo.featureBranch}`);
    expect(feature.commit).toBe(repo.commits[0]);
    expect(feature.resolvedRef).toBe(`refs/heads/${repo.featureBranch}`);
  });

  it('resolves an annotated tag to its commit', async () => {
    const tagged = await checkout(repo.tag);
    expect(tagged.commit).toBe(repo.headCommit);
    expect(tagged.lines).toContain(`Checked out commit ${repo.headCommit} (refs/tags/${repo.tag})`);
  });

  it('resolves full and short SHAs of older commits', async () => {
    const middle = repo.commits[1] as string;
    expect((await checkout(middle)).commit).toBe(middle);
    const first = repo.commits[0] as string;
    expect((await checkout(first.slice(0, 8), false)).commit).toBe(first);
  });

  it('updates an existing checkout in place, keeping bin/ and obj/ and dropping untracked sources', async () => {
    const directory = join(root, 'reused');
    const options = {
      repositoryUrl: repo.repositoryUrl,
      directory,
      shallow: true,
      reuseExisting: true,
      log: () => undefined,
      retryDelaysMs: [10, 20],
    };
    const first = await checkoutRepository({ ...options, gitRef: repo.commits[0] as string });
    expect(first.previousCommit).toBeUndefined();
    await mkdir(join(directory, 'src', 'obj'), { recursive: true });
    await writeFile(join(directory, 'src', 'obj', 'kept.txt'), 'kept');
    await writeFile(join(directory, 'untracked.cs'), 'gone');
    await writeFile(join(directory, 'README.md'), 'locally modified');
    const second = await checkoutRepository({ ...options, gitRef: 'main' });
    expect(second).toMatchObject({ commit: repo.headCommit, previousCommit: repo.commits[0] });
    expect(await readFile(join(directory, 'src', 'obj', 'kept.txt'), 'utf8')).toBe('kept');
    expect(
      await access(join(directory, 'untracked.cs')).then(
        () => true,
        () => false,
      ),
    ).toBe(false);
    expect(await readFile(join(directory, 'README.md'), 'utf8')).not.toBe('locally modified');
  });

  it('fails clearly, without retrying, for a ref that does not exist', async () => {
    const error = await checkout('no-such-branch').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).transient).toBe(false);
    expect((error as GitError).message).toContain("gitRef 'no-such-branch' was not found");
  });
});

describe('git failures through a node', () => {
  it('retries a transient failure 3 times and never logs the credentials of the URL', async () => {
    const node = await startTestNode();
    try {
      // Port 9 on loopback refuses connections: a transient network failure.
      const submitted = await api<{ executionId: string }>(node.url, 'POST', '/api/v1/builds', {
        repositoryUrl: 'http://bot:s3cr3t-token@127.0.0.1:9/repo.git',
        gitRef: 'main',
        solutionPath: 'App.sln',
      });
      expect(submitted.status).toBe(202);
      const build = await waitForBuild(node.url, submitted.body.executionId, 60_000);
      expect(build.status).toBe('Failed');
      expect(build.stages[0]).toMatchObject({ name: 'Clone', status: 'Failed' });
      const log = await (await apiFetch(`${node.url}/api/v1/builds/${build.executionId}/logs`)).text();
      expect(log).toContain('failed (attempt 1/3). Retrying');
      expect(log).toContain('failed (attempt 2/3). Retrying');
      expect(log).not.toContain('s3cr3t-token');
      expect(log).toContain('http://***@127.0.0.1:9/repo.git');
      expect(JSON.stringify(build)).not.toContain('s3cr3t-token');
    } finally {
      await node.stop();
      await removeDir(node.dataDir);
    }
  });
});
