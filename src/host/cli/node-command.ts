import { parseArgs } from 'node:util';
import { BuildMeshError, ConfigError } from '../../core/errors.js';
import { BuildNode } from '../build-node.js';
import { CONFIG_KEYS, envNameOf, flagNameOf, loadConfig, type NodeConfigInput } from '../config.js';

const HELP = `Usage: buildmesh node [options]

Starts a headless build node: the REST API, the build queue and this machine's agent.
Config precedence: defaults < config file < BUILDMESH_* environment < flags.

Options:
${CONFIG_KEYS.map((key) => `  ${flagNameOf(key).padEnd(26)} (env ${envNameOf(key)})`).join('\n')}
  --port                     alias of --api-port
  --config <file>            JSON config file (default <data-dir>/config.json)
  --join <code>              join the mesh of a join code (from "buildmesh mesh join-code" on a member)
  -h, --help                 show this help`;

export async function nodeCommand(argv: string[]): Promise<number> {
  const optionSpec = Object.fromEntries(
    CONFIG_KEYS.map((key) => [
      flagNameOf(key).slice(2),
      { type: key === 'keepWorkspaces' ? 'boolean' : 'string' } as const,
    ]),
  );
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...optionSpec,
        port: { type: 'string' },
        config: { type: 'string' },
        join: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(HELP);
    return 0;
  }
  const flags: Partial<Record<keyof NodeConfigInput, string | boolean>> = {};
  for (const key of CONFIG_KEYS) {
    const value = (parsed.values as Record<string, string | boolean | undefined>)[flagNameOf(key).slice(2)];
    if (value !== undefined) flags[key] = value;
  }
  if (typeof parsed.values.port === 'string') flags.apiPort ??= parsed.values.port;

  let config;
  try {
    config = loadConfig({
      flags,
      configFile: typeof parsed.values.config === 'string' ? parsed.values.config : undefined,
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }

  let node: BuildNode;
  try {
    node = await BuildNode.start({
      config,
      joinCode: typeof parsed.values.join === 'string' ? parsed.values.join : undefined,
    });
  } catch (error) {
    if (error instanceof BuildMeshError) {
      console.error(error.message);
      return 2;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      console.error(
        `Port ${config.apiPort} on ${config.apiHost} is already in use; pick another with --api-port.`,
      );
      return 1;
    }
    throw error;
  }
  console.log(`Build Mesh node ${node.agentId} listening on ${node.apiUrl}`);
  console.log(`Mesh: ${node.meshAddresses.join(' ')}`);
  console.log(`Data: ${config.dataDir}`);
  console.log(`Dashboard (signed in as Admin for 12 h): ${node.signInUrl}`);

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      console.log(`${signal} received, stopping...`);
      resolve();
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
  await node.stop();
  return 0;
}
