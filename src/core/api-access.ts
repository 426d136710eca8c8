/**
 * Who may call what on the REST API. Roles form a hierarchy: each role can do everything the
 * roles below it can. The table is the one place the API's authorisation is decided; the auth
 * middleware enforces it and the OpenAPI spec documents it.
 */
export const ROLES = ['Developer', 'BuildMaster', 'Admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** True when `held` grants what `required` asks for. */
export function roleAtLeast(held: Role, required: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(required);
}

/** `public`: no token at all (liveness probes). Otherwise the least role a caller needs. */
export type RouteAccess = 'public' | Role;

export interface RouteRule {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Koa-router style path, e.g. `/api/v1/builds/:executionId/cancel`. */
  path: string;
  access: RouteAccess;
}

/**
 * Every route of `/api/v1`, plus the node-level ones. Reads are Developer; cancelling builds and
 * managing agents are BuildMaster; configuration and the audit log are Admin.
 */
export const ROUTE_RULES: readonly RouteRule[] = [
  { method: 'GET', path: '/health', access: 'public' },
  { method: 'POST', path: '/api/v1/builds', access: 'Developer' },
  { method: 'GET', path: '/api/v1/builds', access: 'Developer' },
  { method: 'GET', path: '/api/v1/builds/:executionId', access: 'Developer' },
  { method: 'POST', path: '/api/v1/builds/:executionId/cancel', access: 'BuildMaster' },
  { method: 'GET', path: '/api/v1/builds/:executionId/logs', access: 'Developer' },
  { method: 'GET', path: '/api/v1/builds/:executionId/artifacts', access: 'Developer' },
  { method: 'GET', path: '/api/v1/builds/:executionId/events', access: 'Developer' },
  { method: 'GET', path: '/api/v1/artifacts/:artifactId/download', access: 'Developer' },
  { method: 'GET', path: '/api/v1/events', access: 'Developer' },
  { method: 'GET', path: '/api/v1/repositories/solutions', access: 'Developer' },
  { method: 'GET', path: '/api/v1/agents', access: 'Developer' },
  { method: 'GET', path: '/api/v1/agents/:agentId', access: 'Developer' },
  { method: 'GET', path: '/api/v1/agents/:agentId/health', access: 'Developer' },
  { method: 'POST', path: '/api/v1/agents/:agentId/maintenance', access: 'BuildMaster' },
  { method: 'DELETE', path: '/api/v1/agents/:agentId/maintenance', access: 'BuildMaster' },
  { method: 'DELETE', path: '/api/v1/agents/:agentId', access: 'BuildMaster' },
  { method: 'POST', path: '/api/v1/agents/:agentId/admit', access: 'BuildMaster' },
  { method: 'GET', path: '/api/v1/config', access: 'Developer' },
  { method: 'PATCH', path: '/api/v1/config', access: 'Admin' },
  { method: 'GET', path: '/api/v1/audit', access: 'Admin' },
];

function matches(pattern: string, path: string): boolean {
  const want = pattern.split('/');
  const got = path.replace(/\/+$/, '').split('/');
  if (want.length !== got.length) return false;
  // The router matches paths case-insensitively, so the table must too (`/API/V1/...` is no way around it).
  return want.every((part, index) =>
    part.startsWith(':') ? got[index] !== '' : part === got[index]?.toLowerCase(),
  );
}

/** The rule for a request, or null for paths outside the API (the UI, `/metrics`, `/swagger`). */
export function ruleFor(method: string, path: string): RouteRule | null {
  const upper = method === 'HEAD' ? 'GET' : method.toUpperCase();
  const normalised = path === '/' ? path : path.replace(/\/+$/, '');
  return ROUTE_RULES.find((rule) => rule.method === upper && matches(rule.path, normalised)) ?? null;
}
