import type { Context, Next } from 'koa';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

const UI_CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Paths that belong to the API, never to the UI. */
const API_PREFIXES = ['/api/', '/health', '/metrics', '/swagger'];

/**
 * Serves the built React UI (`out/renderer`) at `/` for browsers on headless nodes. Unknown
 * non-API paths get `index.html`, so the UI's own routes survive a reload.
 */
export function staticUi(directory: string) {
  const root = normalize(directory + sep);
  return async (ctx: Context, next: Next): Promise<void> => {
    if (
      (ctx.method !== 'GET' && ctx.method !== 'HEAD') ||
      API_PREFIXES.some((prefix) => ctx.path.startsWith(prefix))
    ) {
      await next();
      return;
    }
    let relative: string;
    try {
      relative = decodeURIComponent(ctx.path);
    } catch {
      await next();
      return;
    }
    const candidate = normalize(join(root, relative));
    if (!candidate.startsWith(root)) {
      await next();
      return;
    }
    const file = (await isFile(candidate)) ? candidate : extname(relative) ? null : join(root, 'index.html');
    if (!file || !(await isFile(file))) {
      if (ctx.path === '/') {
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body =
          'The Build Mesh UI is not built. Run "npm run build:renderer" (npm start does it), or use the REST API under /api/v1.\n';
        return;
      }
      await next();
      return;
    }
    ctx.type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
    ctx.set('Content-Security-Policy', UI_CONTENT_SECURITY_POLICY);
    ctx.set(
      'Cache-Control',
      file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
    );
    ctx.body = createReadStream(file);
  };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
