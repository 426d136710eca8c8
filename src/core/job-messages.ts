import { z } from 'zod';
import { signedActionCacheEntrySchema } from './action-cache.js';
import { traceparentSchema } from './mesh-messages.js';
import {
  BUILD_PRIORITIES,
  BUILD_STRATEGIES,
  STAGE_NAMES,
  TARGET_POOLS,
  type BuildRequest,
} from './models.js';

/**
 * Messages of the `job` protocol. The coordinator opens a stream to the peer that should run a
 * build and sends an `offer`; the peer answers `accept` or `reject`, then streams events and
 * ends with a `result`. The coordinator may send `cancel` at any time. Every message is
 * validated on receipt; anything else closes the stream.
 */

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const shortText = z.string().max(2000);
const longText = z.string().max(64 * 1024);
const isoTime = z.string().max(40);
const stringMap = z.record(z.string().max(200), z.string().max(2000));

/** A normalised build request as it travels between peers (already validated by the coordinator). */
export const wireBuildRequestSchema = z.strictObject({
  executionId: z.uuid(),
  job: z.strictObject({
    jobId: z.string().max(100),
    projectName: z.string().max(200),
    repositoryUrl: z.string().max(2000),
    gitRef: z.string().max(255),
    solutionPath: z.string().max(1000),
    configuration: z.string().max(64),
    targetFramework: z.string().max(64).nullable(),
    platform: z.string().max(64),
    runtimeIdentifier: z.string().max(64).nullable(),
    buildProperties: stringMap,
    runTests: z.boolean(),
    createPackages: z.boolean(),
    publishArtifacts: z.boolean(),
    timeoutMinutes: z.number().int().min(1).max(1440),
    metadata: stringMap,
    requesterEmail: z.string().max(320).nullable(),
  }),
  targetPool: z.enum(TARGET_POOLS),
  strategy: z.enum(BUILD_STRATEGIES),
  priority: z.enum(BUILD_PRIORITIES),
  forceClean: z.boolean(),
  schedule: z.enum(['critical-path', 'waves']).optional(),
  continueOnError: z.boolean().optional(),
  maxWarnings: z.number().int().min(0).nullable().optional(),
  verify: z.boolean().optional(),
  anyPool: z.boolean().optional(),
  requesterEmail: z.string().max(320).nullable(),
  createdAt: isoTime,
}) satisfies z.ZodType<BuildRequest>;

/**
 * One project task of a Distributed or Cached build. The peer materialises the sources once per
 * execution, places the listed output trees (fetched from the offering peer's CAS), then restores
 * and builds, tests or packs the project.
 */
export const taskSpecSchema = z.strictObject({
  taskId: z.string().min(1).max(4200),
  kind: z.enum(['build', 'test', 'pack']),
  project: z.string().min(1).max(4096),
  cacheKey: sha256,
  /** Output trees to place first: the references' (transitively), plus the project's own for test and pack. */
  place: z.array(z.strictObject({ project: z.string().min(1).max(4096), treeSha256: sha256 })).max(10_000),
  /**
   * `verify`: the second build of a verify build. It runs in a workspace of its own, so it neither
   * sees nor overwrites the outputs this peer built or placed for the build's own tasks.
   */
  purpose: z.enum(['verify']).optional(),
});
export type TaskSpec = z.infer<typeof taskSpecSchema>;

export const jobOfferSchema = z.strictObject({
  type: z.literal('offer'),
  executionId: z.uuid(),
  attempt: z.number().int().min(1).max(10),
  request: wireBuildRequestSchema,
  /** The sources as a manifest in the coordinator's CAS, fetched over the blob protocol. */
  source: z.strictObject({ manifestSha256: sha256, commit: z.string().regex(/^[0-9a-f]{40}$/) }),
  /** Present for a project task; absent for a whole build. */
  task: taskSpecSchema.optional(),
  /** The coordinator's span (W3C trace context): the peer's spans join the build's trace. */
  traceparent: traceparentSchema.optional(),
});
export type JobOffer = z.infer<typeof jobOfferSchema>;

export const jobReplySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('accept') }),
  z.strictObject({ type: z.literal('reject'), reason: shortText }),
]);
export type JobReply = z.infer<typeof jobReplySchema>;

const diagnosticSchema = z.strictObject({
  severity: z.enum(['warning', 'error']),
  code: z.string().max(40),
  message: longText,
  file: z.string().max(4096).nullable(),
  line: z.number().int().nullable(),
  column: z.number().int().nullable(),
  project: z.string().max(4096).nullable(),
});

const testResultsSchema = z.strictObject({
  total: z.number().int().min(0),
  passed: z.number().int().min(0),
  failed: z.number().int().min(0),
  skipped: z.number().int().min(0),
  durationMs: z.number().min(0),
  failures: z
    .array(
      z.strictObject({
        name: shortText,
        message: longText,
        stackTrace: longText,
        durationMs: z.number().min(0),
      }),
    )
    .max(10_000),
});

const producedArtifactSchema = z.strictObject({
  name: z.string().max(500),
  path: z.string().max(4096),
  sizeBytes: z.number().int().min(0),
  contentType: z.string().max(200),
  sha256Hash: sha256,
  createdAt: isoTime,
});

const outcomeSchema = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('Succeeded') }),
  z.strictObject({
    status: z.enum(['Failed', 'Cancelled', 'TimedOut']),
    errorMessage: longText,
    failureKind: z.enum(['build', 'infrastructure']),
  }),
]);

/** What the executing peer streams back after accepting. */
export const jobEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('log'), level: z.enum(['INFO', 'WARN', 'ERROR']), message: longText }),
  z.strictObject({
    type: z.literal('stage'),
    name: z.enum(STAGE_NAMES),
    status: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Skipped', 'Cancelled']),
    at: isoTime,
    message: shortText.nullable().optional(),
    warningsCount: z.number().int().min(0).optional(),
    errorsCount: z.number().int().min(0).optional(),
  }),
  z.strictObject({ type: z.literal('commit'), commit: z.string().regex(/^[0-9a-f]{40}$/) }),
  z.strictObject({ type: z.literal('diagnostics'), diagnostics: z.array(diagnosticSchema).max(1000) }),
  z.strictObject({ type: z.literal('tests'), results: testResultsSchema }),
  z.strictObject({ type: z.literal('artifact'), artifact: producedArtifactSchema }),
  /** A task's signed action-cache entry; its blobs are in the peer's CAS for the coordinator to fetch. */
  z.strictObject({ type: z.literal('task-output'), signed: signedActionCacheEntrySchema }),
  z.strictObject({ type: z.literal('heartbeat') }),
  z.strictObject({ type: z.literal('result'), outcome: outcomeSchema }),
]);
export type JobEvent = z.infer<typeof jobEventSchema>;

/** Sent by the coordinator on the job stream to stop the remote build. */
export const jobControlSchema = z.strictObject({ type: z.literal('cancel'), reason: shortText });
export type JobControl = z.infer<typeof jobControlSchema>;
