/** The smallest and largest CPU share an owner may give the mesh, in percent. */
export const MIN_CPU_SHARE_PERCENT = 10;
export const MAX_CPU_SHARE_PERCENT = 100;

/** The POSIX nice value of the lowest priority (Windows maps it to the Idle priority class). */
export const LOWEST_NICENESS = 19;

/** How the agent runs its dotnet processes. */
export interface ProcessLimits {
  /** Nice value, 0 (normal) to 19 (lowest), set on each process right after it starts. */
  niceness: number;
  /** MSBuild's `-m:N`: how many projects a whole build compiles at once. */
  maxCpuCount: number;
}

/**
 * The process limits of a CPU share: the whole machine (100%) runs at normal priority with one
 * MSBuild node per core; each step down lowers the priority in proportion, to the lowest at 10%,
 * and leaves that share of the cores to MSBuild (at least one).
 */
export function processLimitsForCpuShare(cpuSharePercent: number, cpuCores: number): ProcessLimits {
  const share = Math.min(MAX_CPU_SHARE_PERCENT, Math.max(MIN_CPU_SHARE_PERCENT, cpuSharePercent));
  const span = MAX_CPU_SHARE_PERCENT - MIN_CPU_SHARE_PERCENT;
  const niceness = Math.round(((MAX_CPU_SHARE_PERCENT - share) / span) * LOWEST_NICENESS);
  const cores = Math.max(1, Math.floor(cpuCores));
  const maxCpuCount = Math.max(1, Math.floor((cores * share) / 100));
  return { niceness, maxCpuCount };
}
