import Router from '@koa/router';
import { Readable } from 'node:stream';
import {
  MAX_PAGE_SIZE,
  logsQuerySchema,
  paginationQuerySchema,
  type BuildAcceptedBody,
  type BuildPageBody,
  type CancelResultBody,
  type ArtifactListBody,
} from '../../core/api-schemas.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { isTerminalStatus } from '../../core/models.js';
import type { BuildLogStore, BuildService } from '../../core/ports.js';
import type { Principal } from '../auth.js';
import { buildLinks, presentBuild, presentBuildSummary } from '../build-presenter.js';
import { readJsonBody } from '../json-body.js';

export const DEFAULT_PAGE_SIZE = 50;
export { MAX_PAGE_SIZE };

function firstValues(
  query: Record<string, string | string[] | undefined>,
): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(query).map(([key, value]) => [key, Array.isArray(value) ? value[0] : value]),
  );
}

/** `pageNumber` ≥ 1 and `pageSize` 1–100; anything else is a 400 naming the field. */
export function parsePagination(query: Record<string, string | string[] | undefined>): {
  pageNumber: number;
  pageSize: number;
} {
  const parsed = paginationQuerySchema.safeParse(firstValues(query));
  if (!parsed.success) {
    throw new InvalidArgumentError(
      parsed.error.issues.map((issue) => ({
        field: issue.path.map(String).join('.'),
        message: issue.message,
      })),
    );
  }
  return { pageNumber: parsed.data.pageNumber ?? 1, pageSize: parsed.data.pageSize ?? DEFAULT_PAGE_SIZE };
}

function parseFollow(raw: string | string[] | undefined): boolean | null {
  if (raw === undefined) return null;
  const parsed = logsQuerySchema.safeParse({ follow: Array.isArray(raw) ? raw[0] : raw });
  if (!parsed.success)
    throw new InvalidArgumentError([{ field: 'follow', message: 'must be true or false' }]);
  return parsed.data.follow === 'true' || parsed.data.follow === '1';
}

export function buildRoutes(builds: BuildService, logs: BuildLogStore): Router {
  const router = new Router({ prefix: '/api/v1/builds' });

  router.post('/', async (ctx) => {
    const body = await readJsonBody(ctx);
    const principal = ctx.state.principal as Principal | undefined;
    const { record, queuePosition } = builds.submit(body, { requestedBy: principal?.sub });
    const links = buildLinks(record.executionId);
    ctx.status = 202;
    ctx.set('Location', links.self);
    const accepted: BuildAcceptedBody = {
      executionId: record.executionId,
      status: record.status,
      queuePosition,
      queuedAt: record.queuedAt,
      strategy: record.request.strategy,
      estimatedDuration: null,
      traceId: record.traceId,
      links,
    };
    ctx.body = accepted;
  });

  router.get('/', (ctx) => {
    const { pageNumber, pageSize } = parsePagination(ctx.query);
    const page = builds.list({ offset: (pageNumber - 1) * pageSize, limit: pageSize });
    const body: BuildPageBody = {
      builds: page.items.map(presentBuildSummary),
      pageNumber,
      pageSize,
      totalCount: page.totalCount,
    };
    ctx.body = body;
  });

  router.get('/:executionId', (ctx) => {
    const record = builds.get(ctx.params.executionId ?? '');
    ctx.body = presentBuild(record, builds.queuePosition(record.executionId));
  });

  router.post('/:executionId/cancel', (ctx) => {
    const record = builds.cancel(ctx.params.executionId ?? '');
    const body: CancelResultBody = {
      executionId: record.executionId,
      status: record.status,
      message:
        record.status === 'Cancelled' ? 'Build cancelled before it started' : 'Build cancellation requested',
    };
    ctx.body = body;
  });

  router.get('/:executionId/logs', (ctx) => {
    const record = builds.get(ctx.params.executionId ?? '');
    const follow = (parseFollow(ctx.query.follow) ?? true) && !isTerminalStatus(record.status);
    const abort = new AbortController();
    ctx.req.once('close', () => abort.abort());
    const lines = logs.follow(record.executionId, { follow, signal: abort.signal });
    ctx.type = 'text/plain; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Accel-Buffering', 'no');
    ctx.body = Readable.from(withNewlines(lines));
  });

  router.get('/:executionId/artifacts', (ctx) => {
    const record = builds.get(ctx.params.executionId ?? '');
    const body: ArtifactListBody = { executionId: record.executionId, artifacts: record.artifacts };
    ctx.body = body;
  });

  return router;
}

async function* withNewlines(lines: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const line of lines) yield `${line}\n`;
}
