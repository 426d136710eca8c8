import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { processLimitsForCpuShare } from '../core/cpu-share.js';
import { ProcessGovernor } from './process-governor.js';
import { runCommand } from './run-command.js';

/** Starts `sh` with a child of its own under the governor; resolves with the group leader's pid. */
function startGroup(governor: ProcessGovernor, controller: AbortController) {
  let resolvePid: (pid: number) => void = () => undefined;
  const started = new Promise<number>((resolve) => (resolvePid = resolve));
  let childPid = 0;
  const gotChild = new Promise<void>((resolve) => {
    const run = runCommand({
      file: 'sh',
      args: ['-c', 'sleep 30 & echo "child $!"; wait'],
      cwd: process.cwd(),
      signal: controller.signal,
      governor,
      onSpawn: resolvePid,
      onLine: (line) => {
        const match = /^child (\d+)$/.exec(line);
        if (match) {
          childPid = Number(match[1]);
          resolve();
        }
      },
    });
    run.catch(() => undefined);
  });
  return { started, gotChild, child: () => childPid };
}

describe('ProcessGovernor', () => {
  it('starts processes at the CPU share priority and gives MSBuild its -m', async () => {
    const governor = new ProcessGovernor(() => processLimitsForCpuShare(50, 4));
    expect(governor.maxCpuCount()).toBe(2);
    // A lowered build must not share the compiler server with full-priority builds.
    expect(governor.dotnetArgs()).toEqual(['-p:UseSharedCompilation=false']);
    expect(new ProcessGovernor(() => processLimitsForCpuShare(100, 4)).dotnetArgs()).toEqual([]);
    const controller = new AbortController();
    const group = startGroup(governor, controller);
    try {
      const pid = await group.started;
      await group.gotChild;
      expect(getPriority(pid)).toBe(11);
      // Forked after the priority was set: inherits it.
      expect(getPriority(group.child())).toBe(11);
      expect(governor.pids()).toEqual([pid]);
    } finally {
      controller.abort();
    }
  });

  it('lowers every process of a running group when asked, never raising one', async () => {
    const governor = new ProcessGovernor(() => processLimitsForCpuShare(100, 4));
    const controller = new AbortController();
    const group = startGroup(governor, controller);
    try {
      const pid = await group.started;
      await group.gotChild;
      expect(getPriority(pid)).toBe(0);
      expect(governor.lowerRunning(19)).toBe(1);
      expect(getPriority(pid)).toBe(19);
      expect(getPriority(group.child())).toBe(19);
      expect(governor.lowerRunning(10)).toBe(0);
      expect(getPriority(pid)).toBe(19);
    } finally {
      controller.abort();
    }
  });
});
