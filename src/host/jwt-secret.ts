import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Role } from '../core/api-access.js';
import { mintToken, type TokenClaims } from '../core/api-token.js';

const SECRET_BYTES = 32;

/** `<dataDir>/auth/jwt-secret`: the key the node signs and checks API tokens with. */
export function jwtSecretPath(dataDir: string): string {
  return join(dataDir, 'auth', 'jwt-secret');
}

function decode(text: string, path: string): Buffer {
  const secret = Buffer.from(text.trim(), 'base64url');
  if (secret.length < SECRET_BYTES) {
    throw new Error(`${path} holds no usable secret (expected ${SECRET_BYTES} random bytes, base64url)`);
  }
  return secret;
}

/** The data dir's signing secret, or null when the node has never started there. */
export async function readJwtSecret(dataDir: string): Promise<Buffer | null> {
  const path = jwtSecretPath(dataDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return decode(text, path);
}

/**
 * Reads the signing secret, creating it on first start: 32 random bytes in a file only the
 * owner can read (0600) inside a folder only the owner can enter (0700). Whoever can read the
 * file can mint tokens for this node: file access is the authority.
 */
export async function loadOrCreateJwtSecret(dataDir: string): Promise<Buffer> {
  const existing = await readJwtSecret(dataDir);
  const directory = join(dataDir, 'auth');
  if (existing) return existing;
  await mkdir(directory, { recursive: true, mode: 0o700 });
  await chmod(directory, 0o700);
  const path = jwtSecretPath(dataDir);
  // Written aside, then linked into place: two processes starting on one data dir at once end
  // up with the same secret, and no reader ever sees a half-written file.
  const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(draft, `${randomBytes(SECRET_BYTES).toString('base64url')}\n`, { mode: 0o600 });
  try {
    await link(draft, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(draft, { force: true });
  }
  const secret = await readJwtSecret(dataDir);
  if (!secret) throw new Error(`Could not create ${path}`);
  return secret;
}

/** Mints a token from the data dir's secret (the CLI's way: same machine, same files). */
export async function mintTokenFromDataDir(
  dataDir: string,
  role: Role,
  ttlSeconds: number,
  subject?: string,
): Promise<{ token: string; claims: TokenClaims } | null> {
  const secret = await readJwtSecret(dataDir);
  return secret ? mintToken(secret, { role, ttlSeconds, subject }) : null;
}
