import type {
  BuildExecutionListener,
  BuildExecutor,
  BuildOutcome,
  StartCheck,
} from '../core/build-execution.js';
import type { BuildRequest, BuildStrategy } from '../core/models.js';

/**
 * Sends task-engine strategies (Cached, Distributed) to one executor and the rest to another;
 * Canary builds and whole builds with `verify: true` go to `checks` when given. A task-engine build
 * with `verify: true` stays with the task engine, which verifies each project's build task.
 */
export class StrategyRouter implements BuildExecutor {
  constructor(
    private readonly taskStrategies: readonly BuildStrategy[],
    private readonly tasks: BuildExecutor,
    private readonly wholeBuilds: BuildExecutor,
    private readonly checks?: BuildExecutor,
  ) {}

  private executorFor(request: BuildRequest): BuildExecutor {
    if (this.taskStrategies.includes(request.strategy)) return this.tasks;
    if (this.checks && (request.strategy === 'Canary' || request.verify === true)) return this.checks;
    return this.wholeBuilds;
  }

  execute(
    request: BuildRequest,
    options: { signal: AbortSignal; listener: BuildExecutionListener },
  ): Promise<BuildOutcome> {
    return this.executorFor(request).execute(request, options);
  }

  checkStart(request: BuildRequest): StartCheck {
    return this.executorFor(request).checkStart?.(request) ?? { ready: true };
  }

  onCapacityChange(listener: () => void): void {
    this.tasks.onCapacityChange?.(listener);
    if (this.wholeBuilds !== this.tasks) this.wholeBuilds.onCapacityChange?.(listener);
    this.checks?.onCapacityChange?.(listener);
  }
}
