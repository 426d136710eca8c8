import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';

/** Where the node was meant to listen, for the port-in-use message. */
export interface ListenAddress {
  apiHost: string;
  apiPort: number;
  dataDir: string;
}

/** What the start-up error dialog says: the cause and what the user can do about it. */
export function describeStartupError(error: unknown, address: ListenAddress | null): string {
  if (error instanceof ConfigError) return error.message;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE' && address) {
    return (
      `Port ${address.apiPort} on ${address.apiHost} is already in use, perhaps by another Build Mesh node. ` +
      `Choose another port with "apiPort" in ${join(address.dataDir, 'config.json')} or the BUILDMESH_API_PORT variable.`
    );
  }
  return error instanceof Error ? error.message : String(error);
}
