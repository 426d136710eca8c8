import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { envNameOf, flagNameOf, loadConfig } from './config.js';

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.field}: ${p.message}`);
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'buildmesh-config-'));

  it('uses the defaults', () => {
    const config = loadConfig({ env: {}, flags: { dataDir } });
    expect(config).toMatchObject({
      apiHost: '127.0.0.1',
      apiPort: 5000,
      maxConcurrentBuilds: 1,
      keepWorkspaces: false,
      logLevel: 'info',
    });
    expect(config.workspaceDir).toBe(join(dataDir, 'workspaces'));
  });

  it('layers defaults < file < env < flags', () => {
    const file = join(dataDir, 'layered.json');
    writeFileSync(file, JSON.stringify({ apiPort: 6000, maxConcurrentBuilds: 3, logLevel: 'warn' }));
    const config = loadConfig({
      configFile: file,
      env: { BUILDMESH_API_PORT: '7000', BUILDMESH_KEEP_WORKSPACES: 'true' },
      flags: { dataDir, apiPort: '8000' },
    });
    expect(config).toMatchObject({
      apiPort: 8000,
      maxConcurrentBuilds: 3,
      logLevel: 'warn',
      keepWorkspaces: true,
    });
  });

  it('reads <dataDir>/config.json when present', () => {
    const dir = mkdtempSync(join(tmpdir(), 'buildmesh-config-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ maxConcurrentBuilds: 2 }));
    expect(loadConfig({ env: { BUILDMESH_DATA_DIR: dir } }).maxConcurrentBuilds).toBe(2);
  });

  it('lists every problem with where the value came from', () => {
    const file = join(dataDir, 'bad.json');
    writeFileSync(file, JSON.stringify({ apiPrt: 1, logLevel: 'loud' }));
    const listed = problems(() =>
      loadConfig({
        configFile: file,
        env: { BUILDMESH_MAX_CONCURRENT_BUILDS: 'many' },
        flags: { dataDir, apiPort: '99999' },
      }),
    );
    expect(listed).toHaveLength(4);
    expect(listed.find((p) => p.startsWith('apiPrt'))).toContain('is not a config key');
    expect(listed.find((p) => p.startsWith('apiPort'))).toContain('(from flag --api-port)');
    expect(listed.find((p) => p.startsWith('maxConcurrentBuilds'))).toContain(
      '(from env BUILDMESH_MAX_CONCURRENT_BUILDS)',
    );
    expect(listed.find((p) => p.startsWith('logLevel'))).toContain(`(from file ${file})`);
  });

  it('reports a missing or unreadable config file', () => {
    expect(
      problems(() => loadConfig({ configFile: join(dataDir, 'nope.json'), env: {}, flags: { dataDir } }))[0],
    ).toContain('does not exist');
    const broken = join(dataDir, 'broken.json');
    writeFileSync(broken, '{');
    expect(problems(() => loadConfig({ configFile: broken, env: {}, flags: { dataDir } }))[0]).toContain(
      'is not valid JSON',
    );
    writeFileSync(broken, '[1]');
    expect(problems(() => loadConfig({ configFile: broken, env: {}, flags: { dataDir } }))[0]).toContain(
      'must contain a JSON object',
    );
  });

  it('names env variables and flags after the keys', () => {
    expect(envNameOf('maxConcurrentBuilds')).toBe('BUILDMESH_MAX_CONCURRENT_BUILDS');
    expect(flagNameOf('apiPort')).toBe('--api-port');
  });
  it('reads the API limits and the CORS allow-list, and refuses origins that are not origins', () => {
    const defaults = loadConfig({ env: {}, flags: { dataDir } });
    expect(defaults).toMatchObject({
      corsOrigins: [],
      rateLimitPerMinute: 1000,
      buildRateLimitPerMinute: 10,
    });
    const set = loadConfig({
      env: { BUILDMESH_CORS_ORIGINS: 'https://ci.example.com, http://localhost:3000' },
      flags: { dataDir, buildRateLimitPerMinute: '50' },
    });
    expect(set.corsOrigins).toEqual(['https://ci.example.com', 'http://localhost:3000']);
    expect(set.buildRateLimitPerMinute).toBe(50);
    const bad = problems(() =>
      loadConfig({
        env: { BUILDMESH_CORS_ORIGINS: '*,https://x.example.com/path' },
        flags: { dataDir, rateLimitPerMinute: '0' },
      }),
    );
    expect(bad.filter((p) => p.startsWith('corsOrigins.')).length).toBe(2);
    expect(bad.join('\n')).toContain('each origin must be scheme://host[:port]');
    expect(bad.some((p) => p.startsWith('rateLimitPerMinute:'))).toBe(true);
  });
});
