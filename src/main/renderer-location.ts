/** Where the window loads the UI from. */
export type RendererLocation =
  /** electron-vite's dev server (hot reload). */
  | { kind: 'url'; url: string }
  /** The built renderer, out/renderer/index.html. */
  | { kind: 'file'; path: string };

export interface RendererLocationInput {
  /** `process.env.ELECTRON_RENDERER_URL`, set by `electron-vite dev`. */
  devServerUrl: string | undefined;
  /** `app.isPackaged`: a packaged app never follows the variable, so it cannot be pointed elsewhere. */
  isPackaged: boolean;
  /** Absolute path of the built index.html. */
  builtIndexHtml: string;
}

export function rendererLocation({
  devServerUrl,
  isPackaged,
  builtIndexHtml,
}: RendererLocationInput): RendererLocation {
  if (!isPackaged && devServerUrl) return { kind: 'url', url: devServerUrl };
  return { kind: 'file', path: builtIndexHtml };
}

/** A link the UI asks to open goes to the system browser, and only when it is http(s). */
export function externalUrlToOpen(url: string): string | null {
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}
