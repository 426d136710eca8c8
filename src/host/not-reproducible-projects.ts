import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Project directories whose outputs differed between two peers (a Canary or verify build found
 * them not reproducible). Their action-cache entries are never served to anyone, nor recorded.
 * Kept in a JSON file so the mark survives restarts.
 */
export class NotReproducibleProjects {
  private readonly directories: Set<string>;

  constructor(private readonly file: string) {
    let known: string[] = [];
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (Array.isArray(parsed)) known = parsed.filter((entry): entry is string => typeof entry === 'string');
    } catch {
      // None marked yet.
    }
    this.directories = new Set(known);
  }

  /** Marks project directories (`src/Lib`) as not reproducible. */
  mark(directories: readonly string[]): void {
    const before = this.directories.size;
    for (const directory of directories) this.directories.add(directory);
    if (this.directories.size === before) return;
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, `${JSON.stringify([...this.directories].sort(), null, 2)}\n`);
  }

  /** Whether a project file (`src/Lib/Lib.csproj`) or directory is marked. */
  has(project: string): boolean {
    if (this.directories.has(project)) return true;
    const slash = project.lastIndexOf('/');
    return slash > 0 && this.directories.has(project.slice(0, slash));
  }
}
