// The preload: hands the page the node's API address, a token and a few native actions through
// `window.buildMesh` (src/core/desktop-bridge.ts). No ipcRenderer, no Node for the page.
import { contextBridge, ipcRenderer } from 'electron';
import { DESKTOP_CHANNELS, type DesktopBridge, type IpcResult } from '../core/desktop-channels.js';
import { readApiBaseUrl } from './api-base-url-argument.js';

const apiBaseUrl = readApiBaseUrl(process.argv);

// Without an address the page falls back to its own origin and shows "cannot reach the node".
if (apiBaseUrl !== null) {
  // Asked once, synchronously, so the page finds it at start; never on the command line, which
  // other local processes can read.
  const token: unknown = ipcRenderer.sendSync(DESKTOP_CHANNELS.token);
  const bridge: DesktopBridge = {
    apiBaseUrl,
    token: typeof token === 'string' ? token : null,
    revealArtifact: (artifactId) =>
      ipcRenderer.invoke(DESKTOP_CHANNELS.revealArtifact, { artifactId }) as Promise<
        IpcResult<{ path: string }>
      >,
    notify: (title, body) =>
      ipcRenderer.invoke(DESKTOP_CHANNELS.notify, { title, body }) as Promise<IpcResult<null>>,
  };
  contextBridge.exposeInMainWorld('buildMesh', bridge);
}
