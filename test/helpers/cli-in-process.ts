import { vi } from 'vitest';
import { runCli } from '../../src/host/cli/run-cli.js';
import { tokenFor } from './node-harness.js';

/**
 * `buildmesh build --api <test node>` as a user holding that node's token would run it: with
 * `--token`, unless the test passes its own.
 */
function withToken(args: string[]): string[] {
  // A test that names a data dir (or a token) wants the CLI to find its own.
  if (args[0] !== 'build' || args.some((arg) => /^--(token|data-dir)(=|$)/.test(arg))) return args;
  const apiIndex = args.findIndex((arg) => arg === '--api');
  const api = apiIndex >= 0 ? args[apiIndex + 1] : args.find((arg) => arg.startsWith('--api='))?.slice(6);
  let token: string | undefined;
  try {
    token = api ? tokenFor(api) : undefined;
  } catch {
    // Not a URL: the CLI reports it.
  }
  return token ? [...args, '--token', token] : args;
}

/** Runs the `buildmesh` CLI in this process, capturing what it prints. */
export async function runCliInProcess(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi
    .spyOn(console, 'log')
    .mockImplementation((...parts: unknown[]) => void out.push(parts.join(' ')));
  const error = vi
    .spyOn(console, 'error')
    .mockImplementation((...parts: unknown[]) => void err.push(parts.join(' ')));
  try {
    const code = await runCli(withToken(args));
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/** Like runCliInProcess, but hands back the printed lines while the command is still running. */
export function startCliInProcess(args: string[]): {
  done: Promise<number>;
  stdout: string[];
  stderr: string[];
  restore: () => void;
} {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const log = vi
    .spyOn(console, 'log')
    .mockImplementation((...parts: unknown[]) => void stdout.push(parts.join(' ')));
  const error = vi
    .spyOn(console, 'error')
    .mockImplementation((...parts: unknown[]) => void stderr.push(parts.join(' ')));
  const restore = () => {
    log.mockRestore();
    error.mockRestore();
  };
  return { done: runCli(withToken(args)), stdout, stderr, restore };
}
