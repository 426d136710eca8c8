import { projectDirectoryOf } from './canary.js';
import { z } from 'zod';

/**
 * Not-reproducible marks: a (repository, project directory) whose outputs differed between two
 * peers in a Canary or verify build. Entries of a marked project are never served from the action
 * cache, by any peer; marks spread over presence announcements and are kept on disk.
 */

/** Why a lookup of a marked project misses (the asking and the serving side say the same). */
export const NOT_REPRODUCIBLE_EXPLANATION =
  'not reproducible: its outputs differed between peers, so it is never served from the cache';

/** Longest repository URL a mark or a lookup carries. */
export const MAX_MARK_REPOSITORY_CHARS = 2048;
/** Longest project directory a mark carries. */
export const MAX_MARK_PROJECT_CHARS = 1024;
/** Most marks one presence announcement carries (the newest). */
export const MAX_ANNOUNCED_MARKS = 256;
/**
 * Most bytes of JSON the announced marks take: with the rest of an announcement (1–2 KiB) it stays
 * under the 16 KiB every peer accepts, older ones included (presence trims further if it must).
 */
export const MAX_ANNOUNCED_MARK_BYTES = 12 * 1024;

/** A repository URL as marks and lookups carry it (see {@link normalizeRepositoryUrl}). */
export const markRepositorySchema = z.string().min(1).max(MAX_MARK_REPOSITORY_CHARS);

/**
 * One mark as it travels in presence announcements. `repositoryUrl` null means any repository
 * (marks kept before marks were scoped by repository).
 */
export const notReproducibleMarkSchema = z.object({
  repositoryUrl: markRepositorySchema.nullable(),
  project: z.string().min(1).max(MAX_MARK_PROJECT_CHARS),
});
export type NotReproducibleMark = z.infer<typeof notReproducibleMarkSchema>;

/** The marks field of a presence announcement: at most {@link MAX_ANNOUNCED_MARKS}. */
export const announcedMarksSchema = z.array(notReproducibleMarkSchema).max(MAX_ANNOUNCED_MARKS);

/** Network transports and their default ports: every one of them reaches the same repository. */
const NETWORK_SCHEMES = new Map([
  ['http', '80'],
  ['https', '443'],
  ['ssh', '22'],
  ['git', '9418'],
  ['git+ssh', '22'],
  ['ssh+git', '22'],
]);

/**
 * A repository URL reduced so that spellings of one repository compare equal: surrounding blanks,
 * user info (`user:token@`, never spread over the mesh), trailing `/` and `.git` are dropped, and a
 * network repository becomes `host[:port]/path` whatever its transport (`HTTPS://Git.Example.com/Team/App.git/`,
 * `ssh://git@git.example.com:22/Team/App` and `git@Git.Example.com:Team/App.git` all give
 * `git.example.com/Team/App`; default ports go, the host is lowercased, the path keeps its case).
 * Other schemes keep theirs (`file:///srv/App`); local paths are only trimmed.
 */
export function normalizeRepositoryUrl(url: string): string {
  let text = url.trim();
  const withScheme = /^([a-z][a-z\d+.-]*):\/\/([^/?#]*)(.*)$/is.exec(text);
  if (withScheme) {
    const [, rawScheme = '', authority = '', rest = ''] = withScheme;
    const scheme = rawScheme.toLowerCase();
    const host = authority.slice(authority.lastIndexOf('@') + 1).toLowerCase();
    const defaultPort = NETWORK_SCHEMES.get(scheme);
    text =
      defaultPort === undefined
        ? `${scheme}://${host}${rest}`
        : `${host.endsWith(`:${defaultPort}`) ? host.slice(0, -defaultPort.length - 1) : host}${rest}`;
  } else {
    // scp-like `user@host:path`; a Windows drive (`C:\repo`, `C:/repo`) is a path, not a host, and
    // `host:2222/path` is this function's own form of a port.
    const scpLike = /^(?:[^@/:]+@)?([^/:\\]+):(.*)$/s.exec(text);
    if (scpLike && !/^[a-z]:[\\/]/i.test(text)) {
      const [, host = '', path = ''] = scpLike;
      text = /^\d+(\/|$)/.test(path)
        ? `${host.toLowerCase()}:${path}`
        : `${host.toLowerCase()}/${path.replace(/^\/+/, '')}`;
    }
  }
  text = text.replace(/\/+$/, '');
  if (text.endsWith('.git')) text = text.slice(0, -'.git'.length).replace(/\/+$/, '');
  return text;
}

/**
 * Whether `mark` covers `project` (a project file `src/Lib/Lib.csproj` or its directory) in
 * `repositoryUrl` (normalised). A mark of any repository covers every repository; a lookup that
 * does not say its repository (an older peer) is covered by a mark of any repository.
 */
export function markCovers(
  mark: NotReproducibleMark,
  repositoryUrl: string | undefined,
  project: string,
): boolean {
  if (mark.repositoryUrl !== null && repositoryUrl !== undefined && mark.repositoryUrl !== repositoryUrl)
    return false;
  if (mark.project === project) return true;
  // `src/Lib/Lib.csproj` is in `src/Lib`; a project file at the root (`App.csproj`) is in `.`.
  return mark.project === projectDirectoryOf(project);
}

/**
 * The marks a presence announcement carries: the newest ones (the end of `marks`, which is oldest
 * first) within {@link MAX_ANNOUNCED_MARKS} and {@link MAX_ANNOUNCED_MARK_BYTES}, oldest first.
 * A mark too long for the wire is left out (it still holds where it is).
 */
export function marksToAnnounce(marks: readonly NotReproducibleMark[]): NotReproducibleMark[] {
  const chosen: NotReproducibleMark[] = [];
  let bytes = 2;
  for (let index = marks.length - 1; index >= 0 && chosen.length < MAX_ANNOUNCED_MARKS; index--) {
    const mark = marks[index] as NotReproducibleMark;
    if (!notReproducibleMarkSchema.safeParse(mark).success) continue;
    const size = new TextEncoder().encode(JSON.stringify(mark)).byteLength + 1;
    if (bytes + size > MAX_ANNOUNCED_MARK_BYTES) break;
    bytes += size;
    chosen.push({ repositoryUrl: mark.repositoryUrl, project: mark.project });
  }
  return chosen.reverse();
}
