import { BrowserWindow, shell } from 'electron';
import { join } from 'node:path';
import type { Logger } from '../core/ports.js';
import { apiBaseUrlArgument } from './api-base-url-argument.js';
import { externalUrlToOpen, type RendererLocation } from './renderer-location.js';

export interface MainWindowOptions {
  apiUrl: string;
  location: RendererLocation;
  logger: Logger;
}

/** The one app window: sandboxed, isolated, told the API address by its preload, locked to the UI. */
export function createMainWindow({ apiUrl, location, logger }: MainWindowOptions): BrowserWindow {
  const window = new BrowserWindow({
    width: 1100,
    height: 760,
    show: false,
    title: 'Build Mesh',
    webPreferences: {
      // Sandboxed preloads cannot be ES modules: electron.vite.config.ts emits this one as CommonJS.
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      additionalArguments: [apiBaseUrlArgument(apiUrl)],
    },
  });
  window.once('ready-to-show', () => window.show());
  // The UI is one page: links open in the system browser, never inside the app.
  window.webContents.setWindowOpenHandler(({ url }) => {
    openExternally(url);
    return { action: 'deny' };
  });
  window.webContents.on('will-navigate', (event, url) => {
    event.preventDefault();
    openExternally(url);
  });
  const loaded = location.kind === 'url' ? window.loadURL(location.url) : window.loadFile(location.path);
  loaded.catch((error: unknown) => logger.error('window could not load the UI', { error: String(error) }));
  return window;
}

function openExternally(url: string): void {
  const external = externalUrlToOpen(url);
  if (external) void shell.openExternal(external);
}
