import Router from '@koa/router';
import { Readable } from 'node:stream';
import { InvalidArgumentError, type FieldProblem } from '../../core/errors.js';
import { isTerminalStatus } from '../../core/models.js';
import type { BuildLogStore, BuildService } from '../../core/ports.js';
import { buildLinks, presentBuild, presentBuildSummary } from '../build-presenter.js';
import { readJsonBody } from '../json-body.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

/** `pageNumber` ≥ 1 and `pageSize` 1–100; anything else is a 400 naming the field. */
export function parsePagination(query: Record<string, string | string[] | undefined>): {
  pageNumber: number;
  pageSize: number;
} {
  const problems: FieldProblem[] = [];
  const read = (name: string, fallback: number) => {
    const raw = query[name];
    if (raw === undefined) return fallback;
    const text = Array.isArray(raw) ? raw[0] : raw;
    return /^\d+$/.test(text ?? '') ? Number(text) : Number.NaN;
  };
  const pageNumber = read('pageNumber', 1);
  const pageSize = read('pageSize', DEFAULT_PAGE_SIZE);
  if (!Number.isInteger(pageNumber) || pageNumber < 1) {
    problems.push({ field: 'pageNumber', message: 'Page number must be greater than 0' });
  }
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    problems.push({ field: 'pageSize', message: `Page size must be between 1 and ${MAX_PAGE_SIZE}` });
  }
  if (problems.length > 0) throw new InvalidArgumentError(problems);
  return { pageNumber, pageSize };
}

function parseFollow(raw: unknown): boolean | null {
  if (raw === undefined) return null;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new InvalidArgumentError([{ field: 'follow', message: 'must be true or false' }]);
}

export function buildRoutes(builds: BuildService, logs: BuildLogStore): Router {
  const router = new Router({ prefix: '/api/v1/builds' });

  router.post('/', async (ctx) => {
    const body = await readJsonBody(ctx);
    const { record, queuePosition } = builds.submit(body);
    const links = buildLinks(record.executionId);
    ctx.status = 202;
    ctx.set('Location', links.self);
    ctx.body = {
      executionId: record.executionId,
      status: record.status,
      queuePosition,
      queuedAt: record.queuedAt,
      strategy: record.request.strategy,
      estimatedDuration: null,
      traceId: record.traceId,
      links,
    };
  });

  router.get('/', (ctx) => {
    const { pageNumber, pageSize } = parsePagination(ctx.query);
    const page = builds.list({ offset: (pageNumber - 1) * pageSize, limit: pageSize });
    ctx.body = {
      builds: page.items.map(presentBuildSummary),
      pageNumber,
      pageSize,
      totalCount: page.totalCount,
    };
  });

  router.get('/:executionId', (ctx) => {
    const record = builds.get(ctx.params.executionId ?? '');
    ctx.body = presentBuild(record, builds.queuePosition(record.executionId));
  });

  router.post('/:executionId/cancel', (ctx) => {
    const record = builds.cancel(ctx.params.executionId ?? '');
    ctx.body = {
      executionId: record.executionId,
      status: record.status,
      message:
        record.status === 'Cancelled' ? 'Build cancelled before it started' : 'Build cancellation requested',
    };
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
    ctx.body = { executionId: record.executionId, artifacts: record.artifacts };
  });

  return router;
}

async function* withNewlines(lines: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const line of lines) yield `${line}\n`;
}
