import Router from '@koa/router';
import type { AuditLog, AuditPage } from '../../core/audit.js';
import { parsePagination } from './builds.js';

/** `GET /api/v1/audit` (Admin): the audit log, newest first, paged like the build list. */
export function auditRoutes(audit: AuditLog): Router {
  const router = new Router({ prefix: '/api/v1/audit' });
  router.get('/', (ctx) => {
    const { pageNumber, pageSize } = parsePagination(ctx.query);
    const page = audit.list({ offset: (pageNumber - 1) * pageSize, limit: pageSize });
    const body: AuditPage = { entries: page.items, pageNumber, pageSize, totalCount: page.totalCount };
    ctx.body = body;
  });
  return router;
}
