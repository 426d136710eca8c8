import Router from '@koa/router';
import { parseSettingsPatch, type NodeSettingsService } from '../../core/node-settings.js';
import { readJsonBody } from '../json-body.js';

/** The largest settings body accepted (a real one is under 200 bytes). */
export const SETTINGS_BODY_LIMIT_BYTES = 16 * 1024;

/** `GET /api/v1/config` and `PATCH /api/v1/config`: the node's settings, applied live. */
export function configRoutes(settings: NodeSettingsService): Router {
  const router = new Router({ prefix: '/api/v1/config' });
  router.get('/', (ctx) => {
    ctx.body = settings.view();
  });
  router.patch('/', async (ctx) => {
    const patch = parseSettingsPatch(await readJsonBody(ctx, SETTINGS_BODY_LIMIT_BYTES));
    ctx.body = await settings.update(patch);
  });
  return router;
}
