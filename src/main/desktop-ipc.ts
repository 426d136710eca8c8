import { Notification, ipcMain, shell, type IpcMainEvent, type IpcMainInvokeEvent } from 'electron';
import type { z } from 'zod';
import { notifyRequestSchema, revealArtifactRequestSchema } from '../core/desktop-bridge.js';
import { DESKTOP_CHANNELS, type IpcResult } from '../core/desktop-channels.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import type { BuildNode } from '../host/build-node.js';
import { isTrustedSender } from './desktop-paths.js';
import type { RendererLocation } from './renderer-location.js';

/** How long the window's API token lasts; the page asks for a new one when it reloads. */
const WINDOW_TOKEN_TTL_SECONDS = 24 * 3600;

export interface DesktopIpcOptions {
  /** The running node (it changes when the app joins another mesh). */
  node: () => BuildNode | null;
  location: RendererLocation;
  /** Where revealed artifacts are saved. */
  downloadsDirectory: string;
  logger: Logger;
}

/**
 * The main side of src/core/desktop-bridge.ts: each channel refuses messages from any page but
 * the app's own, validates what it receives, and answers `{ ok, value | error }`.
 */
export function registerDesktopIpc(options: DesktopIpcOptions): void {
  const trusted = (event: IpcMainEvent | IpcMainInvokeEvent) =>
    isTrustedSender(event.senderFrame?.url, options.location);

  ipcMain.on(DESKTOP_CHANNELS.token, (event) => {
    const node = options.node();
    event.returnValue =
      trusted(event) && node ? node.issueToken('Admin', WINDOW_TOKEN_TTL_SECONDS, 'desktop') : null;
  });

  handle(revealArtifactRequestSchema, DESKTOP_CHANNELS.revealArtifact, async ({ artifactId }) => {
    const node = options.node();
    if (!node) throw new Error('The node is not running');
    const path = await node.exportArtifact(artifactId, options.downloadsDirectory);
    shell.showItemInFolder(path);
    return { path };
  });

  handle(notifyRequestSchema, DESKTOP_CHANNELS.notify, ({ title, body }) => {
    if (Notification.isSupported()) new Notification({ title, body }).show();
    return Promise.resolve(null);
  });

  function handle<S extends z.ZodType, T>(
    schema: S,
    channel: string,
    run: (request: z.output<S>) => Promise<T>,
  ): void {
    ipcMain.handle(channel, async (event, payload: unknown): Promise<IpcResult<T>> => {
      if (!trusted(event)) return { ok: false, error: { code: 'Forbidden', message: 'Untrusted sender' } };
      const parsed = schema.safeParse(payload);
      if (!parsed.success)
        return {
          ok: false,
          error: { code: 'BadRequest', message: parsed.error.issues[0]?.message ?? 'Invalid' },
        };
      try {
        return { ok: true, value: await run(parsed.data) };
      } catch (error) {
        options.logger.warn('desktop action failed', { channel, error: errorMessage(error) });
        const code = (error as { code?: unknown }).code;
        return {
          ok: false,
          error: { code: typeof code === 'string' ? code : 'Failed', message: errorMessage(error) },
        };
      }
    });
  }
}
