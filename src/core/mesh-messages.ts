import { z } from 'zod';
import { caseInsensitiveEnum } from './zod-helpers.js';
import type { AgentCapabilities } from './capabilities.js';
import type { AgentStatus } from './models.js';
import { announcedMarksSchema } from './not-reproducible.js';

/**
 * Wire messages of the mesh's presence topic and blob protocol. Every schema is bounded (string
 * lengths, array sizes, number ranges) because it parses bytes sent by another machine. Enums are
 * parsed case-insensitively and come out in canonical case.
 */

/** A lowercase hex sha256, the name of a CAS object. */
export const sha256HexSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, { error: 'must be a lowercase hex sha256' });

/** A libp2p peer id in its string form (base58btc `12D3Koo…`/`Qm…` or a base32 CID). */
export const peerIdStringSchema = z
  .string()
  .min(16)
  .max(128)
  .regex(/^[1-9A-HJ-NP-Za-km-z]+$|^b[a-z2-7]+$/, { error: 'must be a peer id' });

/** A W3C trace context header value: `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`. */
export const traceparentSchema = z
  .string()
  .max(100)
  .regex(/^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/, { error: 'must be a W3C traceparent' });

const shortLabel = z.string().max(64);
const smallCount = z.number().int().min(0).max(1024);
const gigabytes = z.number().min(0).max(1_000_000);
const percent = z.number().min(0).max(100);

/** The statuses a peer announces (DESIGN §3). `Offline` is also what a silent peer becomes. */
export const MESH_AGENT_STATUSES = [
  'Idle',
  'Building',
  'Offline',
  'Maintenance',
] as const satisfies readonly AgentStatus[];

/**
 * When a peer takes work from others:
 * - `Always` — whenever it has a free slot;
 * - `WhenIdle` — only while its owner is not using the machine;
 * - `Paused` — never (it still launches its own builds).
 */
export const DONATION_MODES = ['Always', 'WhenIdle', 'Paused'] as const;
export type DonationMode = (typeof DONATION_MODES)[number];

/** {@link AgentCapabilities} as it travels in presence announcements. */
export const agentCapabilitiesSchema = z.object({
  os: caseInsensitiveEnum(['linux', 'windows', 'macos', 'other']),
  arch: shortLabel,
  cpuCores: z.number().int().min(0).max(4096),
  totalMemoryGB: gigabytes,
  freeMemoryGB: gigabytes,
  availableDiskSpaceGB: gigabytes,
  installedSdks: z.array(shortLabel).max(64),
  installedRuntimes: z.array(z.string().max(128)).max(128),
  buildableFrameworks: z.array(shortLabel).max(128),
  installedTools: z.array(shortLabel).max(32),
  gitVersion: shortLabel.nullable(),
  dockerVersion: shortLabel.nullable(),
  maxConcurrentBuilds: smallCount,
}) satisfies z.ZodType<AgentCapabilities, unknown>;

/**
 * What a peer gossips about itself on the presence topic, on every change and every few seconds.
 * Unknown fields are dropped rather than rejected, so a peer one minor version ahead stays visible.
 */
export const presenceAnnouncementSchema = z.object({
  /** The sender's peer id; receivers drop announcements whose agentId is not the gossip sender. */
  agentId: peerIdStringSchema,
  hostname: z.string().min(1).max(255),
  os: caseInsensitiveEnum(['linux', 'windows', 'macos', 'other']),
  arch: shortLabel,
  status: caseInsensitiveEnum(MESH_AGENT_STATUSES),
  donationMode: caseInsensitiveEnum(DONATION_MODES),
  /**
   * Whether it takes work now: false while Paused, in Maintenance, or when its owner is at a
   * WhenIdle machine. Absent from older peers, which count as accepting.
   */
  acceptingWork: z.boolean().optional(),
  freeSlots: smallCount,
  maxConcurrentBuilds: smallCount,
  /** Percent, 0–100. */
  cpuUsage: percent,
  /** Percent, 0–100. */
  memoryUsage: percent,
  capabilities: agentCapabilitiesSchema,
  /** The project of the build it is running, if any. */
  currentJob: z.string().max(256).nullable(),
  /**
   * Projects the sender holds as not reproducible (its own findings and what it learned from
   * peers), newest last, at most 256 and 12 KiB of them; receivers keep them too. Absent from older peers.
   */
  notReproducible: announcedMarksSchema.optional(),
  /** Grows with every announcement of one sender; receivers ignore one older than the last they saw. */
  sequence: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** When the node started, for its uptime. */
  startedAt: z.iso.datetime({ offset: true }).optional(),
  sentAt: z.iso.datetime({ offset: true }),
  traceparent: traceparentSchema.optional(),
});
export type PresenceAnnouncement = z.infer<typeof presenceAnnouncementSchema>;

/** The first frame of a `blob` stream: which object the requester wants. */
export const blobRequestSchema = z.strictObject({
  type: z.literal('blob-request'),
  sha256: sha256HexSchema,
  traceparent: traceparentSchema.optional(),
});
export type BlobRequest = z.infer<typeof blobRequestSchema>;

/** Why a blob could not be served. */
export const BLOB_ERROR_CODES = ['NotFound', 'TooLarge', 'InvalidRequest', 'Internal'] as const;
export type BlobErrorCode = (typeof BLOB_ERROR_CODES)[number];

/**
 * The server's answer: either `found` followed by raw byte frames totalling exactly `sizeBytes`,
 * or an `error` and the end of the stream.
 */
export const blobResponseSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('found'),
    sha256: sha256HexSchema,
    sizeBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  }),
  z.strictObject({
    type: z.literal('error'),
    error: z.strictObject({ code: z.enum(BLOB_ERROR_CODES), message: z.string().max(2000) }),
  }),
]);
export type BlobResponse = z.infer<typeof blobResponseSchema>;
