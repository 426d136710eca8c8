import { useState } from 'react';
import type { TaskTimelineEntry } from '../../core/models.js';
import { formatMs } from './format.js';
import {
  barTone,
  isVerifyTask,
  layoutTimeline,
  projectLabel,
  timeTicks,
  type TimelineBar,
} from './timeline-layout.js';

const TONE_LABELS = {
  succeeded: 'Built',
  hit: 'Cache hit',
  failed: 'Failed',
  running: 'Running',
  cancelled: 'Cancelled',
  skipped: 'Skipped',
  pending: 'Pending',
} as const;

/** Axis labels in whole seconds (`0 s`, `20 s`, `1 min 40 s`). */
function formatTick(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds} s` : formatMs(seconds * 1000);
}

function describeBar(bar: TimelineBar, lane: string): string {
  const cache = bar.cache === 'hit' ? ', from the cache' : bar.cache === 'miss' ? ', cache miss' : '';
  const critical = bar.critical ? ', on the critical path' : '';
  const check = isVerifyTask(bar) ? ' (second build, outputs compared)' : '';
  return `${bar.kind} ${bar.label}${check} on ${lane}: ${bar.status}${cache}, ${formatMs(bar.endMs - bar.startMs)}${bar.open ? ' so far' : ''}${critical}`;
}

/**
 * The Gantt chart of a task build: one lane per peer, one bar per project task, coloured by outcome
 * and cache hit, the critical path outlined. A verify build's second builds are hatched, dashed and
 * labelled `verify`, and never on the critical path. Each bar is a button: focus or click shows its details.
 */
export function Timeline({ entries, nowMs }: { entries: readonly TaskTimelineEntry[]; nowMs: number }) {
  const layout = layoutTimeline(entries, nowMs);
  const [selected, setSelected] = useState<string | null>(null);
  if (entries.length === 0) {
    return (
      <div className="state state-empty">
        <p className="state-title">No project tasks.</p>
        <p>Only Distributed and Cached builds run as project tasks; this build ran whole on one peer.</p>
      </div>
    );
  }
  if (layout.lanes.length === 0) {
    return (
      <div className="state state-empty" role="status">
        <p className="state-title">No task has started yet.</p>
        <p>{entries.length} tasks are planned; bars appear as peers take them.</p>
      </div>
    );
  }
  const span = layout.endMs - layout.startMs;
  const ticks = timeTicks(span);
  const chosen = layout.lanes
    .flatMap((lane) => lane.bars.map((bar) => ({ bar, lane })))
    .find(({ bar }) => bar.taskId === selected);
  const criticalMs = layout.criticalPath.length
    ? Math.max(
        ...layout.lanes.flatMap((lane) => lane.bars.filter((bar) => bar.critical).map((bar) => bar.endMs)),
      ) - layout.startMs
    : 0;
  const hasVerify = entries.some(isVerifyTask);
  return (
    <div className="timeline">
      <ul className="timeline-legend" aria-label="Legend">
        {(['succeeded', 'hit', 'failed', 'running', 'cancelled'] as const).map((tone) => (
          <li key={tone}>
            <span className={`swatch bar-${tone}`} aria-hidden="true" />
            {TONE_LABELS[tone]}
          </li>
        ))}
        <li>
          <span className="swatch swatch-critical" aria-hidden="true" />
          Critical path ({layout.criticalPath.length} tasks, {formatMs(criticalMs)})
        </li>
        {hasVerify ? (
          <li>
            <span className="swatch swatch-verify" aria-hidden="true" />
            Verify: built again on another peer, outputs compared
          </li>
        ) : null}
      </ul>
      <div
        className="timeline-grid"
        role="group"
        aria-label={`Task timeline, ${formatMs(span)} across ${layout.lanes.length} peers`}
      >
        <div className="timeline-axis" aria-hidden="true">
          <span className="lane-label" />
          <div className="lane-track">
            {ticks.map((tick) => (
              <span key={tick} className="tick" style={{ left: `${(tick / span) * 100}%` }}>
                {formatTick(tick)}
              </span>
            ))}
          </div>
        </div>
        {layout.lanes.map((lane) => (
          <div className="timeline-lane" key={lane.agentId} data-agent-id={lane.agentId}>
            <span className="lane-label" title={lane.agentId}>
              {lane.label}
              <span className="secondary">{lane.bars.length} tasks</span>
            </span>
            <div className="lane-track">
              {lane.bars.map((bar) => (
                <button
                  type="button"
                  key={bar.taskId}
                  className={`bar bar-${barTone(bar)}${isVerifyTask(bar) ? ' bar-verify' : ''}${bar.critical ? ' critical' : ''}${selected === bar.taskId ? ' selected' : ''}`}
                  style={{ left: `${bar.left * 100}%`, width: `${bar.width * 100}%` }}
                  aria-label={describeBar(bar, lane.label)}
                  aria-pressed={selected === bar.taskId}
                  title={describeBar(bar, lane.label)}
                  data-task-id={bar.taskId}
                  onClick={() => setSelected(selected === bar.taskId ? null : bar.taskId)}
                  onFocus={() => setSelected(bar.taskId)}
                >
                  <span className="bar-text">
                    {bar.kind === 'build' ? '' : `${bar.kind} `}
                    {bar.label}
                  </span>
                </button>
              ))}
            </div>
          </div>
        ))}
      </div>
      <div className="timeline-detail" aria-live="polite">
        {chosen ? (
          <p>
            <strong>{chosen.bar.taskId}</strong> — {describeBar(chosen.bar, chosen.lane.label)}
            {chosen.bar.message ? <span className="secondary">{chosen.bar.message}</span> : null}
          </p>
        ) : (
          <p className="muted">Focus or click a bar for its details.</p>
        )}
      </div>
      {layout.notStarted.length > 0 ? (
        <p className="secondary">
          Not started:{' '}
          {layout.notStarted
            .map((entry) => `${entry.kind} ${projectLabel(entry.project)} (${entry.status})`)
            .join(', ')}
        </p>
      ) : null}
    </div>
  );
}
