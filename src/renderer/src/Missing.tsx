/** A dash for an empty cell, with words for screen readers. */
export function Missing({ meaning }: { meaning: string }) {
  return (
    <span className="muted">
      <span aria-hidden="true">—</span>
      <span className="visually-hidden">{meaning}</span>
    </span>
  );
}
