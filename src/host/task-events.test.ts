import { describe, expect, it } from 'vitest';
import { NodeEventBus } from '../core/build-events.js';
import type { BuildExecutionListener, BuildExecutor } from '../core/build-execution.js';
import type { BuildRequest, TaskTimelineEntry } from '../core/models.js';
import { publishTaskEvents } from './task-events.js';

const entry = { taskId: 'build:src/A/A.csproj', status: 'Running' } as TaskTimelineEntry;

describe('publishTaskEvents', () => {
  it('publishes each timeline change as a task event after the coordinator recorded it', async () => {
    const events = new NodeEventBus();
    const order: string[] = [];
    events.subscribe((event) => order.push(`event:${event.type}:${event.executionId}`));
    const logs: string[] = [];
    const inner: BuildExecutor = {
      execute: (_request, { listener }) => {
        listener.onLog('INFO', 'planned');
        listener.onTask?.(entry);
        return Promise.resolve({ status: 'Succeeded' });
      },
      checkStart: () => ({ ok: false, reason: 'no peer' }) as never,
      onCapacityChange: (listener) => listener(),
    };
    const listener = {
      onLog: (_level: string, message: string) => logs.push(message),
      onTask: (task: TaskTimelineEntry) => order.push(`recorded:${task.taskId}`),
    } as unknown as BuildExecutionListener;
    const wrapped = publishTaskEvents(inner, events);

    const outcome = await wrapped.execute({ executionId: 'b1' } as BuildRequest, {
      signal: new AbortController().signal,
      listener,
    });
    expect(outcome).toEqual({ status: 'Succeeded' });
    expect(logs).toEqual(['planned']);
    expect(order).toEqual(['recorded:build:src/A/A.csproj', 'event:task:b1']);
    expect(events.since(0)[0]?.data).toBe(entry);
    expect(wrapped.checkStart?.({} as BuildRequest)).toEqual({ ok: false, reason: 'no peer' });
    let called = false;
    wrapped.onCapacityChange?.(() => (called = true));
    expect(called).toBe(true);
  });

  it('keeps an executor without the optional hooks without them', () => {
    const wrapped = publishTaskEvents(
      { execute: () => Promise.resolve({ status: 'Succeeded' }) },
      new NodeEventBus(),
    );
    expect('checkStart' in wrapped).toBe(false);
    expect('onCapacityChange' in wrapped).toBe(false);
  });
});
