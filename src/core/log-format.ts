import type { LogLevel, LogLine } from './models.js';

function pad(value: number): string {
  return value.toString().padStart(2, '0');
}

/** `[yyyy-MM-dd HH:mm:ss]` in UTC, the build log's timestamp format. */
export function formatLogTimestamp(date: Date): string {
  return (
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`
  );
}

/** One build-log line: `[yyyy-MM-dd HH:mm:ss] LEVEL: message`. */
export function formatLogLine(line: LogLine): string {
  return `[${formatLogTimestamp(new Date(line.timestamp))}] ${line.level}: ${line.message}`;
}

export function makeLogLine(level: LogLevel, message: string, now: Date = new Date()): LogLine {
  return { timestamp: now.toISOString(), level, message };
}
