import Router from '@koa/router';
import type { Context } from 'koa';
import { PassThrough } from 'node:stream';
import type { NodeEvent, NodeEventBus } from '../../core/build-events.js';
import { isTerminalStatus, type BuildStatus } from '../../core/models.js';
import type { BuildService } from '../../core/ports.js';

export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;

function lastEventIdOf(ctx: Context): number {
  const raw =
    ctx.get('last-event-id') || (typeof ctx.query.lastEventId === 'string' ? ctx.query.lastEventId : '');
  const id = Number(raw);
  return Number.isInteger(id) && id > 0 ? id : 0;
}

function format(event: NodeEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify({ executionId: event.executionId, ...(event.data as object) })}\n\n`;
}

function isTerminalEvent(event: NodeEvent): boolean {
  return event.type === 'status' && isTerminalStatus((event.data as { status: BuildStatus }).status);
}

/**
 * Server-Sent Events: `GET /api/v1/events` (every build and peer) and
 * `GET /api/v1/builds/{id}/events` (one build; it ends after the build's terminal status).
 * Both resume after `Last-Event-ID` from what the node still buffers, and send a heartbeat
 * comment while quiet so proxies keep the connection open.
 */
export function eventRoutes(
  events: NodeEventBus,
  builds: BuildService,
  heartbeatMs = DEFAULT_SSE_HEARTBEAT_MS,
): Router {
  const router = new Router();

  const stream = (
    ctx: Context,
    filter: (event: NodeEvent) => boolean,
    endAfterTerminal: boolean,
    finishedAlready: boolean,
  ) => {
    const body = new PassThrough();
    ctx.req.socket.setTimeout(0);
    ctx.status = 200;
    ctx.type = 'text/event-stream';
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Accel-Buffering', 'no');
    ctx.body = body;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      unsubscribe();
      clearInterval(heartbeat);
      body.end();
    };
    const send = (event: NodeEvent) => {
      if (ended || !filter(event)) return;
      body.write(format(event));
      if (endAfterTerminal && isTerminalEvent(event)) end();
    };
    const unsubscribe = events.subscribe(send);
    const heartbeat = setInterval(() => body.write(': heartbeat\n\n'), heartbeatMs);
    ctx.req.once('close', end);
    body.write('retry: 2000\n\n');
    for (const event of events.since(lastEventIdOf(ctx), filter)) send(event);
    // A build that finished before this node's buffer began has nothing more to say.
    if (endAfterTerminal && finishedAlready) end();
  };

  router.get('/api/v1/events', (ctx) => stream(ctx, () => true, false, false));
  router.get('/api/v1/builds/:executionId/events', (ctx) => {
    const record = builds.get(ctx.params.executionId ?? '');
    stream(ctx, (event) => event.executionId === record.executionId, true, isTerminalStatus(record.status));
  });
  return router;
}
