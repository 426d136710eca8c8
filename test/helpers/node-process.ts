import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mintTokenFromDataDir } from '../../src/host/jwt-secret.js';
import { useTokenFor } from './node-harness.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/host/cli.ts', import.meta.url));

/** Runs the real `buildmesh` CLI from source (through tsx), as a separate process. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface NodeProcess {
  child: ChildProcess;
  url: string;
  output: string[];
}

/** Starts `buildmesh node` as its own process and waits until it prints its URL. */
export async function startNodeProcess(
  dataDir: string,
  extraArgs: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<NodeProcess> {
  const child = spawnCli(
    [
      'node',
      '--data-dir',
      dataDir,
      '--api-port',
      '0',
      '--log-level',
      'warn',
      '--mesh-listen',
      '/ip4/127.0.0.1/tcp/0',
      '--mesh-mdns',
      'false',
      '--presence-interval-ms',
      '500',
      '--peer-offline-after-ms',
      '4000',
      ...extraArgs,
    ],
    env,
  );
  const output: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start: ${output.join('\n')}`)), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code}: ${output.join('\n')}`));
    });
  });
  // The node created its secret before it listened; the test acts as Admin, like `token create`.
  const minted = await mintTokenFromDataDir(dataDir, 'Admin', 12 * 3600, 'test');
  if (!minted) throw new Error(`node at ${url} left no JWT secret in ${dataDir}`);
  useTokenFor(url, minted.token);
  return { child, url, output };
}
