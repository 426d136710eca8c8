import type { JobOffer } from '../../src/core/job-messages.js';
import type { BuildRequest } from '../../src/core/models.js';

/** A valid, normalised build request for protocol tests and benches that never build it. */
export function sampleBuildRequest(executionId = '00000000-0000-4000-8000-0000000000aa'): BuildRequest {
  return {
    executionId,
    job: {
      jobId: 'job',
      projectName: 'App',
      repositoryUrl: 'file:///r.git',
      gitRef: 'main',
      solutionPath: 'App.sln',
      configuration: 'Release',
      targetFramework: null,
      platform: 'AnyCPU',
      runtimeIdentifier: null,
      buildProperties: {},
      runTests: true,
      createPackages: false,
      publishArtifacts: true,
      timeoutMinutes: 60,
      metadata: {},
      requesterEmail: null,
    },
    targetPool: 'Linux',
    strategy: 'Incremental',
    priority: 'Normal',
    forceClean: false,
    requesterEmail: null,
    createdAt: new Date().toISOString(),
  };
}

export function sampleJobOffer(request: BuildRequest = sampleBuildRequest()): JobOffer {
  return {
    type: 'offer',
    executionId: request.executionId,
    attempt: 1,
    request,
    source: { manifestSha256: 'a'.repeat(64), commit: 'b'.repeat(40) },
  };
}
