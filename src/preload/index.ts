// The preload: hands the page the node's API address and nothing else. No ipcRenderer, no Node.
import { contextBridge } from 'electron';
import { readApiBaseUrl } from './api-base-url-argument.js';

const apiBaseUrl = readApiBaseUrl(process.argv);

// Without an address the page falls back to its own origin and shows "cannot reach the node".
if (apiBaseUrl !== null) {
  // Shape: BuildMeshBridge in src/renderer/src/env.d.ts. The token arrives with API auth.
  contextBridge.exposeInMainWorld('buildMesh', { apiBaseUrl, token: null });
}
