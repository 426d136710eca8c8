import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderApiMarkdown } from '../../api/openapi-markdown.js';
import { openApiSpec } from '../../api/openapi.js';

/** `npm run docs:api`: writes API-DOCUMENTATION.md from the OpenAPI spec the node serves. */
const target = fileURLToPath(new URL('../../../API-DOCUMENTATION.md', import.meta.url));
await writeFile(target, renderApiMarkdown(openApiSpec()));
console.log(`Wrote ${target}`);
