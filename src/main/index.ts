// Electron main: the desktop shell around one BuildNode, with a tray. Thin on purpose: it cannot
// run on machines without the Electron binary, so the tray's state, menu and quit rules are pure
// functions in src/core/tray-menu.ts, and every other decision lives in a small module beside it.
import { app, Notification, clipboard, dialog, powerMonitor, session } from 'electron';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import { buildFinishedNotification, quitPlan, type TrayAction, type TrayFacts } from '../core/tray-menu.js';
import { BuildNode } from '../host/build-node.js';
import { loadConfig, type NodeConfig } from '../host/config.js';
import { JsonLogger } from '../host/logger.js';
import { withCorsFor } from './cors-headers.js';
import { registerDesktopIpc } from './desktop-ipc.js';
import { linuxAutostartEntry, resourcesDirectory, startedHidden } from './desktop-paths.js';
import { createMainWindow } from './main-window.js';
import { rendererLocation, type RendererLocation } from './renderer-location.js';
import { describeStartupError } from './startup-error.js';
import type { BrowserWindow } from 'electron';
import { DesktopTray } from './tray.js';

/** How often the owner's idle time is read for WhenIdle donation. */
const IDLE_POLL_MS = 5_000;

interface DesktopState {
  config: NodeConfig;
  logger: Logger;
  location: RendererLocation;
  tray: DesktopTray;
  node: BuildNode | null;
  window: BrowserWindow | null;
  quitting: boolean;
  stopped: boolean;
  /** Resolves when a second Quit asks to stop without waiting any longer. */
  forceQuit: () => void;
  loginItem: boolean | null;
  trayTimer: NodeJS.Timeout | null;
}

async function startDesktop(): Promise<void> {
  let config: NodeConfig;
  try {
    config = loadConfig({ flags: { dataDir: app.getPath('userData') } });
  } catch (error) {
    await app.whenReady();
    dialog.showErrorBox('Build Mesh could not start', describeStartupError(error, null));
    app.exit(1);
    return;
  }
  const logger = new JsonLogger('buildmesh:desktop', config.logLevel);
  const hidden = startedHidden(process.argv, app.getLoginItemSettings().wasOpenedAtLogin);
  await app.whenReady();

  const resources = resourcesDirectory({
    isPackaged: app.isPackaged,
    resourcesPath: process.resourcesPath,
    mainDirectory: import.meta.dirname,
  });
  const state: DesktopState = {
    config,
    logger,
    location: rendererLocation({
      devServerUrl: process.env.ELECTRON_RENDERER_URL,
      isPackaged: app.isPackaged,
      builtIndexHtml: join(import.meta.dirname, '../renderer/index.html'),
    }),
    tray: new DesktopTray(resources, (action) => runAction(state, action)),
    node: null,
    window: null,
    quitting: false,
    stopped: false,
    forceQuit: () => undefined,
    loginItem: null,
    trayTimer: null,
  };
  registerDesktopIpc({
    node: () => state.node,
    location: state.location,
    downloadsDirectory: join(app.getPath('downloads'), 'Build Mesh'),
    logger,
  });
  if (state.location.kind === 'url') {
    // Dev only: the dev server is another origin than the API (file:// needs no CORS).
    const origin = new URL(state.location.url).origin;
    session.defaultSession.webRequest.onHeadersReceived(({ url, responseHeaders }, callback) => {
      const apiUrl = state.node?.apiUrl;
      callback(
        apiUrl && url.startsWith(`${apiUrl}/`)
          ? { responseHeaders: withCorsFor(origin, responseHeaders) }
          : {},
      );
    });
  }
  updateTray(state);
  app.on('second-instance', () => openWindow(state));

  try {
    await startNode(state);
  } catch (error) {
    dialog.showErrorBox('Build Mesh could not start', describeStartupError(error, config));
    app.exit(1);
    return;
  }

  app.on('before-quit', (event) => {
    if (state.stopped) return;
    event.preventDefault();
    void quit(state);
  });
  // The app lives in the tray: closing the window does not quit it.
  app.on('window-all-closed', () => undefined);
  app.on('activate', () => openWindow(state));
  const idleTimer = setInterval(() => state.node?.setIdleSeconds(systemIdleSeconds()), IDLE_POLL_MS);
  idleTimer.unref();
  state.node?.setIdleSeconds(systemIdleSeconds());
  if (!hidden) openWindow(state);
}

/** Seconds since the owner's last input; a locked screen counts as away however recent the input. */
function systemIdleSeconds(): number {
  return powerMonitor.getSystemIdleState(1) === 'locked'
    ? Number.MAX_SAFE_INTEGER
    : powerMonitor.getSystemIdleTime();
}

async function startNode(state: DesktopState, joinCode?: string): Promise<void> {
  const node = await BuildNode.start({
    config: state.config,
    logger: new JsonLogger('buildmesh', state.config.logLevel),
    joinCode,
  });
  state.node = node;
  node.onStateChange(() => scheduleTrayUpdate(state));
  node.onBuildFinished((build) => {
    if (!Notification.isSupported()) return;
    const notification = new Notification(buildFinishedNotification(build));
    notification.on('click', () => openWindow(state));
    notification.show();
  });
  node.setIdleSeconds(systemIdleSeconds());
  await applyLoginItem(state, node.configView().settings.startAtLogin);
  updateTray(state);
}

function trayFacts(state: DesktopState): TrayFacts {
  const { node } = state;
  if (!node) {
    return {
      settings: null,
      running: [],
      accepting: false,
      reason: null,
      cpuCores: cpus().length,
      canShareMesh: false,
      quitting: state.quitting,
    };
  }
  const view = node.configView();
  return {
    settings: view.settings,
    running: view.donation.running,
    accepting: view.donation.accepting,
    reason: view.donation.reason,
    cpuCores: view.node.cpuCores,
    canShareMesh: node.meshAddresses.some((address) => !address.includes('/ip4/0.0.0.0/')),
    quitting: state.quitting,
  };
}

function updateTray(state: DesktopState): void {
  state.tray.update(trayFacts(state));
}

/** Coalesces bursts of changes (a task starting on every slot) into one redraw. */
function scheduleTrayUpdate(state: DesktopState): void {
  if (state.trayTimer) return;
  state.trayTimer = setTimeout(() => {
    state.trayTimer = null;
    updateTray(state);
  }, 100);
}

function runAction(state: DesktopState, action: TrayAction): void {
  const failed = (what: string) => (error: unknown) => {
    state.logger.warn(`${what} failed`, { error: errorMessage(error) });
    dialog.showErrorBox(`Build Mesh: ${what} failed`, errorMessage(error));
  };
  switch (action.type) {
    case 'update-settings': {
      const node = state.node;
      if (!node) return;
      node
        .updateSettings(action.patch)
        .then((view) => applyLoginItem(state, view.settings.startAtLogin))
        .catch(failed('changing the settings'));
      return;
    }
    case 'open-dashboard':
      openWindow(state);
      return;
    case 'copy-join-code': {
      const node = state.node;
      if (!node) return;
      Promise.resolve()
        .then(() => clipboard.writeText(node.joinCode()))
        .then(() =>
          notify(
            'Join code copied',
            'On another machine: Build Mesh tray → Join a mesh…. Treat it like a password.',
          ),
        )
        .catch(failed('copying the join code'));
      return;
    }
    case 'join-mesh':
      joinMesh(state).catch(failed('joining the mesh'));
      return;
    case 'quit':
      void quit(state);
      return;
  }
}

function notify(title: string, body: string): void {
  if (Notification.isSupported()) new Notification({ title, body }).show();
}

function openWindow(state: DesktopState): void {
  const { node } = state;
  if (!node) return;
  if (state.window && !state.window.isDestroyed()) {
    if (state.window.isMinimized()) state.window.restore();
    state.window.show();
    state.window.focus();
    return;
  }
  const window = createMainWindow({ apiUrl: node.apiUrl, location: state.location, logger: state.logger });
  window.on('closed', () => {
    if (state.window === window) state.window = null;
  });
  state.window = window;
}

/**
 * Quit finishes or hands back running work first (see `quitPlan`), then stops the node. A
 * second Quit while waiting hands everything back and stops at once.
 */
async function quit(state: DesktopState): Promise<void> {
  const node = state.node;
  if (state.quitting) {
    await node?.drain({ handBack: true, timeoutMs: 0 });
    state.forceQuit();
    return;
  }
  const plan = quitPlan(trayFacts(state));
  state.quitting = true;
  updateTray(state);
  const forced = new Promise<void>((resolve) => (state.forceQuit = resolve));
  try {
    if (node) {
      await Promise.race([node.drain(plan), forced]);
      await node.stop();
    }
  } catch (error) {
    state.logger.error('node did not stop cleanly', { error: errorMessage(error) });
  } finally {
    state.stopped = true;
    state.tray.destroy();
    app.quit();
  }
}

/** Joins the mesh of the join code on the clipboard: the node restarts with the mesh's key. */
async function joinMesh(state: DesktopState): Promise<void> {
  const code = (await clipboard.readText()).trim();
  let addresses: string[];
  try {
    addresses = BuildNode.checkJoinCode(code);
  } catch (error) {
    await dialog.showMessageBox({
      type: 'info',
      message: 'Copy a join code first',
      detail:
        'On a machine of the mesh, choose "Copy join code" in the Build Mesh tray, copy the code here, then ' +
        `choose "Join a mesh…" again.\n\nThe clipboard does not hold a join code: ${errorMessage(error)}`,
    });
    return;
  }
  const { response } = await dialog.showMessageBox({
    type: 'question',
    buttons: ['Join', 'Cancel'],
    defaultId: 0,
    cancelId: 1,
    message: 'Join this mesh?',
    detail:
      `Build Mesh restarts its node with the mesh's key and connects to ${addresses.join(', ')}. ` +
      'Work running for peers is handed back; builds of this machine are cancelled.',
  });
  if (response !== 0 || !state.node) return;

  const old = state.node;
  state.node = null;
  state.window?.close();
  updateTray(state);
  await old.drain({ handBack: true, timeoutMs: 30_000 });
  await old.stop();
  try {
    await startNode(state, code);
  } catch (error) {
    dialog.showErrorBox('Could not join the mesh', describeStartupError(error, state.config));
    await startNode(state);
  }
  openWindow(state);
}

/** Start at login: Electron's login items on Windows and macOS, an XDG autostart entry on Linux. */
async function applyLoginItem(state: DesktopState, enabled: boolean): Promise<void> {
  if (state.loginItem === enabled) return;
  state.loginItem = enabled;
  if (process.platform === 'linux') {
    const directory = join(app.getPath('appData'), 'autostart');
    const entry = join(directory, 'build-mesh.desktop');
    if (enabled) {
      await mkdir(directory, { recursive: true });
      await writeFile(entry, linuxAutostartEntry(process.env.APPIMAGE ?? process.execPath));
    } else {
      await rm(entry, { force: true });
    }
    return;
  }
  app.setLoginItemSettings({ openAtLogin: enabled, args: ['--hidden'] });
}

if (app.requestSingleInstanceLock()) {
  // Not a top-level await: Electron emits `ready` only after the entry module settles.
  startDesktop().catch((error: unknown) => {
    dialog.showErrorBox('Build Mesh stopped', describeStartupError(error, null));
    app.exit(1);
  });
} else {
  app.quit();
}
