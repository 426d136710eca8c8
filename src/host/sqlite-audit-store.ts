import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'libsql';
import type { Role } from '../core/api-access.js';
import type { AuditAction, AuditEntry, AuditLog, AuditOutcome } from '../core/audit.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp TEXT NOT NULL,
  subject TEXT NOT NULL,
  role TEXT NOT NULL,
  token_id TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  outcome TEXT NOT NULL,
  status INTEGER NOT NULL,
  trace_id TEXT NOT NULL,
  message TEXT
);
`;

interface AuditRow {
  id: number;
  timestamp: string;
  subject: string;
  role: string;
  token_id: string;
  action: string;
  target: string | null;
  outcome: string;
  status: number;
  trace_id: string;
  message: string | null;
}

/**
 * The audit log in the node's SQLite file (`buildmesh.db`, table `audit_log`), next to the
 * build records. Append-only: nothing in the node updates or deletes entries.
 */
export class SqliteAuditStore implements AuditLog {
  private readonly db: Database.Database;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    this.db.exec(SCHEMA);
  }

  record(entry: Omit<AuditEntry, 'id'>): void {
    this.db
      .prepare(
        `INSERT INTO audit_log (timestamp, subject, role, token_id, action, target, outcome, status, trace_id, message)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        entry.timestamp,
        entry.subject,
        entry.role,
        entry.tokenId,
        entry.action,
        entry.target,
        entry.outcome,
        entry.status,
        entry.traceId,
        entry.message,
      );
  }

  list(page: { offset: number; limit: number }): { items: AuditEntry[]; totalCount: number } {
    const rows = this.db
      .prepare('SELECT * FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?')
      .all(page.limit, page.offset) as AuditRow[];
    const total = this.db.prepare('SELECT COUNT(*) AS count FROM audit_log').get() as { count: number };
    return {
      items: rows.map((row) => ({
        id: Number(row.id),
        timestamp: row.timestamp,
        subject: row.subject,
        role: row.role as Role,
        tokenId: row.token_id,
        action: row.action as AuditAction,
        target: row.target,
        outcome: row.outcome as AuditOutcome,
        status: Number(row.status),
        traceId: row.trace_id,
        message: row.message,
      })),
      totalCount: Number(total.count),
    };
  }

  close(): void {
    this.db.close();
  }
}
