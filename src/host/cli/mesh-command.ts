import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../core/errors.js';
import { encodeJoinCode, loadSwarmKey } from '../../mesh/swarm-key.js';
import { loadConfig } from '../config.js';

const HELP = `Usage: buildmesh mesh join-code [--data-dir <dir>]

Prints a join code for this node's mesh: its private network key and this node's addresses.
Another machine joins with: buildmesh node --join <code>
Treat the code like a password: anyone with it can join the mesh.`;

export async function meshCommand(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb !== 'join-code') {
    console.error(
      verb && verb !== '--help' && verb !== '-h' ? `Unknown mesh command "${verb}".\n\n${HELP}` : HELP,
    );
    return verb === '--help' || verb === '-h' ? 0 : 2;
  }
  let dataDir: string;
  try {
    const { values } = parseArgs({ args: rest, options: { 'data-dir': { type: 'string' } }, strict: true });
    dataDir = loadConfig({ flags: values['data-dir'] ? { dataDir: values['data-dir'] } : {} }).dataDir;
  } catch (error) {
    console.error(error instanceof ConfigError || error instanceof Error ? error.message : String(error));
    return 2;
  }
  const swarmKey = await loadSwarmKey(dataDir);
  let addresses: string[] = [];
  try {
    addresses = (
      JSON.parse(await readFile(join(dataDir, 'mesh', 'addresses.json'), 'utf8')) as string[]
    ).filter((address) => !address.includes('/ip4/0.0.0.0/'));
  } catch {
    // Not started yet.
  }
  if (!swarmKey || addresses.length === 0) {
    console.error(
      `This node (data in ${dataDir}) has not started a mesh yet: run "buildmesh node" once, then ask again.`,
    );
    return 1;
  }
  console.log(encodeJoinCode({ swarmKey, addresses }));
  return 0;
}
