import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TrayState } from '../core/tray-menu.js';
import type { RendererLocation } from './renderer-location.js';

/**
 * Where the tray icons are: `resources/` beside out/ in development; unpacked next to the asar
 * when packaged (electron-builder.yml unpacks them: the Linux tray needs real files).
 */
export function resourcesDirectory(input: {
  isPackaged: boolean;
  /** `process.resourcesPath`. */
  resourcesPath: string;
  /** The folder of the main bundle, out/main. */
  mainDirectory: string;
}): string {
  return input.isPackaged
    ? join(input.resourcesPath, 'app.asar.unpacked', 'resources')
    : join(input.mainDirectory, '..', '..', 'resources');
}

/** The tray icon of a state (Electron picks the @2x file on high-DPI screens by itself). */
export function trayIconPath(resources: string, state: TrayState): string {
  return join(resources, `tray-${state}.png`);
}

/**
 * Whether an IPC message comes from the app's own page: the built index.html, or the dev
 * server's origin in development. Anything else (a page the window navigated to, an iframe) is
 * refused.
 */
export function isTrustedSender(frameUrl: string | undefined, location: RendererLocation): boolean {
  if (!frameUrl) return false;
  let url: URL;
  try {
    url = new URL(frameUrl);
  } catch {
    return false;
  }
  if (location.kind === 'url') return url.origin === new URL(location.url).origin;
  const expected = pathToFileURL(location.path);
  return url.protocol === 'file:' && url.pathname === expected.pathname;
}

/**
 * The XDG autostart entry that starts the app at login on Linux, where Electron's
 * `setLoginItemSettings` does nothing. `--hidden` starts it in the tray without a window.
 */
export function linuxAutostartEntry(executable: string): string {
  const quoted = /[\s"'\\$`]/.test(executable) ? `"${executable.replace(/(["\\$`])/g, '\\$1')}"` : executable;
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Build Mesh',
    'Comment=Donate this machine to your team’s build mesh',
    `Exec=${quoted} --hidden`,
    'Icon=build-mesh',
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

/** Whether the app was started at login (then it stays in the tray, without a window). */
export function startedHidden(argv: readonly string[], openedAtLogin: boolean): boolean {
  return openedAtLogin || argv.includes('--hidden');
}
