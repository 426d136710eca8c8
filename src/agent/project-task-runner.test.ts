import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OperationAbortedError } from '../core/errors.js';
import type { TaskSpec } from '../core/job-messages.js';
import type { BuildRequest } from '../core/models.js';
import type { Logger } from '../core/ports.js';
import type { SourceManifest } from '../core/source-manifest.js';
import { ContentStore } from './content-store.js';
import type { ProjectOutputTree } from './project-task.js';
import { ProjectTaskRunner, type ProjectTaskInput } from './project-task-runner.js';

// These tests never reach dotnet: every task stops at a blob the coordinator does not have.

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};

const request = { job: { configuration: 'Release' } } as BuildRequest;
const ABSENT_A = 'a'.repeat(64);
const ABSENT_B = 'b'.repeat(64);

async function putJson(store: ContentStore, value: unknown): Promise<string> {
  return (await store.putStream(Readable.from([Buffer.from(JSON.stringify(value))]))).sha256;
}

async function putText(store: ContentStore, text: string) {
  return store.putStream(Readable.from([Buffer.from(text)]));
}

describe('ProjectTaskRunner workspaces', () => {
  let root: string;
  let coordinator: ContentStore;
  let local: ContentStore;
  let manifestSha256: string;
  let treeSha256: string;
  /** Every fetchBlobs call, in order. */
  let fetches: string[][];
  /** Runs before each fetch; a test may hold it open. */
  let beforeFetch: (sha256s: readonly string[], signal: AbortSignal) => Promise<void>;

  const fetchBlobs = async (sha256s: readonly string[], signal: AbortSignal): Promise<void> => {
    fetches.push([...sha256s]);
    await beforeFetch(sha256s, signal);
    for (const sha256 of sha256s) {
      signal.throwIfAborted();
      if (!(await coordinator.has(sha256))) throw new Error(`not on the coordinator: ${sha256}`);
      await local.putStream(coordinator.openRead(sha256));
    }
  };

  const input = (executionId: string, place: TaskSpec['place']): ProjectTaskInput => ({
    executionId,
    request,
    task: {
      taskId: 'build:src/Q/Q.csproj',
      kind: 'build',
      project: 'src/Q/Q.csproj',
      cacheKey: 'c'.repeat(64),
      place,
    },
    manifestSha256,
    fetchBlobs,
  });
  const good = () => ({ project: 'src/P/P.csproj', treeSha256 });
  const absent = (sha256: string) => ({ project: 'src/R/R.csproj', treeSha256: sha256 });
  const newRunner = (maxWorkspaces?: number) =>
    new ProjectTaskRunner({
      workspaceRoot: join(root, 'ws'),
      contentStore: local,
      logger: silent,
      maxWorkspaces,
    });
  const run = (runner: ProjectTaskRunner, task: ProjectTaskInput, signal = new AbortController().signal) =>
    runner.run(task, { signal, onLine: () => undefined });
  const workspaceOf = (executionId: string) => join(root, 'ws', `tasks-${executionId}`);

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-ptrunner-'));
    coordinator = new ContentStore(join(root, 'coordinator'));
    local = new ContentStore(join(root, 'local'));
    fetches = [];
    beforeFetch = () => Promise.resolve();
    const source = await putText(coordinator, 'namespace P;\n');
    const manifest: SourceManifest = {
      version: 1,
      commit: 'd'.repeat(40),
      entries: [
        {
          kind: 'file',
          path: 'src/P/P.cs',
          sha256: source.sha256,
          sizeBytes: source.sizeBytes,
          executable: false,
        },
        { kind: 'symlink', path: 'src/Out', target: join(root, 'outside') },
      ],
    };
    manifestSha256 = await putJson(coordinator, manifest);
    const dll = await putText(coordinator, 'not really a dll');
    const tree: ProjectOutputTree = {
      version: 1,
      projectPath: 'src/P/P.csproj',
      configuration: 'Release',
      entries: [
        {
          kind: 'file',
          path: 'src/P/bin/Release/net10.0/P.dll',
          sha256: dll.sha256,
          sizeBytes: dll.sizeBytes,
          executable: false,
        },
      ],
    };
    treeSha256 = await putJson(coordinator, tree);
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it('fetches and writes the sources once for concurrent tasks, and places each tree once', async () => {
    const runner = newRunner();
    const results = await Promise.allSettled([
      run(runner, input('e1', [good(), absent(ABSENT_A)])),
      run(runner, input('e1', [good(), absent(ABSENT_A)])),
    ]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect(String((result as PromiseRejectedResult).reason)).toContain(
        `not on the coordinator: ${ABSENT_A}`,
      );
    }
    // Manifest, its file, the tree, its file, the absent tree: each asked for once.
    expect(fetches.map((batch) => batch.length)).toEqual([1, 1, 1, 1, 1]);
    expect(fetches[0]).toEqual([manifestSha256]);
    const source = join(workspaceOf('e1'), 'src');
    expect(await readFile(join(source, 'src/P/P.cs'), 'utf8')).toBe('namespace P;\n');
    expect(await readFile(join(source, 'src/P/bin/Release/net10.0/P.dll'), 'utf8')).toBe('not really a dll');

    fetches = [];
    await expect(run(runner, input('e1', [good(), absent(ABSENT_B)]))).rejects.toThrow(ABSENT_B);
    // The sources and the placed tree are remembered; only the new tree is asked for.
    expect(fetches).toEqual([[ABSENT_B]]);
  });

  it('gives a verify build its own workspace: the build’s placed outputs are neither seen nor overwritten', async () => {
    const runner = newRunner();
    await expect(run(runner, input('e1', [good(), absent(ABSENT_A)]))).rejects.toThrow(ABSENT_A);
    fetches = [];
    const verify = input('e1', [good(), absent(ABSENT_A)]);
    verify.task = { ...verify.task, purpose: 'verify' };
    await expect(run(runner, verify)).rejects.toThrow(ABSENT_A);
    // Its own sources and its own copy of the tree, written from the local CAS: only the absent
    // tree had to be asked for.
    expect(fetches).toEqual([[ABSENT_A]]);
    expect(await readFile(join(workspaceOf('e1-verify'), 'src/src/P/P.cs'), 'utf8')).toBe('namespace P;\n');
    expect(
      await readFile(join(workspaceOf('e1-verify'), 'src/src/P/bin/Release/net10.0/P.dll'), 'utf8'),
    ).toBe('not really a dll');
    expect(existsSync(workspaceOf('e1'))).toBe(true);
  });

  it('keeps at most maxWorkspaces, deleting the least recently used idle ones first', async () => {
    const runner = newRunner(2);
    await expect(run(runner, input('e1', [absent(ABSENT_A)]))).rejects.toThrow();
    let open!: () => void;
    const held = new Promise<void>((resolve) => (open = resolve));
    beforeFetch = async (sha256s) => {
      if (sha256s.includes(ABSENT_B)) await held;
    };
    const busy = run(runner, input('e2', [absent(ABSENT_B)]));
    await waitUntil(() => fetches.some((batch) => batch.includes(ABSENT_B)));

    await expect(run(runner, input('e3', [absent(ABSENT_A)]))).rejects.toThrow();
    expect(existsSync(workspaceOf('e1'))).toBe(false);
    expect(existsSync(workspaceOf('e2'))).toBe(true);
    await expect(run(runner, input('e4', [absent(ABSENT_A)]))).rejects.toThrow();
    // e2 is older than e3 but still running.
    expect(existsSync(workspaceOf('e2'))).toBe(true);
    expect(existsSync(workspaceOf('e3'))).toBe(false);
    expect(existsSync(workspaceOf('e4'))).toBe(true);

    open();
    await expect(busy).rejects.toThrow(ABSENT_B);
    await runner.release('e2');
    expect(existsSync(workspaceOf('e2'))).toBe(false);
    expect(existsSync(workspaceOf('e4'))).toBe(true);
  });

  it('stops a task waiting on a fetch when its signal aborts, and release stops the rest', async () => {
    const runner = newRunner();
    // Hangs until aborted, as a fetch from a silent peer would.
    beforeFetch = (sha256s, signal) =>
      sha256s.includes(ABSENT_A)
        ? new Promise<void>((_, reject) =>
            signal.addEventListener('abort', () => reject(new Error('aborted'))),
          )
        : Promise.resolve();
    const controller = new AbortController();
    const waiting = run(runner, input('e1', [absent(ABSENT_A)]), controller.signal);
    const other = run(runner, input('e1', [absent(ABSENT_A)]));
    await waitUntil(() => fetches.some((batch) => batch.includes(ABSENT_A)));
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(OperationAbortedError);

    // Collected before release, which waits for the task to stop.
    const otherFailure = other.then(
      () => null,
      (error: unknown) => error,
    );
    await runner.release('e1');
    expect(await otherFailure).toBeInstanceOf(OperationAbortedError);
    expect(existsSync(workspaceOf('e1'))).toBe(false);
  });

  it('refuses a tree that would write through a symlink of the sources, and odd execution ids', async () => {
    const runner = newRunner();
    const dll = await putText(coordinator, 'payload');
    const escaping = await putJson(coordinator, {
      version: 1,
      projectPath: 'src/Out/X.csproj',
      configuration: 'Release',
      entries: [
        {
          kind: 'file',
          path: 'src/Out/x.dll',
          sha256: dll.sha256,
          sizeBytes: dll.sizeBytes,
          executable: false,
        },
      ],
    } satisfies ProjectOutputTree);
    await expect(
      run(runner, input('e1', [{ project: 'src/Out/X.csproj', treeSha256: escaping }])),
    ).rejects.toThrow(/symlink/);
    expect(existsSync(join(root, 'outside'))).toBe(false);

    await expect(run(runner, input('../e1', []))).rejects.toThrow(/executionId/);
    const task = input('e1', []);
    await expect(run(runner, { ...task, task: { ...task.task, project: '../x.csproj' } })).rejects.toThrow(
      /task\.project/,
    );
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
