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
  // Maintenance: no new work goes to the agent until it leaves maintenance.
  router.post('/:agentId/maintenance', async (ctx) => {
    ctx.body = await agents.setMaintenance(ctx.params.agentId ?? '', true);
  });
  router.delete('/:agentId/maintenance', async (ctx) => {
    ctx.body = await agents.setMaintenance(ctx.params.agentId ?? '', false);
  });
  // Forgetting a peer bans it on every protocol until it is re-admitted.
  router.delete('/:agentId', async (ctx) => {
    await agents.forget(ctx.params.agentId ?? '');
    ctx.status = 204;
  });
  router.post('/:agentId/admit', async (ctx) => {
    await agents.admit(ctx.params.agentId ?? '');
    ctx.status = 204;
  });
  return router;
}
