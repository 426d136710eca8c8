// ESLint flat config: type-checked TypeScript rules plus the import zones that enforce
// the dependency direction of DESIGN.md §2 (main → host → {agent, coordinator, mesh, api} → core).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const layers = ['core', 'agent', 'coordinator', 'mesh', 'api', 'host', 'main', 'preload', 'renderer'];

/** Which src/ folders each layer may import from (besides itself). */
const allowedImports = {
  core: [],
  agent: ['core'],
  coordinator: ['core'],
  mesh: ['core'],
  api: ['core'],
  host: ['core', 'agent', 'coordinator', 'mesh', 'api'],
  main: ['core', 'host'],
  preload: ['core'],
  renderer: ['core'],
};

const zones = Object.entries(allowedImports).flatMap(([layer, allowed]) =>
  layers
    .filter((other) => other !== layer && !allowed.includes(other))
    .map((other) => ({
      target: `./src/${layer}`,
      from: `./src/${other}`,
      message: `src/${layer} may not import src/${other} (see CONTRIBUTING.md, the layer table).`,
    })),
);

/** Side-effecting libraries and the one layer allowed to import each. */
const libraryOwners = [
  { names: ['koa', '@koa/router'], owner: 'api' },
  { names: ['libsql'], owner: 'host' },
  { names: ['node:child_process', 'child_process'], owner: 'agent' },
  { names: ['electron'], owner: 'main|preload' },
  // Tracing: the SDK exports over the network and is set up once per node in src/host/tracing.ts.
  // Everything else (coordinator, mesh, core) uses the Tracer port of src/core/tracing.ts, the API
  // included, so spans are parented explicitly and a node without tracing loads no OpenTelemetry.
  {
    names: [
      '@opentelemetry/api',
      '@opentelemetry/sdk-node',
      '@opentelemetry/sdk-trace-base',
      '@opentelemetry/exporter-trace-otlp-http',
      '@opentelemetry/resources',
    ],
    owner: 'host',
  },
];
const libp2pPatterns = ['libp2p', '@libp2p/*', '@chainsafe/*', 'it-*', '@multiformats/*'];

function restrictedFor(layer) {
  const paths = libraryOwners
    .filter(({ owner }) => !owner.split('|').includes(layer))
    .flatMap(({ names, owner }) =>
      names.map((name) => ({ name, message: `Only src/${owner} may import ${name}.` })),
    );
  if (layer === 'core') {
    for (const name of ['node:fs', 'node:fs/promises', 'node:net', 'node:http', 'node:os', 'node:process']) {
      paths.push({ name, message: 'src/core is pure: no I/O. Take the value through a port instead.' });
    }
  }
  const patterns =
    layer === 'mesh' ? [] : [{ group: libp2pPatterns, message: 'Only src/mesh may import libp2p.' }];
  return ['error', { paths, patterns }];
}

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'dist/**', 'out/**', 'coverage/**', 'test-results/**', 'bin/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      'import-x/no-restricted-paths': ['error', { zones }],
    },
  },
  ...layers.map((layer) => ({
    files: [`src/${layer}/**/*.{ts,tsx}`],
    rules: { 'no-restricted-imports': restrictedFor(layer) },
  })),
  {
    // CLIs, benches and test helpers talk to a terminal.
    files: ['src/host/cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // expect.any()/expect.stringMatching() are typed `any` by vitest.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
