import { BuildMeshError } from './errors.js';

/**
 * Errors of the mesh layer. All are *infrastructure* failures (DESIGN §4): a caller may retry the
 * work on the same or another peer.
 */

/**
 * Why a framed stream was abandoned:
 * - `FrameTooLarge` — a length prefix above the limit for that stream;
 * - `MalformedFrame` — a frame that is not UTF-8 JSON, or a broken length prefix;
 * - `UnexpectedMessage` — valid JSON that does not match the expected schema;
 * - `UnexpectedEnd` — the stream ended before a complete frame;
 * - `StreamFailed` — the stream was reset or closed by the transport.
 */
export type MeshProtocolErrorCode =
  'FrameTooLarge' | 'MalformedFrame' | 'UnexpectedMessage' | 'UnexpectedEnd' | 'StreamFailed';

/** A peer sent something the protocol does not allow. The caller aborts the stream. */
export class MeshProtocolError extends BuildMeshError {
  override readonly code: MeshProtocolErrorCode;
  constructor(code: MeshProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'MeshProtocolError';
    this.code = code;
  }
}

/** The peer is banned or not on the allow-list. */
export class PeerNotPermittedError extends BuildMeshError {
  readonly peerId: string;
  constructor(peerId: string) {
    super('PeerNotPermitted', `Peer ${peerId} is banned or not on the allow-list`);
    this.name = 'PeerNotPermittedError';
    this.peerId = peerId;
  }
}

/** The bytes received for a blob do not hash to its name; nothing was stored. Retry elsewhere. */
export class BlobIntegrityError extends BuildMeshError {
  readonly expected: string;
  readonly actual: string;
  readonly peerId: string;
  constructor(peerId: string, expected: string, actual: string) {
    super('BlobIntegrity', `Blob ${expected} from peer ${peerId} hashed to ${actual}; it was not stored`);
    this.name = 'BlobIntegrityError';
    this.expected = expected;
    this.actual = actual;
    this.peerId = peerId;
  }
}

/** The peer answered the blob request with an error (e.g. it does not hold the object). */
export class BlobUnavailableError extends BuildMeshError {
  readonly peerId: string;
  readonly sha256: string;
  constructor(peerId: string, sha256: string, code: string, message: string) {
    super(
      code === 'NotFound' ? 'BlobNotFound' : 'BlobUnavailable',
      `Peer ${peerId} cannot serve blob ${sha256}: ${message}`,
    );
    this.name = 'BlobUnavailableError';
    this.peerId = peerId;
    this.sha256 = sha256;
  }
}

/** A join code could not be read; `field` names the part that is wrong and the message says what to do. */
export class InvalidJoinCodeError extends BuildMeshError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('InvalidJoinCode', `Invalid join code: ${field} ${message}`);
    this.name = 'InvalidJoinCodeError';
    this.field = field;
  }
}
