// electron-vite: bundles the Electron main process, the preload and the React renderer into out/.
// `npx electron-vite build` runs offline; it never needs the Electron binary.
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import rendererConfig from './vite.renderer.config.js';

const root = import.meta.dirname;

export default defineConfig({
  main: {
    // Dependencies (libsql and its N-API binary, koa, zod…) stay external and load from
    // node_modules at run time: electron-vite's default, stated here on purpose.
    build: {
      externalizeDeps: true,
      rolldownOptions: { input: { index: resolve(root, 'src/main/index.ts') } },
    },
  },
  preload: {
    build: {
      externalizeDeps: true,
      rolldownOptions: {
        input: { index: resolve(root, 'src/preload/index.ts') },
        // A sandboxed preload runs as a classic script wrapped in a function: no ESM, so CommonJS,
        // named .cjs because package.json says "type": "module".
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  // One renderer config for desktop and browser; electron-vite adds its Chromium target to it.
  renderer: rendererConfig,
});
