import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import type { ActionCacheEntry } from '../core/action-cache.js';
import { sha256Hex } from '../core/cache-key.js';
import { Libp2pEntrySigner } from './entry-signer.js';

function sampleEntry(producedBy: string): ActionCacheEntry {
  return {
    version: 1,
    cacheKey: sha256Hex('key'),
    kind: 'test',
    project: 'tests/A.Tests/A.Tests.csproj',
    producedBy,
    sdkVersion: '10.0.100',
    createdAt: '2025-03-01T12:00:00.000Z',
    outputTreeSha256: sha256Hex('tree'),
    artifacts: [
      {
        name: 'A.Tests.trx',
        path: 'TestResults/A.Tests.trx',
        sizeBytes: 1234,
        contentType: 'application/xml',
        sha256Hash: sha256Hex('trx'),
        createdAt: '2025-03-01T12:00:01.000Z',
      },
    ],
    testResults: {
      total: 3,
      passed: 2,
      failed: 1,
      skipped: 0,
      durationMs: 42.5,
      failures: [{ name: 'A.Tests.Fails', message: 'Assert.Equal', stackTrace: 'at A.Tests', durationMs: 3 }],
    },
    log: ['Restore complete', 'Passed!  - Failed: 1, Passed: 2'],
    blobs: [
      { sha256: sha256Hex('tree'), sizeBytes: 200 },
      { sha256: sha256Hex('trx'), sizeBytes: 1234 },
    ],
  };
}

/** Every way of changing one leaf of the entry by one byte (or one unit), with the path changed. */
function oneChangeEach(entry: ActionCacheEntry): Array<[string, ActionCacheEntry]> {
  const variants: Array<[string, ActionCacheEntry]> = [];
  const walk = (value: unknown, path: (string | number)[]): void => {
    if (Array.isArray(value)) value.forEach((item, index) => walk(item, [...path, index]));
    else if (value !== null && typeof value === 'object')
      for (const [key, field] of Object.entries(value)) walk(field, [...path, key]);
    else variants.push([path.join('.'), setAt(entry, path, changed(value))]);
  };
  walk(entry, []);
  return variants;
}

function changed(value: unknown): unknown {
  if (typeof value === 'number') return value + 1;
  if (typeof value === 'string') {
    const last = value.charCodeAt(value.length - 1);
    return value.slice(0, -1) + String.fromCharCode(last ^ 0x01);
  }
  return value;
}

function setAt(entry: ActionCacheEntry, path: (string | number)[], value: unknown): ActionCacheEntry {
  const copy = structuredClone(entry) as unknown as Record<string | number, unknown>;
  let target = copy;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  target[path[path.length - 1] ?? ''] = value;
  return copy as unknown as ActionCacheEntry;
}

describe('Libp2pEntrySigner', () => {
  it('signs entries that verify anywhere from the peer id alone', async () => {
    const key = await generateKeyPair('Ed25519');
    const signer = new Libp2pEntrySigner(key);
    expect(signer.peerId).toBe(peerIdFromPrivateKey(key).toString());
    const signed = await signer.sign(sampleEntry(signer.peerId));
    expect(signed.signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(await signer.verify(signed)).toBe(true);
    // Another node verifies it with its own signer: only the entry is needed.
    const other = new Libp2pEntrySigner(await generateKeyPair('Ed25519'));
    expect(await other.verify(signed)).toBe(true);
    // Key order does not matter: the signed bytes are canonical JSON.
    const reordered = Object.fromEntries(Object.entries(signed.entry).reverse()) as ActionCacheEntry;
    expect(await other.verify({ entry: reordered, signature: signed.signature })).toBe(true);
  });

  it('fails when any field of the entry changes by one byte', async () => {
    const signer = new Libp2pEntrySigner(await generateKeyPair('Ed25519'));
    const signed = await signer.sign(sampleEntry(signer.peerId));
    const variants = oneChangeEach(signed.entry);
    expect(variants.length).toBeGreaterThan(25);
    for (const [path, entry] of variants) {
      expect(await signer.verify({ entry, signature: signed.signature }), path).toBe(false);
    }
    // Nulled and dropped fields count as changes too.
    expect(await signer.verify({ ...signed, entry: { ...signed.entry, testResults: null } })).toBe(false);
    expect(await signer.verify({ ...signed, entry: { ...signed.entry, log: [] } })).toBe(false);
  });

  it('fails when any byte of the signature changes', async () => {
    const signer = new Libp2pEntrySigner(await generateKeyPair('Ed25519'));
    const signed = await signer.sign(sampleEntry(signer.peerId));
    const bytes = Buffer.from(signed.signature, 'base64');
    expect(bytes).toHaveLength(64);
    for (let index = 0; index < bytes.length; index++) {
      const flipped = Buffer.from(bytes);
      flipped[index] = (flipped[index] ?? 0) ^ 0x01;
      expect(await signer.verify({ ...signed, signature: flipped.toString('base64') }), `byte ${index}`).toBe(
        false,
      );
    }
    // Every character of the text too, including the last one, whose low bits the decoder ignores.
    const text = signed.signature;
    for (let index = 0; index < text.length; index++) {
      if (text[index] === '=') continue;
      const replacement = text[index] === 'A' ? 'B' : text[index] === 'B' ? 'A' : 'A';
      const altered = text.slice(0, index) + replacement + text.slice(index + 1);
      expect(await signer.verify({ ...signed, signature: altered }), `char ${index}`).toBe(false);
    }
    expect(await signer.verify({ ...signed, signature: `${text} ` })).toBe(false);
    expect(await signer.verify({ ...signed, signature: 'not base64 at all!' })).toBe(false);
  });

  it('fails for an entry claiming another producer', async () => {
    const alice = new Libp2pEntrySigner(await generateKeyPair('Ed25519'));
    const bob = new Libp2pEntrySigner(await generateKeyPair('Ed25519'));
    const signed = await alice.sign(sampleEntry(alice.peerId));
    expect(await bob.verify({ ...signed, entry: { ...signed.entry, producedBy: bob.peerId } })).toBe(false);
    // A signature from one producer never vouches for an entry naming another.
    const bobs = await bob.sign(sampleEntry(bob.peerId));
    expect(await alice.verify({ entry: signed.entry, signature: bobs.signature })).toBe(false);
    // Producers that are not ed25519 peer ids cannot be checked and never verify.
    const garbage = { ...signed, entry: { ...signed.entry, producedBy: 'not-a-peer-id' } };
    expect(await alice.verify(garbage)).toBe(false);
    await expect(alice.sign(sampleEntry(bob.peerId))).rejects.toThrow(/producedBy/);
  });
});
