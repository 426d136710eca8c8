import { z } from 'zod';
import type { AgentHealth, AgentView } from './agent-view.js';
import type { BuildAttempt } from './build-execution.js';
import { buildJobSchema, buildOptionsSchema } from './build-request.js';
import { auditPageSchema } from './audit.js';
import type { AgentCapabilities } from './capabilities.js';
import { DONATION_MODES } from './mesh-messages.js';
import { nodeConfigViewSchema, nodeSettingsPatchSchema } from './node-settings.js';
import {
  BUILD_PRIORITIES,
  BUILD_STRATEGIES,
  STAGE_NAMES,
  TARGET_POOLS,
  type BuildArtifact,
  type Diagnostic,
  type PeerBuildResult,
  type ReproducibilityReport,
  type TaskTimelineEntry,
  type TestResults,
} from './models.js';

/**
 * The REST API's wire schemas: the request bodies and query strings the routes validate, and the
 * response bodies the presenters send. The OpenAPI spec (`src/api/openapi.ts`) is generated from
 * these with `z.toJSONSchema`, and the contract test checks real responses against that spec, so
 * each shape is written exactly once.
 */

/** Named response schemas: `#/components/schemas/<id>` in the OpenAPI spec (as the node sends them). */
export const apiSchemaRegistry = z.registry<{ id: string }>();
/** Named request schemas: `#/components/schemas/<id>` in the OpenAPI spec (as a client sends them). */
export const apiRequestSchemaRegistry = z.registry<{ id: string }>();

function named<T extends z.ZodType>(
  id: string,
  schema: T,
  description: string,
  example?: unknown,
  registry = apiSchemaRegistry,
): T {
  const described = schema.meta(
    example === undefined ? { description } : { description, examples: [example] },
  );
  registry.add(described, { id });
  return described;
}

const EXECUTION_ID = '3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f';
const AGENT_ID = '12D3KooWQmBjdBvLoE8pLqgk3PBkfsU5mRZJ38WbbmHrBLqZGp4Y';
const WHEN = '2026-11-27T14:03:12.412Z';
const LATER = '2026-11-27T14:04:55.018Z';
const SHA256 = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

const timestamp = z.iso.datetime({ offset: true });
const isoDuration = z.string().regex(/^P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$/);
const count = z.int().min(0);
const percent = z.number().min(0);

// ---------------------------------------------------------------------------------------------
// Enums (they travel as strings; requests accept any case, responses use the canonical one)

export const buildStatusSchema = named(
  'BuildStatus',
  z.enum(['Queued', 'Running', 'Succeeded', 'Failed', 'Cancelling', 'Cancelled', 'TimedOut']),
  'The overall state of a build: Queued → Running → Succeeded | Failed | Cancelling → Cancelled | TimedOut.',
);
const stageNameSchema = named('StageName', z.enum(STAGE_NAMES), 'A build stage, in pipeline order.');
const stageStatusSchema = named(
  'StageStatus',
  z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Skipped', 'Cancelled']),
  'The state of one stage.',
);
const strategySchema = named(
  'BuildStrategy',
  z.enum(BUILD_STRATEGIES),
  'How the mesh runs the build (case-insensitive in requests).',
);
const targetPoolSchema = named(
  'TargetPool',
  z.enum(TARGET_POOLS),
  'The operating system pool (case-insensitive in requests).',
);
const prioritySchema = named('BuildPriority', z.enum(BUILD_PRIORITIES), 'Queue priority.');
const agentStatusSchema = named(
  'AgentStatus',
  z.enum(['Idle', 'Building', 'Offline', 'Maintenance']),
  'Agent lifecycle: Idle ↔ Building; Offline when not heard from; Maintenance takes no new work.',
);

// ---------------------------------------------------------------------------------------------
// Errors

export const fieldProblemSchema = named(
  'FieldProblem',
  z.strictObject({
    field: z.string().meta({ description: 'The field, dotted for nested ones (`job.gitRef`).' }),
    message: z.string().meta({ description: 'What is wrong and how to fix it.' }),
  }),
  'One bad field of a request.',
);

export const errorEnvelopeSchema = named(
  'ErrorEnvelope',
  z.strictObject({
    error: z.string().meta({ description: 'The category, e.g. `Validation Failed`, `Not Found`.' }),
    message: z.string(),
    traceId: z
      .string()
      .regex(/^[0-9a-f]{32}$/)
      .meta({
        description: "The request's W3C trace id (taken from `traceparent` when sent), for the node's log.",
      }),
    timestamp,
    details: z.array(z.union([fieldProblemSchema, z.string()])),
    retryAfter: count.optional().meta({ description: '429 only: seconds until the limit resets.' }),
  }),
  'The one error body every route answers with.',
  {
    error: 'Validation Failed',
    message: 'One or more validation errors occurred',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    timestamp: WHEN,
    details: [{ field: 'gitRef', message: 'is required (branch, tag or commit SHA)' }],
  },
);

// ---------------------------------------------------------------------------------------------
// Requests

/** `POST /api/v1/builds`, nested form: the job in `job`, the request-level fields beside it. */
export const nestedBuildRequestSchema = named(
  'BuildRequestNested',
  buildOptionsSchema.extend({ job: buildJobSchema }),
  'A build request in the nested form: what to build in `job`, how to run it beside it.',
  {
    job: {
      repositoryUrl: 'https://git.example.com/team/app.git',
      gitRef: 'main',
      solutionPath: 'src/App.sln',
      configuration: 'Release',
      runTests: true,
    },
    strategy: 'Incremental',
    targetPool: 'Linux',
    priority: 'Normal',
  },
  apiRequestSchemaRegistry,
);

/** `POST /api/v1/builds`, flat form: job and request-level fields side by side. */
export const flatBuildRequestSchema = named(
  'BuildRequestFlat',
  buildJobSchema.extend(buildOptionsSchema.shape),
  'A build request in the flat form: the job fields and the request-level fields side by side.',
  {
    repositoryUrl: 'https://git.example.com/team/app.git',
    gitRef: 'v1.4.0',
    solutionPath: 'App.slnx',
    strategy: 'Distributed',
    schedule: 'critical-path',
  },
  apiRequestSchemaRegistry,
);

/** The body of `POST /api/v1/builds`, as `parseBuildRequest` accepts it. */
export const buildRequestBodySchema = named(
  'BuildRequest',
  z.union([nestedBuildRequestSchema, flatBuildRequestSchema]),
  'A build request in either form; enums are case-insensitive and unknown fields are refused.',
  undefined,
  apiRequestSchemaRegistry,
);

const pageNumberMessage = 'Page number must be greater than 0';
export const MAX_PAGE_SIZE = 100;
const pageSizeMessage = `Page size must be between 1 and ${MAX_PAGE_SIZE}`;
const wholeNumber = (message: string) =>
  z
    .string()
    .regex(/^\d+$/, { error: message })
    .transform(Number)
    .pipe(z.int({ error: message }));

/** `GET /api/v1/builds` query: 1-based page number and page size (default 50, at most 100). */
export const paginationQuerySchema = z.object({
  pageNumber: wholeNumber(pageNumberMessage)
    .pipe(z.int().min(1, { error: pageNumberMessage }))
    .optional()
    .meta({ description: '1-based page number (default 1).', examples: ['1'] }),
  pageSize: wholeNumber(pageSizeMessage)
    .pipe(z.int().min(1, { error: pageSizeMessage }).max(MAX_PAGE_SIZE, { error: pageSizeMessage }))
    .optional()
    .meta({ description: `Builds per page, 1–${MAX_PAGE_SIZE} (default 50).`, examples: ['50'] }),
});

/** `GET /api/v1/builds/{id}/logs` query. */
export const logsQuerySchema = z.object({
  follow: z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).optional().meta({
    description:
      'Keep the response open and stream new lines until the build ends (default true; ignored for finished builds).',
  }),
});

/** `GET /api/v1/events` and `GET /api/v1/builds/{id}/events` query. */
export const eventsQuerySchema = z.object({
  lastEventId: z
    .string()
    .regex(/^\d+$/)
    .optional()
    .meta({ description: 'Resume after this event id (same as the `Last-Event-ID` header).' }),
});

// ---------------------------------------------------------------------------------------------
// Builds

const buildLinksSchema = named(
  'BuildLinks',
  z.strictObject({ self: z.string(), logs: z.string(), artifacts: z.string(), cancel: z.string() }),
  'Where to follow up on a build.',
);

export const buildAcceptedSchema = named(
  'BuildAccepted',
  z.strictObject({
    executionId: z.string(),
    status: buildStatusSchema,
    queuePosition: count.meta({ description: '0 when it starts at once.' }),
    queuedAt: timestamp,
    strategy: strategySchema,
    estimatedDuration: isoDuration.nullable(),
    traceId: z.string(),
    links: buildLinksSchema,
  }),
  'The build was accepted and queued; follow it at `links.self` (also in the `Location` header).',
  {
    executionId: EXECUTION_ID,
    status: 'Queued',
    queuePosition: 0,
    queuedAt: WHEN,
    strategy: 'Incremental',
    estimatedDuration: null,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    links: {
      self: `/api/v1/builds/${EXECUTION_ID}`,
      logs: `/api/v1/builds/${EXECUTION_ID}/logs`,
      artifacts: `/api/v1/builds/${EXECUTION_ID}/artifacts`,
      cancel: `/api/v1/builds/${EXECUTION_ID}/cancel`,
    },
  },
);

const agentRefSchema = named(
  'AgentRef',
  z.strictObject({ agentId: z.string(), hostname: z.string(), targetType: targetPoolSchema }),
  'The peer a build ran on.',
);

const stageViewSchema = named(
  'Stage',
  z.strictObject({
    name: stageNameSchema,
    status: stageStatusSchema,
    startTime: timestamp.nullable(),
    endTime: timestamp.nullable(),
    duration: isoDuration.nullable().meta({ description: 'ISO-8601; null while running.' }),
    message: z.string().nullable(),
    warningsCount: count,
    errorsCount: count,
  }),
  'One stage of a build.',
);

const buildAttemptSchema = named(
  'BuildAttempt',
  z.strictObject({
    attempt: z.int().min(1),
    agentId: z.string(),
    hostname: z.string(),
    startTime: timestamp,
    endTime: timestamp.nullable(),
    outcome: z.enum(['Running', 'Succeeded', 'Failed', 'Cancelled', 'TimedOut', 'Lost', 'Rejected']),
    reason: z.string().nullable(),
  }),
  'One try of a build on one peer; infrastructure failures lead to another attempt elsewhere.',
);

const taskTimelineEntrySchema = named(
  'TaskTimelineEntry',
  z.strictObject({
    taskId: z.string(),
    kind: z.enum(['build', 'test', 'pack', 'verify']),
    project: z.string(),
    status: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Skipped', 'Cancelled']),
    agentId: z.string().nullable(),
    hostname: z.string().nullable(),
    queuedAt: timestamp.nullable(),
    startTime: timestamp.nullable(),
    endTime: timestamp.nullable(),
    /** 0 until the task is first handed to a peer (and for tasks served from the cache). */
    attempt: z.int().min(0),
    cache: z.enum(['hit', 'miss', 'off']),
    cacheKey: z.string(),
    missReason: z.string().nullable(),
    message: z.string().nullable(),
    outputTreeSha256: z.string().nullable(),
  }),
  'One project task of a Distributed or Cached build.',
);

const peerBuildResultSchema = named(
  'PeerBuildResult',
  z.strictObject({
    agentId: z.string(),
    hostname: z.string(),
    role: z.enum(['canary', 'fan-out', 'verify']),
    status: z.enum(['Running', 'Succeeded', 'Failed', 'Cancelled', 'TimedOut', 'Rejected']),
    startTime: timestamp,
    endTime: timestamp.nullable(),
    failedGate: z.enum(['build', 'tests', 'warnings']).nullable(),
    message: z.string().nullable(),
    testResults: z.strictObject({ total: count, passed: count, failed: count, skipped: count }).nullable(),
    warningsCount: count,
  }),
  "How one peer's whole build of a Canary or verify build ended.",
);

const reproducibilitySchema = named(
  'ReproducibilityReport',
  z.strictObject({
    checkedOn: z.array(z.string()),
    reproducible: z.boolean().nullable(),
    differences: z.array(z.strictObject({ project: z.string(), file: z.string(), reason: z.string() })),
    message: z.string().nullable(),
  }),
  'Whether two or more peers produced the same outputs.',
);

const testResultsSchema = named(
  'TestResults',
  z.strictObject({
    total: count,
    passed: count,
    failed: count,
    skipped: count,
    durationMs: z.number().min(0),
    failures: z.array(
      z.strictObject({
        name: z.string(),
        message: z.string(),
        stackTrace: z.string(),
        durationMs: z.number().min(0),
      }),
    ),
  }),
  'Test results merged from every test project.',
);

export const buildArtifactSchema = named(
  'BuildArtifact',
  z.strictObject({
    artifactId: z.string(),
    name: z.string(),
    path: z.string(),
    sizeBytes: count,
    contentType: z.string(),
    sha256Hash: z.string().regex(/^[0-9a-f]{64}$/),
    createdAt: timestamp,
    downloadUrl: z.string(),
  }),
  "A build output stored in the node's content-addressed store.",
  {
    artifactId: `${EXECUTION_ID}-1`,
    name: 'App-net10.0-publish.tar.gz',
    path: 'src/App/bin/Release/net10.0/publish',
    sizeBytes: 48213,
    contentType: 'application/gzip',
    sha256Hash: SHA256,
    createdAt: LATER,
    downloadUrl: `/api/v1/artifacts/${EXECUTION_ID}-1/download`,
  },
);

const diagnosticSchema = named(
  'Diagnostic',
  z.strictObject({
    severity: z.enum(['warning', 'error']),
    code: z.string(),
    message: z.string(),
    file: z.string().nullable(),
    line: z.int().nullable(),
    column: z.int().nullable(),
    project: z.string().nullable(),
  }),
  'A compiler, MSBuild or NuGet diagnostic.',
);

const buildOptionsViewSchema = named(
  'BuildOptionsView',
  z.strictObject({
    runTests: z.boolean(),
    createPackages: z.boolean(),
    publishArtifacts: z.boolean(),
    timeoutMinutes: count,
    forceClean: z.boolean(),
    verify: z.boolean().meta({ description: 'Always true for Canary.' }),
    schedule: z.enum(['critical-path', 'waves']),
    continueOnError: z.boolean(),
    maxWarnings: count.nullable().meta({ description: 'Canary only; null means unlimited.' }),
  }),
  'The toggles the build was requested with (build properties are not echoed: they may hold secrets).',
);

export const buildDetailSchema = named(
  'BuildDetail',
  z.strictObject({
    executionId: z.string(),
    projectName: z.string(),
    configuration: z.string(),
    strategy: strategySchema,
    targetPool: targetPoolSchema,
    priority: prioritySchema,
    status: buildStatusSchema,
    currentStage: stageNameSchema.nullable(),
    queuePosition: count.nullable().meta({ description: 'Only while Queued.' }),
    queueReason: z.string().nullable(),
    queuedAt: timestamp,
    startTime: timestamp.nullable(),
    endTime: timestamp.nullable(),
    duration: isoDuration.nullable(),
    repositoryUrl: z.string().meta({ description: 'Credentials in the URL are masked.' }),
    gitRef: z.string(),
    solutionPath: z.string(),
    resolvedCommit: z.string().nullable(),
    requesterEmail: z.string().nullable(),
    requestedBy: z
      .string()
      .nullable()
      .meta({ description: 'Who triggered the build: the `sub` of their API token.' }),
    options: buildOptionsViewSchema,
    stages: z.array(stageViewSchema),
    agent: agentRefSchema.nullable(),
    attempts: z.array(buildAttemptSchema),
    timeline: z.array(taskTimelineEntrySchema),
    peerResults: z.array(peerBuildResultSchema),
    reproducibility: reproducibilitySchema.nullable(),
    testResults: testResultsSchema.nullable(),
    artifacts: z.array(buildArtifactSchema),
    warningsCount: count,
    errorsCount: count,
    errors: z.array(z.string()),
    warnings: z.array(z.string()),
    diagnostics: z.array(diagnosticSchema),
    errorMessage: z.string().nullable(),
    traceId: z.string(),
    logUrl: z.string(),
    links: buildLinksSchema,
  }),
  'The status of one build, with its stages, results and artifacts.',
  {
    executionId: EXECUTION_ID,
    projectName: 'App',
    configuration: 'Release',
    strategy: 'Incremental',
    targetPool: 'Linux',
    priority: 'Normal',
    status: 'Succeeded',
    currentStage: null,
    queuePosition: null,
    queueReason: null,
    queuedAt: WHEN,
    startTime: WHEN,
    endTime: LATER,
    duration: 'PT1M42.606S',
    repositoryUrl: 'https://git.example.com/team/app.git',
    gitRef: 'main',
    solutionPath: 'src/App.sln',
    resolvedCommit: 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3',
    requesterEmail: null,
    requestedBy: 'ana',
    options: {
      runTests: true,
      createPackages: false,
      publishArtifacts: true,
      timeoutMinutes: 60,
      forceClean: false,
      verify: false,
      schedule: 'critical-path',
      continueOnError: false,
      maxWarnings: null,
    },
    stages: [
      {
        name: 'Build',
        status: 'Succeeded',
        startTime: WHEN,
        endTime: LATER,
        duration: 'PT1M42.606S',
        message: null,
        warningsCount: 0,
        errorsCount: 0,
      },
    ],
    agent: { agentId: AGENT_ID, hostname: 'build-01', targetType: 'Linux' },
    attempts: [],
    timeline: [],
    peerResults: [],
    reproducibility: null,
    testResults: { total: 4, passed: 4, failed: 0, skipped: 0, durationMs: 812, failures: [] },
    artifacts: [],
    warningsCount: 0,
    errorsCount: 0,
    errors: [],
    warnings: [],
    diagnostics: [],
    errorMessage: null,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    logUrl: `/api/v1/builds/${EXECUTION_ID}/logs`,
    links: {
      self: `/api/v1/builds/${EXECUTION_ID}`,
      logs: `/api/v1/builds/${EXECUTION_ID}/logs`,
      artifacts: `/api/v1/builds/${EXECUTION_ID}/artifacts`,
      cancel: `/api/v1/builds/${EXECUTION_ID}/cancel`,
    },
  },
);

export const buildSummarySchema = named(
  'BuildSummary',
  z.strictObject({
    executionId: z.string(),
    projectName: z.string(),
    strategy: strategySchema,
    status: buildStatusSchema,
    currentStage: stageNameSchema.nullable(),
    queuedAt: timestamp,
    startTime: timestamp.nullable(),
    endTime: timestamp.nullable(),
    duration: isoDuration.nullable(),
    requesterEmail: z.string().nullable(),
    requestedBy: z.string().nullable().meta({ description: 'The `sub` of the token that triggered it.' }),
    agent: agentRefSchema.nullable(),
    errorMessage: z.string().nullable(),
    links: z.strictObject({ self: z.string() }),
  }),
  'One row of the build list.',
);

export const buildPageSchema = named(
  'BuildPage',
  z.strictObject({
    builds: z.array(buildSummarySchema),
    pageNumber: z.int().min(1),
    pageSize: z.int().min(1).max(MAX_PAGE_SIZE),
    totalCount: count,
  }),
  'A page of builds, newest first.',
  { builds: [], pageNumber: 1, pageSize: 50, totalCount: 0 },
);

/** `GET /api/v1/audit`: the schema lives with the audit log (`core/audit.ts`). */
export const auditPageBodySchema = named(
  'AuditPage',
  auditPageSchema,
  'A page of the audit log, newest first.',
  {
    entries: [
      {
        id: 12,
        timestamp: WHEN,
        subject: 'ana',
        role: 'BuildMaster',
        tokenId: '0f8e3c7a-5b1d-4e8e-9a43-2f61c9d1b7aa',
        action: 'build.cancel',
        target: EXECUTION_ID,
        outcome: 'Succeeded',
        status: 200,
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        message: null,
      },
    ],
    pageNumber: 1,
    pageSize: 50,
    totalCount: 1,
  },
);

export const cancelResultSchema = named(
  'CancelResult',
  z.strictObject({ executionId: z.string(), status: buildStatusSchema, message: z.string() }),
  'The build is cancelled (it had not started) or cancelling (its process tree is being killed).',
  { executionId: EXECUTION_ID, status: 'Cancelling', message: 'Build cancellation requested' },
);

export const artifactListSchema = named(
  'ArtifactList',
  z.strictObject({ executionId: z.string(), artifacts: z.array(buildArtifactSchema) }),
  "A build's artifacts.",
);

// ---------------------------------------------------------------------------------------------
// Agents and health

const capabilitiesSchema = named(
  'AgentCapabilities',
  z.strictObject({
    os: z.enum(['linux', 'windows', 'macos', 'other']),
    arch: z.string(),
    cpuCores: count,
    totalMemoryGB: z.number().min(0),
    freeMemoryGB: z.number().min(0),
    availableDiskSpaceGB: z.number().min(0),
    installedSdks: z.array(z.string()),
    installedRuntimes: z.array(z.string()),
    buildableFrameworks: z.array(z.string()),
    installedTools: z.array(z.string()),
    gitVersion: z.string().nullable(),
    dockerVersion: z.string().nullable(),
    maxConcurrentBuilds: count,
  }),
  'What a machine can build, as detected at start-up.',
);

export const agentViewSchema = named(
  'Agent',
  z.strictObject({
    agentId: z.string(),
    hostname: z.string(),
    targetType: targetPoolSchema,
    status: agentStatusSchema,
    donationMode: z.enum(DONATION_MODES),
    acceptingWork: z.boolean().optional().meta({
      description:
        'Whether it takes work now (not Paused, not in Maintenance, its owner away when WhenIdle).',
    }),
    freeSlots: count,
    currentJob: z.string().nullable(),
    cpuUsage: percent,
    memoryUsage: percent,
    capabilities: capabilitiesSchema,
    lastHeartbeat: timestamp,
    isLocal: z.boolean(),
  }),
  'This node or one of its peers.',
  {
    agentId: AGENT_ID,
    hostname: 'build-01',
    targetType: 'Linux',
    status: 'Idle',
    donationMode: 'Always',
    acceptingWork: true,
    freeSlots: 1,
    currentJob: null,
    cpuUsage: 12.5,
    memoryUsage: 41.2,
    capabilities: {
      os: 'linux',
      arch: 'x64',
      cpuCores: 8,
      totalMemoryGB: 31.3,
      freeMemoryGB: 18.4,
      availableDiskSpaceGB: 120.6,
      installedSdks: ['10.0.100'],
      installedRuntimes: ['Microsoft.NETCore.App 10.0.0'],
      buildableFrameworks: ['net10.0', 'net9.0', 'netstandard2.0'],
      installedTools: ['dotnet', 'git'],
      gitVersion: '2.47.3',
      dockerVersion: null,
      maxConcurrentBuilds: 1,
    },
    lastHeartbeat: WHEN,
    isLocal: true,
  },
);

export const agentListSchema = named(
  'AgentList',
  z.strictObject({ agents: z.array(agentViewSchema) }),
  'This node first, then every peer of its mesh.',
);

const healthCheckSchema = named(
  'HealthCheck',
  z.strictObject({
    name: z.enum(['.NET SDK', 'Git', 'Docker', 'Disk Space']),
    status: z.enum(['Healthy', 'Degraded', 'Unhealthy']),
    description: z.string(),
  }),
  'One health check.',
);

const agentHealthShape = {
  agentId: z.string(),
  healthy: z.boolean(),
  status: agentStatusSchema,
  cpuUsage: percent,
  memoryUsage: percent,
  diskSpaceAvailableGB: z.number().min(0),
  lastHeartbeat: timestamp,
  uptime: isoDuration,
  checks: z.array(healthCheckSchema),
};

const healthExample = {
  agentId: AGENT_ID,
  healthy: true,
  status: 'Idle',
  cpuUsage: 12.5,
  memoryUsage: 41.2,
  diskSpaceAvailableGB: 120.6,
  lastHeartbeat: WHEN,
  uptime: 'PT3H12M4.5S',
  checks: [
    { name: '.NET SDK', status: 'Healthy', description: 'SDKs 10.0.100' },
    { name: 'Git', status: 'Healthy', description: 'git 2.47.3' },
    { name: 'Docker', status: 'Degraded', description: 'docker not found; container builds are unavailable' },
    { name: 'Disk Space', status: 'Healthy', description: '120.6 GB free' },
  ],
};

export const agentHealthSchema = named(
  'AgentHealth',
  z.strictObject(agentHealthShape),
  "An agent's health checks.",
  healthExample,
);

export const nodeHealthSchema = named(
  'NodeHealth',
  z.strictObject({ ...agentHealthShape, overallStatus: z.enum(['Healthy', 'Unhealthy']) }),
  "This node's liveness and health checks.",
  { ...healthExample, overallStatus: 'Healthy' },
);

// Compile-time guard: the schemas describe exactly what the domain types hold, so a field added to
// a model without its schema (or the other way round) fails `tsc` here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const SCHEMAS_MATCH_MODELS: [
  Same<z.output<typeof agentViewSchema>, AgentView>,
  Same<z.output<typeof agentHealthSchema>, AgentHealth>,
  Same<z.output<typeof capabilitiesSchema>, AgentCapabilities>,
  Same<z.output<typeof buildArtifactSchema>, BuildArtifact>,
  Same<z.output<typeof diagnosticSchema>, Diagnostic>,
  Same<z.output<typeof testResultsSchema>, TestResults>,
  Same<z.output<typeof buildAttemptSchema>, BuildAttempt>,
  Same<z.output<typeof taskTimelineEntrySchema>, TaskTimelineEntry>,
  Same<z.output<typeof peerBuildResultSchema>, PeerBuildResult>,
  Same<z.output<typeof reproducibilitySchema>, ReproducibilityReport>,
] = [true, true, true, true, true, true, true, true, true, true];

export type BuildAcceptedBody = z.output<typeof buildAcceptedSchema>;
export type BuildDetailBody = z.output<typeof buildDetailSchema>;
export type BuildSummaryBody = z.output<typeof buildSummarySchema>;
export type BuildPageBody = z.output<typeof buildPageSchema>;
export type CancelResultBody = z.output<typeof cancelResultSchema>;
export type ArtifactListBody = z.output<typeof artifactListSchema>;
export type NodeHealthBody = z.output<typeof nodeHealthSchema>;

/** `GET` and `PATCH /api/v1/config` answer with the node's settings (src/core/node-settings.ts). */
export const nodeConfigBodySchema = named(
  'NodeConfig',
  nodeConfigViewSchema,
  "This node's settings, facts about the node, and what donation means now.",
);
export const nodeSettingsPatchBodySchema = named(
  'NodeSettingsPatch',
  nodeSettingsPatchSchema,
  'Any subset of the settings; enums are case-insensitive and unknown fields are refused.',
  undefined,
  apiRequestSchemaRegistry,
);
