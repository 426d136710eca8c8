import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKey } from '@libp2p/pnet';
import { multiaddr } from '@multiformats/multiaddr';
import { ConfigError } from '../core/errors.js';
import { InvalidJoinCodeError } from '../core/mesh-errors.js';
import { writeSecretFile } from './mesh-identity.js';

/**
 * The private-network key every member of a mesh shares (`@libp2p/pnet`), as the bytes of a
 * go-ipfs style `swarm.key` file: `/key/swarm/psk/1.0.0/\n/base16/\n<64 hex digits>`.
 */
export type SwarmKey = Uint8Array;

/** What a join code carries: the swarm key and where to find members of the mesh. */
export interface JoinInfo {
  swarmKey: SwarmKey;
  /** Bootstrap multiaddrs, normally ending in `/p2p/<peer id>`. */
  addresses: string[];
}

/** The prefix of every join code; the digit is the format version. */
export const JOIN_CODE_PREFIX = 'bmesh1:';
/** How many bootstrap addresses a join code may carry. */
export const MAX_JOIN_ADDRESSES = 16;
const MAX_ADDRESS_LENGTH = 512;
const MAX_JOIN_CODE_LENGTH = 16 * 1024;

const KEY_HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n';
const KEY_HEX = /^[0-9a-f]{64}$/;

/** Where the swarm key lives under a data directory. */
export function swarmKeyPath(dataDir: string): string {
  return join(dataDir, 'mesh', 'swarm.key');
}

/** A new random swarm key: a new, empty mesh. */
export function createSwarmKey(): SwarmKey {
  const key = new Uint8Array(KEY_HEADER.length + 64);
  generateKey(key);
  return key;
}

/** The 64 hex digits of a swarm key, or null when the bytes are not a v1 swarm key. */
function swarmKeyHex(key: Uint8Array): string | null {
  const lines = new TextDecoder().decode(key).split(/\r?\n/);
  if (lines[0] !== '/key/swarm/psk/1.0.0/' || lines[1] !== '/base16/') return null;
  const hex = (lines[2] ?? '').trim().toLowerCase();
  return KEY_HEX.test(hex) ? hex : null;
}

function swarmKeyFromHex(hex: string): SwarmKey {
  return new TextEncoder().encode(`${KEY_HEADER}${hex}`);
}

/** Loads `<dataDir>/mesh/swarm.key`, or null when this node has not created or joined a mesh. */
export async function loadSwarmKey(dataDir: string): Promise<SwarmKey | null> {
  const path = swarmKeyPath(dataDir);
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (!bytes) return null;
  const hex = swarmKeyHex(bytes);
  if (!hex) {
    throw new ConfigError([
      {
        field: path,
        message:
          'is not a swarm key (/key/swarm/psk/1.0.0/, /base16/, 64 hex digits); join the mesh again with a join code',
      },
    ]);
  }
  return swarmKeyFromHex(hex);
}

/** Loads the swarm key, creating a new mesh's key (mode 0600) when there is none. */
export async function loadOrCreateSwarmKey(
  dataDir: string,
): Promise<{ swarmKey: SwarmKey; created: boolean }> {
  const existing = await loadSwarmKey(dataDir);
  if (existing) return { swarmKey: existing, created: false };
  const swarmKey = createSwarmKey();
  await writeSwarmKey(dataDir, swarmKey);
  return { swarmKey, created: true };
}

/** Stores a swarm key (e.g. from a join code), replacing this node's mesh membership. */
export async function writeSwarmKey(dataDir: string, swarmKey: SwarmKey): Promise<void> {
  const hex = swarmKeyHex(swarmKey);
  if (!hex) throw new ConfigError([{ field: 'swarmKey', message: 'is not a v1 swarm key' }]);
  await writeSecretFile(swarmKeyPath(dataDir), swarmKeyFromHex(hex));
}

/** Whether two swarm keys are the same key (ignoring line endings and hex case). */
export function sameSwarmKey(a: SwarmKey, b: SwarmKey): boolean {
  const hexA = swarmKeyHex(a);
  return hexA !== null && hexA === swarmKeyHex(b);
}

/**
 * One copy-pasteable string holding the swarm key and bootstrap addresses:
 * `bmesh1:` + base64url of `{"k":"<hex>","a":[...]}`. It is a secret: whoever holds it can join.
 */
export function encodeJoinCode(info: JoinInfo): string {
  const hex = swarmKeyHex(info.swarmKey);
  if (!hex) throw new InvalidJoinCodeError('swarmKey', 'is not a v1 swarm key');
  if (info.addresses.length === 0)
    throw new InvalidJoinCodeError('addresses', 'must list at least one address of a mesh member');
  if (info.addresses.length > MAX_JOIN_ADDRESSES) {
    throw new InvalidJoinCodeError('addresses', `may list at most ${MAX_JOIN_ADDRESSES} addresses`);
  }
  info.addresses.forEach((address, index) => checkAddress(address, index));
  const json = JSON.stringify({ k: hex, a: info.addresses });
  return `${JOIN_CODE_PREFIX}${Buffer.from(json, 'utf8').toString('base64url')}`;
}

/** Reads a join code; errors name the part that is wrong and say what to do. */
export function decodeJoinCode(code: string): JoinInfo {
  const trimmed = code.trim();
  const again = 'copy the whole code again from a member of the mesh';
  if (trimmed.length > MAX_JOIN_CODE_LENGTH) throw new InvalidJoinCodeError('code', `is too long; ${again}`);
  if (!trimmed.startsWith(JOIN_CODE_PREFIX)) {
    const other = /^bmesh(\d+):/.exec(trimmed);
    throw new InvalidJoinCodeError(
      'prefix',
      other
        ? `is format ${other[1]}, which this version cannot read; update Build Mesh`
        : `must start with "${JOIN_CODE_PREFIX}"; ${again}`,
    );
  }
  const body = trimmed.slice(JOIN_CODE_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body))
    throw new InvalidJoinCodeError('code', `contains characters that are not base64url; ${again}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidJoinCodeError('code', `is truncated or damaged; ${again}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidJoinCodeError('code', `is truncated or damaged; ${again}`);
  }
  const { k, a } = parsed as Record<string, unknown>;
  if (typeof k !== 'string' || !KEY_HEX.test(k))
    throw new InvalidJoinCodeError('swarmKey', `is missing or not 64 hex digits; ${again}`);
  if (!Array.isArray(a) || a.length === 0) {
    throw new InvalidJoinCodeError(
      'addresses',
      `are missing; ask a member for a new code (their node must be running)`,
    );
  }
  if (a.length > MAX_JOIN_ADDRESSES)
    throw new InvalidJoinCodeError('addresses', `may list at most ${MAX_JOIN_ADDRESSES} addresses`);
  const addresses = a.map((address, index) => {
    if (typeof address !== 'string')
      throw new InvalidJoinCodeError(`addresses[${index}]`, `is not a string; ${again}`);
    checkAddress(address, index);
    return address;
  });
  return { swarmKey: swarmKeyFromHex(k), addresses };
}

function checkAddress(address: string, index: number): void {
  const field = `addresses[${index}]`;
  if (address.length > MAX_ADDRESS_LENGTH)
    throw new InvalidJoinCodeError(field, `is longer than ${MAX_ADDRESS_LENGTH} characters`);
  try {
    multiaddr(address);
  } catch {
    throw new InvalidJoinCodeError(
      field,
      `("${address}") is not a multiaddr such as /ip4/192.168.1.20/tcp/4101/p2p/12D3Koo…`,
    );
  }
}
