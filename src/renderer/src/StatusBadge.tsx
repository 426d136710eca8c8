import type { StatusTone } from './status-tone.js';

/** A status word with a coloured dot; the dot is decoration, the word carries the meaning. */
export function StatusBadge({ label, tone }: { label: string; tone: StatusTone }) {
  return (
    <span className={`status status-${tone}`}>
      <span className="status-dot" aria-hidden="true" />
      {label}
    </span>
  );
}
