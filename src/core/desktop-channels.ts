/**
 * The contract between the desktop window and the Electron main process: the IPC channels and
 * the API the preload exposes to the page as `window.buildMesh`. No dependencies: the sandboxed
 * preload bundles this file and can load nothing else.
 */

/** One name per channel; main refuses messages from any page but the app's own. */
export const DESKTOP_CHANNELS = {
  /** Synchronous, once at preload: an API token for the page. */
  token: 'buildmesh:token',
  /** Copies an artifact out of the store into the Downloads folder and shows it there. */
  revealArtifact: 'buildmesh:reveal-artifact',
  /** A native notification. */
  notify: 'buildmesh:notify',
} as const;

/** Every IPC answer: the value, or the error with a stable code (never a thrown error across IPC). */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: { code: string; message: string } };

/** `window.buildMesh` in the desktop window; absent in a browser. */
export interface DesktopBridge {
  /** The node's REST API, e.g. `http://127.0.0.1:5000`, without a trailing slash. */
  readonly apiBaseUrl: string;
  /** An Admin token of this node for the API, or null when main could not issue one. */
  readonly token: string | null;
  /** Saves the artifact to the Downloads folder and shows it in the file manager; resolves with its path. */
  revealArtifact(artifactId: string): Promise<IpcResult<{ path: string }>>;
  notify(title: string, body: string): Promise<IpcResult<null>>;
}
