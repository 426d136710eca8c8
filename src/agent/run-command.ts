import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CommandFailedError, ToolNotFoundError, abortReasonOf } from '../core/errors.js';
import type { ProcessAdopter } from './process-governor.js';

export interface RunCommandOptions {
  file: string;
  args: readonly string[];
  cwd: string;
  env?: Record<string, string | undefined>;
  /** Exit codes that count as success; anything else throws CommandFailedError. */
  successExitCodes?: readonly number[];
  signal?: AbortSignal;
  /** Called for every line of stdout and stderr, as it arrives. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Called once the process has started, with its pid (also its process-group id on POSIX). */
  onSpawn?: (pid: number) => void;
  /** How long to wait after SIGTERM before SIGKILL. */
  killGraceMs?: number;
  /** Sets the process's priority right after spawn (the CPU share) and tracks it while it runs. */
  governor?: ProcessAdopter;
}

export interface CommandResult {
  exitCode: number;
  durationMs: number;
  /** The last lines of output, for error messages. */
  outputTail: string[];
}

const TAIL_LINES = 40;
/** After exit, how long to wait for buffered output while a leftover server may still hold the pipe. */
const DRAIN_AFTER_EXIT_MS = 250;

/**
 * Runs one process without a shell, streaming its lines. On abort it kills the whole process
 * tree (the process runs in its own process group), SIGTERM first and SIGKILL after a grace period.
 *
 * dotnet leaves build servers behind that inherit stdout; the result is taken on process exit
 * rather than on pipe close, so such a server cannot keep the caller waiting.
 */
export async function runCommand(options: RunCommandOptions): Promise<CommandResult> {
  const { file, args, cwd, signal, onLine } = options;
  const successExitCodes = options.successExitCodes ?? [0];
  const killGraceMs = options.killGraceMs ?? 5000;
  const commandText = `${file} ${args.join(' ')}`.trim();
  if (signal?.aborted) throw abortReasonOf(signal);

  const started = performance.now();
  const tail: string[] = [];
  const child = spawn(file, args, {
    cwd,
    env: options.env ? cleanEnv(options.env) : process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: process.platform !== 'win32',
    windowsHide: true,
  });
  // At once, before the process forks MSBuild nodes: they inherit its priority.
  const forget = child.pid !== undefined ? options.governor?.adopt(child.pid) : undefined;

  const handleLine = (stream: 'stdout' | 'stderr') => (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    onLine?.(line, stream);
  };
  const stdoutLines = createInterface({ input: child.stdout });
  const stderrLines = createInterface({ input: child.stderr });
  stdoutLines.on('line', handleLine('stdout'));
  stderrLines.on('line', handleLine('stderr'));

  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    killProcessTree(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => killProcessTree(child.pid, 'SIGKILL'), killGraceMs);
    killTimer.unref();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) => {
        reject(error.code === 'ENOENT' ? new ToolNotFoundError(file) : error);
      });
      child.once('spawn', () => {
        if (child.pid !== undefined) options.onSpawn?.(child.pid);
      });
      child.once('exit', (code) => resolve(code));
    });
    await drainStreams(child.stdout, child.stderr);
    stdoutLines.close();
    stderrLines.close();
    if (signal?.aborted) {
      // The group leader is gone, but descendants may still be winding down.
      killProcessTree(child.pid, 'SIGKILL');
      throw abortReasonOf(signal);
    }
    const durationMs = performance.now() - started;
    if (exitCode === null || !successExitCodes.includes(exitCode)) {
      throw new CommandFailedError(commandText, exitCode, [...tail]);
    }
    return { exitCode, durationMs, outputTail: [...tail] };
  } finally {
    forget?.();
    signal?.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
  }
}

async function drainStreams(...streams: NodeJS.ReadableStream[]): Promise<void> {
  await Promise.race([
    Promise.all(
      streams.map(
        (stream) =>
          new Promise<void>((resolve) => {
            if ((stream as NodeJS.ReadableStream & { readableEnded?: boolean }).readableEnded) resolve();
            else stream.once('end', () => resolve()).once('close', () => resolve());
          }),
      ),
    ),
    new Promise<void>((resolve) => setTimeout(resolve, DRAIN_AFTER_EXIT_MS).unref()),
  ]);
  for (const stream of streams) {
    (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  }
}

/** Signals the whole process group of `pid` (the child was spawned detached, as a group leader). */
export function killProcessTree(pid: number | undefined, killSignal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    if (process.platform === 'win32') {
      spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true });
    } else {
      process.kill(-pid, killSignal);
    }
  } catch {
    // The group is already gone.
  }
}

function cleanEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined));
}
