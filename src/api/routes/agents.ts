import Router from '@koa/router';
import type { AgentDirectory } from '../../core/agent-view.js';

export function agentRoutes(agents: AgentDirectory): Router {
  const router = new Router({ prefix: '/api/v1/agents' });
  router.get('/', async (ctx) => {
    ctx.body = { agents: await agents.list() };
  });
  router.get('/:agentId', async (ctx) => {
    ctx.body = await agents.get(ctx.params.agentId ?? '');
  });
  router.get('/:agentId/health', async (ctx) => {
    ctx.body = await agents.health(ctx.params.agentId ?? '');
  });
  return router;
}
