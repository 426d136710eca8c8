import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { detectCapabilities } from '../../src/agent/capability-detector.js';
import { JsonLogger } from '../../src/host/logger.js';

describe('capability detection', () => {
  it('detects this machine in under a second, mapping the SDK to the frameworks it builds', async () => {
    const lines: string[] = [];
    const logger = new JsonLogger('test', 'info', (line) => lines.push(line));
    const started = performance.now();
    const capabilities = await detectCapabilities({ workspaceDir: tmpdir(), maxConcurrentBuilds: 2, logger });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(capabilities.installedSdks.some((sdk) => sdk.startsWith('10.'))).toBe(true);
    expect(capabilities.buildableFrameworks).toEqual(
      expect.arrayContaining(['net10.0', 'net8.0', 'netstandard2.0']),
    );
    expect(
      capabilities.installedRuntimes.some((runtime) => runtime.startsWith('Microsoft.NETCore.App 10.')),
    ).toBe(true);
    expect(capabilities.gitVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(capabilities.cpuCores).toBeGreaterThan(0);
    expect(capabilities.totalMemoryGB).toBeGreaterThan(0);
    expect(capabilities.maxConcurrentBuilds).toBe(2);
    expect(lines.some((line) => line.includes('capabilities detected'))).toBe(true);
  });

  it('treats a missing tool as absent and logs it, without failing', async () => {
    const lines: string[] = [];
    const logger = new JsonLogger('test', 'warn', (line) => lines.push(line));
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const capabilities = await detectCapabilities({
        workspaceDir: tmpdir(),
        maxConcurrentBuilds: 1,
        logger,
      });
      expect(capabilities.installedSdks).toEqual([]);
      expect(capabilities.installedTools).toEqual([]);
      expect(capabilities.buildableFrameworks).toEqual([]);
    } finally {
      process.env.PATH = path;
    }
    expect(lines.filter((line) => line.includes('treated as missing')).length).toBeGreaterThanOrEqual(3);
  });
});
