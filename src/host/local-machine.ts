import { statfs } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';
import { healthChecks, type AgentHealth } from '../core/agent-view.js';
import type { AgentCapabilities } from '../core/capabilities.js';
import { formatIsoDuration } from '../core/durations.js';
import type { AgentStatus } from '../core/models.js';

const GB = 1024 ** 3;

/** This machine's live load and health: CPU and memory use, free disk, the design's four checks. */
export class LocalMachine {
  readonly startedAt = new Date();
  private lastCpuSample = sampleCpu();

  constructor(
    private readonly agentId: string,
    private readonly capabilities: AgentCapabilities,
    private readonly workspaceDir: string,
  ) {}

  /** CPU busy percentage since the previous call. */
  cpuUsage(): number {
    const sample = sampleCpu();
    const idle = sample.idle - this.lastCpuSample.idle;
    const total = sample.total - this.lastCpuSample.total;
    this.lastCpuSample = sample;
    return total > 0 ? Math.min(100, Math.max(0, Math.round((1 - idle / total) * 1000) / 10)) : 0;
  }

  memoryUsage(): number {
    return Math.round((1 - freemem() / totalmem()) * 1000) / 10;
  }

  async health(status: AgentStatus): Promise<AgentHealth> {
    const disk = await statfs(this.workspaceDir).catch(() => null);
    const availableDiskSpaceGB = disk ? Math.floor((disk.bavail * disk.bsize) / GB) : 0;
    const checks = healthChecks({ ...this.capabilities, availableDiskSpaceGB });
    return {
      agentId: this.agentId,
      healthy: checks.every((check) => check.status !== 'Unhealthy'),
      status,
      cpuUsage: this.cpuUsage(),
      memoryUsage: this.memoryUsage(),
      diskSpaceAvailableGB: availableDiskSpaceGB,
      lastHeartbeat: new Date().toISOString(),
      uptime: formatIsoDuration(Date.now() - this.startedAt.getTime()),
      checks,
    };
  }
}

function sampleCpu(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    idle += cpu.times.idle;
    total += cpu.times.idle + cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq;
  }
  return { idle, total };
}
