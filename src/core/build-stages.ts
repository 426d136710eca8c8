import { STAGE_NAMES, type BuildJob, type StageName, type StageResult } from './models.js';

/** Whether the request enables a stage; disabled stages are Skipped from the start. */
export function isStageEnabled(job: BuildJob, stage: StageName): boolean {
  switch (stage) {
    case 'Clone':
    case 'Restore':
    case 'Build':
      return true;
    case 'Test':
      return job.runTests;
    case 'Package':
    case 'Upload':
      return job.createPackages || job.publishArtifacts;
  }
}

export function initialStages(job: BuildJob): StageResult[] {
  return STAGE_NAMES.map((name) => {
    const enabled = isStageEnabled(job, name);
    return {
      name,
      status: enabled ? 'Pending' : 'Skipped',
      startTime: null,
      endTime: null,
      message: enabled ? null : disabledReason(name),
      warningsCount: 0,
      errorsCount: 0,
    };
  });
}

function disabledReason(stage: StageName): string {
  return stage === 'Test' ? 'runTests is false' : 'createPackages and publishArtifacts are false';
}

/** One stage transition, as the agent reports it. */
export type StageUpdate = {
  name: StageName;
  status: StageResult['status'];
  at: string;
  message?: string | null;
  warningsCount?: number;
  errorsCount?: number;
};

/** Applies a stage transition to a stage list, returning the new list. */
export function applyStageUpdate(stages: readonly StageResult[], update: StageUpdate): StageResult[] {
  return stages.map((stage) => {
    if (stage.name !== update.name) return stage;
    // Back to Pending: a retry on another peer runs the stage again from scratch.
    if (update.status === 'Pending')
      return {
        ...stage,
        status: 'Pending',
        startTime: null,
        endTime: null,
        message: update.message ?? null,
        warningsCount: 0,
        errorsCount: 0,
      };
    const startTime = update.status === 'Running' ? update.at : stage.startTime;
    const finished = update.status !== 'Running';
    return {
      ...stage,
      status: update.status,
      startTime,
      endTime: finished && startTime ? update.at : stage.endTime,
      message: update.message === undefined ? stage.message : update.message,
      warningsCount: update.warningsCount ?? stage.warningsCount,
      errorsCount: update.errorsCount ?? stage.errorsCount,
    };
  });
}
