import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import {
  entrySigningBytes,
  type ActionCacheEntry,
  type EntrySigner,
  type SignedActionCacheEntry,
} from '../core/action-cache.js';
import { InvalidArgumentError } from '../core/errors.js';

/**
 * Signs action-cache entries with this node's libp2p key and checks other peers' signatures.
 * Verification needs nothing but the entry: an ed25519 peer id embeds its public key, so the key
 * of `entry.producedBy` comes from the id itself.
 */
export class Libp2pEntrySigner implements EntrySigner {
  readonly peerId: string;

  constructor(private readonly privateKey: PrivateKey) {
    this.peerId = peerIdFromPrivateKey(privateKey).toString();
  }

  /** Signs `entry`, which must name this node as its producer. */
  async sign(entry: ActionCacheEntry): Promise<SignedActionCacheEntry> {
    if (entry.producedBy !== this.peerId) {
      throw new InvalidArgumentError([
        { field: 'entry.producedBy', message: `is ${entry.producedBy}, but this node is ${this.peerId}` },
      ]);
    }
    const signature = await this.privateKey.sign(entrySigningBytes(entry));
    return { entry, signature: Buffer.from(signature).toString('base64') };
  }

  /** True only when the signature is `entry.producedBy`'s over the entry; any error reads as false. */
  async verify(signed: SignedActionCacheEntry): Promise<boolean> {
    try {
      const signature = strictBase64(signed.signature);
      if (signature === null) return false;
      const publicKey = peerIdFromString(signed.entry.producedBy).publicKey;
      // RSA ids do not embed their key; nobody in the mesh has one.
      if (publicKey === undefined) return false;
      return await publicKey.verify(entrySigningBytes(signed.entry), signature);
    } catch {
      return false;
    }
  }
}

/**
 * Decodes canonical base64 only. Node's decoder ignores stray characters and the unused low bits
 * of the last character, so several strings decode alike: a changed signature must not verify.
 */
function strictBase64(text: string): Uint8Array | null {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}
