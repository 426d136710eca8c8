import { vi } from 'vitest';
import { runCli } from '../../src/host/cli/run-cli.js';

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
    const code = await runCli(args);
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
  return { done: runCli(args), stdout, stderr, restore };
}
