import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyToken } from '../core/api-token.js';
import { jwtSecretPath, loadOrCreateJwtSecret, mintTokenFromDataDir, readJwtSecret } from './jwt-secret.js';

describe('the JWT secret of a data dir', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'buildmesh-secret-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is created once, owner-only, and read back the same', async () => {
    expect(await readJwtSecret(dataDir)).toBeNull();
    const [first, concurrent] = await Promise.all([
      loadOrCreateJwtSecret(dataDir),
      loadOrCreateJwtSecret(dataDir),
    ]);
    expect(first.length).toBe(32);
    expect(concurrent.equals(first)).toBe(true);
    expect((await loadOrCreateJwtSecret(dataDir)).equals(first)).toBe(true);
    expect((await stat(jwtSecretPath(dataDir))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, 'auth'))).mode & 0o777).toBe(0o700);
    expect((await readFile(jwtSecretPath(dataDir), 'utf8')).trim()).toBe(first.toString('base64url'));
  });

  it('mints tokens the node accepts, and none where no node ever started', async () => {
    expect(await mintTokenFromDataDir(dataDir, 'Admin', 60)).toBeNull();
    const secret = await loadOrCreateJwtSecret(dataDir);
    const minted = await mintTokenFromDataDir(dataDir, 'Developer', 60, 'ci');
    expect(minted && verifyToken(secret, minted.token)).toMatchObject({
      ok: true,
      claims: { sub: 'ci', role: 'Developer' },
    });
  });

  it('refuses a file that holds no usable secret', async () => {
    await mkdir(join(dataDir, 'auth'));
    await writeFile(jwtSecretPath(dataDir), 'short\n');
    await expect(readJwtSecret(dataDir)).rejects.toThrow(/holds no usable secret/);
  });
});
