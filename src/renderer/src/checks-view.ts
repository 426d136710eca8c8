import {
  isTerminalStatus,
  type AgentRef,
  type BuildStatus,
  type OutputDifference,
  type PeerBuildResult,
  type ReproducibilityReport,
  type TaskTimelineEntry,
} from '../../core/models.js';
import { formatMs } from './format.js';
import { peerBuildStatusTone, type StatusTone } from './status-tone.js';
import { shortPeerId } from './timeline-layout.js';

/** What the Checks section reads from a build's detail. */
export interface ChecksSource {
  status: BuildStatus;
  agent: AgentRef | null;
  peerResults: readonly PeerBuildResult[];
  reproducibility: ReproducibilityReport | null;
  timeline: readonly Pick<TaskTimelineEntry, 'agentId' | 'hostname'>[];
}

/** Whether a build has checks to show: peers' whole-build outcomes, or a reproducibility report. */
export function hasChecks(build: Pick<ChecksSource, 'peerResults' | 'reproducibility'>): boolean {
  return build.peerResults.length > 0 || build.reproducibility !== null;
}

/**
 * Names peers by host name, as far as the build knows them (its peer results, its timeline, the
 * coordinating peer), with the end of the id when two peers share a host name; a peer the build
 * does not name is shown by the end of its id.
 */
export function peerNamer(
  build: Pick<ChecksSource, 'agent' | 'peerResults' | 'timeline'>,
): (agentId: string) => string {
  const hostOf = new Map<string, string>();
  const known = [
    ...build.peerResults.map((result) => ({ agentId: result.agentId, hostname: result.hostname })),
    ...build.timeline,
    ...(build.agent ? [build.agent] : []),
  ];
  for (const { agentId, hostname } of known) {
    if (agentId && hostname && !hostOf.has(agentId)) hostOf.set(agentId, hostname);
  }
  const peersOfHost = new Map<string, number>();
  for (const host of hostOf.values()) peersOfHost.set(host, (peersOfHost.get(host) ?? 0) + 1);
  return (agentId) => {
    const host = hostOf.get(agentId);
    if (host === undefined) return shortPeerId(agentId);
    return (peersOfHost.get(host) ?? 0) > 1 ? `${host} · ${shortPeerId(agentId)}` : host;
  };
}

const ROLE_LABELS: Record<PeerBuildResult['role'], string> = {
  canary: 'Canary',
  'fan-out': 'Fan-out',
  verify: 'Verify',
};

const GATE_LABELS: Record<NonNullable<PeerBuildResult['failedGate']>, string> = {
  build: 'Build',
  tests: 'Tests',
  warnings: 'Warnings',
};

/** One row of the peers table: how one peer's whole build of the commit ended. */
export interface PeerCheckRow {
  key: string;
  peer: string;
  role: string;
  status: PeerBuildResult['status'];
  tone: StatusTone;
  /** `4 min 2 s`, `12 s so far` while it runs; null for a peer that declined. */
  duration: string | null;
  /** The gate a canary failed, in words; null when none failed. */
  failedGate: string | null;
  /** `41 / 42` (passed / total); null when no tests ran. */
  tests: string | null;
  /** `1 failed, 2 skipped`; null when none failed or were skipped. */
  testsNote: string | null;
  testsFailed: boolean;
  warnings: number;
  message: string | null;
}

/** The peers table's rows, in the order the build reports them (the canary or first build first). */
export function peerCheckRows(
  build: Pick<ChecksSource, 'agent' | 'peerResults' | 'timeline'>,
  nowMs: number,
): PeerCheckRow[] {
  const nameOf = peerNamer(build);
  return build.peerResults.map((result, index) => {
    const tests = result.testResults;
    const notes = tests
      ? [
          tests.failed > 0 ? `${tests.failed} failed` : null,
          tests.skipped > 0 ? `${tests.skipped} skipped` : null,
        ]
          .filter((note): note is string => note !== null)
          .join(', ')
      : '';
    return {
      key: `${result.role}:${result.agentId}:${index}`,
      peer: nameOf(result.agentId),
      role: ROLE_LABELS[result.role],
      status: result.status,
      tone: peerBuildStatusTone(result.status),
      duration: result.status === 'Rejected' ? null : peerDuration(result, nowMs),
      failedGate: result.failedGate ? GATE_LABELS[result.failedGate] : null,
      tests: tests ? `${tests.passed} / ${tests.total}` : null,
      testsNote: notes || null,
      testsFailed: (tests?.failed ?? 0) > 0,
      warnings: result.warningsCount,
      message: result.message,
    };
  });
}

function peerDuration(result: Pick<PeerBuildResult, 'startTime' | 'endTime'>, nowMs: number): string | null {
  const start = Date.parse(result.startTime);
  if (Number.isNaN(start)) return null;
  const end = result.endTime === null ? nowMs : Date.parse(result.endTime);
  if (Number.isNaN(end)) return null;
  const took = formatMs(Math.max(0, end - start));
  return result.endTime === null ? `${took} so far` : took;
}

/**
 * The reproducibility verdict in words:
 * `reproducible` — every compared peer produced identical outputs;
 * `not-reproducible` — some output files differ (listed), and their projects are no longer cached;
 * `not-checked` — nothing could be compared (no second peer finished, no outputs), or the build
 *   ended before any comparison;
 * `pending` — the build still runs and has not compared its outputs yet.
 */
export type ReproducibilityState = 'reproducible' | 'not-reproducible' | 'not-checked' | 'pending';

export interface ReproducibilityVerdict {
  state: ReproducibilityState;
  /** `Reproducible: identical outputs on 2 peers`, `Not reproducible`, `Not checked`, `Not checked yet`. */
  title: string;
  /** The node's own words about the check, or why there was none. */
  detail: string | null;
  /** The compared peers, by name, the reference first. */
  peers: string[];
  differences: OutputDifference[];
  /** The project directories that differ: never served from the cache again. */
  projects: string[];
}

/** The verdict for a build's reproducibility report (null: no report yet, or none at all). */
export function reproducibilityVerdict(build: ChecksSource): ReproducibilityVerdict {
  const report = build.reproducibility;
  const nameOf = peerNamer(build);
  if (report === null) {
    const canaryFailed = build.peerResults.some(
      (result) => result.role === 'canary' && result.status !== 'Running' && result.status !== 'Succeeded',
    );
    return isTerminalStatus(build.status)
      ? {
          state: 'not-checked',
          title: 'Not checked',
          detail: canaryFailed
            ? 'The canary did not pass, so no other peer built the commit and no outputs were compared.'
            : 'The build ended before any outputs were compared.',
          peers: [],
          differences: [],
          projects: [],
        }
      : {
          state: 'pending',
          title: 'Not checked yet',
          detail: 'The outputs are compared once the peers have finished building.',
          peers: [],
          differences: [],
          projects: [],
        };
  }
  const peers = report.checkedOn.map(nameOf);
  if (report.reproducible === true) {
    return {
      state: 'reproducible',
      title: `Reproducible: identical outputs on ${peers.length} ${peers.length === 1 ? 'peer' : 'peers'}`,
      detail: report.message,
      peers,
      differences: [],
      projects: [],
    };
  }
  if (report.reproducible === false) {
    return {
      state: 'not-reproducible',
      title: 'Not reproducible',
      detail: report.message,
      peers,
      differences: report.differences,
      projects: [...new Set(report.differences.map((difference) => difference.project))],
    };
  }
  return {
    state: 'not-checked',
    title: 'Not checked',
    detail: report.message ?? 'Nothing could be compared.',
    peers,
    differences: [],
    projects: [],
  };
}
