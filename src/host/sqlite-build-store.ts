import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'libsql';
import type { BuildArtifact, BuildRecord, BuildStatus } from '../core/models.js';
import type { BuildPage, BuildStore } from '../core/ports.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS builds (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  execution_id TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  queued_at TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS builds_status ON builds(status);
CREATE TABLE IF NOT EXISTS artifacts (
  artifact_id TEXT PRIMARY KEY,
  execution_id TEXT NOT NULL,
  sha256 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS artifacts_execution ON artifacts(execution_id);
`;

interface RecordRow {
  record: string;
}

/** Build records in an embedded SQLite file (WAL mode); each record is stored whole as JSON. */
export class SqliteBuildStore implements BuildStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    this.db.exec(SCHEMA);
  }

  insert(record: BuildRecord): void {
    this.db
      .prepare('INSERT INTO builds (execution_id, status, queued_at, record) VALUES (?, ?, ?, ?)')
      .run(record.executionId, record.status, record.queuedAt, JSON.stringify(record));
  }

  update(record: BuildRecord): void {
    const save = this.db.transaction(() => {
      this.db
        .prepare('UPDATE builds SET status = ?, record = ? WHERE execution_id = ?')
        .run(record.status, JSON.stringify(record), record.executionId);
      const insertArtifact = this.db.prepare(
        'INSERT OR IGNORE INTO artifacts (artifact_id, execution_id, sha256) VALUES (?, ?, ?)',
      );
      for (const artifact of record.artifacts)
        insertArtifact.run(artifact.artifactId, record.executionId, artifact.sha256Hash);
    });
    save();
  }

  get(executionId: string): BuildRecord | null {
    const row = this.db.prepare('SELECT record FROM builds WHERE execution_id = ?').get(executionId) as
      RecordRow | undefined;
    return row ? (JSON.parse(row.record) as BuildRecord) : null;
  }

  list(page: { offset: number; limit: number }): BuildPage {
    const rows = this.db
      .prepare('SELECT record FROM builds ORDER BY seq DESC LIMIT ? OFFSET ?')
      .all(page.limit, page.offset) as RecordRow[];
    const total = this.db.prepare('SELECT COUNT(*) AS count FROM builds').get() as { count: number };
    return {
      items: rows.map((row) => JSON.parse(row.record) as BuildRecord),
      totalCount: Number(total.count),
    };
  }

  listByStatus(statuses: readonly BuildStatus[]): BuildRecord[] {
    if (statuses.length === 0) return [];
    const placeholders = statuses.map(() => '?').join(', ');
    const rows = this.db
      .prepare(`SELECT record FROM builds WHERE status IN (${placeholders}) ORDER BY seq`)
      .all(...statuses) as RecordRow[];
    return rows.map((row) => JSON.parse(row.record) as BuildRecord);
  }

  findArtifact(artifactId: string): { executionId: string; artifact: BuildArtifact } | null {
    const row = this.db
      .prepare('SELECT execution_id FROM artifacts WHERE artifact_id = ?')
      .get(artifactId) as { execution_id: string } | undefined;
    if (!row) return null;
    const artifact = this.get(row.execution_id)?.artifacts.find((a) => a.artifactId === artifactId);
    return artifact ? { executionId: row.execution_id, artifact } : null;
  }

  close(): void {
    this.db.close();
  }
}
