import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  markCovers,
  marksToAnnounce,
  normalizeRepositoryUrl,
  notReproducibleMarkSchema,
  type NotReproducibleMark,
} from '../core/not-reproducible.js';

/** Most marks a node keeps; beyond it the oldest go (a mesh with that many is unusual). */
export const MAX_KEPT_MARKS = 4096;

/**
 * The (repository, project directory) pairs whose outputs differed between two peers: this node's
 * Canary and verify builds found them, or a peer announced them. Their action-cache entries are
 * never served to anyone, nor looked up, nor recorded.
 *
 * Kept oldest first in `<dataDir>/action-cache/not-reproducible.json` (`{"marks": [{"repositoryUrl",
 * "project"}]}`) so they survive restarts. The file of earlier versions, a plain array of
 * directories, is read as marks of any repository. Repository URLs are normalised
 * ({@link normalizeRepositoryUrl}).
 *
 * Not responsible for spreading marks (the node announces {@link announced} on presence and merges
 * what peers announce).
 */
export class NotReproducibleProjects {
  private readonly marks = new Map<string, NotReproducibleMark>();

  constructor(
    private readonly file: string,
    private readonly maxKept = MAX_KEPT_MARKS,
  ) {
    for (const mark of readMarks(file)) this.add(mark);
  }

  /**
   * Marks project directories (`src/Lib`) of `repositoryUrl` (null: of any repository) as not
   * reproducible. Returns the marks that are new; the file is written when there are any.
   */
  mark(repositoryUrl: string | null, directories: readonly string[]): NotReproducibleMark[] {
    const repository = repositoryUrl === null ? null : normalizeRepositoryUrl(repositoryUrl);
    // This node's own findings hold whatever their length; only the wire bounds what peers send.
    return this.addAll(
      directories
        .filter((project) => project.length > 0)
        .map((project) => ({ repositoryUrl: repository, project })),
    );
  }

  /** Adds marks a peer announced (oldest first); returns the ones that are new here. */
  merge(marks: readonly NotReproducibleMark[]): NotReproducibleMark[] {
    return this.addAll(
      marks.flatMap((mark) => {
        const parsed = notReproducibleMarkSchema.safeParse(mark);
        if (!parsed.success) return [];
        const { repositoryUrl, project } = parsed.data;
        return [
          { repositoryUrl: repositoryUrl === null ? null : normalizeRepositoryUrl(repositoryUrl), project },
        ];
      }),
    );
  }

  /** Whether `project` (a project file `src/Lib/Lib.csproj` or a directory) of `repositoryUrl` is marked. */
  has(project: string, repositoryUrl?: string): boolean {
    const repository = repositoryUrl === undefined ? undefined : normalizeRepositoryUrl(repositoryUrl);
    for (const mark of this.marks.values()) if (markCovers(mark, repository, project)) return true;
    return false;
  }

  /** Every mark, oldest first. */
  list(): NotReproducibleMark[] {
    return [...this.marks.values()];
  }

  /** The newest marks, as a presence announcement carries them. */
  announced(): NotReproducibleMark[] {
    return marksToAnnounce(this.list());
  }

  /** Adds marks, writes the file when any is new, and returns the new ones. */
  private addAll(marks: readonly NotReproducibleMark[]): NotReproducibleMark[] {
    const added = marks.filter((mark) => this.add(mark));
    if (added.length > 0) this.save();
    return added;
  }

  private add(mark: NotReproducibleMark): boolean {
    const id = JSON.stringify([mark.repositoryUrl, mark.project]);
    if (this.marks.has(id)) return false;
    this.marks.set(id, mark);
    for (const oldest of this.marks.keys()) {
      if (this.marks.size <= this.maxKept) break;
      this.marks.delete(oldest);
    }
    return true;
  }

  private save(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ marks: this.list() }, null, 2)}\n`);
    renameSync(temporary, this.file);
  }
}

/** The marks in `file`, in either format; none when it is missing or unreadable. */
function readMarks(file: string): NotReproducibleMark[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
  // Before marks were scoped: project directories that held in every repository.
  if (Array.isArray(parsed))
    return parsed
      .filter((entry): entry is string => typeof entry === 'string' && entry.length > 0)
      .map((project) => ({ repositoryUrl: null, project }));
  const marks = (parsed as { marks?: unknown } | null)?.marks;
  if (!Array.isArray(marks)) return [];
  return marks.flatMap((mark: unknown) => {
    const { repositoryUrl, project } = (mark ?? {}) as Partial<Record<keyof NotReproducibleMark, unknown>>;
    // What this node marked itself may be longer than the wire allows; it still holds here.
    return typeof project === 'string' &&
      project.length > 0 &&
      (repositoryUrl === null || typeof repositoryUrl === 'string')
      ? [{ repositoryUrl, project }]
      : [];
  });
}
