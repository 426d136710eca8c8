import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

/**
 * What a persistent (Incremental) workspace remembers between builds, in `state.json` beside its
 * sources: when and at which commit it last restored and with which restore inputs, and the test
 * cache key of each test project at its last successful test run.
 */
export interface WorkspaceState {
  format: 1;
  /** Repository URL (credentials masked) and solution, for people reading the file. */
  repository: string;
  solutionPath: string;
  lastUsedAt: string;
  lastCommit: string | null;
  /** The last successful restore: its inputs (path → sha256) and settings; null before the first. */
  restore: { commit: string; settings: string; inputs: Record<string, string> } | null;
  /** Test project → the cache key of its test task at its last successful run. */
  testKeys: Record<string, string>;
}

export function emptyWorkspaceState(repository: string, solutionPath: string): WorkspaceState {
  return {
    format: 1,
    repository,
    solutionPath,
    lastUsedAt: new Date().toISOString(),
    lastCommit: null,
    restore: null,
    testKeys: {},
  };
}

export async function readWorkspaceState(path: string): Promise<WorkspaceState | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as Partial<WorkspaceState>;
    if (parsed.format !== 1 || typeof parsed.testKeys !== 'object' || parsed.testKeys === null) return null;
    return parsed as WorkspaceState;
  } catch {
    return null;
  }
}

export async function writeWorkspaceState(path: string, state: WorkspaceState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${randomUUID()}.tmp`;
  await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temp, path);
}

/** Folders that hold build output or tooling state, never sources. */
const NON_SOURCE_DIRS = new Set(['.git', 'bin', 'obj', 'TestResults', '.vs', '.buildmesh']);

/** Every source file below `root` (not in bin/, obj/, .git/ …): repository path → sha256. */
export async function digestSourceFiles(root: string): Promise<Map<string, string>> {
  const digests = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!NON_SOURCE_DIRS.has(entry.name)) await walk(full);
      } else if (entry.isFile()) {
        digests.set(relative(root, full).split(sep).join('/'), await sha256OfFile(full));
      }
    }
  };
  await walk(root);
  return new Map([...digests].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Project files, `Directory.*` files, lock files, NuGet.config and global.json: what restore reads. */
const RESTORE_INPUT =
  /(^|\/)(directory\.[^/]+|[^/]+\.(csproj|fsproj|vbproj|proj|sln|slnx|props|targets)|packages(\.[^/]*)?\.lock\.json|nuget\.config|global\.json)$/i;

export function restoreInputsOf(digests: ReadonlyMap<string, string>): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const [path, sha256] of digests) if (RESTORE_INPUT.test(path)) inputs[path] = sha256;
  return inputs;
}

/** The paths added, removed or changed between two digest maps, sorted. */
export function changedPaths(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): string[] {
  const paths = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...paths].filter((path) => before[path] !== after[path]).sort();
}
