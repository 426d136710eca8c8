import { chmod, copyFile, lstat, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { BuildMeshError } from '../core/errors.js';
import {
  isSafeRelativePath,
  sourceManifestSchema,
  type SourceManifest,
  type SourceManifestEntry,
} from '../core/source-manifest.js';
import type { ContentStore } from './content-store.js';
import { sha256OfFile } from './workspace-state.js';

/**
 * Stores every file below `directory` that `include` accepts (paths relative, with `/`) in the
 * CAS, and returns the tree's entries sorted by path. Identical files are stored once.
 */
export async function storeTree(
  directory: string,
  store: ContentStore,
  include: (path: string) => boolean,
): Promise<SourceManifestEntry[]> {
  const entries: SourceManifestEntry[] = [];
  const all = await readdir(directory, { withFileTypes: true, recursive: true });
  for (const entry of all) {
    const absolute = join(entry.parentPath, entry.name);
    const path = relative(directory, absolute).split(sep).join('/');
    if (!include(path)) continue;
    if (entry.isSymbolicLink()) {
      entries.push({ kind: 'symlink', path, target: await readlink(absolute) });
    } else if (entry.isFile()) {
      const info = await lstat(absolute);
      const stored = await store.putFile(absolute);
      entries.push({
        kind: 'file',
        path,
        sha256: stored.sha256,
        sizeBytes: stored.sizeBytes,
        executable: (info.mode & 0o111) !== 0,
      });
    }
  }
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Stores a checked-out tree (without `.git`) in the CAS and returns its manifest's sha256.
 * Identical files are stored once, however many builds or paths refer to them.
 */
export async function snapshotSources(
  directory: string,
  commit: string,
  store: ContentStore,
): Promise<{ manifestSha256: string; manifest: SourceManifest }> {
  const entries = await storeTree(directory, store, (path) => path !== '.git' && !path.startsWith('.git/'));
  const manifest: SourceManifest = { version: 1, commit, entries };
  const stored = await store.putStream(Readable.from([Buffer.from(JSON.stringify(manifest))]));
  return { manifestSha256: stored.sha256, manifest };
}

export class SourceManifestError extends BuildMeshError {
  constructor(message: string) {
    super('SourceManifestInvalid', message);
    this.name = 'SourceManifestError';
  }
}

/** Reads and validates a manifest stored in the CAS. */
export async function readManifest(store: ContentStore, manifestSha256: string): Promise<SourceManifest> {
  const chunks: Buffer[] = [];
  for await (const chunk of store.openRead(manifestSha256)) chunks.push(chunk as Buffer);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new SourceManifestError(`source manifest ${manifestSha256} is not JSON`);
  }
  const result = sourceManifestSchema.safeParse(parsed);
  if (!result.success)
    throw new SourceManifestError(`source manifest ${manifestSha256} is invalid: ${result.error.message}`);
  const symlinks = new Set(result.data.entries.filter((e) => e.kind === 'symlink').map((e) => e.path));
  for (const entry of result.data.entries) {
    if (!isSafeRelativePath(entry.path))
      throw new SourceManifestError(`source manifest path escapes the workspace: ${entry.path}`);
    // Writing below a symlink would write wherever it points.
    const segments = entry.path.split('/');
    for (let i = 1; i < segments.length; i++) {
      if (symlinks.has(segments.slice(0, i).join('/'))) {
        throw new SourceManifestError(`source manifest path goes through a symlink: ${entry.path}`);
      }
    }
  }
  return result.data;
}

/** Writes a manifest's tree into `directory` from the CAS (every blob must be present). */
export async function materializeSources(
  manifest: Pick<SourceManifest, 'entries'>,
  store: ContentStore,
  directory: string,
): Promise<void> {
  await mkdir(directory, { recursive: true });
  for (const entry of manifest.entries) {
    const target = join(directory, ...entry.path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    if (entry.kind === 'symlink') {
      await symlink(entry.target, target);
    } else {
      // A copy, never a link: a build may write to its sources, and the CAS must stay intact.
      await copyFile(store.pathOf(entry.sha256), target);
      await chmod(target, entry.executable ? 0o755 : 0o644);
    }
  }
}

/** Folders a sync keeps whatever the manifest says: build output and tool state. */
const KEPT_DIRS = new Set(['bin', 'obj', '.git', 'TestResults']);

/**
 * Makes `directory` hold a manifest's tree while keeping what an incremental build needs: files
 * whose content is unchanged are not rewritten (their timestamps stay, so MSBuild sees them as
 * up to date), files not in the manifest are deleted, and every `bin/` and `obj/` stays.
 * Returns how many files it wrote and deleted.
 */
export async function syncSources(
  manifest: Pick<SourceManifest, 'entries'>,
  store: ContentStore,
  directory: string,
): Promise<{ written: number; deleted: number }> {
  await mkdir(directory, { recursive: true });
  const wanted = new Set(manifest.entries.map((entry) => entry.path));
  let deleted = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!KEPT_DIRS.has(entry.name)) await walk(full);
        continue;
      }
      if (!wanted.has(relative(directory, full).split(sep).join('/'))) {
        await rm(full, { force: true });
        deleted++;
      }
    }
  };
  await walk(directory);
  let written = 0;
  for (const entry of manifest.entries) {
    const target = join(directory, ...entry.path.split('/'));
    const existing = await lstat(target).catch(() => null);
    if (entry.kind === 'symlink') {
      if (existing?.isSymbolicLink() && (await readlink(target)) === entry.target) continue;
    } else if (
      existing?.isFile() &&
      ((existing.mode & 0o111) !== 0) === entry.executable &&
      (await sha256OfFile(target)) === entry.sha256
    ) {
      continue;
    }
    if (existing) await rm(target, { recursive: true, force: true });
    await mkdir(dirname(target), { recursive: true });
    if (entry.kind === 'symlink') {
      await symlink(entry.target, target);
    } else {
      await copyFile(store.pathOf(entry.sha256), target);
      await chmod(target, entry.executable ? 0o755 : 0o644);
    }
    written++;
  }
  return { written, deleted };
}
