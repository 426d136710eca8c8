import type { AgentCapabilities } from './capabilities.js';
import type { DonationMode } from './mesh-messages.js';
import type { AgentStatus, TargetPool } from './models.js';

/** How an agent is shown by `GET /api/v1/agents` (the design's AgentResponse, plus detail). */
export interface AgentView {
  agentId: string;
  hostname: string;
  targetType: TargetPool;
  status: AgentStatus;
  /** Whether its owner lets the mesh use it: Always, WhenIdle or Paused. */
  donationMode: DonationMode;
  /** Whether it takes work now (not Paused, not in Maintenance, its owner away when WhenIdle). */
  acceptingWork?: boolean;
  /** Builds it can still take now. */
  freeSlots: number;
  /** The project of the build it is running, if any. */
  currentJob: string | null;
  cpuUsage: number;
  memoryUsage: number;
  capabilities: AgentCapabilities;
  lastHeartbeat: string;
  isLocal: boolean;
}

export type HealthCheckStatus = 'Healthy' | 'Degraded' | 'Unhealthy';

export interface HealthCheck {
  name: '.NET SDK' | 'Git' | 'Docker' | 'Disk Space';
  status: HealthCheckStatus;
  description: string;
}

export interface AgentHealth {
  agentId: string;
  healthy: boolean;
  status: AgentStatus;
  cpuUsage: number;
  memoryUsage: number;
  diskSpaceAvailableGB: number;
  lastHeartbeat: string;
  /** ISO-8601 duration since the agent started. */
  uptime: string;
  checks: HealthCheck[];
}

/** Port: the agents this node knows: itself and every peer of its mesh. */
export interface AgentDirectory {
  list(): Promise<AgentView[]>;
  get(agentId: string): Promise<AgentView>;
  health(agentId: string): Promise<AgentHealth>;
  /** Stops (or resumes) new work going to the agent; for this node, it stops accepting offers. */
  setMaintenance(agentId: string, enabled: boolean): Promise<AgentView>;
  /** Forgets a peer and refuses it until it is re-admitted. */
  forget(agentId: string): Promise<void>;
  admit(agentId: string): Promise<void>;
}

/** Minimum free disk space, in GB, for the Disk Space check to be Healthy. */
export const MIN_HEALTHY_DISK_GB = 5;

/** The design's four health checks, from what was detected. Docker is optional: missing is Degraded. */
export function healthChecks(capabilities: AgentCapabilities): HealthCheck[] {
  const sdk = capabilities.installedSdks[0];
  return [
    sdk
      ? { name: '.NET SDK', status: 'Healthy', description: `SDKs ${capabilities.installedSdks.join(', ')}` }
      : { name: '.NET SDK', status: 'Unhealthy', description: 'No .NET SDK found on PATH' },
    capabilities.gitVersion
      ? { name: 'Git', status: 'Healthy', description: `git ${capabilities.gitVersion}` }
      : { name: 'Git', status: 'Unhealthy', description: 'git not found on PATH' },
    capabilities.dockerVersion
      ? { name: 'Docker', status: 'Healthy', description: `docker ${capabilities.dockerVersion}` }
      : {
          name: 'Docker',
          status: 'Degraded',
          description: 'docker not found; container builds are unavailable',
        },
    capabilities.availableDiskSpaceGB >= MIN_HEALTHY_DISK_GB
      ? { name: 'Disk Space', status: 'Healthy', description: `${capabilities.availableDiskSpaceGB} GB free` }
      : {
          name: 'Disk Space',
          status: 'Unhealthy',
          description: `${capabilities.availableDiskSpaceGB} GB free; at least ${MIN_HEALTHY_DISK_GB} GB needed`,
        },
  ];
}
