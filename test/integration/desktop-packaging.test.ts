import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import type { Configuration } from 'app-builder-lib';
import { DebugLogger } from 'builder-util/out/DebugLogger.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..');

/**
 * Packaging needs downloads (Electron, NSIS, AppImage tools) that these machines cannot make, so
 * electron-builder.yml is checked the way electron-builder itself checks it before packaging.
 */
describe('electron-builder.yml', () => {
  const config = parse(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Configuration;

  it("passes electron-builder's own schema", async () => {
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    await expect(
      validateConfiguration(
        { ...config, linux: { ...config.linux, bogus: true } } as Configuration,
        new DebugLogger(false),
      ),
    ).rejects.toThrow(/configuration\.linux/);
  });

  it('targets Windows nsis, macOS dmg, Linux AppImage and deb', () => {
    expect(config.win?.target).toEqual(['nsis']);
    expect(config.mac?.target).toEqual(['dmg']);
    expect(config.linux?.target).toEqual(['AppImage', 'deb']);
  });

  it('ships the bundles and the tray icons of every state, unpacked', () => {
    expect(config.files).toEqual(expect.arrayContaining(['out/**', 'resources/**']));
    expect(config.asarUnpack).toEqual(expect.arrayContaining(['resources/**']));
    for (const state of ['idle', 'building', 'paused', 'offline'])
      for (const suffix of ['', '@2x'])
        expect(existsSync(join(root, 'resources', `tray-${state}${suffix}.png`)), `${state}${suffix}`).toBe(
          true,
        );
  });
});
