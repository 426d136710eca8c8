import { describe, expect, it } from 'vitest';
import { ROUTE_RULES } from './api-access.js';
import { auditActionFor, auditOutcomeOf, routeTarget } from './audit.js';

describe('audit helpers', () => {
  it('audits every state-changing route of the access table and no read', () => {
    for (const rule of ROUTE_RULES) {
      const action = auditActionFor(rule);
      if (rule.method === 'GET') expect(action, rule.path).toBeNull();
      else expect(action, `${rule.method} ${rule.path}`).not.toBeNull();
    }
  });

  it('maps statuses to outcomes', () => {
    expect([200, 202, 204, 400, 403, 404, 409, 429, 500].map(auditOutcomeOf)).toEqual([
      'Succeeded',
      'Succeeded',
      'Succeeded',
      'Rejected',
      'Denied',
      'Rejected',
      'Rejected',
      'Rejected',
      'Failed',
    ]);
  });

  it('reads the id acted on from the path', () => {
    expect(routeTarget('/api/v1/builds/:executionId/cancel', '/api/v1/builds/abc/cancel')).toBe('abc');
    expect(routeTarget('/api/v1/agents/:agentId', '/api/v1/agents/12D3%20x/')).toBe('12D3 x');
    expect(routeTarget('/api/v1/agents/:agentId', '/api/v1/agents/%E0%A4%A')).toBe('%E0%A4%A');
    expect(routeTarget('/api/v1/config', '/api/v1/config')).toBeNull();
  });
});
