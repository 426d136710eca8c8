import { buildCommand } from './build-command.js';
import { meshCommand } from './mesh-command.js';
import { nodeCommand } from './node-command.js';
import { tokenCommand } from './token-command.js';

const USAGE = `Build Mesh: a build farm for .NET solutions made of your team's machines.

Usage:
  buildmesh node [options]                 start a headless build node (REST API on 127.0.0.1:5000)
  buildmesh build <repository-url> --ref <ref> --solution <path> [options]
                                           submit a build to a node
  buildmesh mesh join-code                 print a code another machine joins this mesh with
  buildmesh token create --role <role>     print an API token (Developer, BuildMaster or Admin)
  buildmesh node --join <code>             start a node that joins an existing mesh
  buildmesh help                           show this help

Run "buildmesh <command> --help" for the options of a command.`;

/** Dispatches `buildmesh <command>`; returns the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'node':
      return nodeCommand(rest);
    case 'build':
      return buildCommand(rest);
    case 'mesh':
      return meshCommand(rest);
    case 'token':
      return tokenCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}
