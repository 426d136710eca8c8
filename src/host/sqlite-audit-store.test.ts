import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../core/audit.js';
import { SqliteAuditStore } from './sqlite-audit-store.js';
import { SqliteBuildStore } from './sqlite-build-store.js';

function entry(n: number, overrides: Partial<AuditEntry> = {}): Omit<AuditEntry, 'id'> {
  return {
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    subject: `user-${n}`,
    role: 'BuildMaster',
    tokenId: `jti-${n}`,
    action: 'build.cancel',
    target: `build-${n}`,
    outcome: 'Succeeded',
    status: 200,
    traceId: 'f'.repeat(32),
    message: null,
    ...overrides,
  };
}

describe('SqliteAuditStore', () => {
  it('keeps entries newest first, paged, beside the build records and across reopening', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'buildmesh-audit-'));
    try {
      const path = join(dir, 'buildmesh.db');
      const builds = new SqliteBuildStore(path);
      const store = new SqliteAuditStore(path);
      for (let n = 1; n <= 5; n++) store.record(entry(n));
      store.record(
        entry(6, { action: 'config.change', target: null, outcome: 'Denied', status: 403, message: 'no' }),
      );
      const first = store.list({ offset: 0, limit: 4 });
      expect(first.totalCount).toBe(6);
      expect(first.items.map((item) => item.subject)).toEqual(['user-6', 'user-5', 'user-4', 'user-3']);
      expect(first.items[0]).toEqual({
        id: 6,
        ...entry(6, { action: 'config.change', target: null, outcome: 'Denied', status: 403, message: 'no' }),
      });
      expect(store.list({ offset: 4, limit: 4 }).items.map((item) => item.id)).toEqual([2, 1]);
      store.close();
      builds.close();
      const reopened = new SqliteAuditStore(path);
      expect(reopened.list({ offset: 0, limit: 100 }).totalCount).toBe(6);
      reopened.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
