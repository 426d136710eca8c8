import { statfs } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';
import { healthChecks, type AgentDirectory, type AgentHealth, type AgentView } from '../core/agent-view.js';
import type { AgentCapabilities } from '../core/capabilities.js';
import { formatIsoDuration } from '../core/durations.js';
import { NotFoundError } from '../core/errors.js';
import type { AgentRef } from '../core/models.js';

export interface LocalAgentState {
  /** Projects of the builds running now. */
  runningJobs: () => string[];
}

const GB = 1024 ** 3;

/** This node as an agent: its identity, detected capabilities and live load. */
export class LocalAgentDirectory implements AgentDirectory {
  private readonly startedAt = Date.now();
  private lastCpuSample = sampleCpu();

  constructor(
    private readonly agent: AgentRef,
    private readonly capabilities: AgentCapabilities,
    private readonly state: LocalAgentState,
    private readonly workspaceDir: string,
  ) {}

  list(): Promise<AgentView[]> {
    return Promise.resolve([this.view()]);
  }

  get(agentId: string): Promise<AgentView> {
    this.assertKnown(agentId);
    return Promise.resolve(this.view());
  }

  async health(agentId: string): Promise<AgentHealth> {
    this.assertKnown(agentId);
    return this.ownHealth();
  }

  async ownHealth(): Promise<AgentHealth> {
    const disk = await statfs(this.workspaceDir).catch(() => null);
    const availableDiskSpaceGB = disk ? Math.floor((disk.bavail * disk.bsize) / GB) : 0;
    const capabilities = { ...this.capabilities, availableDiskSpaceGB };
    const checks = healthChecks(capabilities);
    const view = this.view();
    return {
      agentId: this.agent.agentId,
      healthy: checks.every((check) => check.status !== 'Unhealthy'),
      status: view.status,
      cpuUsage: view.cpuUsage,
      memoryUsage: view.memoryUsage,
      diskSpaceAvailableGB: availableDiskSpaceGB,
      lastHeartbeat: view.lastHeartbeat,
      uptime: formatIsoDuration(Date.now() - this.startedAt),
      checks,
    };
  }

  private view(): AgentView {
    const jobs = this.state.runningJobs();
    return {
      agentId: this.agent.agentId,
      hostname: this.agent.hostname,
      targetType: this.agent.targetType,
      status: jobs.length > 0 ? 'Building' : 'Idle',
      currentJob: jobs[0] ?? null,
      cpuUsage: this.cpuUsage(),
      memoryUsage: Math.round((1 - freemem() / totalmem()) * 1000) / 10,
      capabilities: this.capabilities,
      lastHeartbeat: new Date().toISOString(),
      isLocal: true,
    };
  }

  /** CPU busy percentage since the previous call. */
  private cpuUsage(): number {
    const sample = sampleCpu();
    const idle = sample.idle - this.lastCpuSample.idle;
    const total = sample.total - this.lastCpuSample.total;
    this.lastCpuSample = sample;
    return total > 0 ? Math.round((1 - idle / total) * 1000) / 10 : 0;
  }

  private assertKnown(agentId: string): void {
    if (agentId !== this.agent.agentId) throw new NotFoundError('Agent', agentId);
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
