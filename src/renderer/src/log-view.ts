import type { LogLevel } from '../../core/models.js';

/** One line of a build log, split for display. */
export interface LogEntry {
  /** 0-based position in the log. */
  index: number;
  /** `2026-01-01 10:00:00`, or null for a line not in the log format (continuations). */
  time: string | null;
  level: LogLevel | null;
  message: string;
  /** An ERROR line, or a compiler/MSBuild error printed by dotnet (`error CS1002:`). */
  isError: boolean;
}

const LOG_LINE = /^\[(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\] (INFO|WARN|ERROR): ?(.*)$/s;
const TOOL_ERROR = /(?:^|[\s:)])error [A-Z]{2,}\d{3,}:/;

/** `[2026-01-01 10:00:00] ERROR: x` → time, level, message. */
export function parseLogLine(line: string, index: number): LogEntry {
  const match = LOG_LINE.exec(line);
  const level = (match?.[2] as LogLevel | undefined) ?? null;
  const message = match ? (match[3] ?? '') : line;
  return {
    index,
    time: match?.[1] ?? null,
    level,
    message,
    isError: level === 'ERROR' || TOOL_ERROR.test(message),
  };
}

/** Indexes of the lines that contain `query`, ignoring case; none for a blank query. */
export function searchLog(entries: readonly LogEntry[], query: string): number[] {
  const needle = query.trim().toLowerCase();
  if (needle === '') return [];
  return entries.filter((entry) => entry.message.toLowerCase().includes(needle)).map((entry) => entry.index);
}

/** The first error line, or null when the log has none. */
export function firstErrorIndex(entries: readonly LogEntry[]): number | null {
  return entries.find((entry) => entry.isError)?.index ?? null;
}

/** The next (or previous) match from `current`, wrapping around; null without matches. */
export function stepMatch(
  matches: readonly number[],
  current: number | null,
  direction: 1 | -1,
): number | null {
  if (matches.length === 0) return null;
  if (current === null) return direction === 1 ? matches[0]! : matches[matches.length - 1]!;
  if (direction === 1) return matches.find((index) => index > current) ?? matches[0]!;
  return [...matches].reverse().find((index) => index < current) ?? matches[matches.length - 1]!;
}

/** Splits `text` around case-insensitive occurrences of `query`, for highlighting. */
export function highlightParts(text: string, query: string): { text: string; match: boolean }[] {
  const needle = query.trim().toLowerCase();
  if (needle === '') return [{ text, match: false }];
  const parts: { text: string; match: boolean }[] = [];
  const lower = text.toLowerCase();
  let from = 0;
  for (let at = lower.indexOf(needle); at >= 0; at = lower.indexOf(needle, from)) {
    if (at > from) parts.push({ text: text.slice(from, at), match: false });
    parts.push({ text: text.slice(at, at + needle.length), match: true });
    from = at + needle.length;
  }
  if (from < text.length) parts.push({ text: text.slice(from), match: false });
  return parts;
}

/**
 * Accumulates a streamed log: chunks of text arrive split anywhere, lines are complete only at a
 * newline. Returns the lines completed by this chunk.
 */
export class LogLineSplitter {
  private pending = '';
  push(chunk: string): string[] {
    const text = this.pending + chunk;
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    return lines.map((line) => line.replace(/\r$/, ''));
  }
  /** The unterminated rest at the end of the stream. */
  flush(): string[] {
    const rest = this.pending;
    this.pending = '';
    return rest === '' ? [] : [rest];
  }
}
