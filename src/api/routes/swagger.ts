import Router from '@koa/router';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { HttpError } from '../error-envelope.js';
import { OPENAPI_SPEC_PATH, openApiSpec } from '../openapi.js';

/** The Swagger UI files served from swagger-ui-dist, and their content types. */
const DIST_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** Our own start-up script: external, so the page's CSP needs no inline script. */
const INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '${OPENAPI_SPEC_PATH}',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    validatorUrl: null,
    tryItOutEnabled: false,
  });
});
`;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Build Mesh API</title>
    <link rel="stylesheet" href="/swagger/swagger-ui.css" />
    <link rel="stylesheet" href="/swagger/index.css" />
    <link rel="icon" type="image/png" href="/swagger/favicon-32x32.png" sizes="32x32" />
    <link rel="icon" type="image/png" href="/swagger/favicon-16x16.png" sizes="16x16" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/swagger/swagger-ui-bundle.js"></script>
    <script src="/swagger/swagger-initializer.js"></script>
  </body>
</html>
`;

/**
 * Scripts only from this node (the bundle and the initializer are files, no inline script). Swagger
 * UI sets inline styles and shows data: images; it fetches the spec, and "Try it out" calls the API,
 * from the same origin.
 */
export const SWAGGER_CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function swaggerUiDirectory(): string {
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

/** `GET /swagger` (Swagger UI), `GET /swagger/v1/swagger.json` (the spec) and the UI's files. */
export function swaggerRoutes(): Router {
  const router = new Router({ prefix: '/swagger' });
  const directory = swaggerUiDirectory();
  // Built on the first request, not at start-up: a documentation slip must not stop a build node.
  let specJson: string | undefined;

  router.get('/', (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Content-Security-Policy', SWAGGER_CONTENT_SECURITY_POLICY);
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = PAGE;
  });

  router.get('/v1/swagger.json', (ctx) => {
    ctx.type = 'application/json; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    specJson ??= JSON.stringify(openApiSpec());
    ctx.body = specJson;
  });

  router.get('/:asset', (ctx) => {
    const asset = ctx.params.asset ?? '';
    ctx.set('Cache-Control', 'public, max-age=86400');
    if (asset === 'swagger-initializer.js') {
      ctx.type = 'text/javascript; charset=utf-8';
      ctx.body = INITIALIZER;
      return;
    }
    const type = Object.hasOwn(DIST_ASSETS, asset) ? DIST_ASSETS[asset] : undefined;
    if (!type) throw new HttpError('NotFound', `No Swagger UI file named '${asset}'`);
    ctx.type = type;
    ctx.body = createReadStream(join(directory, asset));
  });

  return router;
}
