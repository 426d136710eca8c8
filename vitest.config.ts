import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    setupFiles: ['./test/helpers/setup.ts'],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.{ts,tsx}'],
      // Electron entry glue: it cannot run on machines without the Electron binary (CONTRIBUTING.md).
      exclude: ['src/main/**', 'src/preload/**', 'src/**/*.test.ts', 'src/**/*.d.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: { lines: 80 },
    },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['src/**/*.test.ts'], testTimeout: 10_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // dotnet builds saturate both cores: run integration files one at a time.
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // Chromium against real nodes building with dotnet: one file at a time, after the
          // unit and integration projects (group 0) have finished, so they never compete for the cores.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 420_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
