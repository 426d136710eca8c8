import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentStore, hashFile } from '../../src/agent/content-store.js';
import {
  ProjectTaskRunner,
  type ProjectTaskInput,
  type ProjectTaskResult,
} from '../../src/agent/project-task-runner.js';
import { readProjectOutputs } from '../../src/agent/project-task.js';
import { snapshotSources } from '../../src/agent/source-snapshot.js';
import type { TaskSpec } from '../../src/core/job-messages.js';
import type { BuildRequest } from '../../src/core/models.js';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import { testLogger } from '../helpers/mesh-harness.js';
import { removeDir } from '../helpers/node-harness.js';
import { sampleBuildRequest } from '../helpers/sample-build-request.js';

/**
 * Two peers, each with its own workspace root and CAS. Peer 1 plays the coordinator: it holds the
 * sources and collects every task's result blobs, so its fetchBlobs must never be needed. Peer 2
 * fetches what it lacks from peer 1's store.
 */
class Peer {
  readonly store: ContentStore;
  readonly runner: ProjectTaskRunner;
  /** Every fetchBlobs call, in order. */
  readonly fetches: string[][] = [];

  constructor(
    readonly root: string,
    private readonly upstream: ContentStore | null,
  ) {
    this.store = new ContentStore(join(root, 'cas'));
    this.runner = new ProjectTaskRunner({
      workspaceRoot: join(root, 'work'),
      contentStore: this.store,
      logger: testLogger,
    });
  }

  fetchBlobs = async (sha256s: readonly string[], signal: AbortSignal): Promise<void> => {
    this.fetches.push([...sha256s]);
    if (!this.upstream) throw new Error(`the coordinating peer was asked for ${sha256s.join(', ')}`);
    for (const sha256 of sha256s) {
      signal.throwIfAborted();
      await this.store.putStream(this.upstream.openRead(sha256));
    }
  };

  workspaceOf(executionId: string): string {
    return join(this.root, 'work', `tasks-${executionId}`);
  }

  fetched(): Set<string> {
    return new Set(this.fetches.flat());
  }
}

/** What the coordinator does with a result: pulls its blobs into its own CAS, checking the listed sizes. */
async function collect(result: ProjectTaskResult, from: Peer, into: Peer): Promise<void> {
  if (from === into) return;
  for (const blob of result.blobs) {
    const stored = await into.store.putStream(from.store.openRead(blob.sha256));
    expect(stored).toEqual({ sha256: blob.sha256, sizeBytes: blob.sizeBytes });
  }
}

function buildRequest(executionId: string, solutionPath: string): BuildRequest {
  const request = sampleBuildRequest(executionId);
  return {
    ...request,
    strategy: 'Distributed',
    job: { ...request.job, solutionPath, createPackages: true, publishArtifacts: false },
  };
}

describe('project task runner: builds, tests and packs across two peers through the CAS', () => {
  let root: string;
  let coordinator: Peer;
  let worker: Peer;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-ptrun-'));
    coordinator = new Peer(join(root, 'peer-1'), null);
    worker = new Peer(join(root, 'peer-2'), coordinator.store);
  });
  afterAll(async () => removeDir(root));

  /** One execution of a generated fixture, snapshotted into the coordinator's CAS. */
  async function execution(repo: GeneratedRepo) {
    const executionId = randomUUID();
    const { manifestSha256 } = await snapshotSources(
      repo.workingCopyPath,
      repo.headCommit,
      coordinator.store,
    );
    const request = buildRequest(executionId, repo.solutionPath);
    const trees = new Map<string, string>();
    const run = async (
      peer: Peer,
      kind: TaskSpec['kind'],
      project: string,
      placeProjects: string[],
    ): Promise<{ result: ProjectTaskResult; lines: string[] }> => {
      const lines: string[] = [];
      const input: ProjectTaskInput = {
        executionId,
        request,
        task: {
          taskId: `${kind}:${project}`,
          kind,
          project,
          cacheKey: '0'.repeat(64),
          place: placeProjects.map((placed) => ({ project: placed, treeSha256: trees.get(placed)! })),
        },
        manifestSha256,
        fetchBlobs: peer.fetchBlobs,
      };
      const result = await peer.runner.run(input, {
        signal: new AbortController().signal,
        onLine: (line) => lines.push(line),
      });
      await collect(result, peer, coordinator);
      if (result.outputTreeSha256) trees.set(project, result.outputTreeSha256);
      return { result, lines };
    };
    return { executionId, manifestSha256, trees, run };
  }

  it('builds in dependency order on alternating peers, then tests and packs where the project was not built', async () => {
    const repo = await generateSolutionRepo({
      root,
      width: 1,
      depth: 2,
      variant: 'packable',
      app: false,
      extraCommits: 0,
      name: 'layered',
    });
    const [lib0, lib1] = repo.libraryProjects as [string, string];
    const tests1 = repo.testProjects[1]!;
    const { executionId, manifestSha256, trees, run } = await execution(repo);

    const bottom = await run(coordinator, 'build', lib0, []);
    expect(bottom.result).toMatchObject({ succeeded: true, errorMessage: null });
    const bottomTree = await readProjectOutputs(coordinator.store, bottom.result.outputTreeSha256!);
    expect(bottomTree.entries.map((entry) => entry.path)).toContain(
      'src/Lib0A/obj/Release/net10.0/ref/Lib0A.dll',
    );
    // The result lists the tree object and every file of it.
    const listed = new Set(bottom.result.blobs.map((blob) => blob.sha256));
    expect(listed.has(bottom.result.outputTreeSha256!)).toBe(true);
    for (const entry of bottomTree.entries)
      if (entry.kind === 'file') expect(listed.has(entry.sha256)).toBe(true);

    const middle = await run(worker, 'build', lib1, [lib0]);
    expect(middle.result.succeeded).toBe(true);
    // Only Lib1A was compiled: Lib0A's outputs came from the coordinator's CAS.
    expect(middle.lines.filter((line) => line.includes(' -> '))).toHaveLength(1);
    expect(worker.fetches[0]).toEqual([manifestSha256]);
    expect(worker.fetched().has(trees.get(lib0)!)).toBe(true);

    const testBuild = await run(coordinator, 'build', tests1, [lib0, lib1]);
    expect(testBuild.result.succeeded).toBe(true);
    expect(testBuild.lines.filter((line) => line.includes(' -> '))).toHaveLength(1);

    // Lib0A is already placed on peer 2 and Lib1A was built there: only the test project's tree is new.
    const before = worker.fetches.length;
    const tested = await run(worker, 'test', tests1, [lib0, lib1, tests1]);
    expect(tested.result).toMatchObject({ succeeded: true, errorMessage: null, outputTreeSha256: null });
    expect(tested.result.testResults).toMatchObject({ total: 1, passed: 1, failed: 0, skipped: 0 });
    const newFetches = new Set(worker.fetches.slice(before).flat());
    expect(newFetches.has(trees.get(tests1)!)).toBe(true);
    expect(newFetches.has(trees.get(lib0)!)).toBe(false);
    expect(newFetches.has(trees.get(lib1)!)).toBe(false);
    expect(tested.lines.some((line) => line.startsWith('$ dotnet test '))).toBe(true);

    // Lib1A was built on peer 2; its tree was placed on peer 1 for the test project's build.
    const packed = await run(coordinator, 'pack', lib1, [lib0, lib1]);
    expect(packed.result).toMatchObject({ succeeded: true, errorMessage: null });
    expect(packed.result.artifacts).toHaveLength(1);
    const [artifact] = packed.result.artifacts;
    expect(artifact).toMatchObject({ name: 'Fixture.Lib1A.1.0.0.nupkg', contentType: 'application/zip' });
    const file = join(coordinator.workspaceOf(executionId), artifact!.path);
    expect(await hashFile(file)).toBe(artifact!.sha256Hash);
    expect(await coordinator.store.sizeOf(artifact!.sha256Hash)).toBe(artifact!.sizeBytes);
    expect(packed.result.blobs).toEqual([{ sha256: artifact!.sha256Hash, sizeBytes: artifact!.sizeBytes }]);
    // The coordinator never had to fetch anything: every result's blobs reached its CAS.
    expect(coordinator.fetches).toEqual([]);

    await coordinator.runner.release(executionId);
    await worker.runner.release(executionId);
    expect(existsSync(coordinator.workspaceOf(executionId))).toBe(false);
    expect(existsSync(worker.workspaceOf(executionId))).toBe(false);
  });

  it('reports a failing test by name as a failed task, not an error', async () => {
    const repo = await generateSolutionRepo({
      root,
      width: 1,
      depth: 1,
      variant: 'failing-test',
      app: false,
      extraCommits: 0,
      name: 'failing',
    });
    const [lib0] = repo.libraryProjects as [string];
    const tests0 = repo.testProjects[0]!;
    const { executionId, run } = await execution(repo);
    expect((await run(coordinator, 'build', lib0, [])).result.succeeded).toBe(true);
    expect((await run(coordinator, 'build', tests0, [lib0])).result.succeeded).toBe(true);

    const { result } = await run(worker, 'test', tests0, [lib0, tests0]);
    expect(result.succeeded).toBe(false);
    expect(result.errorMessage).toContain('1 of 2 tests failed in Layer0.Tests');
    expect(result.errorMessage).toContain(repo.failingTestName);
    expect(result.testResults).toMatchObject({ total: 2, passed: 1, failed: 1 });
    expect(result.testResults!.failures.map((failure) => failure.name)).toEqual([repo.failingTestName]);
    await worker.runner.release(executionId);
    await coordinator.runner.release(executionId);
  });

  it('reports a compile error as a failed task with its diagnostics', async () => {
    const repo = await generateSolutionRepo({
      root,
      width: 1,
      depth: 1,
      variant: 'compile-error',
      testProjects: false,
      app: false,
      extraCommits: 0,
      name: 'broken',
    });
    const [lib0] = repo.libraryProjects as [string];
    const { executionId, run } = await execution(repo);
    const { result } = await run(worker, 'build', lib0, []);
    expect(result).toMatchObject({ succeeded: false, outputTreeSha256: null, blobs: [] });
    expect(result.errorMessage).toContain(`Build of ${lib0} failed`);
    expect(result.errorMessage).toContain('CS1002');
    const errors = result.diagnostics.filter((diagnostic) => diagnostic.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'CS1002', file: repo.compileErrorFile });
    await worker.runner.release(executionId);
  });
});
