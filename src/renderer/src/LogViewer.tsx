import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { firstErrorIndex, highlightParts, parseLogLine, searchLog, stepMatch } from './log-view.js';
import type { BuildLog } from './use-build-log.js';

/**
 * A build's log: follows new lines while scrolled to the bottom, searches with next/previous,
 * and jumps to the first error.
 */
export function LogViewer({ log }: { log: BuildLog }) {
  const entries = useMemo(() => log.lines.map((line, index) => parseLogLine(line, index)), [log.lines]);
  const [query, setQuery] = useState('');
  const [current, setCurrent] = useState<number | null>(null);
  const [follow, setFollow] = useState(true);
  const scroller = useRef<HTMLDivElement>(null);
  const searchId = useId();
  const matches = useMemo(() => searchLog(entries, query), [entries, query]);
  const firstError = firstErrorIndex(entries);

  useEffect(() => {
    if (follow && scroller.current) scroller.current.scrollTop = scroller.current.scrollHeight;
  }, [entries, follow]);

  const reveal = (index: number | null) => {
    setCurrent(index);
    if (index === null) return;
    setFollow(false);
    const line = scroller.current?.querySelector<HTMLElement>(`[data-line="${index}"]`);
    line?.scrollIntoView({ block: 'center' });
  };

  const onScroll = () => {
    const element = scroller.current;
    if (!element) return;
    const atBottom = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
    if (atBottom !== follow) setFollow(atBottom);
  };

  const position = current === null ? 0 : matches.indexOf(current) + 1;
  return (
    <div className="log">
      <div className="log-toolbar">
        <form
          role="search"
          aria-label="Log search"
          className="log-search"
          onSubmit={(event) => {
            event.preventDefault();
            reveal(stepMatch(matches, current, 1));
          }}
        >
          <label htmlFor={searchId}>Search the log</label>
          <input
            id={searchId}
            type="search"
            value={query}
            onChange={(event) => {
              setQuery(event.target.value);
              setCurrent(null);
            }}
          />
          <button
            type="button"
            onClick={() => reveal(stepMatch(matches, current, -1))}
            disabled={matches.length === 0}
          >
            Previous
          </button>
          <button type="submit" disabled={matches.length === 0}>
            Next
          </button>
          <span className="log-count" role="status" aria-live="polite">
            {query.trim() === ''
              ? ''
              : matches.length === 0
                ? 'No match'
                : `${position > 0 ? `${position} of ` : ''}${matches.length} ${matches.length === 1 ? 'match' : 'matches'}`}
          </span>
        </form>
        <button type="button" onClick={() => reveal(firstError)} disabled={firstError === null}>
          Jump to first error
        </button>
        <label className="check">
          <input
            type="checkbox"
            checked={follow}
            onChange={(event) => {
              setFollow(event.target.checked);
            }}
          />
          Follow
        </label>
        <span className="log-state" role="status">
          {log.state === 'streaming' ? 'Streaming…' : log.state === 'done' ? `${entries.length} lines` : null}
        </span>
      </div>
      {log.error ? (
        <p className="stale" role="alert">
          {log.error}
        </p>
      ) : null}
      <div
        className="log-lines"
        ref={scroller}
        onScroll={onScroll}
        tabIndex={0}
        role="log"
        aria-label="Build log"
        aria-busy={log.state === 'loading'}
      >
        {log.state === 'loading' ? (
          <p className="state state-loading">
            <span className="spinner" aria-hidden="true" /> Loading the log…
          </p>
        ) : entries.length === 0 ? (
          <p className="state">The log is empty so far.</p>
        ) : (
          entries.map((entry) => (
            <div
              key={entry.index}
              data-line={entry.index}
              className={`log-line${entry.isError ? ' log-error' : entry.level === 'WARN' ? ' log-warn' : ''}${current === entry.index ? ' current' : ''}`}
            >
              <span className="log-time">{entry.time ?? ''}</span>
              <span className="log-message">
                {highlightParts(entry.message, query).map((part, index) =>
                  part.match ? <mark key={index}>{part.text}</mark> : <span key={index}>{part.text}</span>,
                )}
              </span>
            </div>
          ))
        )}
      </div>
    </div>
  );
}
