import type {
  BuildExecutionListener,
  BuildExecutor,
  BuildOutcome,
  StartCheck,
} from '../core/build-execution.js';
import type { BuildRequest, BuildStrategy } from '../core/models.js';

/**
 * Sends task-engine strategies (Cached, Distributed) to one executor and the rest to another;
 * Canary builds and builds with `verify: true` go to `checks` when given.
 */
export class StrategyRouter implements BuildExecutor {
  constructor(
    private readonly taskStrategies: readonly BuildStrategy[],
    private readonly tasks: BuildExecutor,
    private readonly wholeBuilds: BuildExecutor,
    private readonly checks?: BuildExecutor,
  ) {}

  private executorFor(request: BuildRequest): BuildExecutor {
    if (this.checks && (request.strategy === 'Canary' || request.verify === true)) return this.checks;
    return this.taskStrategies.includes(request.strategy) ? this.tasks : this.wholeBuilds;
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
