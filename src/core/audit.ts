import { z } from 'zod';
import { ROLES } from './api-access.js';

/**
 * The audit log: who did what to which target, when, and how it ended. Entries come from the
 * API (one per state-changing request by an authenticated caller, allowed or not) and are read
 * by Admins at `GET /api/v1/audit`.
 */

/** What was done. */
export const AUDIT_ACTIONS = [
  'build.trigger', // POST /api/v1/builds
  'build.cancel', // POST /api/v1/builds/{id}/cancel
  'agent.maintenance', // POST /api/v1/agents/{id}/maintenance: no new work for the agent
  'agent.maintenance.end', // DELETE /api/v1/agents/{id}/maintenance
  'agent.forget', // DELETE /api/v1/agents/{id}: banned on every protocol
  'agent.admit', // POST /api/v1/agents/{id}/admit: a forgotten peer let back in
  'config.change', // PATCH /api/v1/config
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * How it ended: `Succeeded` (2xx/3xx), `Denied` (403: the role was too low), `Rejected` (any
 * other 4xx: invalid, unknown target, conflict, rate limit), `Failed` (5xx).
 */
export type AuditOutcome = 'Succeeded' | 'Denied' | 'Rejected' | 'Failed';

export const auditEntrySchema = z
  .object({
    id: z.number().int().describe('Increasing entry number'),
    timestamp: z.string().describe('When the request was answered (ISO 8601)'),
    subject: z.string().describe('`sub` of the caller’s token'),
    role: z.enum(ROLES).describe('Role of the caller’s token'),
    tokenId: z.string().describe('`jti` of the caller’s token'),
    action: z.enum(AUDIT_ACTIONS),
    target: z.string().nullable().describe('Execution id or agent id acted on; null for config'),
    outcome: z.enum(['Succeeded', 'Denied', 'Rejected', 'Failed']),
    status: z.number().int().describe('HTTP status of the answer'),
    traceId: z.string().describe('Trace id of the request, as in its error envelope'),
    message: z.string().nullable().describe('Why it did not succeed (the error message), else null'),
  })
  .meta({
    example: {
      id: 12,
      timestamp: '2026-11-27T17:20:31.000Z',
      subject: 'ana',
      role: 'BuildMaster',
      tokenId: '0f8e3c7a-5b1d-4e8e-9a43-2f61c9d1b7aa',
      action: 'build.cancel',
      target: '6c1f0e52-8f0a-4c55-bb3f-1b8f4d3a9e21',
      outcome: 'Succeeded',
      status: 200,
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      message: null,
    },
  });
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** `GET /api/v1/audit`: newest first. */
export const auditPageSchema = z.object({
  entries: z.array(auditEntrySchema),
  pageNumber: z.number().int(),
  pageSize: z.number().int(),
  totalCount: z.number().int(),
});
export type AuditPage = z.infer<typeof auditPageSchema>;

/** Port: where audit entries are kept (SQLite in the node's store). */
export interface AuditLog {
  record(entry: Omit<AuditEntry, 'id'>): void;
  /** Newest first. */
  list(page: { offset: number; limit: number }): { items: AuditEntry[]; totalCount: number };
}

const ACTION_BY_ROUTE: Record<string, AuditAction> = {
  'POST /api/v1/builds': 'build.trigger',
  'POST /api/v1/builds/:executionId/cancel': 'build.cancel',
  'POST /api/v1/agents/:agentId/maintenance': 'agent.maintenance',
  'DELETE /api/v1/agents/:agentId/maintenance': 'agent.maintenance.end',
  'DELETE /api/v1/agents/:agentId': 'agent.forget',
  'POST /api/v1/agents/:agentId/admit': 'agent.admit',
  'PATCH /api/v1/config': 'config.change',
};

/** The audited action of a route of the access table, or null for reads. */
export function auditActionFor(rule: { method: string; path: string }): AuditAction | null {
  return ACTION_BY_ROUTE[`${rule.method} ${rule.path}`] ?? null;
}

/** The outcome an HTTP status stands for. */
export function auditOutcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'Succeeded';
  if (status === 403) return 'Denied';
  return status < 500 ? 'Rejected' : 'Failed';
}

/** The value of the route's `:param` in `path` (the id acted on), or null. */
export function routeTarget(pattern: string, path: string): string | null {
  const want = pattern.split('/');
  const got = path.replace(/\/+$/, '').split('/');
  const index = want.findIndex((part) => part.startsWith(':'));
  const raw = index >= 0 ? got[index] : undefined;
  if (raw === undefined) return null;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
