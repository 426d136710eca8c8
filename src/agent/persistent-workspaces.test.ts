import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../core/ports.js';
import { ContentStore } from './content-store.js';
import { PersistentWorkspaces, persistentWorkspaceKey } from './persistent-workspaces.js';
import { storeTree, syncSources } from './source-snapshot.js';
import {
  changedPaths,
  digestSourceFiles,
  emptyWorkspaceState,
  restoreInputsOf,
  writeWorkspaceState,
} from './workspace-state.js';

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'buildmesh-workspaces-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, ...path.split('/').slice(0, -1)), { recursive: true });
    await writeFile(join(root, ...path.split('/')), text);
  }
}

describe('persistentWorkspaceKey', () => {
  it('is one key per repository and solution, whatever the credentials or a trailing .git', () => {
    const key = persistentWorkspaceKey('https://example.com/org/repo.git', 'App.sln');
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(persistentWorkspaceKey('https://user:secret@example.com/org/repo', 'App.sln')).toBe(key);
    expect(persistentWorkspaceKey('https://example.com/org/repo', 'Other.sln')).not.toBe(key);
  });
});

describe('PersistentWorkspaces', () => {
  it('lets one build at a time use a workspace', () => {
    const workspaces = new PersistentWorkspaces({ root: '/nowhere', budgetBytes: 0, logger: silent });
    const lease = workspaces.tryAcquire('k');
    expect(lease?.dir).toBe(join('/nowhere', '.repos', 'k'));
    expect(workspaces.tryAcquire('k')).toBeNull();
    lease?.release();
    expect(workspaces.tryAcquire('k')).not.toBeNull();
  });

  it('evicts the least recently used workspaces past the budget, never one in use', async () => {
    const root = await tempDir();
    const workspaces = new PersistentWorkspaces({ root, budgetBytes: 2500, logger: silent });
    for (const [key, day] of [
      ['old', 1],
      ['mid', 2],
      ['new', 3],
    ] as const) {
      const dir = workspaces.pathOf(key);
      await writeTree(dir, { 'src/obj/big.bin': 'x'.repeat(1000) });
      await writeWorkspaceState(join(dir, 'state.json'), {
        ...emptyWorkspaceState('repo', 'App.sln'),
        lastUsedAt: `2026-01-0${day}T00:00:00.000Z`,
      });
    }
    const busy = workspaces.tryAcquire('old');
    const evicted = await workspaces.evict();
    expect(evicted).toEqual(['mid']);
    expect((await readdir(workspaces.directory)).sort()).toEqual(['new', 'old']);
    busy?.release();
    await writeTree(workspaces.pathOf('newest'), { 'src/obj/big.bin': 'x'.repeat(1000) });
    await writeWorkspaceState(join(workspaces.pathOf('newest'), 'state.json'), {
      ...emptyWorkspaceState('repo', 'App.sln'),
      lastUsedAt: '2026-01-04T00:00:00.000Z',
    });
    expect(await workspaces.evict()).toEqual(['old']);
  });
});

describe('workspace state', () => {
  it('digests sources but not build output, and picks the restore inputs', async () => {
    const root = await tempDir();
    await writeTree(root, {
      'App.sln': 'sln',
      'Directory.Build.props': '<Project />',
      'NuGet.config': '<configuration />',
      'src/A/A.csproj': '<Project />',
      'src/A/Code.cs': 'class A {}',
      'src/A/packages.lock.json': '{}',
      'src/A/obj/project.assets.json': '{}',
      'src/A/bin/Release/A.dll': 'dll',
      '.git/HEAD': 'ref',
    });
    const digests = await digestSourceFiles(root);
    expect([...digests.keys()]).toEqual([
      'App.sln',
      'Directory.Build.props',
      'NuGet.config',
      'src/A/A.csproj',
      'src/A/Code.cs',
      'src/A/packages.lock.json',
    ]);
    const inputs = restoreInputsOf(digests);
    expect(Object.keys(inputs)).not.toContain('src/A/Code.cs');
    expect(Object.keys(inputs)).toHaveLength(5);
    expect(changedPaths(inputs, { ...inputs, 'src/A/A.csproj': 'other', 'src/B/B.csproj': 'new' })).toEqual([
      'src/A/A.csproj',
      'src/B/B.csproj',
    ]);
  });
});

describe('syncSources', () => {
  it('writes only changed files, deletes files gone from the tree, and keeps bin/ and obj/', async () => {
    const root = await tempDir();
    const store = new ContentStore(join(root, 'cas'));
    const source = join(root, 'source');
    await writeTree(source, { 'a.cs': 'a', 'b.cs': 'b', 'sub/c.cs': 'c' });
    const first = await storeTree(source, store, () => true);

    const target = join(root, 'target');
    expect(await syncSources({ entries: first }, store, target)).toEqual({ written: 3, deleted: 0 });
    await writeTree(target, { 'obj/state.txt': 'keep', 'bin/A.dll': 'keep', 'stray.cs': 'gone' });
    const old = new Date('2020-01-01T00:00:00Z');
    await utimes(join(target, 'a.cs'), old, old);

    await rm(join(source, 'sub'), { recursive: true });
    await writeTree(source, { 'b.cs': 'b2' });
    const second = await storeTree(source, store, () => true);
    expect(await syncSources({ entries: second }, store, target)).toEqual({ written: 1, deleted: 2 });
    expect(await readFile(join(target, 'b.cs'), 'utf8')).toBe('b2');
    expect((await stat(join(target, 'a.cs'))).mtime.toISOString()).toBe(old.toISOString());
    expect(await readFile(join(target, 'obj', 'state.txt'), 'utf8')).toBe('keep');
    expect(await readFile(join(target, 'bin', 'A.dll'), 'utf8')).toBe('keep');
    expect((await readdir(target)).sort()).toEqual(['a.cs', 'b.cs', 'bin', 'obj', 'sub']);
  });
});
