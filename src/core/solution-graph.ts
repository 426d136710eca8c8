import { CycleDetectedError, InvalidGraphError, InvalidRepoPathError } from './errors.js';

/**
 * The project graph of a solution: which projects a `.sln`/`.slnx` lists, which projects each one
 * references, in which order they can be built and which can be built side by side.
 *
 * Pure text processing: callers read the files. Every path is relative to the repository root, with
 * `/` separators (`src/A/A.csproj`), whatever the solution or project file wrote (`src\A\A.csproj`).
 * The text scan here is for the graph only; project inputs come from MSBuild evaluation
 * (`src/agent/project-evaluation.ts`), which also resolves references built from properties.
 */

/** Extensions of the project files dotnet builds as projects of a solution. */
export const BUILDABLE_PROJECT_EXTENSIONS: readonly string[] = ['.csproj', '.fsproj', '.vbproj'];

/** The type GUID of a solution folder in a `.sln` (a folder, not a project). */
export const SOLUTION_FOLDER_TYPE_GUID = '2150E333-8FDC-42A3-9474-1A3956D46DE8';

/** One project a solution lists. */
export interface SolutionProject {
  /** Relative to the repository root, `/`-separated: `src/A/A.csproj`. */
  path: string;
  /** The name the solution gives it (`.sln`), or the file name without extension (`.slnx`). */
  name: string;
  /** The solution folder holding it, `/`-separated without slashes at the ends (`src/libs`); `''` at the top. */
  folder: string;
}

/** An entry of a solution that is not a buildable project (shared `.shproj`, `.sqlproj`, web site folder…). */
export interface SkippedSolutionEntry {
  /** As written in the solution, `/`-separated. */
  path: string;
  reason: string;
}

/** What a solution file lists. */
export interface ParsedSolution {
  /** Buildable projects, in the order the solution lists them. */
  projects: SolutionProject[];
  /** Solution folder paths (`src`, `src/libs`), sorted. They are not projects. */
  folders: string[];
  /** Entries that are not buildable projects. */
  skipped: SkippedSolutionEntry[];
}

/** A solution entry with its path still relative to the solution file's directory. */
interface SolutionEntry {
  path: string;
  name: string;
  folder: string;
}

/**
 * Parses a `.sln` or `.slnx` (chosen by the extension of `solutionPath`) and resolves its project
 * paths against the solution's directory.
 *
 * @param solutionPath the solution's path relative to the repository root (`Fixture.sln`, `build/All.slnx`)
 * @throws InvalidRepoPathError when a project path is absolute or leaves the repository
 * @throws InvalidGraphError when the text is not a solution of that format
 */
export function parseSolution(solutionPath: string, text: string): ParsedSolution {
  const normalisedSolution = normaliseRepoPath(solutionPath);
  const lower = normalisedSolution.toLowerCase();
  let parsed: { entries: SolutionEntry[]; folders: string[] };
  if (lower.endsWith('.slnx')) parsed = parseSlnx(text);
  else if (lower.endsWith('.sln')) parsed = parseSln(text);
  else throw new InvalidGraphError([`'${solutionPath}' is neither a .sln nor a .slnx file`]);

  const solutionDir = parentDirectory(normalisedSolution);
  const projects: SolutionProject[] = [];
  const skipped: SkippedSolutionEntry[] = [];
  const seen = new Set<string>();
  for (const entry of parsed.entries) {
    if (!isBuildableProjectPath(entry.path)) {
      skipped.push({ path: entry.path, reason: 'not a .csproj, .fsproj or .vbproj project' });
      continue;
    }
    const path = resolveRepoPath(solutionDir, entry.path);
    if (seen.has(path)) continue;
    seen.add(path);
    projects.push({ path, name: entry.name, folder: entry.folder });
  }
  return { projects, folders: parsed.folders, skipped };
}

const SLN_HEADER = /Microsoft Visual Studio Solution File, Format Version/;
const SLN_PROJECT =
  /^Project\("\{([0-9A-Fa-f-]+)\}"\)\s*=\s*"([^"]*)"\s*,\s*"([^"]*)"\s*,\s*"\{([0-9A-Fa-f-]+)\}"/;
const SLN_NESTING = /^\{([0-9A-Fa-f-]+)\}\s*=\s*\{([0-9A-Fa-f-]+)\}$/;

/**
 * Reads the `Project(...)` lines of a `.sln`, telling solution folders from projects by their type
 * GUID, and places each project in its folder through the `NestedProjects` section.
 */
function parseSln(text: string): { entries: SolutionEntry[]; folders: string[] } {
  if (!SLN_HEADER.test(text)) throw new InvalidGraphError(['not a .sln file: the format header is missing']);
  const entries: { guid: string; name: string; path: string; isFolder: boolean }[] = [];
  const parentOf = new Map<string, string>();
  let inNesting = false;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    const project = SLN_PROJECT.exec(line);
    if (project) {
      const [, type = '', name = '', path = '', guid = ''] = project;
      entries.push({
        guid: guid.toUpperCase(),
        name,
        path: path.replaceAll('\\', '/'),
        isFolder: type.toUpperCase() === SOLUTION_FOLDER_TYPE_GUID,
      });
      continue;
    }
    if (/^GlobalSection\(NestedProjects\)/.test(line)) inNesting = true;
    else if (line === 'EndGlobalSection') inNesting = false;
    else if (inNesting) {
      const nesting = SLN_NESTING.exec(line);
      if (nesting) parentOf.set((nesting[1] ?? '').toUpperCase(), (nesting[2] ?? '').toUpperCase());
    }
  }

  const folderName = new Map(
    entries.filter((entry) => entry.isFolder).map((entry) => [entry.guid, entry.name]),
  );
  const folderPath = (guid: string | undefined): string => {
    const names: string[] = [];
    const visited = new Set<string>();
    // A broken file could nest folders in a loop; stop at the first repeat.
    while (guid !== undefined && folderName.has(guid) && !visited.has(guid)) {
      visited.add(guid);
      names.unshift(folderName.get(guid) ?? '');
      guid = parentOf.get(guid);
    }
    return names.join('/');
  };
  const folders = [...folderName.keys()].map((guid) => folderPath(guid)).sort();
  const projects = entries
    .filter((entry) => !entry.isFolder)
    .map((entry) => ({ path: entry.path, name: entry.name, folder: folderPath(parentOf.get(entry.guid)) }));
  return { entries: projects, folders };
}

const XML_COMMENT = /<!--[\s\S]*?-->/g;
const XML_TAG = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
const XML_ATTRIBUTE = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/**
 * Reads a `.slnx`: `<Folder Name="/src/libs/">` elements (nested or not) and the `<Project Path="…">`
 * elements inside them or at the top level. `<File>` entries are solution items, not projects.
 */
function parseSlnx(text: string): { entries: SolutionEntry[]; folders: string[] } {
  const stripped = text.replace(XML_COMMENT, '');
  const entries: SolutionEntry[] = [];
  const folders = new Set<string>();
  const folderStack: string[] = [];
  let sawSolution = false;
  for (const tag of stripped.matchAll(XML_TAG)) {
    const [, closing = '', element = '', attributeText = '', selfClosing = ''] = tag;
    if (element === 'Solution') {
      sawSolution = true;
      continue;
    }
    if (element === 'Folder') {
      if (closing) {
        folderStack.pop();
        continue;
      }
      const name = readAttributes(attributeText).get('Name') ?? '';
      const folder = name.replaceAll('\\', '/').replace(/^\/+|\/+$/g, '');
      // A .slnx folder name is its full path (`/src/libs/`): folders are not nested as elements.
      if (folder !== '') folders.add(folder);
      if (!selfClosing) folderStack.push(folder);
      continue;
    }
    if (element === 'Project' && !closing) {
      const path = readAttributes(attributeText).get('Path');
      if (path === undefined || path.trim() === '') continue;
      const normalised = path.trim().replaceAll('\\', '/');
      entries.push({ path: normalised, name: fileStem(normalised), folder: folderStack.at(-1) ?? '' });
    }
  }
  if (!sawSolution) throw new InvalidGraphError(['not a .slnx file: no <Solution> element']);
  return { entries, folders: [...folders].sort() };
}

function readAttributes(text: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const match of text.matchAll(XML_ATTRIBUTE)) {
    attributes.set(match[1] ?? '', decodeXmlEntities(match[2] ?? match[3] ?? ''));
  }
  return attributes;
}

function decodeXmlEntities(value: string): string {
  return value.replace(/&(#x[0-9A-Fa-f]+|#\d+|amp|lt|gt|quot|apos);/g, (_entity, body: string) => {
    switch (body) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default:
        return String.fromCodePoint(
          body.startsWith('#x') ? Number.parseInt(body.slice(2), 16) : Number.parseInt(body.slice(1), 10),
        );
    }
  });
}

/** The `ProjectReference`s of one project file. */
export interface ProjectReferenceScan {
  /** Referenced project paths relative to the repository root, in document order, without repeats. */
  references: string[];
  /**
   * `Include` values the text scan cannot resolve (built from `$(Property)`, item transforms or
   * wildcards), as written. MSBuild evaluation resolves them; a graph built without it misses those edges.
   */
  unresolved: string[];
}

/**
 * Scans a project file's `<ProjectReference Include="…">` items (several separated by `;` allowed) and
 * resolves them against the project's folder: `..\B\B.csproj` in `src/A/A.csproj` is `src/B/B.csproj`.
 * Conditions are not evaluated.
 *
 * @param projectPath the project's path relative to the repository root
 * @throws InvalidRepoPathError when a reference is absolute or leaves the repository
 */
export function parseProjectReferences(projectPath: string, text: string): ProjectReferenceScan {
  const projectDir = parentDirectory(normaliseRepoPath(projectPath));
  const references: string[] = [];
  const unresolved: string[] = [];
  const stripped = text.replace(XML_COMMENT, '');
  for (const tag of stripped.matchAll(XML_TAG)) {
    const [, closing = '', element = '', attributeText = ''] = tag;
    if (element !== 'ProjectReference' || closing) continue;
    const include = readAttributes(attributeText).get('Include');
    if (include === undefined) continue;
    for (const value of include.split(';')) {
      const item = value.trim();
      if (item === '') continue;
      if (/[$@%*?]/.test(item)) {
        unresolved.push(item);
        continue;
      }
      const resolved = resolveRepoPath(projectDir, item);
      if (!references.includes(resolved)) references.push(resolved);
    }
  }
  return { references, unresolved };
}

/** A node of the project graph. */
export interface ProjectNode {
  /** Relative to the repository root: `src/A/A.csproj`. */
  path: string;
  /** The project file name without extension: `A`. */
  name: string;
  /** Paths of the projects it references, sorted, without repeats; every one is a node of the graph. */
  references: string[];
}

/** The project graph: every node, sorted by path. It is acyclic and closed under references. */
export interface SolutionGraph {
  projects: ProjectNode[];
}

/** What the graph is built from: a project and the projects it references. */
export interface ProjectReferences {
  path: string;
  references: readonly string[];
}

/**
 * Builds and checks the project graph. Every referenced project must be in `projects`: a reference
 * to a project the solution does not list is still built by dotnet, so the caller adds it (read its
 * file, scan its references, repeat) before calling this.
 *
 * @throws InvalidRepoPathError when a path is absolute or leaves the repository
 * @throws InvalidGraphError on a duplicate project or a reference to a project not in the list
 * @throws CycleDetectedError naming the cycle: `A.csproj → B.csproj → A.csproj`
 */
export function buildSolutionGraph(projects: readonly ProjectReferences[]): SolutionGraph {
  const nodes: ProjectNode[] = projects.map((project) => {
    const path = normaliseRepoPath(project.path);
    const references = [
      ...new Set(project.references.map((reference) => normaliseRepoPath(reference))),
    ].sort();
    return { path, name: fileStem(path), references };
  });
  nodes.sort((a, b) => compareStrings(a.path, b.path));
  const describe = (cycle: readonly string[]): string[] => {
    const stems = cycle.map((path) => fileName(path));
    // Two projects with the same file name in one cycle: show full paths, or the message would lie.
    const ambiguous = new Set(stems).size < new Set(cycle).size;
    return ambiguous ? [...cycle] : stems;
  };
  sortTopologically(
    nodes.map((node) => ({ id: node.path, dependencies: node.references })),
    { what: 'Project reference', describeCycle: describe, dependencyName: 'reference' },
  );
  return { projects: nodes };
}

/**
 * The projects in build order: every project after the projects it references. Ties are broken by
 * path, so the order is a function of the graph alone.
 */
export function topologicalOrder(graph: SolutionGraph): string[] {
  return sortTopologically(toGraphNodes(graph)).order;
}

/**
 * Topological levels ("waves"): wave 0 holds the projects that reference nothing, wave n the projects
 * whose references are all in earlier waves and at least one in wave n-1. Each wave is sorted by path.
 */
export function topologicalWaves(graph: SolutionGraph): string[][] {
  return sortTopologically(toGraphNodes(graph)).levels;
}

function toGraphNodes(graph: SolutionGraph): GraphNode[] {
  return graph.projects.map((project) => ({ id: project.path, dependencies: project.references }));
}

/** A node of any dependency graph: it can run once all of `dependencies` have. */
export interface GraphNode {
  id: string;
  dependencies: readonly string[];
}

/** The result of {@link sortTopologically}. */
export interface TopologicalSort {
  /** Every id, each after all of its dependencies; ties broken by id. */
  order: string[];
  /** Topological levels: level 0 has no dependencies; each level sorted by id. */
  levels: string[][];
  /** The level of each id. */
  levelOf: Map<string, number>;
}

/** How {@link sortTopologically} names things in its errors. */
export interface TopologicalSortOptions {
  /** What the edges are, for messages: `Project reference` gives "Project reference cycle: …". Default `Dependency`. */
  what?: string;
  /** What one dependency is called in "unknown …" messages. Default `dependency`. */
  dependencyName?: string;
  /** Display names for the ids of a cycle (same length, same order). Default: the ids. */
  describeCycle?: (cycle: readonly string[]) => string[];
}

/**
 * Kahn's algorithm, level by level, over a generic dependency graph: O(E + V log V). Used for the project graph and the
 * task graph alike.
 *
 * @throws InvalidGraphError on duplicate ids or dependencies on unknown ids (all of them listed)
 * @throws CycleDetectedError naming one cycle, in dependency direction: `a → b → a` means a depends on b
 */
export function sortTopologically(
  nodes: readonly GraphNode[],
  options: TopologicalSortOptions = {},
): TopologicalSort {
  const what = options.what ?? 'Dependency';
  const dependencyName = options.dependencyName ?? 'dependency';
  const problems: string[] = [];
  const index = new Map<string, number>();
  nodes.forEach((node, position) => {
    if (index.has(node.id)) problems.push(`duplicate node '${node.id}'`);
    else index.set(node.id, position);
  });
  const dependents: number[][] = nodes.map(() => []);
  const missing = new Array<number>(nodes.length).fill(0);
  nodes.forEach((node, position) => {
    if (index.get(node.id) !== position) return;
    for (const dependency of new Set(node.dependencies)) {
      const target = index.get(dependency);
      if (target === undefined) {
        problems.push(`'${node.id}' has an unknown ${dependencyName} '${dependency}'`);
        continue;
      }
      dependents[target]?.push(position);
      missing[position] = (missing[position] ?? 0) + 1;
    }
  });
  if (problems.length > 0) throw new InvalidGraphError(problems);

  const ids = nodes.map((node) => node.id);
  const levelOf = new Map<string, number>();
  const order: string[] = [];
  const levels: string[][] = [];
  // Level by level: the frontier of one level is sorted once, which keeps the order deterministic.
  let frontier = nodes.flatMap((_node, position) => (missing[position] === 0 ? [position] : []));
  let level = 0;
  while (frontier.length > 0) {
    frontier.sort((a, b) => compareStrings(ids[a] ?? '', ids[b] ?? ''));
    const names = frontier.map((position) => ids[position] ?? '');
    levels.push(names);
    const next: number[] = [];
    for (const position of frontier) {
      levelOf.set(ids[position] ?? '', level);
      order.push(ids[position] ?? '');
      for (const dependent of dependents[position] ?? []) {
        const left = (missing[dependent] ?? 0) - 1;
        missing[dependent] = left;
        if (left === 0) next.push(dependent);
      }
    }
    frontier = next;
    level++;
  }

  if (order.length < nodes.length) {
    const cycle = findCycle(nodes, (id) => !levelOf.has(id));
    const names = options.describeCycle?.(cycle) ?? cycle;
    throw new CycleDetectedError(`${what} cycle: ${names.join(' → ')}`, cycle);
  }
  return { order, levels, levelOf };
}

/**
 * Every node left over by Kahn's algorithm has a dependency that is also left over, so walking from
 * one of them must come back to a node already on the walk. Starts at the smallest id and follows the
 * smallest dependency, so the cycle reported is stable.
 */
function findCycle(nodes: readonly GraphNode[], isLeft: (id: string) => boolean): string[] {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const left = nodes
    .map((node) => node.id)
    .filter(isLeft)
    .sort(compareStrings);
  const walk: string[] = [];
  const positionOnWalk = new Map<string, number>();
  let current = left[0];
  while (current !== undefined && !positionOnWalk.has(current)) {
    positionOnWalk.set(current, walk.length);
    walk.push(current);
    const next: string[] = [...new Set(byId.get(current)?.dependencies ?? [])]
      .filter(isLeft)
      .sort(compareStrings);
    current = next[0];
  }
  if (current === undefined) return walk;
  const cycle = walk.slice(positionOnWalk.get(current));
  return [...cycle, current];
}

/**
 * Normalises a path relative to the repository root: `\` becomes `/`, `.` segments and empty segments go,
 * `..` segments are resolved.
 *
 * @throws InvalidRepoPathError when the path is empty, absolute (`/x`, `C:\x`, `\\server\x`) or leaves the repository
 */
export function normaliseRepoPath(path: string): string {
  return resolveRepoPath('', path);
}

/**
 * Resolves `relative` (as written in a solution or project, `/` or `\` separated) against `baseDir`,
 * a folder relative to the repository root (`''` for the root itself).
 *
 * @throws InvalidRepoPathError when the result is empty, absolute or outside the repository
 */
export function resolveRepoPath(baseDir: string, relative: string): string {
  const path = relative.trim().replaceAll('\\', '/');
  if (path === '') throw new InvalidRepoPathError(relative, 'the path is empty');
  if (isAbsolutePath(path)) throw new InvalidRepoPathError(relative, 'absolute paths are not allowed');
  const segments: string[] = [];
  for (const segment of [...baseDir.replaceAll('\\', '/').split('/'), ...path.split('/')]) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.length === 0) throw new InvalidRepoPathError(relative, 'it leaves the repository');
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  if (segments.length === 0) throw new InvalidRepoPathError(relative, 'it names the repository root');
  return segments.join('/');
}

/**
 * Whether `path` is absolute on any platform: `/x`, `\x`, `C:\x`, `C:/x`, `C:x`, `\\server\share`.
 * Cache keys and graphs refuse these, whichever machine computes them.
 */
export function isAbsolutePath(path: string): boolean {
  return /^([/\\]|[A-Za-z]:)/.test(path.trim());
}

/** Whether the path names a project dotnet builds (`.csproj`, `.fsproj`, `.vbproj`). */
export function isBuildableProjectPath(path: string): boolean {
  const lower = path.toLowerCase();
  return BUILDABLE_PROJECT_EXTENSIONS.some((extension) => lower.endsWith(extension));
}

function parentDirectory(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

function fileName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function fileStem(path: string): string {
  const name = fileName(path);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/** Ordinal comparison: the same order on every machine and locale. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
