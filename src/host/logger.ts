import type { Logger } from '../core/ports.js';

export type LogThreshold = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<Exclude<LogThreshold, 'silent'>, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * The application logger: one JSON object per line on stderr, with a scope such as
 * `buildmesh:coordinator`. Build output never goes here; it goes to the build's own log.
 */
export class JsonLogger implements Logger {
  constructor(
    private readonly scope: string,
    private readonly threshold: LogThreshold,
    private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  debug(message: string, fields?: Record<string, unknown>): void {
    this.emit('debug', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.emit('info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.emit('warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.emit('error', message, fields);
  }
  child(scope: string): Logger {
    return new JsonLogger(`${this.scope}:${scope}`, this.threshold, this.write);
  }

  private emit(
    level: Exclude<LogThreshold, 'silent'>,
    message: string,
    fields?: Record<string, unknown>,
  ): void {
    if (this.threshold === 'silent' || ORDER[level] < ORDER[this.threshold]) return;
    this.write(
      JSON.stringify({ time: new Date().toISOString(), level, scope: this.scope, message, ...fields }),
    );
  }
}
