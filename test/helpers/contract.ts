import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';
import type { OpenApiDocument } from '../../src/api/openapi.js';

/**
 * The contract check: every response that tests receive through `api()`/`apiFetch()` is compared
 * with the OpenAPI spec the node serves. A response whose method and path match no operation,
 * whose status the operation does not document, whose content type differs, or whose JSON body
 * fails the documented schema is a mismatch; `setup.ts` fails the test (or file) that got it.
 */

const SPEC_ID = 'https://buildmesh.invalid/openapi.json';

interface CompiledOperation {
  method: string;
  path: string;
  pattern: RegExp;
  literalSegments: number;
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}

export interface ContractChecker {
  /** A description of what is wrong, or null when the response matches the spec. */
  check(response: {
    method: string;
    url: string;
    status: number;
    contentType: string | null;
    body: string | null;
  }): string | null;
  /** Validates a value against `#/components/schemas/<name>`; the ajv errors as text, or null. */
  validate(name: string, value: unknown): string | null;
}

/** Paths the spec covers; everything else is the browser UI's files. */
function inScope(path: string): boolean {
  const lower = path.toLowerCase();
  return (
    lower.startsWith('/api/') ||
    lower === '/api' ||
    lower === '/health' ||
    lower === '/metrics' ||
    lower.startsWith('/swagger')
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function mediaEssence(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

/** Builds the checker for `spec`: one ajv instance, validators compiled on first use. */
export function createContractChecker(spec: OpenApiDocument): ContractChecker {
  const addFormats = formatsPlugin as unknown as (ajv: Ajv2020) => Ajv2020;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema({ $id: SPEC_ID, components: { schemas: spec.components.schemas } });
  const validators = new Map<string, ValidateFunction>();
  const validatorFor = (ref: string): ValidateFunction => {
    let validator = validators.get(ref);
    if (!validator) {
      validator = ajv.compile({ $ref: `${SPEC_ID}${ref}` });
      validators.set(ref, validator);
    }
    return validator;
  };
  const errorsOf = (validator: ValidateFunction) =>
    (validator.errors ?? [])
      .map((error) => {
        const extra = (error.params as { additionalProperty?: string }).additionalProperty;
        return `body${error.instancePath} ${error.message ?? error.keyword}${extra ? ` (${extra})` : ''}`;
      })
      .join('; ');

  const operations: CompiledOperation[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const segments = path.split('/');
      const pattern = segments
        .map((segment) => (/^\{.+\}$/.test(segment) ? '[^/]+' : escapeRegExp(segment)))
        .join('/');
      operations.push({
        method: method.toUpperCase(),
        path,
        pattern: new RegExp(`^${pattern}/?$`, 'i'),
        literalSegments: segments.filter((segment) => !segment.startsWith('{')).length,
        responses: operation.responses as CompiledOperation['responses'],
      });
    }
  }
  // Literal paths win over parameterised ones, as in the router.
  operations.sort((a, b) => b.literalSegments - a.literalSegments);

  const envelopeCheck = (body: string | null): string | null => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body ?? '');
    } catch {
      return 'the body is not the JSON error envelope';
    }
    const validator = validatorFor('#/components/schemas/ErrorEnvelope');
    return validator(parsed) ? null : `the error envelope does not match: ${errorsOf(validator)}`;
  };

  return {
    validate(name, value) {
      const validator = validatorFor(`#/components/schemas/${name}`);
      return validator(value) ? null : errorsOf(validator);
    },

    check({ method, url, status, contentType, body }) {
      const path = new URL(url).pathname;
      if (!inScope(path)) return null;
      const upper = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
      const where = `${method.toUpperCase()} ${path} → ${status}`;
      if (upper === 'OPTIONS') {
        // CORS preflights: 204 without a body for an allowed origin, otherwise the envelope.
        if (status === 204) return body ? `${where}: a preflight answer has no body` : null;
        const problem = status >= 400 && status < 500 ? envelopeCheck(body) : `status ${status}`;
        return problem ? `${where}: ${problem}` : null;
      }
      const pathMatches = operations.filter((operation) => operation.pattern.test(path));
      const operation = pathMatches.find((candidate) => candidate.method === upper);
      if (!operation) {
        // No route: the router (404, 405) or auth (401 before routing) answers with the envelope.
        if (status < 400 || status >= 500) return `${where}: no documented operation, yet status ${status}`;
        const problem = envelopeCheck(body);
        return problem ? `${where}: ${problem}` : null;
      }
      const documented = operation.responses[String(status)];
      if (!documented) {
        return `${where}: status ${status} is not documented for ${operation.method} ${operation.path} (documented: ${Object.keys(operation.responses).join(', ')})`;
      }
      const content = documented.content;
      if (!content) {
        return body ? `${where}: documented without a body, got ${body.length} characters` : null;
      }
      const essence = contentType ? mediaEssence(contentType) : '';
      const media = Object.entries(content).find(([type]) => mediaEssence(type) === essence);
      if (!media) {
        return `${where}: content type ${contentType ?? '(none)'} is not documented (documented: ${Object.keys(content).join(', ')})`;
      }
      const ref = media[1].schema?.$ref;
      if (!ref || method.toUpperCase() === 'HEAD' || body === null) return null;
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return `${where}: the body is not JSON`;
      }
      const validator = validatorFor(ref);
      return validator(parsed) ? null : `${where}: the body does not match ${ref}: ${errorsOf(validator)}`;
    },
  };
}

interface ContractState {
  checker?: Promise<ContractChecker>;
  pending: Set<Promise<void>>;
  mismatches: string[];
}

// One checker per process: the spec and its validators are compiled once.
const state: ContractState = ((globalThis as { __buildMeshContract?: ContractState }).__buildMeshContract ??=
  {
    pending: new Set(),
    mismatches: [],
  });

/** The checker for the spec the node serves (`src/api/openapi.ts`), built once per process. */
export function contractChecker(): Promise<ContractChecker> {
  state.checker ??= import('../../src/api/openapi.js').then(({ openApiSpec }) =>
    createContractChecker(openApiSpec()),
  );
  return state.checker;
}

/**
 * Records `response` for the contract check. JSON bodies are read from a clone, so the caller's
 * response is untouched; streams (logs, events) and files are checked by status and content type.
 */
export function checkApiResponse(method: string, url: string, response: Response): void {
  const contentType = response.headers.get('content-type');
  const isJson = contentType !== null && mediaEssence(contentType) === 'application/json';
  const bodyText = isJson ? response.clone().text() : Promise.resolve(null);
  const check = (async () => {
    let body: string | null;
    try {
      body = await bodyText;
    } catch {
      return; // The caller aborted the request; nothing complete to check.
    }
    const mismatch = (await contractChecker()).check({
      method,
      url,
      status: response.status,
      contentType,
      body,
    });
    if (mismatch) state.mismatches.push(mismatch);
  })();
  state.pending.add(check);
  void check.finally(() => state.pending.delete(check));
}

/** Waits for the pending checks and throws when any response did not match the spec. */
export async function assertContractHeld(): Promise<void> {
  while (state.pending.size > 0) await Promise.all([...state.pending]);
  if (state.mismatches.length === 0) return;
  const found = state.mismatches.splice(0);
  throw new Error(
    `${found.length} API response(s) do not match the OpenAPI spec (src/api/openapi-registry.ts, src/core/api-schemas.ts):\n` +
      found.map((mismatch) => `  - ${mismatch}`).join('\n'),
  );
}
