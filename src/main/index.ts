// Electron main: the desktop shell around one BuildNode. Thin on purpose: it cannot run on machines
// without the Electron binary, so each decision worth testing lives in a small module beside it.
import { app, BrowserWindow, dialog, session } from 'electron';
import { join } from 'node:path';
import type { Logger } from '../core/ports.js';
import { BuildNode } from '../host/build-node.js';
import { loadConfig, type NodeConfig } from '../host/config.js';
import { JsonLogger } from '../host/logger.js';
import { withCorsFor } from './cors-headers.js';
import { createMainWindow } from './main-window.js';
import { rendererLocation } from './renderer-location.js';
import { describeStartupError } from './startup-error.js';

/** Quitting waits for the node to stop: running builds are cancelled and the store is closed. */
function stopNodeBeforeQuit(node: BuildNode, logger: Logger): void {
  let state: 'running' | 'stopping' | 'stopped' = 'running';
  app.on('before-quit', (event) => {
    if (state === 'stopped') return;
    event.preventDefault();
    if (state === 'stopping') return;
    state = 'stopping';
    void node
      .stop()
      .catch((error: unknown) => logger.error('node did not stop cleanly', { error: String(error) }))
      .finally(() => {
        state = 'stopped';
        app.quit();
      });
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}

async function startDesktop(): Promise<void> {
  let config: NodeConfig | null = null;
  let node: BuildNode;
  try {
    config = loadConfig({ flags: { dataDir: app.getPath('userData') } });
    node = await BuildNode.start({ config, logger: new JsonLogger('buildmesh', config.logLevel) });
  } catch (error) {
    await app.whenReady();
    dialog.showErrorBox('Build Mesh could not start', describeStartupError(error, config));
    app.exit(1);
    return;
  }
  const logger = new JsonLogger('buildmesh:desktop', config.logLevel);
  stopNodeBeforeQuit(node, logger);
  const location = rendererLocation({
    devServerUrl: process.env.ELECTRON_RENDERER_URL,
    isPackaged: app.isPackaged,
    builtIndexHtml: join(import.meta.dirname, '../renderer/index.html'),
  });

  await app.whenReady();
  if (location.kind === 'url') {
    // Dev only: the dev server is another origin than the API (file:// needs no CORS).
    const origin = new URL(location.url).origin;
    session.defaultSession.webRequest.onHeadersReceived(({ url, responseHeaders }, callback) =>
      callback(
        url.startsWith(`${node.apiUrl}/`) ? { responseHeaders: withCorsFor(origin, responseHeaders) } : {},
      ),
    );
  }
  const open = () => createMainWindow({ apiUrl: node.apiUrl, location, logger });
  open();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) open();
  });
}

if (app.requestSingleInstanceLock()) {
  app.on('second-instance', () => {
    const [window] = BrowserWindow.getAllWindows();
    if (window?.isMinimized()) window.restore();
    window?.show();
    window?.focus();
  });
  // Not a top-level await: Electron emits `ready` only after the entry module settles.
  startDesktop().catch((error: unknown) => {
    dialog.showErrorBox('Build Mesh stopped', describeStartupError(error, null));
    app.exit(1);
  });
} else {
  app.quit();
}
