/** ISO-8601 duration (`PT1M30.5S`) of a span in milliseconds, as the API reports durations. */
export function formatIsoDuration(milliseconds: number): string {
  const totalMs = Math.max(0, Math.round(milliseconds));
  const hours = Math.floor(totalMs / 3_600_000);
  const minutes = Math.floor((totalMs % 3_600_000) / 60_000);
  const seconds = (totalMs % 60_000) / 1000;
  let text = 'PT';
  if (hours > 0) text += `${hours}H`;
  if (minutes > 0) text += `${minutes}M`;
  if (seconds > 0 || text === 'PT') text += `${Number(seconds.toFixed(3))}S`;
  return text;
}

export function durationBetween(
  start: string | null,
  end: string | null,
  now: Date = new Date(),
): number | null {
  if (!start) return null;
  const endMs = end ? Date.parse(end) : now.getTime();
  return endMs - Date.parse(start);
}
