import type { TargetPool } from './models.js';

/** What a machine can build, as detected at start-up and advertised to the mesh. */
export interface AgentCapabilities {
  os: 'linux' | 'windows' | 'macos' | 'other';
  arch: string;
  cpuCores: number;
  totalMemoryGB: number;
  freeMemoryGB: number;
  availableDiskSpaceGB: number;
  /** SDK versions as `dotnet --list-sdks` prints them, e.g. `10.0.401`. */
  installedSdks: string[];
  /** Runtimes as `Microsoft.NETCore.App 10.0.0`. */
  installedRuntimes: string[];
  /** Target framework monikers the installed SDKs can build, newest first. */
  buildableFrameworks: string[];
  /** `git`, `docker`, `dotnet` when present. */
  installedTools: string[];
  gitVersion: string | null;
  dockerVersion: string | null;
  maxConcurrentBuilds: number;
}

const NETSTANDARD = ['netstandard2.1', 'netstandard2.0', 'netstandard1.6'];

/**
 * The TFMs an SDK version can build: an SDK builds its own `netX.Y` and every older one,
 * down to netcoreapp and netstandard (a 10.0 SDK builds net10.0 … net5.0, netcoreapp3.1, netstandard2.x).
 */
export function frameworksForSdk(sdkVersion: string): string[] {
  const match = /^(\d+)\.(\d+)/.exec(sdkVersion);
  if (!match) return [];
  const major = Number(match[1]);
  const frameworks: string[] = [];
  for (let version = major; version >= 5; version--) frameworks.push(`net${version}.0`);
  if (major >= 3) frameworks.push('netcoreapp3.1', 'netcoreapp3.0');
  if (major >= 2) frameworks.push('netcoreapp2.2', 'netcoreapp2.1', 'netcoreapp2.0');
  return major >= 2 ? [...frameworks, ...NETSTANDARD] : frameworks;
}

export function frameworksForSdks(sdkVersions: readonly string[]): string[] {
  const all = new Set<string>();
  for (const sdk of sdkVersions) for (const tfm of frameworksForSdk(sdk)) all.add(tfm);
  return [...all].sort(compareFrameworksNewestFirst);
}

function frameworkRank(tfm: string): number {
  const net = /^net(\d+)\.(\d+)$/.exec(tfm);
  if (net) return 1000 + Number(net[1]) * 10 + Number(net[2]);
  const core = /^netcoreapp(\d+)\.(\d+)$/.exec(tfm);
  if (core) return 500 + Number(core[1]) * 10 + Number(core[2]);
  const standard = /^netstandard(\d+)\.(\d+)$/.exec(tfm);
  return standard ? Number(standard[1]) * 10 + Number(standard[2]) : 0;
}

function compareFrameworksNewestFirst(a: string, b: string): number {
  return frameworkRank(b) - frameworkRank(a);
}

export function canBuildFramework(
  capabilities: Pick<AgentCapabilities, 'buildableFrameworks'>,
  tfm: string,
): boolean {
  const base = tfm.replace(/-.*$/, '');
  return capabilities.buildableFrameworks.includes(base);
}

export function targetPoolForOs(os: AgentCapabilities['os']): TargetPool {
  switch (os) {
    case 'windows':
      return 'Windows';
    case 'macos':
      return 'MacOS';
    case 'linux':
    case 'other':
      return 'Linux';
  }
}
