import { parseArgs } from 'node:util';
import { ROLES, type Role } from '../../core/api-access.js';
import { parseTtl } from '../../core/api-token.js';
import { defaultDataDir } from '../config.js';
import { jwtSecretPath, mintTokenFromDataDir } from '../jwt-secret.js';

const HELP = `Usage: buildmesh token create --role <${ROLES.join('|')}> [options]

Prints an API token signed with the node's secret (<data-dir>/auth/jwt-secret). Whoever can
read that file can mint tokens: run this on the node's machine, as the node's user.

Roles form a hierarchy: Developer triggers builds and reads everything; BuildMaster can also
cancel builds and manage agents; Admin can also change configuration and read the audit log.

Options:
  --role <role>          ${ROLES.join(', ')} (required)
  --ttl <duration>       lifetime: 90s, 30m, 12h, 7d (default 12h, at most 366d)
  --subject <name>       who holds the token, as the audit log shows it (default: the role)
  --data-dir <dir>       the node's data dir (default $BUILDMESH_DATA_DIR or the platform's default)
  --json                 print {"token", "role", "subject", "expiresAt"} instead of the bare token
  -h, --help             show this help`;

function roleOf(text: string): Role | null {
  return ROLES.find((role) => role.toLowerCase() === text.toLowerCase()) ?? null;
}

/** `buildmesh token create`: mints an API token from the data dir's secret. */
export async function tokenCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        role: { type: 'string' },
        ttl: { type: 'string' },
        subject: { type: 'string' },
        'data-dir': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals[0] !== 'create' || positionals.length > 1) {
    console.error(
      `Unknown token command "${positionals.join(' ')}"; use "buildmesh token create".\n\n${HELP}`,
    );
    return 2;
  }
  if (values.role === undefined) {
    console.error(`Missing --role: one of ${ROLES.join(', ')}.`);
    return 2;
  }
  const role = roleOf(values.role);
  if (!role) {
    console.error(`--role must be one of ${ROLES.join(', ')}, got "${values.role}".`);
    return 2;
  }
  const ttlSeconds = parseTtl(values.ttl ?? '12h');
  if (ttlSeconds === null) {
    console.error(
      `--ttl must be a positive duration like 90s, 30m, 12h or 7d (at most 366d), got "${values.ttl}".`,
    );
    return 2;
  }
  if (values.subject !== undefined && !/^[\w.@:+-]{1,128}$/.test(values.subject)) {
    console.error('--subject must be 1-128 letters, digits or ._@:+- characters.');
    return 2;
  }
  const dataDir = values['data-dir'] ?? process.env.BUILDMESH_DATA_DIR ?? defaultDataDir();
  let minted;
  try {
    minted = await mintTokenFromDataDir(dataDir, role, ttlSeconds, values.subject);
  } catch (error) {
    console.error(
      `Cannot read ${jwtSecretPath(dataDir)}: ${error instanceof Error ? error.message : String(error)}`,
    );
    return 1;
  }
  if (!minted) {
    console.error(
      `No node secret at ${jwtSecretPath(dataDir)}. Start the node once with this data dir ("buildmesh node --data-dir ${dataDir}"), or pass --data-dir.`,
    );
    return 1;
  }
  if (values.json) {
    console.log(
      JSON.stringify({
        token: minted.token,
        role,
        subject: minted.claims.sub,
        expiresAt: new Date(minted.claims.exp * 1000).toISOString(),
      }),
    );
  } else {
    console.log(minted.token);
  }
  return 0;
}
