import { describe, expect, it } from 'vitest';
import type { BuildExecutionListener, BuildExecutor, BuildOutcome } from '../core/build-execution.js';
import { ConflictError, NotFoundError, type OperationAbortedError } from '../core/errors.js';
import type { BuildArtifact, BuildRecord, BuildRequest, BuildStatus, LogLine } from '../core/models.js';
import type { BuildLogStore, BuildPage, BuildStore, Logger } from '../core/ports.js';
import { BuildCoordinator } from './build-coordinator.js';

class MemoryStore implements BuildStore {
  readonly records = new Map<string, BuildRecord>();
  insert(record: BuildRecord): void {
    this.records.set(record.executionId, structuredClone(record));
  }
  update(record: BuildRecord): void {
    this.records.set(record.executionId, structuredClone(record));
  }
  get(id: string): BuildRecord | null {
    const record = this.records.get(id);
    return record ? structuredClone(record) : null;
  }
  list(page: { offset: number; limit: number }): BuildPage {
    const items = [...this.records.values()].reverse();
    return { items: items.slice(page.offset, page.offset + page.limit), totalCount: items.length };
  }
  listByStatus(statuses: readonly BuildStatus[]): BuildRecord[] {
    return [...this.records.values()].filter((r) => statuses.includes(r.status));
  }
  findArtifact(artifactId: string): { executionId: string; artifact: BuildArtifact } | null {
    for (const record of this.records.values()) {
      const artifact = record.artifacts.find((a) => a.artifactId === artifactId);
      if (artifact) return { executionId: record.executionId, artifact };
    }
    return null;
  }
}

class MemoryLogs implements BuildLogStore {
  readonly lines = new Map<string, string[]>();
  append(id: string, line: LogLine): void {
    this.lines.set(id, [...(this.lines.get(id) ?? []), `${line.level}: ${line.message}`]);
  }
  complete(): Promise<void> {
    return Promise.resolve();
  }
  async *follow(id: string): AsyncIterable<string> {
    await Promise.resolve();
    yield* this.lines.get(id) ?? [];
  }
}

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};

/** An executor whose builds end only when the test says so, or when aborted. */
class ControlledExecutor implements BuildExecutor {
  readonly started: {
    request: BuildRequest;
    listener: BuildExecutionListener;
    finish: (o: BuildOutcome) => void;
  }[] = [];
  execute(
    request: BuildRequest,
    options: { signal: AbortSignal; listener: BuildExecutionListener },
  ): Promise<BuildOutcome> {
    return new Promise((resolve) => {
      options.listener.onStage({ name: 'Clone', status: 'Running', at: new Date().toISOString() });
      options.signal.addEventListener('abort', () => {
        const reason = options.signal.reason as OperationAbortedError;
        options.listener.onStage({ name: 'Clone', status: 'Cancelled', at: new Date().toISOString() });
        resolve({
          status: reason.reason === 'timeout' ? 'TimedOut' : 'Cancelled',
          errorMessage: reason.message,
          failureKind: 'build',
        });
      });
      this.started.push({ request, listener: options.listener, finish: resolve });
    });
  }
}

let ids = 0;
function makeCoordinator(
  store = new MemoryStore(),
  executor: BuildExecutor = new ControlledExecutor(),
  max = 1,
) {
  const logs = new MemoryLogs();
  const coordinator = new BuildCoordinator({
    store,
    logs,
    executor,
    agent: { agentId: 'node-a', hostname: 'host-a', targetType: 'Linux' },
    logger: silent,
    maxConcurrentBuilds: max,
    runnableStrategies: ['Incremental', 'Clean'],
    newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
  });
  return { coordinator, store, logs };
}

const body = (extra: Record<string, unknown> = {}) => ({
  repositoryUrl: 'file:///tmp/repo.git',
  gitRef: 'main',
  solutionPath: 'App.sln',
  ...extra,
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

describe('BuildCoordinator', () => {
  it('records a build as Queued before submit returns, then runs it', async () => {
    const executor = new ControlledExecutor();
    const { coordinator, store } = makeCoordinator(undefined, executor);
    const { record, queuePosition } = coordinator.submit(body());
    expect(queuePosition).toBe(1);
    expect(store.get(record.executionId)?.status).toBe('Queued');
    await until(() => executor.started.length === 1);
    expect(coordinator.get(record.executionId).status).toBe('Running');
    expect(coordinator.runningJobs()).toEqual(['App']);
    executor.started[0]?.finish({ status: 'Succeeded' });
    await until(() => store.get(record.executionId)?.status === 'Succeeded');
    expect(store.get(record.executionId)?.endTime).not.toBeNull();
  });

  it('queues beyond maxConcurrentBuilds and puts higher priorities first', async () => {
    const executor = new ControlledExecutor();
    const { coordinator } = makeCoordinator(undefined, executor);
    coordinator.submit(body());
    await until(() => executor.started.length === 1);
    const low = coordinator.submit(body({ priority: 'Low' }));
    const critical = coordinator.submit(body({ priority: 'critical' }));
    expect(coordinator.queuePosition(critical.record.executionId)).toBe(1);
    expect(coordinator.queuePosition(low.record.executionId)).toBe(2);
    executor.started[0]?.finish({ status: 'Succeeded' });
    await until(() => executor.started.length === 2);
    expect(executor.started[1]?.request.executionId).toBe(critical.record.executionId);
  });

  it('cancels a queued build at once and a running one through its signal', async () => {
    const executor = new ControlledExecutor();
    const { coordinator, store } = makeCoordinator(undefined, executor);
    const running = coordinator.submit(body());
    await until(() => executor.started.length === 1);
    const queued = coordinator.submit(body());

    expect(coordinator.cancel(queued.record.executionId).status).toBe('Cancelled');
    expect(
      store
        .get(queued.record.executionId)
        ?.stages.every((s) => s.status === 'Skipped' || s.status === 'Succeeded'),
    ).toBe(true);

    expect(coordinator.cancel(running.record.executionId).status).toBe('Cancelling');
    await until(() => store.get(running.record.executionId)?.status === 'Cancelled');
    expect(() => coordinator.cancel(running.record.executionId)).toThrow(ConflictError);
    expect(() => coordinator.cancel('missing')).toThrow(NotFoundError);
  });

  it('times a build out after timeoutMinutes', async () => {
    const executor = new ControlledExecutor();
    const { coordinator, store } = makeCoordinator(undefined, executor);
    const realSetTimeout = globalThis.setTimeout;
    // Let the coordinator's one-minute timer fire immediately.
    globalThis.setTimeout = ((fn: () => void, ms?: number) =>
      realSetTimeout(fn, ms === 60_000 ? 1 : ms)) as typeof setTimeout;
    try {
      const { record } = coordinator.submit(body({ timeoutMinutes: 1 }));
      await until(() => store.get(record.executionId)?.status === 'TimedOut');
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
  });

  it('turns an executor crash into a Failed build with the reason', async () => {
    const crashing: BuildExecutor = { execute: () => Promise.reject(new Error('workspace disk full')) };
    const { coordinator, store } = makeCoordinator(undefined, crashing);
    const { record } = coordinator.submit(body());
    await until(() => store.get(record.executionId)?.status === 'Failed');
    expect(store.get(record.executionId)?.errorMessage).toBe('Agent failed: workspace disk full');
  });

  it('on start, fails builds a crash interrupted and re-queues accepted ones', async () => {
    const first = makeCoordinator();
    const interrupted = first.coordinator.submit(body());
    const waiting = first.coordinator.submit(body());
    const store = first.store;
    const running = store.get(interrupted.record.executionId)!;
    store.update({
      ...running,
      status: 'Running',
      currentStage: 'Build',
      stages: running.stages.map((s) =>
        s.name === 'Build'
          ? { ...s, status: 'Running', startTime: 't' }
          : s.name === 'Clone' || s.name === 'Restore'
            ? { ...s, status: 'Succeeded' }
            : s,
      ),
    });

    const executor = new ControlledExecutor();
    const second = makeCoordinator(store, executor);
    await second.coordinator.start();
    const failed = store.get(interrupted.record.executionId)!;
    expect(failed.status).toBe('Failed');
    expect(failed.errorMessage).toContain('during Build');
    expect(failed.stages.map((s) => s.status)).toEqual([
      'Succeeded',
      'Succeeded',
      'Failed',
      'Skipped',
      'Skipped',
      'Skipped',
    ]);
    await until(() => executor.started.some((s) => s.request.executionId === waiting.record.executionId));
    await second.coordinator.stop();
    expect(store.get(waiting.record.executionId)?.status).toBe('Failed');
    expect(store.get(waiting.record.executionId)?.errorMessage).toContain('The node stopped');
  });

  it('refuses a duplicate executionId', () => {
    const { coordinator } = makeCoordinator();
    const id = '11111111-1111-4111-8111-111111111111';
    coordinator.submit(body({ executionId: id }));
    expect(() => coordinator.submit(body({ executionId: id }))).toThrow(ConflictError);
  });
});
