import { durationBetween, formatIsoDuration } from '../core/durations.js';
import { describeDiagnostic } from '../core/diagnostic-format.js';
import { maskUrlCredentials } from '../core/git-input.js';
import type { BuildDetailBody, BuildSummaryBody } from '../core/api-schemas.js';
import type { BuildRecord } from '../core/models.js';

export function buildLinks(executionId: string) {
  const self = `/api/v1/builds/${executionId}`;
  return { self, logs: `${self}/logs`, artifacts: `${self}/artifacts`, cancel: `${self}/cancel` };
}

function isoDuration(start: string | null, end: string | null): string | null {
  const ms = durationBetween(start, end);
  return ms === null ? null : formatIsoDuration(ms);
}

/** The status body of `GET /api/v1/builds/{id}`. */
export function presentBuild(record: BuildRecord, queuePosition: number): BuildDetailBody {
  const { request } = record;
  const errors = record.diagnostics.filter((d) => d.severity === 'error');
  const warnings = record.diagnostics.filter((d) => d.severity === 'warning');
  return {
    executionId: record.executionId,
    projectName: request.job.projectName,
    configuration: request.job.configuration,
    strategy: request.strategy,
    targetPool: request.targetPool,
    priority: request.priority,
    status: record.status,
    currentStage: record.currentStage,
    queuePosition: record.status === 'Queued' ? queuePosition : null,
    queueReason: record.queueReason,
    queuedAt: record.queuedAt,
    startTime: record.startTime,
    endTime: record.endTime,
    duration: isoDuration(record.startTime, record.endTime),
    repositoryUrl: maskUrlCredentials(request.job.repositoryUrl),
    gitRef: request.job.gitRef,
    solutionPath: request.job.solutionPath,
    resolvedCommit: record.resolvedCommit,
    requesterEmail: request.requesterEmail,
    requestedBy: record.requestedBy ?? null,
    options: {
      runTests: request.job.runTests,
      createPackages: request.job.createPackages,
      publishArtifacts: request.job.publishArtifacts,
      timeoutMinutes: request.job.timeoutMinutes,
      forceClean: request.forceClean,
      verify: request.verify === true,
      schedule: request.schedule ?? 'critical-path',
      continueOnError: request.continueOnError ?? false,
      maxWarnings: request.maxWarnings ?? null,
    },
    stages: record.stages.map((stage) => ({
      name: stage.name,
      status: stage.status,
      startTime: stage.startTime,
      endTime: stage.endTime,
      duration: stage.endTime ? isoDuration(stage.startTime, stage.endTime) : null,
      message: stage.message,
      warningsCount: stage.warningsCount,
      errorsCount: stage.errorsCount,
    })),
    agent: record.agent,
    attempts: record.attempts ?? [],
    timeline: record.timeline ?? [],
    peerResults: record.peerResults ?? [],
    reproducibility: record.reproducibility ?? null,
    testResults: record.testResults,
    artifacts: record.artifacts,
    warningsCount: warnings.length,
    errorsCount: errors.length,
    errors: errors.map(describeDiagnostic),
    warnings: warnings.map(describeDiagnostic),
    diagnostics: record.diagnostics,
    errorMessage: record.errorMessage,
    traceId: record.traceId,
    logUrl: buildLinks(record.executionId).logs,
    links: buildLinks(record.executionId),
  };
}

/** One row of `GET /api/v1/builds`. */
export function presentBuildSummary(record: BuildRecord): BuildSummaryBody {
  return {
    executionId: record.executionId,
    projectName: record.request.job.projectName,
    strategy: record.request.strategy,
    status: record.status,
    currentStage: record.currentStage,
    queuedAt: record.queuedAt,
    startTime: record.startTime,
    endTime: record.endTime,
    duration: isoDuration(record.startTime, record.endTime),
    requesterEmail: record.request.requesterEmail,
    requestedBy: record.requestedBy ?? null,
    agent: record.agent,
    errorMessage: record.errorMessage,
    links: { self: buildLinks(record.executionId).self },
  };
}
