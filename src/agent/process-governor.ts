import { readFileSync, readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import type { ProcessLimits } from '../core/cpu-share.js';

/** What `runCommand` needs to put a process under the governor. */
export interface ProcessAdopter {
  /** Called synchronously right after spawn; returns the function that forgets the process. */
  adopt(pid: number): () => void;
  /** Extra arguments for a dotnet command about to start under the current limits. */
  dotnetArgs?(): string[];
}

/**
 * The priority and MSBuild parallelism of the dotnet processes this machine runs, following the
 * owner's CPU share. Each process group is set to the current nice value right after it starts
 * (its later children inherit it); when the owner comes back, every running process
 * group can be lowered further. Priorities only go down: raising one again needs privileges.
 */
export class ProcessGovernor implements ProcessAdopter {
  private readonly running = new Map<number, number>();

  constructor(private readonly limits: () => ProcessLimits) {}

  /**
   * Below normal priority a build compiles in its own processes: the shared compiler server keeps
   * the priority of whichever build started it, so it would either run donated work at full speed
   * or slow the owner's next build down.
   */
  dotnetArgs(): string[] {
    return this.limits().niceness > 0 ? ['-p:UseSharedCompilation=false'] : [];
  }

  /** MSBuild's `-m:N` for whole builds. */
  maxCpuCount(): number {
    return this.limits().maxCpuCount;
  }

  adopt(pid: number): () => void {
    const { niceness } = this.limits();
    if (niceness > 0) {
      // The leader first, so whatever it forks from now on inherits the value; then the sweep
      // catches threads and children it started between spawn and this call.
      setNiceness(pid, niceness);
      reniceProcessGroup(pid, niceness);
    }
    this.running.set(pid, niceness);
    return () => {
      this.running.delete(pid);
    };
  }

  /** Process-group ids of the adopted processes still running. */
  pids(): number[] {
    return [...this.running.keys()];
  }

  /** Lowers every running process group to `niceness` (never raises one); returns how many it lowered. */
  lowerRunning(niceness: number): number {
    let lowered = 0;
    for (const [pid, current] of this.running) {
      if (current >= niceness) continue;
      reniceProcessGroup(pid, niceness);
      this.running.set(pid, niceness);
      lowered++;
    }
    return lowered;
  }
}

function setNiceness(id: number, niceness: number): boolean {
  try {
    setPriority(id, niceness);
    return true;
  } catch {
    // Gone already, or not ours to change.
    return false;
  }
}

/**
 * Sets the nice value of every thread of every process in the group `pgid` (the agent spawns each
 * command as a group leader). Linux keeps priorities per thread, so each task under /proc counts;
 * elsewhere only the leader can be reached without a native helper.
 */
export function reniceProcessGroup(pgid: number, niceness: number): void {
  if (process.platform !== 'linux') {
    setNiceness(pgid, niceness);
    return;
  }
  for (const pid of processesInGroup(pgid)) {
    let threads: string[];
    try {
      threads = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of threads) setNiceness(Number(tid), niceness);
  }
}

/** The pids of the processes whose process group is `pgid`, from /proc/<pid>/stat. */
function processesInGroup(pgid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name (which may hold spaces and parentheses): state ppid pgrp ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) found.push(Number(entry));
  }
  return found;
}
