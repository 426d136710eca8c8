import Koa from 'koa';
import Router from '@koa/router';
import { randomBytes } from 'node:crypto';
import type { AgentDirectory, AgentHealth } from '../core/agent-view.js';
import type { ArtifactContent, BuildLogStore, BuildService, Logger } from '../core/ports.js';
import type { AuditLog } from '../core/audit.js';
import { auditTrail } from './audit-trail.js';
import { authenticate, authorize, type ApiAuth } from './auth.js';
import { HttpError, errorMiddleware } from './error-envelope.js';
import { cors } from './cors.js';
import { rateLimit, type RateLimits } from './rate-limit.js';
import { bodyLimit, securityHeaders } from './security-headers.js';
import { agentRoutes } from './routes/agents.js';
import { auditRoutes } from './routes/audit.js';
import { configRoutes } from './routes/config.js';
import type { NodeSettingsService } from '../core/node-settings.js';
import { artifactRoutes } from './routes/artifacts.js';
import { buildRoutes } from './routes/builds.js';
import { repositoryRoutes } from './routes/repositories.js';
import type { RepositoryBrowser } from '../core/repository-solutions.js';
import { staticUi } from './static-ui.js';
import { eventRoutes } from './routes/events.js';
import { swaggerRoutes } from './routes/swagger.js';
import type { NodeEventBus } from '../core/build-events.js';

export interface ApiDependencies {
  /** Bearer tokens: every `/api/v1` route needs one (see `requiredAccess` in auth.ts). */
  auth: ApiAuth;
  /** Per-client limits; the defaults are 1000/min overall and 10/min on `POST /api/v1/builds`. */
  rateLimits?: RateLimits;
  /** Origins allowed to call the API from a browser (CORS); none by default. */
  corsOrigins?: readonly string[];
  builds: BuildService;
  logs: BuildLogStore;
  artifacts: ArtifactContent;
  agents: AgentDirectory;
  /** Lists a repository's solutions for a ref (`/api/v1/repositories/solutions`); absent, it answers 404. */
  repositories?: RepositoryBrowser;
  /** The audit log: state-changing requests are recorded, Admins read it at `/api/v1/audit`. */
  audit?: AuditLog;
  /** The node's settings for `/api/v1/config`; absent, the route answers 404. */
  config?: NodeSettingsService;
  /** This node's own health, for `/health`. */
  health: () => Promise<AgentHealth>;
  logger: Logger;
  /** Live events for `/api/v1/events` and `/api/v1/builds/{id}/events`. */
  events?: NodeEventBus;
  sseHeartbeatMs?: number;
  /** Prometheus text for `/metrics`. */
  metrics?: () => string;
  /** Folder of the built UI served at `/`; none on nodes without a UI. */
  uiDirectory?: string;
}

/** Reuses the caller's W3C trace id when it sends `traceparent`, so errors can be correlated. */
function traceIdOf(traceparent: string | undefined): string {
  const match = traceparent ? /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(traceparent) : null;
  return match?.[1] ?? randomBytes(16).toString('hex');
}

/** The node's REST API (`/api/v1/...`, `/health`). */
export function createApiApp(deps: ApiDependencies): Koa {
  const app = new Koa();
  const logger = deps.logger.child('api');
  // Errors after the response started (a client leaving a log or event stream) land here, not in
  // the error middleware; without a listener Koa prints them to stderr.
  app.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ERR_STREAM_PREMATURE_CLOSE' || error.code === 'ECONNRESET' || error.code === 'EPIPE')
      return;
    logger.warn('response failed', { error: error.message });
  });
  app.use(async (ctx, next) => {
    ctx.state.traceId = traceIdOf(ctx.get('traceparent') || undefined);
    const started = performance.now();
    await next();
    logger.debug('request', {
      method: ctx.method,
      path: ctx.path,
      status: ctx.status,
      ms: Math.round(performance.now() - started),
    });
  });
  if (deps.audit) app.use(auditTrail(deps.audit, logger));
  app.use(errorMiddleware(logger));
  app.use(securityHeaders());
  app.use(cors(deps.corsOrigins ?? []));
  app.use(bodyLimit());
  // Who called is known before the limiter (it keys by user), refusals come after it (so
  // failed attempts are limited too).
  app.use(authenticate(deps.auth));
  app.use(rateLimit(deps.rateLimits, deps.auth.now));
  app.use(authorize(deps.auth));

  const root = new Router();
  root.get('/health', async (ctx) => {
    const health = await deps.health();
    ctx.body = { ...health, overallStatus: health.healthy ? 'Healthy' : 'Unhealthy' };
  });

  root.get('/metrics', (ctx) => {
    if (!deps.metrics) throw new HttpError('NotFound', 'Metrics are not enabled on this node');
    ctx.type = 'text/plain; version=0.0.4; charset=utf-8';
    ctx.body = deps.metrics();
  });

  for (const router of [
    root,
    buildRoutes(deps.builds, deps.logs),
    artifactRoutes(deps.builds, deps.artifacts),
    agentRoutes(deps.agents),
    repositoryRoutes(deps.repositories),
    ...(deps.audit ? [auditRoutes(deps.audit)] : []),
    ...(deps.config ? [configRoutes(deps.config)] : []),
    ...(deps.events ? [eventRoutes(deps.events, deps.builds, deps.sseHeartbeatMs)] : []),
    swaggerRoutes(),
  ]) {
    app.use(router.routes());
    app.use(
      router.allowedMethods({
        throw: true,
        methodNotAllowed: () => new HttpError('MethodNotAllowed', 'This method is not allowed on this route'),
        notImplemented: () => new HttpError('MethodNotAllowed', 'This method is not implemented'),
      }),
    );
  }
  if (deps.uiDirectory) app.use(staticUi(deps.uiDirectory));
  return app;
}
