import { createHash } from 'node:crypto';
import { InvalidCacheKeyInputError, type FieldProblem } from './errors.js';
import { isAbsolutePath, normaliseRepoPath } from './solution-graph.js';

/**
 * The cache key of a project task (DESIGN.md §4): sha256 over a canonical encoding of everything that
 * can change the task's outputs, and nothing that depends on the machine computing it.
 *
 * Every input becomes one {@link InputDigest} (`kind`, `name`, `digest`); the key is the sha256 of the
 * digests sorted by kind and name, each field length-prefixed, behind a format tag. The digest list is
 * stored with the cache entry, so a later miss can say which input changed ({@link explainMiss}).
 * Digests only, never values: properties may hold secrets.
 */

/**
 * What a task does:
 * - `build` — restore and build one project with `-p:BuildProjectReferences=false`;
 * - `test` — `dotnet test` on a built test project;
 * - `pack` — `dotnet pack` on a built project.
 */
export type TaskKind = 'build' | 'test' | 'pack';

/** Every task kind, in a fixed order. */
export const TASK_KINDS: readonly TaskKind[] = ['build', 'test', 'pack'];

/**
 * Tag of the encoding. Change it whenever the encoding or the meaning of an input changes, so keys of
 * the old scheme can never collide with new ones.
 */
export const CACHE_KEY_FORMAT = 'buildmesh-cache-key/1';

/** A file by its path relative to the repository root and the lowercase hex sha256 of its bytes. */
export interface FileDigest {
  /** Relative to the repository root, `/`-separated, canonical (`src/A/Class1.cs`). */
  path: string;
  sha256: string;
}

/** A referenced project and the digest that stands for it: its task's cache key or its output tree's hash. */
export interface ReferenceDigest {
  /** The referenced project's path relative to the repository root. */
  project: string;
  /** Lowercase hex sha256. */
  digest: string;
}

/** Everything a task's outputs depend on. */
export interface CacheKeyInput {
  kind: TaskKind;
  /** The project file. */
  project: FileDigest;
  /** The project's input files from MSBuild evaluation (Compile, EmbeddedResource, None, Content…), any order. */
  inputs: readonly FileDigest[];
  /**
   * Files that shape the build without being items: `Directory.Build.*`, `Directory.Packages.props`,
   * `global.json`, `NuGet.config`, `.editorconfig`, lock files ({@link ambientFilesFor} picks them).
   * A file listed both here and in `inputs` counts once.
   */
  ambient: readonly FileDigest[];
  /** The referenced projects (direct references; their keys cover theirs), any order. */
  references: readonly ReferenceDigest[];
  /** `Debug`, `Release`… */
  configuration: string;
  /** The TFM being built (`net10.0`), or `''` for the project's own choice. */
  targetFramework: string;
  /** `linux-x64`…, or `''` for none. */
  runtimeIdentifier: string;
  /** `AnyCPU`, `x64`… */
  platform: string;
  /** Global build properties (`-p:Name=Value`), any order. */
  properties: Readonly<Record<string, string>>;
  /** The .NET SDK version that runs the task (`10.0.401`). */
  sdkVersion: string;
}

/**
 * The kind of one input of a key:
 * - `file` — a repository file (project file, evaluated input, ambient file); `name` is its path;
 * - `reference` — a referenced project; `name` is its path;
 * - `setting` — a field of the task (`kind`, `project`, `configuration`, `targetFramework`,
 *   `runtimeIdentifier`, `platform`, `sdkVersion`);
 * - `property` — a global build property; `name` is the property name.
 */
export type CacheInputKind = 'file' | 'reference' | 'setting' | 'property';

/** One input of a key. `digest` is the file's sha256, the reference's digest, or the sha256 of the value. */
export interface InputDigest {
  kind: CacheInputKind;
  name: string;
  digest: string;
}

/** A task's cache key and the inputs it was computed from (sorted by kind, then name). */
export interface CacheKey {
  /** Lowercase hex sha256. */
  key: string;
  inputs: InputDigest[];
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const KIND_ORDER: Record<CacheInputKind, number> = { setting: 0, property: 1, file: 2, reference: 3 };

/**
 * Computes a task's cache key. The order of `inputs`, `ambient`, `references` and `properties` does
 * not matter; any change of a path, a content hash, a reference digest, a setting or a property does.
 *
 * @throws InvalidCacheKeyInputError listing every problem: absolute or non-canonical paths, malformed
 *   digests, one path with two different hashes, values that are absolute paths, empty required fields
 */
export function computeCacheKey(input: CacheKeyInput): CacheKey {
  const problems: FieldProblem[] = [];
  const entries: InputDigest[] = [];

  if (!TASK_KINDS.includes(input.kind))
    problems.push({ field: 'kind', message: `unknown task kind '${String(input.kind)}'` });
  const settings: [string, string, boolean][] = [
    ['kind', input.kind, true],
    ['project', input.project.path, true],
    ['configuration', input.configuration, true],
    ['targetFramework', input.targetFramework, false],
    ['runtimeIdentifier', input.runtimeIdentifier, false],
    ['platform', input.platform, true],
    ['sdkVersion', input.sdkVersion, true],
  ];
  for (const [name, value, required] of settings) {
    if (required && value.trim() === '') problems.push({ field: name, message: 'must not be empty' });
    if (name !== 'project') checkNoAbsolutePath(name, value, problems);
    entries.push({ kind: 'setting', name, digest: sha256Hex(value) });
  }

  const seenProperties = new Map<string, string>();
  for (const [name, value] of Object.entries(input.properties)) {
    const field = `properties.${name}`;
    if (!/^[A-Za-z_][\w.-]*$/.test(name))
      problems.push({ field, message: 'not a valid MSBuild property name' });
    // MSBuild property names are case-insensitive: two spellings are one property set twice.
    const lower = name.toLowerCase();
    const other = seenProperties.get(lower);
    if (other !== undefined) problems.push({ field, message: `same property as '${other}'` });
    seenProperties.set(lower, name);
    checkNoAbsolutePath(field, value, problems);
    entries.push({ kind: 'property', name, digest: sha256Hex(value) });
  }

  const files = new Map<string, string>();
  const addFile = (field: string, file: FileDigest): void => {
    if (!checkRepoPath(field, file.path, problems)) return;
    if (!SHA256_HEX.test(file.sha256)) {
      problems.push({ field, message: `'${file.sha256}' is not a lowercase hex sha256` });
      return;
    }
    const known = files.get(file.path);
    if (known !== undefined && known !== file.sha256) {
      problems.push({ field, message: `'${file.path}' is listed with two different hashes` });
    }
    files.set(file.path, file.sha256);
  };
  addFile('project', input.project);
  input.inputs.forEach((file, index) => addFile(`inputs[${index}]`, file));
  input.ambient.forEach((file, index) => addFile(`ambient[${index}]`, file));
  for (const [path, sha256] of files) entries.push({ kind: 'file', name: path, digest: sha256 });

  const references = new Map<string, string>();
  input.references.forEach((reference, index) => {
    const field = `references[${index}]`;
    if (!checkRepoPath(field, reference.project, problems)) return;
    if (!SHA256_HEX.test(reference.digest)) {
      problems.push({ field, message: `'${reference.digest}' is not a lowercase hex sha256` });
      return;
    }
    if (reference.project === input.project.path)
      problems.push({ field, message: 'a project cannot reference itself' });
    const known = references.get(reference.project);
    if (known !== undefined && known !== reference.digest) {
      problems.push({ field, message: `'${reference.project}' is listed with two different digests` });
    }
    references.set(reference.project, reference.digest);
  });
  for (const [project, digest] of references) entries.push({ kind: 'reference', name: project, digest });

  if (problems.length > 0) throw new InvalidCacheKeyInputError(problems);
  const inputs = sortInputs(entries);
  return { key: hashInputs(inputs), inputs };
}

/**
 * The key for a stored digest list: what {@link computeCacheKey} returned as `key` for the same inputs.
 * Lets a receiver check that an entry's recorded inputs match its key.
 */
export function cacheKeyFromInputs(inputs: readonly InputDigest[]): string {
  return hashInputs(sortInputs(inputs));
}

/** Kind first, then name in ordinal order: the same on every machine and locale. */
function compareInputs(
  a: { kind: CacheInputKind; name: string },
  b: { kind: CacheInputKind; name: string },
): number {
  return KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function sortInputs(inputs: readonly InputDigest[]): InputDigest[] {
  return [...inputs].sort(compareInputs);
}

function hashInputs(sorted: readonly InputDigest[]): string {
  // Every field is length-prefixed (its UTF-8 byte count): no choice of names or values can make two
  // input lists encode alike. One string, hashed once: planning hashes thousands of these.
  const parts: string[] = [];
  const write = (value: string): void => {
    parts.push(`${Buffer.byteLength(value, 'utf8')}:`, value);
  };
  write(CACHE_KEY_FORMAT);
  write(String(sorted.length));
  for (const entry of sorted) {
    write(entry.kind);
    write(entry.name);
    write(entry.digest);
  }
  return createHash('sha256').update(parts.join(''), 'utf8').digest('hex');
}

/** The lowercase hex sha256 of a string (UTF-8) or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function checkRepoPath(field: string, path: string, problems: FieldProblem[]): boolean {
  if (isAbsolutePath(path)) {
    problems.push({
      field,
      message: `'${path}' is an absolute path; cache keys hold repository-relative paths only`,
    });
    return false;
  }
  let canonical: string;
  try {
    canonical = normaliseRepoPath(path);
  } catch (error) {
    problems.push({ field, message: error instanceof Error ? error.message : String(error) });
    return false;
  }
  if (canonical !== path) {
    problems.push({ field, message: `'${path}' is not canonical; expected '${canonical}'` });
    return false;
  }
  return true;
}

/** Values are checked piece by piece (MSBuild lists split on `;`) for anything that is an absolute path. */
function checkNoAbsolutePath(field: string, value: string, problems: FieldProblem[]): void {
  if (value.split(/[;,]/).some((part) => isAbsolutePath(part))) {
    problems.push({
      field,
      message: 'holds an absolute path; the key must not depend on where the repository is',
    });
  }
}

/** One input that differs between a previous entry and now. */
export interface InputChange {
  kind: CacheInputKind;
  name: string;
  change: 'added' | 'removed' | 'modified';
}

/**
 * Why a key missed:
 * - `no-entry` — the cache has never held an entry for this project and task;
 * - `changed` — these inputs differ from the last entry's (`inputs` labels them for people:
 *   a file's path, `reference src/B/B.csproj`, `property Foo`, `configuration`);
 * - `inputs-unchanged` — the last entry had the same inputs, so it is gone: expired, evicted or
 *   rejected (a hash or signature that did not verify).
 */
export type MissExplanation =
  | { reason: 'no-entry' }
  | { reason: 'changed'; inputs: string[]; changes: InputChange[] }
  | { reason: 'inputs-unchanged' };

/**
 * Compares the inputs of the last cache entry for the same project and task with the current ones.
 *
 * @param previous the digest list stored with the last entry, or `undefined` when there is none
 */
export function explainMiss(
  previous: readonly InputDigest[] | undefined,
  current: readonly InputDigest[],
): MissExplanation {
  if (previous === undefined) return { reason: 'no-entry' };
  const id = (entry: InputDigest): string => `${entry.kind}\u0000${entry.name}`;
  const before = new Map(previous.map((entry) => [id(entry), entry]));
  const after = new Map(current.map((entry) => [id(entry), entry]));
  const changes: InputChange[] = [];
  for (const entry of sortInputs(current)) {
    const old = before.get(id(entry));
    if (old === undefined) changes.push({ kind: entry.kind, name: entry.name, change: 'added' });
    else if (old.digest !== entry.digest)
      changes.push({ kind: entry.kind, name: entry.name, change: 'modified' });
  }
  for (const entry of sortInputs(previous)) {
    if (!after.has(id(entry))) changes.push({ kind: entry.kind, name: entry.name, change: 'removed' });
  }
  if (changes.length === 0) return { reason: 'inputs-unchanged' };
  changes.sort(compareInputs);
  return { reason: 'changed', inputs: changes.map(describeInput), changes };
}

function describeInput(change: InputChange): string {
  switch (change.kind) {
    case 'file':
      return change.name;
    case 'reference':
      return `reference ${change.name}`;
    case 'property':
      return `property ${change.name}`;
    case 'setting':
      return change.name;
  }
}

/** File names that shape every project below their folder (compared case-insensitively). */
const ANCESTOR_FILES: readonly string[] = [
  'directory.build.props',
  'directory.build.targets',
  'directory.build.rsp',
  'directory.packages.props',
  'global.json',
  'nuget.config',
  '.editorconfig',
  '.globalconfig',
];

/**
 * The repository files outside a project's items that can change its build: in the project's folder
 * and every folder above it, `Directory.Build.props/.targets/.rsp`, `Directory.Packages.props`,
 * `global.json`, `NuGet.config`, `.editorconfig` and `.globalconfig`; in the project's own folder, its
 * NuGet lock file (`packages.lock.json` or `packages.<project>.lock.json`).
 *
 * Deliberately generous: MSBuild imports only the nearest `Directory.Build.props` unless it imports
 * the next one up itself, but taking every one costs at most a needless miss, never a wrong hit.
 *
 * @param projectPath the project file, relative to the repository root
 * @param repoFiles every file of the repository (`git ls-files`), relative to its root
 * @returns the applicable files, sorted
 */
export function ambientFilesFor(projectPath: string, repoFiles: Iterable<string>): string[] {
  return ambientFilesAmong(projectPath, ambientCandidates(repoFiles));
}

/**
 * The files of the repository that could be ambient to some project (by name): computed once, it
 * makes {@link ambientFilesAmong} cost per project the number of such files, not of every file.
 */
export function ambientCandidates(repoFiles: Iterable<string>): string[] {
  const found: string[] = [];
  for (const file of repoFiles) {
    const name = file.slice(file.lastIndexOf('/') + 1).toLowerCase();
    if (ANCESTOR_FILES.includes(name) || /^packages(\..+)?\.lock\.json$/.test(name)) found.push(file);
  }
  return found;
}

/** {@link ambientFilesFor} over candidates from {@link ambientCandidates}. */
export function ambientFilesAmong(projectPath: string, repoFiles: Iterable<string>): string[] {
  const project = normaliseRepoPath(projectPath);
  const slash = project.lastIndexOf('/');
  const projectDir = slash < 0 ? '' : project.slice(0, slash);
  const projectStem = project
    .slice(slash + 1)
    .replace(/\.[^.]+$/, '')
    .toLowerCase();
  const lockFiles = ['packages.lock.json', `packages.${projectStem}.lock.json`];
  const found: string[] = [];
  for (const file of repoFiles) {
    const fileSlash = file.lastIndexOf('/');
    const dir = fileSlash < 0 ? '' : file.slice(0, fileSlash);
    const name = file.slice(fileSlash + 1).toLowerCase();
    const isAncestor = dir === '' || projectDir === dir || projectDir.startsWith(`${dir}/`);
    if (isAncestor && ANCESTOR_FILES.includes(name)) found.push(file);
    else if (dir === projectDir && lockFiles.includes(name)) found.push(file);
  }
  return found.sort();
}
