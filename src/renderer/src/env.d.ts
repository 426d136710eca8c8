/**
 * What the desktop preload (src/preload/index.ts) hands the page through `contextBridge`.
 * Absent in a browser, where the UI talks to the node that served it (same origin).
 */
export interface BuildMeshBridge {
  /** The node's REST API, e.g. `http://127.0.0.1:5000`, without a trailing slash. */
  readonly apiBaseUrl: string;
  /** Bearer token for the API; `null` until the node issues tokens. */
  readonly token: string | null;
}

declare global {
  interface Window {
    readonly buildMesh?: BuildMeshBridge;
  }
}
