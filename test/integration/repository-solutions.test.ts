// GET /api/v1/repositories/solutions against a real node and a real bare repository over file://.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import { api, removeDir, startTestNode, type TestNode } from '../helpers/node-harness.js';

interface SolutionList {
  repositoryUrl: string;
  gitRef: string;
  resolvedRef: string;
  commit: string;
  solutions: string[];
  truncated: boolean;
}
interface Envelope {
  details: { field: string; message: string }[];
}

describe('listing a repository’s solutions for a ref', () => {
  let root: string;
  let repo: GeneratedRepo;
  let slnx: GeneratedRepo;
  let node: TestNode;

  const solutions = (repositoryUrl: string, gitRef: string) =>
    api<SolutionList & Envelope>(
      node.url,
      'GET',
      `/api/v1/repositories/solutions?${new URLSearchParams({ repositoryUrl, gitRef }).toString()}`,
    );

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-solutions-'));
    repo = await generateSolutionRepo({ root, width: 2, depth: 1, name: 'lookup' });
    slnx = await generateSolutionRepo({
      root,
      width: 1,
      depth: 1,
      variant: 'slnx',
      name: 'lookupx',
      testProjects: false,
    });
    node = await startTestNode({ dataDir: join(root, 'node') });
  });
  afterAll(async () => {
    await node?.stop();
    await removeDir(root);
  });

  it('resolves a branch and lists the solution first, then every project', async () => {
    const response = await solutions(repo.repositoryUrl, 'main');
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body).toMatchObject({
      repositoryUrl: repo.repositoryUrl,
      gitRef: 'main',
      resolvedRef: 'refs/heads/main',
      commit: repo.headCommit,
      truncated: false,
    });
    expect(response.body.solutions[0]).toBe(repo.solutionPath);
    expect(new Set(response.body.solutions)).toEqual(
      new Set([repo.solutionPath, ...repo.libraryProjects, ...repo.testProjects, repo.appProject!]),
    );
  });

  it('resolves tags, other branches and commit SHAs to their own commits', async () => {
    const tag = await solutions(repo.repositoryUrl, repo.tag);
    expect(tag.body).toMatchObject({ resolvedRef: 'refs/tags/v1.0.0', commit: repo.headCommit });
    const feature = await solutions(repo.repositoryUrl, repo.featureBranch);
    expect(feature.body).toMatchObject({ resolvedRef: 'refs/heads/feature/x', commit: repo.commits[0] });
    const sha = await solutions(repo.repositoryUrl, repo.commits[1]!);
    expect(sha.status, JSON.stringify(sha.body)).toBe(200);
    expect(sha.body).toMatchObject({ resolvedRef: repo.commits[1], commit: repo.commits[1] });
    const other = await solutions(slnx.repositoryUrl, 'main');
    expect(other.body.solutions[0]).toBe('Fixture.slnx');
  });

  it('answers 400 naming the field for a missing ref, an unreadable repository and option injection', async () => {
    const missingRef = await solutions(repo.repositoryUrl, 'no-such-branch');
    expect(missingRef.status).toBe(400);
    expect(missingRef.body.details).toEqual([
      { field: 'gitRef', message: expect.stringContaining('was not found in the repository') },
    ]);

    const gone = await solutions(`file://${join(root, 'nothing-here.git')}`, 'main');
    expect(gone.status).toBe(400);
    expect(gone.body.details[0]?.field).toBe('repositoryUrl');
    expect(gone.body.details[0]?.message).toContain('could not be read by git');

    const injected = await solutions(
      '--upload-pack=touch /tmp/buildmesh-pwned',
      '--output=/tmp/buildmesh-pwned',
    );
    expect(injected.status).toBe(400);
    expect(injected.body.details.map((detail) => detail.field)).toEqual(['repositoryUrl', 'gitRef']);
    expect(injected.body.details[1]?.message).toContain('may not start with "-"');

    const missing = await api<Envelope>(node.url, 'GET', '/api/v1/repositories/solutions');
    expect(missing.status).toBe(400);
    expect(missing.body.details.map((detail) => detail.field)).toEqual(['repositoryUrl', 'gitRef']);
  });
});
