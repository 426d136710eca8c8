import type { AgentStatus, BuildStatus, PeerBuildResult, StageStatus } from '../../core/models.js';

/** How a status is coloured; the word is always shown too, so colour is never the only cue. */
export type StatusTone =
  /** Finished well, or ready for work. */
  | 'good'
  /** Work in progress. */
  | 'active'
  /** Waiting, or winding down. */
  | 'waiting'
  /** Failed or timed out. */
  | 'bad'
  /** Cancelled, offline or out of service. */
  | 'muted';

export function buildStatusTone(status: BuildStatus): StatusTone {
  switch (status) {
    case 'Succeeded':
      return 'good';
    case 'Running':
      return 'active';
    case 'Queued':
    case 'Cancelling':
      return 'waiting';
    case 'Failed':
    case 'TimedOut':
      return 'bad';
    case 'Cancelled':
      return 'muted';
  }
}

export function agentStatusTone(status: AgentStatus): StatusTone {
  switch (status) {
    case 'Idle':
      return 'good';
    case 'Building':
      return 'active';
    case 'Maintenance':
    case 'Offline':
      return 'muted';
  }
}

export function stageStatusTone(status: StageStatus): StatusTone {
  switch (status) {
    case 'Succeeded':
      return 'good';
    case 'Running':
      return 'active';
    case 'Pending':
      return 'waiting';
    case 'Failed':
      return 'bad';
    case 'Skipped':
    case 'Cancelled':
      return 'muted';
  }
}

/** A peer's whole build in a Canary or verify build; `Rejected` (the peer declined) is muted, not failed. */
export function peerBuildStatusTone(status: PeerBuildResult['status']): StatusTone {
  switch (status) {
    case 'Succeeded':
      return 'good';
    case 'Running':
      return 'active';
    case 'Failed':
    case 'TimedOut':
      return 'bad';
    case 'Cancelled':
    case 'Rejected':
      return 'muted';
  }
}
