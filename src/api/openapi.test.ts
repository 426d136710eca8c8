import { describe, expect, it } from 'vitest';
import { ROUTE_RULES } from '../core/api-access.js';
import { flatBuildRequestSchema, nestedBuildRequestSchema } from '../core/api-schemas.js';
import { parseBuildRequest } from '../core/build-request.js';
import { BUILD_STRATEGIES } from '../core/models.js';
import type { Logger } from '../core/ports.js';
import { z } from 'zod';
import { createApiApp, type ApiDependencies } from './app.js';
import { API_OPERATIONS } from './openapi-registry.js';
import { openApiSpec, servedRoutes, toOpenApiPath } from './openapi.js';

const silent: Logger = {
  child: () => silent,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * The app with every optional router switched on. Building it registers the routes and calls
 * none of the dependencies, so they are empty shells here.
 */
function appWithEveryRoute() {
  const deps = {
    auth: { secret: Buffer.alloc(32, 1), loopbackOnly: true },
    builds: {},
    logs: {},
    artifacts: {},
    agents: {},
    audit: {},
    config: {},
    health: () => Promise.reject(new Error('not called')),
    logger: silent,
    events: {},
    metrics: () => '',
  } as unknown as ApiDependencies;
  return createApiApp(deps);
}

const key = (route: { method: string; path: string }) => `${route.method} ${route.path}`;

describe('OpenAPI registry', () => {
  it('documents exactly the routes the Koa app serves (add a route to openapi-registry.ts with its schemas)', () => {
    const served = servedRoutes(appWithEveryRoute()).map(key).sort();
    const documented = API_OPERATIONS.map(key).sort();
    expect(documented, 'documented but not served (left) vs served but not documented (right)').toEqual(
      served,
    );
  });

  it('documents every served route of ROUTE_RULES, with the role the table gives it', () => {
    const spec = openApiSpec();
    const served = new Set(servedRoutes(appWithEveryRoute()).map(key));
    for (const rule of ROUTE_RULES) {
      const operation = spec.paths[toOpenApiPath(rule.path)]?.[rule.method.toLowerCase()];
      // A rule may come before its route (the table is written first); once served, it must be documented.
      if (!served.has(key(rule))) continue;
      expect(operation, `${rule.method} ${rule.path} is served but not documented`).toBeDefined();
      expect(operation?.['x-required-role'], `${rule.method} ${rule.path}`).toBe(rule.access);
      expect(String(operation?.description)).toContain(
        rule.access === 'public' ? 'Required role: none' : `Required role: **${rule.access}**`,
      );
    }
    for (const operation of API_OPERATIONS.filter(
      (op) => op.path.startsWith('/api/') || op.path === '/health',
    )) {
      expect(
        ROUTE_RULES.some((rule) => rule.method === operation.method && rule.path === operation.path),
        `${key(operation)} is documented but has no rule in ROUTE_RULES (src/core/api-access.ts)`,
      ).toBe(true);
    }
  });

  it('documents the shared error statuses of every operation', () => {
    for (const [path, item] of Object.entries(openApiSpec().paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const statuses = Object.keys(operation.responses as object);
        const where = `${method.toUpperCase()} ${path}`;
        expect(statuses, where).toContain('500');
        if (operation['x-required-role'] !== 'public') {
          expect(statuses, where).toEqual(expect.arrayContaining(['401', '403', '429']));
          expect(operation.security, where).toContainEqual({ bearerAuth: [] });
        } else {
          expect(operation.security, where).toEqual([]);
        }
        if (method !== 'get') expect(statuses, where).toContain('413');
        expect(
          statuses.some((status) => status.startsWith('2')),
          where,
        ).toBe(true);
      }
    }
  });

  it('declares the bearer JWT scheme and every schema it refers to', () => {
    const spec = openApiSpec();
    expect(spec.openapi).toBe('3.1.0');
    expect(spec.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    const refs = [...JSON.stringify(spec).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(
      (match) => match[1]!,
    );
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of new Set(refs)) expect(spec.components.schemas, ref).toHaveProperty(ref);
  });

  it('describes the build request with the schemas parseBuildRequest validates with', () => {
    const context = {
      newId: () => '00000000-0000-4000-8000-000000000001',
      now: new Date('2026-11-27T12:00:00Z'),
      runnableStrategies: BUILD_STRATEGIES,
    };
    for (const schema of [nestedBuildRequestSchema, flatBuildRequestSchema]) {
      const examples = z.globalRegistry.get(schema)?.examples as unknown[] | undefined;
      const example = examples?.[0];
      expect(example).toBeDefined();
      expect(() => parseBuildRequest(example, context)).not.toThrow();
    }
    const jobFields = Object.keys(
      (openApiSpec().components.schemas.BuildRequestFlat as { properties: object }).properties,
    );
    expect(jobFields).toEqual(
      expect.arrayContaining(['repositoryUrl', 'gitRef', 'solutionPath', 'strategy']),
    );
    const nestedJob = (
      openApiSpec().components.schemas.BuildRequestNested as {
        properties: { job: { required: string[]; additionalProperties: boolean } };
      }
    ).properties.job;
    expect(nestedJob.required).toEqual(['repositoryUrl', 'gitRef', 'solutionPath']);
    expect(nestedJob.additionalProperties).toBe(false);
  });
});
