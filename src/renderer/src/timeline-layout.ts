import type { TaskStatus, TaskTimelineEntry } from '../../core/models.js';

/** One bar of the Gantt chart: a project task on the peer that ran it. */
export interface TimelineBar {
  taskId: string;
  kind: TaskTimelineEntry['kind'];
  project: string;
  /** `Lib.csproj` of `src/Lib/Lib.csproj`: what the bar is labelled with. */
  label: string;
  status: TaskStatus;
  cache: TaskTimelineEntry['cache'];
  /** Left edge and width as fractions (0–1) of the chart's time span. */
  left: number;
  width: number;
  startMs: number;
  endMs: number;
  /** True while the task runs: its end is "now". */
  open: boolean;
  critical: boolean;
  message: string | null;
}

/** One row of the chart: a peer and the tasks it ran, in start order. */
export interface TimelineLane {
  /** The peer's agent id, or `''` for tasks not placed yet. */
  agentId: string;
  label: string;
  bars: TimelineBar[];
}

export interface TimelineLayout {
  startMs: number;
  endMs: number;
  lanes: TimelineLane[];
  /** Task ids of the critical path, first task first. */
  criticalPath: string[];
  /** Tasks that never started (pending or skipped): listed, not drawn. */
  notStarted: TaskTimelineEntry[];
}

/** Bars narrower than this fraction are widened so they stay visible and clickable. */
const MIN_BAR_WIDTH = 0.004;

const timeOf = (iso: string | null): number | null => {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
};

/** `src/Lib/Lib.csproj` → `Lib.csproj`. */
export function projectLabel(project: string): string {
  return project.split('/').pop() ?? project;
}

/**
 * Whether a task is a verify build's second build of a project: a check of the build, not part
 * of it, so nothing waits for it and it never lies on the critical path.
 */
export function isVerifyTask(entry: Pick<TaskTimelineEntry, 'kind'>): boolean {
  return entry.kind === 'verify';
}

/**
 * The critical path as it happened: start from the task that ended last and walk back, each time
 * to the task whose end let it start. The timeline carries no dependency edges, so "let it start"
 * is read from time: a task becomes ready (`queuedAt`) when its last reference finishes, so its
 * predecessor is the task that ended last at or before that moment; a test or pack task prefers
 * the build task of its own project, which it always depends on. Verify tasks are left out.
 */
export function criticalPath(entries: readonly TaskTimelineEntry[], nowMs: number): string[] {
  const started = entries
    .filter((entry) => !isVerifyTask(entry))
    .map((entry) => ({ entry, start: timeOf(entry.startTime), end: timeOf(entry.endTime) ?? nowMs }))
    .filter((item): item is { entry: TaskTimelineEntry; start: number; end: number } => item.start !== null);
  if (started.length === 0) return [];
  let current = started.reduce((last, item) => (item.end > last.end ? item : last));
  const path = [current.entry.taskId];
  const visited = new Set(path);
  for (;;) {
    const readyAt = timeOf(current.entry.queuedAt) ?? current.start;
    const own =
      current.entry.kind === 'build'
        ? undefined
        : started.find(
            (item) =>
              item.entry.kind === 'build' &&
              item.entry.project === current.entry.project &&
              item.end <= readyAt + 1,
          );
    const candidates = started.filter((item) => !visited.has(item.entry.taskId) && item.end <= readyAt + 1);
    const previous =
      own && !visited.has(own.entry.taskId)
        ? own
        : candidates.reduce<(typeof started)[number] | undefined>(
            (best, item) => (best === undefined || item.end > best.end ? item : best),
            undefined,
          );
    if (!previous) break;
    path.push(previous.entry.taskId);
    visited.add(previous.entry.taskId);
    current = previous;
  }
  return path.reverse();
}

/**
 * Lays the timeline out as a Gantt chart: one lane per peer (named by host, with the start of its
 * id when two peers share a host name), one bar per started task, positioned on the span from the
 * first start to the last end (or now, while tasks run).
 */
export function layoutTimeline(entries: readonly TaskTimelineEntry[], nowMs: number): TimelineLayout {
  const critical = new Set(criticalPath(entries, nowMs));
  const notStarted = entries.filter((entry) => timeOf(entry.startTime) === null);
  const started = entries.filter((entry) => timeOf(entry.startTime) !== null);
  if (started.length === 0) return { startMs: nowMs, endMs: nowMs, lanes: [], criticalPath: [], notStarted };
  const startMs = Math.min(...started.map((entry) => timeOf(entry.startTime)!));
  const endMs = Math.max(startMs + 1, ...started.map((entry) => timeOf(entry.endTime) ?? nowMs));
  const span = endMs - startMs;

  const hostCounts = new Map<string, Set<string>>();
  for (const entry of started) {
    const host = entry.hostname ?? 'unknown peer';
    hostCounts.set(host, (hostCounts.get(host) ?? new Set()).add(entry.agentId ?? ''));
  }
  const lanes = new Map<string, TimelineLane>();
  for (const entry of [...started].sort((a, b) => timeOf(a.startTime)! - timeOf(b.startTime)!)) {
    const agentId = entry.agentId ?? '';
    const host = entry.hostname ?? 'unknown peer';
    let lane = lanes.get(agentId);
    if (!lane) {
      const shared = (hostCounts.get(host)?.size ?? 1) > 1;
      lane = { agentId, label: shared && agentId ? `${host} · ${shortPeerId(agentId)}` : host, bars: [] };
      lanes.set(agentId, lane);
    }
    const start = timeOf(entry.startTime)!;
    const endTime = timeOf(entry.endTime);
    const end = Math.max(start, endTime ?? nowMs);
    const left = (start - startMs) / span;
    lane.bars.push({
      taskId: entry.taskId,
      kind: entry.kind,
      project: entry.project,
      label: projectLabel(entry.project),
      status: entry.status,
      cache: entry.cache,
      left,
      width: Math.min(1 - left, Math.max(MIN_BAR_WIDTH, (end - start) / span)),
      startMs: start,
      endMs: end,
      open: endTime === null,
      critical: critical.has(entry.taskId),
      message: entry.message,
    });
  }
  return {
    startMs,
    endMs,
    lanes: [...lanes.values()].sort((a, b) => a.label.localeCompare(b.label)),
    criticalPath: [...critical],
    notStarted,
  };
}

/** The last characters of a libp2p peer id, enough to tell two peers apart. */
export function shortPeerId(agentId: string): string {
  return agentId.length > 8 ? `…${agentId.slice(-6)}` : agentId;
}

/** How a bar is coloured: by outcome, with cache hits set apart from work done here. */
export type BarTone = 'hit' | 'succeeded' | 'failed' | 'running' | 'cancelled' | 'skipped' | 'pending';

export function barTone(bar: Pick<TimelineBar, 'status' | 'cache'>): BarTone {
  switch (bar.status) {
    case 'Succeeded':
      return bar.cache === 'hit' ? 'hit' : 'succeeded';
    case 'Failed':
      return 'failed';
    case 'Running':
      return 'running';
    case 'Cancelled':
      return 'cancelled';
    case 'Skipped':
      return 'skipped';
    case 'Pending':
      return 'pending';
  }
}

/** The timeline heading's count: `12 tasks`, or `12 tasks (4 verify)` when a verify build checked them. */
export function taskCountLabel(entries: readonly Pick<TaskTimelineEntry, 'kind'>[]): string {
  const verify = entries.filter(isVerifyTask).length;
  const tasks = `${entries.length} ${entries.length === 1 ? 'task' : 'tasks'}`;
  return verify > 0 ? `${tasks} (${verify} verify)` : tasks;
}

/** Share of looked-up tasks served from the action cache; null when nothing was looked up. */
export function cacheHitRate(entries: readonly Pick<TaskTimelineEntry, 'cache'>[]): number | null {
  const looked = entries.filter((entry) => entry.cache !== 'off');
  if (looked.length === 0) return null;
  return looked.filter((entry) => entry.cache === 'hit').length / looked.length;
}

/** Round tick marks for the time axis: about `count` of them, at 1, 2, 5 × 10ⁿ seconds. */
export function timeTicks(spanMs: number, count = 6): number[] {
  if (spanMs <= 0) return [0];
  const raw = spanMs / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * magnitude).find((candidate) => candidate >= raw) ?? raw;
  const ticks: number[] = [];
  for (let at = 0; at <= spanMs + 1e-9; at += step) ticks.push(at);
  return ticks;
}
