import type { Context, Next } from 'koa';
import { ruleFor } from '../core/api-access.js';
import { auditActionFor, auditOutcomeOf, routeTarget, type AuditLog } from '../core/audit.js';
import type { Logger } from '../core/ports.js';
import type { Principal } from './auth.js';

/**
 * Records each state-changing request of an authenticated caller in the audit log once it is
 * answered, allowed or not. Runs outside the error middleware, so it sees the final status.
 * A request without a valid token names nobody and is not recorded (the 401 is in the request
 * log). A failure to write the entry is logged, never turned into a failed request.
 */
export function auditTrail(audit: AuditLog, logger: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    await next();
    const rule = ruleFor(ctx.method, ctx.path);
    const action = rule ? auditActionFor(rule) : null;
    const principal = ctx.state.principal as Principal | undefined;
    if (!rule || !action || !principal) return;
    const body = ctx.body as { executionId?: unknown; message?: unknown } | null | undefined;
    const target =
      action === 'build.trigger'
        ? typeof body?.executionId === 'string'
          ? body.executionId
          : null
        : routeTarget(rule.path, ctx.path);
    const outcome = auditOutcomeOf(ctx.status);
    try {
      audit.record({
        timestamp: new Date().toISOString(),
        subject: principal.sub,
        role: principal.role,
        tokenId: principal.jti,
        action,
        target,
        outcome,
        status: ctx.status,
        traceId: String(ctx.state.traceId ?? ''),
        message: outcome === 'Succeeded' ? null : typeof body?.message === 'string' ? body.message : null,
      });
    } catch (error) {
      logger.warn('audit entry not written', {
        action,
        target,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };
}
