import Router from '@koa/router';
import { InvalidArgumentError } from '../../core/errors.js';
import { solutionsQuerySchema, type RepositoryBrowser } from '../../core/repository-solutions.js';
import { HttpError } from '../error-envelope.js';

/**
 * `GET /api/v1/repositories/solutions?repositoryUrl=…&gitRef=…`: resolves the ref and lists the
 * solution and project files at that commit, so a form can offer them before a build is submitted.
 * Bad input is a 400 naming `repositoryUrl` or `gitRef`, as a build request's would be.
 */
export function repositoryRoutes(browser: RepositoryBrowser | undefined): Router {
  const router = new Router({ prefix: '/api/v1/repositories' });
  router.get('/solutions', async (ctx) => {
    if (!browser) throw new HttpError('NotFound', 'Listing repository solutions is not enabled on this node');
    const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
    const parsed = solutionsQuerySchema.safeParse({
      repositoryUrl: first(ctx.query.repositoryUrl),
      gitRef: first(ctx.query.gitRef),
    });
    if (!parsed.success) {
      throw new InvalidArgumentError(
        parsed.error.issues.map((issue) => ({
          field: issue.path.map(String).join('.'),
          message: issue.message,
        })),
      );
    }
    const abort = new AbortController();
    // The caller left (the form moved on): stop git.
    ctx.res.once('close', () => abort.abort());
    ctx.body = await browser.listSolutions(parsed.data, { signal: abort.signal });
  });
  return router;
}
