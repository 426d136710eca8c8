import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { formatLogLine } from '../core/log-format.js';
import type { LogLine } from '../core/models.js';
import type { BuildLogStore } from '../core/ports.js';

interface LiveLog {
  fd: number;
  lines: string[];
  completed: boolean;
  waiters: Set<() => void>;
}

/**
 * Build logs as one text file per build (`logs/<executionId>.log`), written line by line with
 * synchronous appends so a crash loses nothing already logged. Logs of running builds are also
 * kept in memory so followers get each line as it is appended.
 */
export class FileBuildLogStore implements BuildLogStore {
  private readonly live = new Map<string, LiveLog>();
  private readonly completedHere = new Set<string>();

  constructor(private readonly directory: string) {
    mkdirSync(directory, { recursive: true });
  }

  append(executionId: string, line: LogLine): void {
    const log = this.open(executionId);
    const text = formatLogLine(line);
    writeSync(log.fd, `${text}\n`);
    log.lines.push(text);
    this.wake(log);
  }

  complete(executionId: string): Promise<void> {
    this.completedHere.add(executionId);
    const log = this.live.get(executionId);
    if (log) {
      log.completed = true;
      closeSync(log.fd);
      this.live.delete(executionId);
      this.wake(log);
    }
    return Promise.resolve();
  }

  async *follow(
    executionId: string,
    options: { follow: boolean; signal?: AbortSignal },
  ): AsyncIterable<string> {
    const live =
      this.live.get(executionId) ??
      (options.follow && !this.completedHere.has(executionId) ? this.open(executionId) : null);
    if (!live) {
      yield* this.readFile(executionId);
      return;
    }
    let index = 0;
    while (!options.signal?.aborted) {
      while (index < live.lines.length) yield live.lines[index++] as string;
      if (live.completed || !options.follow) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          live.waiters.delete(done);
          options.signal?.removeEventListener('abort', done);
          resolve();
        };
        live.waiters.add(done);
        options.signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Closes every open log file (the node is stopping). */
  close(): void {
    for (const log of this.live.values()) {
      log.completed = true;
      closeSync(log.fd);
      this.wake(log);
    }
    this.live.clear();
  }

  private open(executionId: string): LiveLog {
    let log = this.live.get(executionId);
    if (!log) {
      const path = this.pathOf(executionId);
      // A build re-queued after a restart continues the log it already has.
      const existing = existsSync(path) ? splitLines(readFileSync(path, 'utf8')) : [];
      log = { fd: openSync(path, 'a'), lines: existing, completed: false, waiters: new Set() };
      this.live.set(executionId, log);
    }
    return log;
  }

  private *readFile(executionId: string): Generator<string> {
    const path = this.pathOf(executionId);
    if (existsSync(path)) yield* splitLines(readFileSync(path, 'utf8'));
  }

  private pathOf(executionId: string): string {
    if (!/^[A-Za-z0-9-]+$/.test(executionId)) throw new Error(`invalid execution id: ${executionId}`);
    return join(this.directory, `${executionId}.log`);
  }

  private wake(log: LiveLog): void {
    for (const waiter of [...log.waiters]) waiter();
  }
}

function splitLines(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}
