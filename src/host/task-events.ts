import type { NodeEventBus } from '../core/build-events.js';
import type { BuildExecutor } from '../core/build-execution.js';

/**
 * Wraps the coordinator's executor so every change of a project task (a timeline entry of a
 * Distributed or Cached build) is also a live `task` event. The coordinator records the entry
 * first, so a client that re-reads the build on the event sees it.
 */
export function publishTaskEvents(executor: BuildExecutor, events: NodeEventBus): BuildExecutor {
  const wrapped: BuildExecutor = {
    execute: (request, run) => {
      const inner = run.listener;
      // Delegates every other callback to the coordinator's listener, whatever it defines.
      const listener: typeof inner = Object.assign(Object.create(inner) as typeof inner, {
        onTask: (entry: Parameters<NonNullable<typeof inner.onTask>>[0]) => {
          inner.onTask?.(entry);
          events.publish('task', request.executionId, entry);
        },
      });
      return executor.execute(request, { ...run, listener });
    },
  };
  if (executor.checkStart) wrapped.checkStart = (request) => executor.checkStart!(request);
  if (executor.onCapacityChange)
    wrapped.onCapacityChange = (listener) => executor.onCapacityChange!(listener);
  return wrapped;
}
