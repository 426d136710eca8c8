import type { z } from 'zod';
import {
  agentHealthSchema,
  agentListSchema,
  agentViewSchema,
  artifactListSchema,
  auditPageBodySchema,
  buildAcceptedSchema,
  buildDetailSchema,
  buildPageSchema,
  buildRequestBodySchema,
  cancelResultSchema,
  errorEnvelopeSchema,
  eventsQuerySchema,
  logsQuerySchema,
  nodeConfigBodySchema,
  nodeHealthSchema,
  nodeSettingsPatchBodySchema,
  paginationQuerySchema,
} from '../core/api-schemas.js';
import { solutionListSchema, solutionsQuerySchema } from '../core/repository-solutions.js';

/** A response body: JSON described by a zod schema, or another media type described in words. */
export type ApiResponseSpec =
  | { description: string; json: z.ZodType; headers?: Record<string, string> }
  | { description: string; media: string[]; headers?: Record<string, string> }
  | { description: string; empty: true; headers?: Record<string, string> };

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One documented route. Error responses shared by all routes (401, 403, 429, 500) are added by
 * the spec builder from the route's access rule; list here only what the route itself can answer.
 */
export interface ApiOperation {
  method: ApiMethod;
  /** Koa-router style: `/api/v1/builds/:executionId`. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description: string;
  pathParams?: Record<string, { description: string; example: string }>;
  /** A zod object whose keys are the query parameters; the route validates with the same schema. */
  query?: z.ZodObject;
  requestBody?: { schema: z.ZodType; description: string };
  /** Request headers the route reads. */
  requestHeaders?: Record<string, string>;
  responses: Record<number, ApiResponseSpec>;
  /** Rate-limited like every route except `/health` (liveness probes are exempt). */
  rateLimited?: boolean;
  /**
   * Outside `ROUTE_RULES` (`/metrics`, `/swagger`): open on a node bound to loopback only, and
   * needing a Developer token on any other interface.
   */
  openOnLoopback?: boolean;
}

const executionIdParam = {
  executionId: {
    description: "The build's execution id (from the 202 of `POST /api/v1/builds`).",
    example: '3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f',
  },
};
const agentIdParam = {
  agentId: {
    description: "The agent's libp2p peer id (from `GET /api/v1/agents`).",
    example: '12D3KooWQmBjdBvLoE8pLqgk3PBkfsU5mRZJ38WbbmHrBLqZGp4Y',
  },
};

const badRequest = (what: string): ApiResponseSpec => ({ description: what, json: errorEnvelopeSchema });
const notFound = (what: string): ApiResponseSpec => ({
  description: `${what} not found.`,
  json: errorEnvelopeSchema,
});

const SSE_DESCRIPTION =
  'A Server-Sent Events stream. Each event has an `id`, an `event` (`status`, `stage`, `log`, `task`, `checks` or `peer`) ' +
  'and a JSON `data` line; a `: heartbeat` comment is sent while quiet. Resume with the `Last-Event-ID` ' +
  'header (or `lastEventId`) from what the node still buffers.';

const rateLimitHeaders = {
  'X-RateLimit-Limit': 'Requests allowed in the current window.',
  'X-RateLimit-Remaining': 'Requests left in the current window.',
  'X-RateLimit-Reset': 'Unix time (seconds) when the window resets.',
};

/**
 * Every route the node serves, documented. `test/integration/openapi.test.ts` and
 * `src/api/openapi.test.ts` compare this list with the Koa app's router and with `ROUTE_RULES`,
 * so a route cannot be added without an entry here.
 */
export const API_OPERATIONS: readonly ApiOperation[] = [
  {
    method: 'GET',
    path: '/health',
    operationId: 'getHealth',
    tag: 'Node',
    summary: 'Liveness and health of this node',
    description:
      "This node's health checks (.NET SDK, Git, Docker, Disk Space). Needs no token and is not rate-limited, " +
      'so load balancers and probes can call it.',
    responses: {
      200: {
        description: 'The node is up; `overallStatus` says whether it is healthy.',
        json: nodeHealthSchema,
      },
    },
    rateLimited: false,
  },
  {
    method: 'GET',
    path: '/metrics',
    operationId: 'getMetrics',
    openOnLoopback: true,
    tag: 'Node',
    summary: 'Prometheus metrics',
    description:
      'Prometheus text exposition: build counters, durations, queue length, cache hit rate, agent utilisation.',
    responses: {
      200: { description: 'Prometheus text format 0.0.4.', media: ['text/plain'] },
      404: notFound('Metrics are disabled on this node, so they are'),
    },
  },
  {
    method: 'POST',
    path: '/api/v1/builds',
    operationId: 'createBuild',
    tag: 'Builds',
    summary: 'Queue a build',
    description:
      'Validates the request (every bad field is named in `details`), records the build as Queued and returns ' +
      'at once; the build runs in the background. Accepts the nested form (`job` plus request-level fields) ' +
      'and the flat form. The body may be at most 10 MB.',
    requestBody: { schema: buildRequestBodySchema, description: 'What to build and how.' },
    responses: {
      202: {
        description: 'Accepted and queued.',
        json: buildAcceptedSchema,
        headers: { Location: 'The URL of the build (`/api/v1/builds/{executionId}`).' },
      },
      400: badRequest(
        'The body is not JSON, is empty, or fails validation (each bad field is in `details`).',
      ),
      409: { description: 'A build with this `executionId` already exists.', json: errorEnvelopeSchema },
      413: { description: 'The body exceeds 10 MB.', json: errorEnvelopeSchema },
      415: { description: 'The Content-Type is not JSON.', json: errorEnvelopeSchema },
    },
  },
  {
    method: 'GET',
    path: '/api/v1/builds',
    operationId: 'listBuilds',
    tag: 'Builds',
    summary: 'List builds, newest first',
    description: 'A page of builds (default 50, at most 100 per page), newest first.',
    query: paginationQuerySchema,
    responses: {
      200: { description: 'One page of builds.', json: buildPageSchema },
      400: badRequest('`pageNumber` or `pageSize` is out of range.'),
    },
  },
  {
    method: 'GET',
    path: '/api/v1/builds/:executionId',
    operationId: 'getBuild',
    tag: 'Builds',
    summary: 'Status of a build',
    description:
      'Status, stages, attempts, task timeline, test results, diagnostics and artifacts of one build.',
    pathParams: executionIdParam,
    responses: {
      200: { description: 'The build.', json: buildDetailSchema },
      404: notFound('The build was'),
    },
  },
  {
    method: 'POST',
    path: '/api/v1/builds/:executionId/cancel',
    operationId: 'cancelBuild',
    tag: 'Builds',
    summary: 'Cancel a build',
    description:
      'A queued build is Cancelled at once; a running one becomes Cancelling while its process tree is killed.',
    pathParams: executionIdParam,
    responses: {
      200: { description: 'Cancelled or cancelling.', json: cancelResultSchema },
      404: notFound('The build was'),
      409: { description: 'The build has already finished.', json: errorEnvelopeSchema },
    },
  },
  {
    method: 'GET',
    path: '/api/v1/builds/:executionId/logs',
    operationId: 'getBuildLogs',
    tag: 'Builds',
    summary: 'The build log',
    description:
      "The build's log as text, one `[yyyy-MM-dd HH:mm:ss] LEVEL: message` line per event. While the build runs " +
      'and `follow` is not false, the response stays open and streams new lines until the build ends.',
    pathParams: executionIdParam,
    query: logsQuerySchema,
    responses: {
      200: { description: 'The log (streamed while the build runs).', media: ['text/plain'] },
      400: badRequest('`follow` is not true or false.'),
      404: notFound('The build was'),
    },
  },
  {
    method: 'GET',
    path: '/api/v1/builds/:executionId/artifacts',
    operationId: 'listBuildArtifacts',
    tag: 'Builds',
    summary: "A build's artifacts",
    description: 'The packages and publish archives a build produced, with their sizes and sha256 hashes.',
    pathParams: executionIdParam,
    responses: {
      200: { description: 'The artifacts.', json: artifactListSchema },
      404: notFound('The build was'),
    },
  },
  {
    method: 'GET',
    path: '/api/v1/builds/:executionId/events',
    operationId: 'streamBuildEvents',
    tag: 'Events',
    summary: 'Live events of one build (SSE)',
    description: `${SSE_DESCRIPTION} The stream ends after the build's terminal status.`,
    pathParams: executionIdParam,
    query: eventsQuerySchema,
    requestHeaders: { 'Last-Event-ID': 'Resume after this event id.' },
    responses: {
      200: { description: 'The event stream.', media: ['text/event-stream'] },
      404: notFound('The build was'),
    },
  },
  {
    method: 'GET',
    path: '/api/v1/artifacts/:artifactId/download',
    operationId: 'downloadArtifact',
    tag: 'Artifacts',
    summary: 'Download an artifact',
    description:
      "The artifact's bytes, re-hashed before they are served: a corrupted object is never sent. " +
      '`X-Checksum-Sha256` and `Digest` carry the hash.',
    pathParams: {
      artifactId: {
        description: "The artifact id (from a build's artifacts).",
        example: '3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f-1',
      },
    },
    responses: {
      200: {
        description: 'The file, as an attachment.',
        media: ['application/gzip', 'application/zip', 'application/octet-stream'],
        headers: {
          'X-Checksum-Sha256': 'The sha256 of the bytes, hex.',
          Digest: 'RFC 3230 digest: `sha-256=<base64>`.',
          'Content-Disposition': 'attachment; filename="<name>"',
        },
      },
      404: notFound('The artifact was'),
      500: {
        description: 'The stored bytes no longer match their hash (`Artifact Corrupted`).',
        json: errorEnvelopeSchema,
      },
    },
  },
  {
    method: 'GET',
    path: '/api/v1/events',
    operationId: 'streamEvents',
    tag: 'Events',
    summary: 'Live events of every build and peer (SSE)',
    description: SSE_DESCRIPTION,
    query: eventsQuerySchema,
    requestHeaders: { 'Last-Event-ID': 'Resume after this event id.' },
    responses: { 200: { description: 'The event stream.', media: ['text/event-stream'] } },
  },
  {
    method: 'GET',
    path: '/api/v1/repositories/solutions',
    operationId: 'listRepositorySolutions',
    tag: 'Repositories',
    summary: "A repository's solutions at a ref",
    description:
      'Resolves `gitRef` with `git ls-remote`, fetches that one commit into a bare cache on this node, and lists ' +
      'its solution and project files (solutions first), so a build form can offer them. The ref and URL follow ' +
      'the rules of a build request.',
    query: solutionsQuerySchema,
    responses: {
      200: { description: 'The commit the ref resolved to and its solutions.', json: solutionListSchema },
      400: badRequest(
        'A field is invalid, the repository cannot be read, or the ref is not in it (each problem names its field in `details`).',
      ),
      404: notFound('Listing solutions is not enabled on this node, so the route was'),
    },
  },
  {
    method: 'GET',
    path: '/api/v1/agents',
    operationId: 'listAgents',
    tag: 'Agents',
    summary: 'This node and its peers',
    description: 'Every agent this node knows: itself first, then the peers of its mesh.',
    responses: { 200: { description: 'The agents.', json: agentListSchema } },
  },
  {
    method: 'GET',
    path: '/api/v1/agents/:agentId',
    operationId: 'getAgent',
    tag: 'Agents',
    summary: 'One agent',
    description: 'Status, load and capabilities of one agent.',
    pathParams: agentIdParam,
    responses: { 200: { description: 'The agent.', json: agentViewSchema }, 404: notFound('The agent was') },
  },
  {
    method: 'GET',
    path: '/api/v1/agents/:agentId/health',
    operationId: 'getAgentHealth',
    tag: 'Agents',
    summary: "An agent's health",
    description: "The agent's health checks (.NET SDK, Git, Docker, Disk Space) and load.",
    pathParams: agentIdParam,
    responses: {
      200: { description: 'The health.', json: agentHealthSchema },
      404: notFound('The agent was'),
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agents/:agentId/maintenance',
    operationId: 'startAgentMaintenance',
    tag: 'Agents',
    summary: 'Put an agent into maintenance',
    description:
      'No new work goes to the agent until it leaves maintenance; for this node, it stops accepting offers.',
    pathParams: agentIdParam,
    responses: {
      200: { description: 'The agent, now in Maintenance.', json: agentViewSchema },
      404: notFound('The agent was'),
    },
  },
  {
    method: 'DELETE',
    path: '/api/v1/agents/:agentId/maintenance',
    operationId: 'endAgentMaintenance',
    tag: 'Agents',
    summary: 'Take an agent out of maintenance',
    description: 'The agent takes work again.',
    pathParams: agentIdParam,
    responses: { 200: { description: 'The agent.', json: agentViewSchema }, 404: notFound('The agent was') },
  },
  {
    method: 'DELETE',
    path: '/api/v1/agents/:agentId',
    operationId: 'forgetAgent',
    tag: 'Agents',
    summary: 'Forget a peer',
    description:
      'Removes the peer and refuses it on every protocol until it is re-admitted. This node itself cannot be forgotten (404).',
    pathParams: agentIdParam,
    responses: {
      204: { description: 'Forgotten.', empty: true },
      404: notFound('The peer (other than this node) was'),
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agents/:agentId/admit',
    operationId: 'admitAgent',
    tag: 'Agents',
    summary: 'Re-admit a forgotten peer',
    description: 'Lets a forgotten peer join the mesh again.',
    pathParams: agentIdParam,
    responses: {
      204: { description: 'Admitted.', empty: true },
      404: notFound('No forgotten peer with this id was'),
    },
  },
  {
    method: 'GET',
    path: '/api/v1/config',
    operationId: 'getNodeConfig',
    tag: 'Config',
    summary: "This node's settings",
    description:
      "The owner's settings (donation mode, build slots, CPU share, idle threshold, what happens when the " +
      'owner returns, start at login), facts about the node, and what donation means now: whether it ' +
      'accepts work and why not, the owner’s activity, the running work and the priority of its processes.',
    responses: { 200: { description: 'The settings and their effect.', json: nodeConfigBodySchema } },
  },
  {
    method: 'PATCH',
    path: '/api/v1/config',
    operationId: 'updateNodeConfig',
    tag: 'Config',
    summary: "Change this node's settings",
    description:
      'Applies any subset of the settings at once and keeps them in `<dataDir>/settings.json`, where they ' +
      'win over config.json, `BUILDMESH_*` and flags on the next start. Paused, or WhenIdle while the owner ' +
      'is at the machine, makes the node decline offers and announce it to its peers.',
    requestBody: { schema: nodeSettingsPatchBodySchema, description: 'The settings to change.' },
    responses: {
      200: { description: 'The settings now, and their effect.', json: nodeConfigBodySchema },
      400: badRequest(
        'The body is not JSON, names no setting, or a field is invalid (each is in `details`).',
      ),
      413: { description: 'The body exceeds 16 KB.', json: errorEnvelopeSchema },
      415: { description: 'The Content-Type is not JSON.', json: errorEnvelopeSchema },
    },
  },
  {
    method: 'GET',
    path: '/api/v1/audit',
    operationId: 'listAuditEntries',
    tag: 'Audit',
    summary: 'The audit log, newest first',
    description:
      'Each state-changing request by a token holder, allowed or not: `build.trigger`, `build.cancel`, ' +
      '`agent.maintenance`, `agent.maintenance.end`, `agent.forget`, `agent.admit`, `config.change`, with ' +
      'who (token subject, role, token id), the target, when, the outcome (`Succeeded`, `Denied` for a 403, ' +
      '`Rejected` for another 4xx, `Failed` for a 5xx) and the HTTP status. Paged like the build list.',
    query: paginationQuerySchema,
    responses: {
      200: { description: 'One page of audit entries.', json: auditPageBodySchema },
      400: badRequest('`pageNumber` or `pageSize` is out of range.'),
    },
  },
  {
    method: 'GET',
    path: '/swagger',
    operationId: 'getSwaggerUi',
    openOnLoopback: true,
    tag: 'Docs',
    summary: 'Swagger UI',
    description: 'An interactive browser for this API.',
    responses: { 200: { description: 'The Swagger UI page.', media: ['text/html'] } },
  },
  {
    method: 'GET',
    path: '/swagger/v1/swagger.json',
    operationId: 'getOpenApiSpec',
    openOnLoopback: true,
    tag: 'Docs',
    summary: 'This OpenAPI document',
    description: 'The OpenAPI 3.1 description of this API.',
    responses: { 200: { description: 'The spec.', media: ['application/json'] } },
  },
  {
    method: 'GET',
    path: '/swagger/:asset',
    operationId: 'getSwaggerAsset',
    openOnLoopback: true,
    tag: 'Docs',
    summary: 'Swagger UI files',
    description: 'The scripts, styles and icons of the Swagger UI page.',
    pathParams: { asset: { description: 'A file of the Swagger UI.', example: 'swagger-ui.css' } },
    responses: {
      200: { description: 'The file.', media: ['text/javascript', 'text/css', 'image/png'] },
      404: notFound('The file was'),
    },
  },
];

/** The headers every rate-limited response carries. */
export const RATE_LIMIT_HEADERS = rateLimitHeaders;
