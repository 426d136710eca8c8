import type { ReactNode } from 'react';
import { formatClockTime } from './format.js';
import type { Polled } from './use-polling.js';

export interface PolledSectionProps<T> {
  /** Prefix of the section's element ids. */
  id: string;
  title: string;
  polled: Polled<T>;
  isEmpty: (data: T) => boolean;
  /** What to say when the node answered with nothing to show. */
  empty: ReactNode;
  /** A short line next to the heading once data is in, e.g. a count. */
  summary?: (data: T) => ReactNode;
  children: (data: T) => ReactNode;
}

/**
 * A titled section over a polled resource, with a designed state for each moment: loading,
 * failed before any data, failed after some (the old data stays, marked stale), empty, and data.
 */
export function PolledSection<T>({
  id,
  title,
  polled,
  isEmpty,
  empty,
  summary,
  children,
}: PolledSectionProps<T>) {
  const { data, error, updatedAt, refresh } = polled;
  const headingId = `${id}-heading`;
  const loading = data === null && error === null;
  return (
    <section className="panel" aria-labelledby={headingId} aria-busy={loading}>
      <div className="panel-header">
        <h2 id={headingId}>{title}</h2>
        {data !== null && summary ? <p className="panel-summary">{summary(data)}</p> : null}
        {updatedAt !== null ? <p className="panel-updated">Updated {formatClockTime(updatedAt)}</p> : null}
      </div>

      {loading ? (
        <p className="state state-loading" role="status">
          <span className="spinner" aria-hidden="true" />
          Loading {title.toLowerCase()}…
        </p>
      ) : null}

      {error !== null && data === null ? (
        <div className="state state-error" role="alert">
          <p className="state-title">Could not load {title.toLowerCase()}.</p>
          <p>{error.message}</p>
          <p className="state-hint">Trying again every few seconds.</p>
          <button type="button" onClick={refresh}>
            Retry now
          </button>
        </div>
      ) : null}

      {error !== null && data !== null ? (
        <div className="stale" role="status">
          <p>
            Could not refresh: {error.message}
            {updatedAt !== null ? ` Showing what the node said at ${formatClockTime(updatedAt)}.` : null}
          </p>
          <button type="button" onClick={refresh}>
            Retry now
          </button>
        </div>
      ) : null}

      {data !== null ? (
        isEmpty(data) ? (
          <div className="state state-empty">{empty}</div>
        ) : (
          children(data)
        )
      ) : null}
    </section>
  );
}
