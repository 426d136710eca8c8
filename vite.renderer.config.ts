// The renderer's Vite config, shared by the desktop build (electron.vite.config.ts) and the
// renderer-only build that a headless node serves to browsers:
//   npx vite build --config vite.renderer.config.ts      → out/renderer
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const root = import.meta.dirname;

/**
 * The UI's Content-Security-Policy, added to the built index.html only: the dev server's React
 * Refresh preamble is an inline script that this policy would block. `connect-src` lets the desktop
 * renderer (loaded from file://) reach its node's API on loopback; in a browser the UI talks to the
 * origin that served it. CSP host sources cannot name IPv6 literals (`[::1]` is refused as invalid),
 * so the shell reaches its node by 127.0.0.1 or localhost.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' http://127.0.0.1:* http://localhost:*",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

function contentSecurityPolicy(): Plugin {
  return {
    name: 'buildmesh:content-security-policy',
    apply: 'build',
    transformIndexHtml: () => [
      {
        tag: 'meta',
        attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY },
        injectTo: 'head-prepend',
      },
    ],
  };
}

export default defineConfig({
  root: resolve(root, 'src/renderer'),
  // Relative asset URLs: the same files load from file:// on desktop and from any path over HTTP.
  base: './',
  plugins: [react(), contentSecurityPolicy()],
  build: {
    outDir: resolve(root, 'out/renderer'),
    emptyOutDir: true,
    rolldownOptions: { input: { index: resolve(root, 'src/renderer/index.html') } },
  },
});
