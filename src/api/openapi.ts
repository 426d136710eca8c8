import type Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { ROLES, ROUTE_RULES, type RouteAccess } from '../core/api-access.js';
import { apiRequestSchemaRegistry, apiSchemaRegistry, errorEnvelopeSchema } from '../core/api-schemas.js';
import {
  API_OPERATIONS,
  RATE_LIMIT_HEADERS,
  type ApiOperation,
  type ApiResponseSpec,
} from './openapi-registry.js';

/** A JSON Schema or OpenAPI object, as plain data. */
export type JsonObject = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: JsonObject;
  servers: JsonObject[];
  tags: JsonObject[];
  paths: Record<string, Record<string, JsonObject>>;
  components: {
    schemas: Record<string, JsonObject>;
    securitySchemes: Record<string, JsonObject>;
    headers: Record<string, JsonObject>;
  };
}

export const OPENAPI_SPEC_PATH = '/swagger/v1/swagger.json';

const COMPONENT_URI = (id: string) => `#/components/schemas/${id}`;

const ERROR_NAMES: Record<number, string> = {
  400: 'Validation Failed',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Rate limit exceeded',
  500: 'Internal Server Error',
};

const TAGS = [
  { name: 'Builds', description: 'Queue, follow and cancel builds; read their logs and artifacts.' },
  { name: 'Artifacts', description: 'Download build outputs, verified against their sha256.' },
  { name: 'Events', description: 'Live Server-Sent Events of builds and peers.' },
  { name: 'Agents', description: 'This node and its peers: status, health, maintenance, membership.' },
  { name: 'Config', description: "This node's configuration." },
  { name: 'Audit', description: 'Who triggered, cancelled or administered what, and when.' },
  { name: 'Node', description: 'Liveness and Prometheus metrics.' },
  { name: 'Docs', description: 'This document and its Swagger UI.' },
];

const API_DESCRIPTION = [
  'The REST API of a Build Mesh node: queue .NET builds on the mesh, follow them live, download their artifacts and manage the peers.',
  '',
  '**Authentication.** Send a bearer JWT signed by the node: `Authorization: Bearer <token>`. ' +
    'Create one on the node with `buildmesh token create --role <Developer|BuildMaster|Admin> [--ttl]`. ' +
    'Roles form a hierarchy: Developer < BuildMaster < Admin; each operation names the least role it needs. ' +
    'A missing, expired or forged token gets 401, a role that is too low gets 403. `/health` needs no token. ' +
    'A node bound to anything but loopback requires a token on every route.',
  '',
  '**Limits.** Requests are rate-limited per user (per IP without a token): 10 build submissions and 1000 requests ' +
    'a minute. Every response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`; a 429 ' +
    'carries `Retry-After`. Request bodies may be at most 10 MB. CORS is closed unless the node lists the ' +
    'origin in its `corsOrigins` config; preflights from listed origins get 204.',
  '',
  '**Errors.** Every error is the same JSON envelope: `error`, `message`, `traceId`, `timestamp` and `details` ' +
    '(the bad fields and how to fix them).',
].join('\n');

/** `/api/v1/builds/:executionId` → `/api/v1/builds/{executionId}`. */
export function toOpenApiPath(koaPath: string): string {
  return koaPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * The least role of a route, from `ROUTE_RULES`. Routes outside the table (`/metrics`, `/swagger`)
 * need a Developer token unless the node listens on loopback only.
 */
export function accessOf(operation: Pick<ApiOperation, 'method' | 'path'>): RouteAccess {
  return (
    ROUTE_RULES.find((rule) => rule.method === operation.method && rule.path === operation.path)?.access ??
    'Developer'
  );
}

function stripSchemaHeader(schema: JsonObject): JsonObject {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

function componentSchemas(): Record<string, JsonObject> {
  const responses = z.toJSONSchema(apiSchemaRegistry, {
    uri: COMPONENT_URI,
    target: 'draft-2020-12',
    io: 'output',
  }).schemas;
  const requests = z.toJSONSchema(apiRequestSchemaRegistry, {
    uri: COMPONENT_URI,
    target: 'draft-2020-12',
    io: 'input',
  }).schemas;
  const all: Record<string, JsonObject> = {};
  for (const [id, schema] of [...Object.entries(responses), ...Object.entries(requests)]) {
    if (id in all) throw new Error(`Two API schemas are named ${id}`);
    all[id] = stripSchemaHeader(schema);
  }
  return all;
}

/** `what` names the body in the error, e.g. `GET /api/v1/builds 200`. */
function refTo(schema: z.ZodType, what: string): JsonObject {
  const id = apiSchemaRegistry.get(schema)?.id ?? apiRequestSchemaRegistry.get(schema)?.id;
  if (!id)
    throw new Error(
      `The body of ${what} is not a named schema: register it with named() in src/core/api-schemas.ts`,
    );
  return { $ref: COMPONENT_URI(id) };
}

function exampleOf(schema: z.ZodType): unknown {
  const examples = z.globalRegistry.get(schema)?.examples;
  return Array.isArray(examples) ? examples[0] : undefined;
}

function errorExample(status: number, message: string): JsonObject {
  return {
    error: ERROR_NAMES[status] ?? 'Error',
    message,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    timestamp: '2026-11-27T14:03:12.412Z',
    details: [],
  };
}

function headerObjects(headers: Record<string, string> | undefined): JsonObject | undefined {
  if (!headers || Object.keys(headers).length === 0) return undefined;
  return Object.fromEntries(
    Object.entries(headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }]),
  );
}

function responseObject(
  status: number,
  spec: ApiResponseSpec,
  rateLimited: boolean,
  where: string,
): JsonObject {
  const headers: JsonObject = { ...headerObjects(spec.headers) };
  if (rateLimited) {
    for (const name of Object.keys(RATE_LIMIT_HEADERS))
      headers[name] = { $ref: `#/components/headers/${name}` };
  }
  const response: JsonObject = { description: spec.description };
  if (Object.keys(headers).length > 0) response.headers = headers;
  if ('json' in spec) {
    const example = status >= 400 ? errorExample(status, spec.description) : exampleOf(spec.json);
    response.content = {
      'application/json': {
        schema: refTo(spec.json, `${where} ${status}`),
        ...(example === undefined ? {} : { example }),
      },
    };
  } else if ('media' in spec) {
    response.content = Object.fromEntries(
      spec.media.map((media) => [
        media,
        {
          schema: media.startsWith('text/')
            ? { type: 'string' }
            : { type: 'string', contentEncoding: 'binary' },
        },
      ]),
    );
  }
  return response;
}

/** Named examples of a request body: its own, or one per form of a union. */
function requestExamples(schema: z.ZodType): Record<string, { value: unknown }> {
  const forms = schema instanceof z.ZodUnion ? (schema.options as z.ZodType[]) : [schema];
  const examples: Record<string, { value: unknown }> = {};
  for (const form of forms) {
    const id = apiRequestSchemaRegistry.get(form)?.id ?? apiSchemaRegistry.get(form)?.id;
    const value = exampleOf(form);
    if (id && value !== undefined) examples[id] = { value };
  }
  return examples;
}

function roleText(access: RouteAccess, openOnLoopback: boolean): string {
  if (access === 'public') return 'Required role: none (no token needed).';
  const higher = ROLES.slice(ROLES.indexOf(access) + 1);
  const role = `**${access}**${higher.length > 0 ? ` (or ${higher.join(', ')})` : ''}`;
  return openOnLoopback
    ? `Required role: none on a node that listens on loopback only; ${role} on any other interface.`
    : `Required role: ${role}.`;
}

function parametersOf(operation: ApiOperation): JsonObject[] {
  const parameters: JsonObject[] = [];
  for (const [name, param] of Object.entries(operation.pathParams ?? {})) {
    parameters.push({
      name,
      in: 'path',
      required: true,
      description: param.description,
      schema: { type: 'string', minLength: 1 },
      example: param.example,
    });
  }
  for (const [name, schema] of Object.entries(operation.query?.shape ?? {})) {
    const { description, examples, ...json } = stripSchemaHeader(
      z.toJSONSchema(schema as z.ZodType, { io: 'input', target: 'draft-2020-12' }),
    );
    parameters.push({
      name,
      in: 'query',
      required: !(schema as z.ZodType).safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema: json,
      ...(Array.isArray(examples) && examples.length > 0 ? { example: examples[0] as unknown } : {}),
    });
  }
  for (const [name, description] of Object.entries(operation.requestHeaders ?? {})) {
    parameters.push({ name, in: 'header', required: false, description, schema: { type: 'string' } });
  }
  return parameters;
}

function operationObject(operation: ApiOperation): JsonObject {
  const access = accessOf(operation);
  const openOnLoopback = operation.openOnLoopback ?? false;
  const rateLimited = operation.rateLimited ?? true;
  const responses: Record<string, ApiResponseSpec> = {};
  for (const [status, spec] of Object.entries(operation.responses)) responses[status] = spec;
  const envelope = (description: string): ApiResponseSpec => ({
    description,
    json: errorEnvelopeSchema,
  });
  if (access !== 'public') {
    responses['401'] ??= {
      ...envelope('The bearer token is missing, expired or not signed by this node.'),
      headers: { 'WWW-Authenticate': 'Bearer' },
    };
    responses['403'] ??= envelope(`The token's role is too low; this operation needs ${access} or higher.`);
  }
  if (operation.method !== 'GET') {
    // The body cap applies to every route, before anything reads the body.
    responses['413'] ??= envelope('The request body exceeds 10 MB.');
  }
  if (rateLimited) {
    responses['429'] ??= {
      ...envelope('Too many requests; retry after `Retry-After` seconds.'),
      headers: { 'Retry-After': 'Seconds until the limit resets.' },
    };
  }
  responses['500'] ??= envelope("An unexpected error; the details are in the node's log under `traceId`.");

  const result: JsonObject = {
    operationId: operation.operationId,
    tags: [operation.tag],
    summary: operation.summary,
    description: `${operation.description}\n\n${roleText(access, openOnLoopback)}`,
    'x-required-role': openOnLoopback ? `none on loopback, else ${access}` : access,
    security: access === 'public' ? [] : openOnLoopback ? [{}, { bearerAuth: [] }] : [{ bearerAuth: [] }],
  };
  const parameters = parametersOf(operation);
  if (parameters.length > 0) result.parameters = parameters;
  if (operation.requestBody) {
    const examples = requestExamples(operation.requestBody.schema);
    result.requestBody = {
      required: true,
      description: operation.requestBody.description,
      content: {
        'application/json': {
          schema: refTo(operation.requestBody.schema, `the request of ${operation.method} ${operation.path}`),
          ...(Object.keys(examples).length > 0 ? { examples } : {}),
        },
      },
    };
  }
  result.responses = Object.fromEntries(
    Object.entries(responses)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([status, spec]) => [
        status,
        responseObject(Number(status), spec, rateLimited, `${operation.method} ${operation.path}`),
      ]),
  );
  return result;
}

let cached: OpenApiDocument | undefined;

/**
 * The OpenAPI 3.1 document of the node's API, generated from the route registry and the zod
 * schemas the routes validate with. Built once per process.
 */
export function openApiSpec(): OpenApiDocument {
  cached ??= buildOpenApiSpec(API_OPERATIONS);
  return cached;
}

export function buildOpenApiSpec(operations: readonly ApiOperation[]): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const operation of operations) {
    const path = toOpenApiPath(operation.path);
    const item = (paths[path] ??= {});
    const method = operation.method.toLowerCase();
    if (item[method]) throw new Error(`${operation.method} ${operation.path} is documented twice`);
    item[method] = operationObject(operation);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Build Mesh API',
      version: '1.0.0',
      description: API_DESCRIPTION,
    },
    servers: [{ url: '/', description: 'This node' }],
    tags: TAGS.filter((tag) => operations.some((operation) => operation.tag === tag.name)),
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A JWT (HS256) signed by the node, carrying a role: `buildmesh token create --role <role> [--ttl]`.',
        },
      },
      headers: Object.fromEntries(
        Object.entries(RATE_LIMIT_HEADERS).map(([name, description]) => [
          name,
          { description, schema: { type: 'integer' } },
        ]),
      ),
    },
  };
}

/** The routes a Koa app's routers serve (HEAD, which answers every GET, left out). */
export function servedRoutes(app: Koa): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  for (const middleware of app.middleware) {
    const router = (middleware as { router?: Router }).router;
    for (const layer of router?.stack ?? []) {
      for (const method of layer.methods.filter((m) => m !== 'HEAD')) {
        routes.push({ method, path: String(layer.path) });
      }
    }
  }
  return routes;
}
