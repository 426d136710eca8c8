import { useEffect, useState } from 'react';
import type { ApiClient } from './api-client.js';
import { LogLineSplitter } from './log-view.js';

export interface BuildLog {
  lines: string[];
  /** `streaming` while the node sends new lines; `done` once the log is complete. */
  state: 'loading' | 'streaming' | 'done' | 'failed';
  error: string | null;
}

/**
 * Streams a build's log (`GET /api/v1/builds/{id}/logs`, which follows while the build runs) with
 * fetch, so the token goes along. A dropped connection reads the whole log again: the endpoint
 * replays from the first line, so the screen never shows a line twice.
 */
export function useBuildLog(client: ApiClient, executionId: string): BuildLog {
  const [log, setLog] = useState<BuildLog>({ lines: [], state: 'loading', error: null });
  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    const run = async () => {
      for (let attempt = 0; !signal.aborted; attempt++) {
        const splitter = new LogLineSplitter();
        let received: string[] = [];
        try {
          const response = await client.fetchImpl(
            client.url(`/api/v1/builds/${encodeURIComponent(executionId)}/logs`),
            { headers: { Accept: 'text/plain', ...client.authHeaders() }, signal, cache: 'no-store' },
          );
          if (response.status === 401) {
            client.reportUnauthorized();
            return;
          }
          if (!response.ok || !response.body) {
            setLog({
              lines: [],
              state: 'failed',
              error: `The node answered ${response.status} for the log.`,
            });
            return;
          }
          setLog((current) => ({ ...current, state: 'streaming', error: null }));
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let first = true;
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            const lines = splitter.push(value);
            if (lines.length === 0 && !first) continue;
            received = first ? lines : [...received, ...lines];
            const snapshot = received;
            // The first chunk of a (re)connection replaces what was shown: the endpoint starts over.
            setLog((current) => ({ ...current, lines: snapshot }));
            first = false;
          }
          received = [...received, ...splitter.flush()];
          const complete = received;
          setLog({ lines: complete, state: 'done', error: null });
          return;
        } catch (error) {
          if (signal.aborted) return;
          setLog((current) => ({
            ...current,
            state: 'failed',
            error: `The log stream broke: ${(error as Error).message}. Reconnecting…`,
          }));
          await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 1000 * 2 ** attempt)));
        }
      }
    };
    void run();
    return () => controller.abort();
  }, [client, executionId]);
  return log;
}
