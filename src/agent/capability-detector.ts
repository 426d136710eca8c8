import { statfs } from 'node:fs/promises';
import { arch, availableParallelism, freemem, platform, totalmem } from 'node:os';
import { frameworksForSdks, type AgentCapabilities } from '../core/capabilities.js';
import type { Logger } from '../core/ports.js';
import { runCommand } from './run-command.js';

const PROBE_TIMEOUT_MS = 800;
const GB = 1024 ** 3;

export interface DetectOptions {
  workspaceDir: string;
  maxConcurrentBuilds: number;
  logger: Logger;
}

/**
 * Detects what this machine can build. Probes run in parallel with a short timeout so the whole
 * detection stays under a second; a missing tool is logged and left out, never an error.
 */
export async function detectCapabilities(options: DetectOptions): Promise<AgentCapabilities> {
  const { logger } = options;
  const probe = async (file: string, args: string[]): Promise<string[] | null> => {
    const lines: string[] = [];
    try {
      await runCommand({
        file,
        args,
        cwd: options.workspaceDir,
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
        killGraceMs: 100,
        onLine: (line) => lines.push(line),
        env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' },
      });
      return lines;
    } catch (error) {
      logger.warn('capability probe failed; the tool is treated as missing', {
        command: `${file} ${args.join(' ')}`,
        error: error instanceof Error ? error.message : String(error),
      });
      return null;
    }
  };

  const [sdkLines, runtimeLines, gitLines, dockerLines, disk] = await Promise.all([
    probe('dotnet', ['--list-sdks']),
    probe('dotnet', ['--list-runtimes']),
    probe('git', ['--version']),
    probe('docker', ['--version']),
    statfs(options.workspaceDir).catch(() => null),
  ]);

  const installedSdks = (sdkLines ?? []).map((line) => line.split(' ')[0] ?? '').filter(Boolean);
  const installedRuntimes = (runtimeLines ?? [])
    .map((line) => /^(\S+) (\S+)/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => `${match[1]} ${match[2]}`);
  const gitVersion = gitLines ? (/(\d+\.\d+\.\d+)/.exec(gitLines.join(' '))?.[1] ?? null) : null;
  const dockerVersion = dockerLines ? (/(\d+\.\d+\.\d+)/.exec(dockerLines.join(' '))?.[1] ?? null) : null;
  const installedTools = [
    ...(sdkLines ? ['dotnet'] : []),
    ...(gitVersion ? ['git'] : []),
    ...(dockerVersion ? ['docker'] : []),
  ];

  const capabilities: AgentCapabilities = {
    os: osName(platform()),
    arch: arch(),
    cpuCores: availableParallelism(),
    totalMemoryGB: round1(totalmem() / GB),
    freeMemoryGB: round1(freemem() / GB),
    availableDiskSpaceGB: disk ? Math.floor((disk.bavail * disk.bsize) / GB) : 0,
    installedSdks,
    installedRuntimes,
    buildableFrameworks: frameworksForSdks(installedSdks),
    installedTools,
    gitVersion,
    dockerVersion,
    maxConcurrentBuilds: options.maxConcurrentBuilds,
  };
  logger.info('capabilities detected', {
    sdks: installedSdks,
    tools: installedTools,
    cpuCores: capabilities.cpuCores,
    totalMemoryGB: capabilities.totalMemoryGB,
    diskGB: capabilities.availableDiskSpaceGB,
  });
  return capabilities;
}

function osName(value: NodeJS.Platform): AgentCapabilities['os'] {
  if (value === 'linux') return 'linux';
  if (value === 'win32') return 'windows';
  if (value === 'darwin') return 'macos';
  return 'other';
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
