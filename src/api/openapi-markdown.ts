import type { JsonObject, OpenApiDocument } from './openapi.js';

/**
 * Renders the OpenAPI document as `API-DOCUMENTATION.md`: every operation by tag (role, parameters,
 * request body, every response), then every schema with its fields. Deterministic, so a test can
 * regenerate it and compare it with the committed file.
 */

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .trim()
    .replace(/ /g, '-');
}

/** A string field of a schema object, or '' when absent or not a string. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n+/g, ' ');
}

function schemaName(ref: string): string {
  return ref.replace('#/components/schemas/', '');
}

/** A short type for tables: `string (date-time)`, `BuildStatus`, `Stage[]`, `string \| null`. */
export function typeOf(schema: JsonObject | undefined): string {
  if (!schema) return 'any';
  if (typeof schema.$ref === 'string') {
    const name = schemaName(schema.$ref);
    return `[${name}](#${anchorOf(name)})`;
  }
  const variants = (schema.anyOf ?? schema.oneOf) as JsonObject[] | undefined;
  if (variants) return variants.map(typeOf).join(' or ');
  if (Array.isArray(schema.enum)) return schema.enum.map((value) => `\`${String(value)}\``).join(', ');
  if (schema.type === 'array') return `${typeOf(schema.items as JsonObject | undefined)}[]`;
  if (
    schema.type === 'object' &&
    schema.additionalProperties &&
    typeof schema.additionalProperties === 'object'
  )
    return `map of ${typeOf(schema.additionalProperties as JsonObject)}`;
  const type = Array.isArray(schema.type) ? schema.type.join(' or ') : text(schema.type) || 'any';
  return typeof schema.format === 'string' ? `${type} (${schema.format})` : type;
}

function constraintsOf(schema: JsonObject): string {
  const parts: string[] = [];
  if (schema.default !== undefined) parts.push(`default \`${JSON.stringify(schema.default)}\``);
  if (typeof schema.minimum === 'number') parts.push(`≥ ${schema.minimum}`);
  if (typeof schema.maximum === 'number' && schema.maximum < Number.MAX_SAFE_INTEGER)
    parts.push(`≤ ${schema.maximum}`);
  if (typeof schema.minLength === 'number' && schema.minLength > 0)
    parts.push(`min length ${schema.minLength}`);
  if (typeof schema.maxLength === 'number') parts.push(`max length ${schema.maxLength}`);
  return parts.join(', ');
}

function jsonBlock(value: unknown): string[] {
  return ['```json', JSON.stringify(value, null, 2), '```'];
}

function fieldTable(schema: JsonObject): string[] {
  const properties = schema.properties as Record<string, JsonObject> | undefined;
  if (!properties) return [];
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const lines = ['| Field | Type | Required | Description |', '| --- | --- | --- | --- |'];
  for (const [name, property] of Object.entries(properties)) {
    const notes = [property.description, constraintsOf(property)].filter(Boolean).join('; ');
    lines.push(
      `| \`${name}\` | ${cell(typeOf(property))} | ${required.has(name) ? 'yes' : 'no'} | ${cell(String(notes))} |`,
    );
  }
  return lines;
}

function operationLines(method: string, path: string, operation: JsonObject): string[] {
  const lines = [`### ${method.toUpperCase()} \`${path}\``, '', `**${String(operation.summary)}**`, ''];
  lines.push(String(operation.description), '');
  const parameters = (operation.parameters as JsonObject[] | undefined) ?? [];
  if (parameters.length > 0) {
    lines.push('| Parameter | In | Type | Required | Description |', '| --- | --- | --- | --- | --- |');
    for (const parameter of parameters) {
      lines.push(
        `| \`${String(parameter.name)}\` | ${String(parameter.in)} | ${cell(typeOf(parameter.schema as JsonObject))} | ${parameter.required ? 'yes' : 'no'} | ${cell(text(parameter.description))} |`,
      );
    }
    lines.push('');
  }
  const body = operation.requestBody as JsonObject | undefined;
  if (body) {
    const json = (body.content as Record<string, JsonObject>)['application/json'];
    lines.push(
      `Request body (\`application/json\`): ${typeOf(json?.schema as JsonObject)}. ${String(body.description)}`,
    );
    lines.push('');
    for (const [name, example] of Object.entries((json?.examples as Record<string, JsonObject>) ?? {})) {
      lines.push(`Example (${name}):`, '', ...jsonBlock(example.value), '');
    }
  }
  lines.push('| Status | Meaning | Body |', '| --- | --- | --- |');
  const responses = operation.responses as Record<string, JsonObject>;
  for (const [status, response] of Object.entries(responses)) {
    const content = response.content as Record<string, JsonObject> | undefined;
    const bodyText = content
      ? Object.entries(content)
          .map(([media, value]) =>
            media === 'application/json' && (value.schema as JsonObject).$ref
              ? typeOf(value.schema as JsonObject)
              : `\`${media}\``,
          )
          .join(', ')
      : '—';
    const headers = Object.keys((response.headers as object | undefined) ?? {}).filter(
      (name) => !name.startsWith('X-RateLimit-'),
    );
    const headerText =
      headers.length > 0 ? ` Headers: ${headers.map((name) => `\`${name}\``).join(', ')}.` : '';
    lines.push(`| ${status} | ${cell(String(response.description) + headerText)} | ${cell(bodyText)} |`);
  }
  lines.push('');
  const success = Object.entries(responses).find(([status]) => status.startsWith('2'));
  const example = (success?.[1].content as Record<string, JsonObject> | undefined)?.['application/json']
    ?.example;
  if (example !== undefined) lines.push(`Example ${success?.[0]} response:`, '', ...jsonBlock(example), '');
  return lines;
}

/** The Markdown reference of `spec`. */
export function renderApiMarkdown(spec: OpenApiDocument): string {
  const lines: string[] = [
    `# ${String(spec.info.title)} (v${String(spec.info.version)})`,
    '',
    '<!-- Generated from the OpenAPI spec by `npm run docs:api`; do not edit by hand. -->',
    '',
    `The same document is served by every node at \`/swagger/v1/swagger.json\`, with Swagger UI at \`/swagger\`.`,
    '',
    String(spec.info.description),
    '',
    '## Operations and roles',
    '',
    '| Method | Path | Least role | Summary |',
    '| --- | --- | --- | --- |',
  ];
  const operations: { method: string; path: string; operation: JsonObject }[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation) operations.push({ method, path, operation });
    }
  }
  for (const { method, path, operation } of operations) {
    const heading = `${method.toUpperCase()} \`${path}\``;
    lines.push(
      `| ${method.toUpperCase()} | [\`${path}\`](#${anchorOf(heading)}) | ${cell(String(operation['x-required-role']))} | ${cell(String(operation.summary))} |`,
    );
  }
  lines.push('');
  for (const tag of spec.tags) {
    const tagged = operations.filter(({ operation }) =>
      (operation.tags as string[]).includes(String(tag.name)),
    );
    if (tagged.length === 0) continue;
    lines.push(`## ${String(tag.name)}`, '', String(tag.description), '');
    for (const { method, path, operation } of tagged) lines.push(...operationLines(method, path, operation));
  }
  lines.push(
    '## Schemas',
    '',
    'Every JSON body, as the node validates requests and sends responses. Enums are case-insensitive in requests.',
    '',
  );
  for (const [name, schema] of Object.entries(spec.components.schemas).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    lines.push(`### ${name}`, '');
    if (text(schema.description)) lines.push(text(schema.description), '');
    if (!schema.properties) lines.push(`Type: ${typeOf({ ...schema, description: undefined })}`, '');
    const table = fieldTable(schema);
    if (table.length > 0) lines.push(...table, '');
    const examples = schema.examples as unknown[] | undefined;
    if (examples?.[0] !== undefined) lines.push('Example:', '', ...jsonBlock(examples[0]), '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
