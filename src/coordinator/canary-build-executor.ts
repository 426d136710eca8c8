import type {
  BuildExecutionListener,
  BuildExecutor,
  BuildOutcome,
  BuildRunOptions,
  StartCheck,
} from '../core/build-execution.js';
import type { StageUpdate } from '../core/build-stages.js';
import {
  compareOutputs,
  deterministicRequest,
  evaluateCanaryGates,
  type ArtifactFiles,
  type CanaryGate,
  type OutputInspector,
} from '../core/canary.js';
import { JobRejectedError, errorMessage } from '../core/errors.js';
import type { PeerDirectory, PreparedSources, RemoteJobRunner, SourcePreparer } from '../core/mesh-ports.js';
import type {
  BuildRequest,
  OutputDifference,
  PeerBuildResult,
  ProducedArtifact,
  ReproducibilityReport,
  StageName,
  TestResults,
} from '../core/models.js';
import { selectPeer, willingPeers, type BuildDemand, type PeerCandidate } from '../core/peer-selection.js';
import type { Logger } from '../core/ports.js';
import { NOOP_TRACER, recordOutcome, type TraceSpan, type Tracer } from '../core/tracing.js';
import { demandOf, outcomeOfError, prepareTraced } from './mesh-build-executor.js';

export interface CanaryBuildExecutorOptions {
  localAgentId: string;
  peers: PeerDirectory;
  /** Runs a whole build on this machine. */
  local: BuildExecutor;
  sources: SourcePreparer;
  remote: RemoteJobRunner;
  /** Lists the files inside the artifacts, for the reproducibility comparison. */
  inspector: Pick<OutputInspector, 'listFiles'>;
  /**
   * Told the build's repository URL and the project directories whose outputs differed between
   * peers (their cache entries are never served).
   */
  onNotReproducible?: (repositoryUrl: string, projects: string[]) => Promise<void> | void;
  logger: Logger;
  /** Tries of the canary on another peer after it is lost (infrastructure failure). Default 3. */
  maxAttempts?: number;
  now?: () => Date;
  /** Spans per peer build (`BuildOrchestrator.PeerBuild`), for the gates and for the clone done here. */
  tracer?: Tracer;
}

/** One peer's whole build: how it ended and what it reported. */
interface PeerRun {
  peer: PeerCandidate;
  result: PeerBuildResult;
  /** null when the peer declined the job. */
  outcome: BuildOutcome | null;
  artifacts: ProducedArtifact[];
  testResults: TestResults | null;
  warnings: number;
  /** The last update of each stage the peer reported. */
  stages: Map<StageName, StageUpdate>;
}

/** The stage a failed canary gate belongs to: warnings are the Build stage's. */
const GATE_STAGES: Record<CanaryGate, StageName> = { build: 'Build', tests: 'Test', warnings: 'Build' };

/**
 * Canary builds and the reproducibility check (`verify: true`).
 *
 * Canary: one peer does a Clean build with the full tests; it passes when every test passes and its
 * warnings stay within `maxWarnings`. Only then are its artifacts published and does every other
 * eligible peer (of `targetPool`, or of any OS when the request named none) build and test the
 * same commit; each peer's outcome is recorded. A failed canary stops the build there.
 *
 * Verify: the build runs as usual on one peer, then a second peer builds the same commit. Canary
 * and verify builds pass `ContinuousIntegrationBuild` and `Deterministic` (the agent maps the
 * workspace root away), and the peers' outputs are compared file by file by sha256.
 */
export class CanaryBuildExecutor implements BuildExecutor {
  private readonly lastAssigned = new Map<string, number>();
  private assignments = 0;
  private readonly now: () => Date;

  constructor(private readonly options: CanaryBuildExecutorOptions) {
    this.now = options.now ?? (() => new Date());
  }

  checkStart(request: BuildRequest): StartCheck {
    const selection = selectPeer(this.options.peers.candidates(), this.demand(request, null), {
      lastAssigned: this.lastAssigned,
    });
    return selection.peer ? { ready: true } : { ready: false, reason: selection.reason };
  }

  onCapacityChange(listener: () => void): void {
    this.options.peers.onChange(listener);
  }

  /** The pool's peers; a Canary that named no pool may use peers of every OS. */
  private demand(request: BuildRequest, sources: PreparedSources | null): BuildDemand {
    const demand = demandOf(request, sources);
    // `Docker` is the pool every OS belongs to (see willingPeers).
    return request.anyPool ? { ...demand, targetPool: 'Docker' } : demand;
  }

  async execute(request: BuildRequest, { signal, listener, span }: BuildRunOptions): Promise<BuildOutcome> {
    const canary = request.strategy === 'Canary';
    const tracer = this.options.tracer ?? NOOP_TRACER;
    let sources: PreparedSources;
    try {
      sources = await prepareTraced(
        this.options.sources,
        tracer,
        span,
        deterministicRequest(request),
        signal,
        listener,
      );
    } catch (error) {
      return outcomeOfError(error, request, signal);
    }
    // Every peer builds the commit cloned here, whatever the ref points to by then.
    const run = deterministicRequest(
      { ...request, job: { ...request.job, gitRef: sources.commit } },
      sources.commit,
    );
    const demand = this.demand(request, sources);

    // The canary (or the verified build): on the best peer, on another one if that peer is lost.
    const excluded = new Set<string>();
    const maxAttempts = this.options.maxAttempts ?? 3;
    let primary: PeerRun | null = null;
    for (let attempt = 1; attempt <= maxAttempts && !primary;) {
      const selection = selectPeer(this.options.peers.candidates(), demand, {
        excluded,
        lastAssigned: this.lastAssigned,
      });
      if (!selection.peer) {
        const message = `No peer can run this build: ${selection.reason}`;
        listener.onLog('ERROR', message);
        return { status: 'Failed', errorMessage: message, failureKind: 'infrastructure' };
      }
      const peer = selection.peer;
      this.lastAssigned.set(peer.agentId, ++this.assignments);
      const hostname = this.options.peers.hostnameOf(peer.agentId);
      listener.onLog(
        'INFO',
        canary
          ? `Canary: a Clean build with the full tests on ${hostname} (${peer.agentId})`
          : `Building on ${hostname} (${peer.agentId}); a second peer will verify the outputs`,
      );
      const startTime = this.now().toISOString();
      listener.onAttempt?.({
        attempt,
        agentId: peer.agentId,
        hostname,
        startTime,
        endTime: null,
        outcome: 'Running',
        reason: null,
      });
      const done = await this.runOn(
        peer,
        canary ? 'canary' : 'verify',
        run,
        sources,
        signal,
        listener,
        true,
        span,
      );
      const outcome = done.outcome;
      const lost = outcome?.status === 'Failed' && outcome.failureKind === 'infrastructure';
      listener.onAttempt?.({
        attempt,
        agentId: peer.agentId,
        hostname,
        startTime,
        endTime: this.now().toISOString(),
        outcome: outcome === null ? 'Rejected' : lost ? 'Lost' : outcome.status,
        reason:
          outcome === null
            ? done.result.message
            : outcome.status === 'Succeeded'
              ? null
              : outcome.errorMessage,
      });
      if (outcome === null || (lost && !signal.aborted)) {
        excluded.add(peer.agentId);
        if (outcome !== null) attempt++;
        listener.onLog('WARN', `${hostname} did not run the build: ${done.result.message ?? 'declined'}`);
        continue;
      }
      primary = done;
    }
    if (!primary?.outcome) {
      return {
        status: 'Failed',
        errorMessage: `No peer finished the ${canary ? 'canary' : 'build'} after ${maxAttempts} attempts`,
        failureKind: 'infrastructure',
      };
    }

    const primaryOutcome = primary.outcome;
    if (primaryOutcome.status === 'Cancelled' || primaryOutcome.status === 'TimedOut') return primaryOutcome;
    if (canary) {
      const verdict = evaluateCanaryGates({
        outcome: primaryOutcome,
        testResults: primary.testResults,
        warnings: primary.warnings,
        maxWarnings: request.maxWarnings ?? null,
      });
      const gates = tracer.startSpan('BuildCanary.ValidateGates', {
        parent: span,
        attributes: {
          'build.agent': primary.peer.agentId,
          'canary.passed': verdict.passed,
          'canary.failedGate': verdict.passed ? null : verdict.gate,
          'canary.warnings': primary.warnings,
        },
      });
      if (!verdict.passed) gates.fail(verdict.message);
      gates.end();
      if (!verdict.passed) {
        listener.onPeerResult?.({
          ...primary.result,
          status: 'Failed',
          failedGate: verdict.gate,
          message: verdict.message,
        });
        const message = `Canary failed on ${primary.result.hostname}: ${verdict.message}. No other peer builds it and nothing is published`;
        // A gate can fail a build none of whose stages failed (too many warnings): its stage says so.
        const gateStage = GATE_STAGES[verdict.gate];
        const last = primary.stages.get(gateStage);
        if (![...primary.stages.values()].some((update) => update.status === 'Failed')) {
          listener.onStage({
            name: gateStage,
            status: 'Failed',
            at: last && last.status !== 'Running' ? last.at : this.now().toISOString(),
            message: `Canary failed the ${verdict.message}; nothing is published`,
          });
        }
        listener.onLog('ERROR', message);
        return { status: 'Failed', errorMessage: message, failureKind: 'build' };
      }
      listener.onLog('INFO', `Canary passed on ${primary.result.hostname}: every gate held`);
    } else if (primaryOutcome.status !== 'Succeeded') {
      return primaryOutcome;
    }
    // Only a passed canary (or a successful build) publishes its outputs.
    for (const artifact of primary.artifacts) listener.onArtifact(artifact);

    const others = this.otherPeers(canary, demand, primary.peer.agentId);
    if (others.length === 0) {
      listener.onLog('WARN', 'No other eligible peer: the outputs could not be compared');
    } else {
      listener.onLog(
        'INFO',
        `${canary ? 'Fanning out' : 'Verifying'} on ${others.map((peer) => this.options.peers.hostnameOf(peer.agentId)).join(', ')}`,
      );
    }
    const runs = await Promise.all(
      others.map((peer) =>
        this.runOn(peer, canary ? 'fan-out' : 'verify', run, sources, signal, listener, false, span),
      ),
    );
    if (signal.aborted) return outcomeOfError(signal.reason, request, signal);

    const report = await this.compare(primary, runs);
    listener.onReproducibility?.(report);
    if (report.reproducible === false) {
      listener.onLog(
        'WARN',
        `Not reproducible: ${report.differences.map((d) => `${d.project}: ${d.file} (${d.reason})`).join('; ')}`,
      );
      const projects = [...new Set(report.differences.map((difference) => difference.project))];
      try {
        await this.options.onNotReproducible?.(request.job.repositoryUrl, projects);
      } catch (error) {
        this.options.logger.warn('could not mark projects as not reproducible', {
          error: errorMessage(error),
        });
      }
    } else if (report.reproducible) {
      listener.onLog('INFO', `Reproducible: the outputs of ${report.checkedOn.length} peers are identical`);
    }

    const failed = runs.filter((done) => done.outcome !== null && done.outcome.status !== 'Succeeded');
    if (failed.length > 0) {
      const names = failed.map((done) => `${done.result.hostname} (${done.result.message ?? 'failed'})`);
      return {
        status: 'Failed',
        errorMessage: `${canary ? 'The canary passed, but the' : 'The'} build failed on ${names.join(', ')}`,
        failureKind: 'build',
      };
    }
    return { status: 'Succeeded' };
  }

  /** Canary: every other eligible peer; verify: the best other peer. */
  private otherPeers(canary: boolean, demand: BuildDemand, primaryId: string): PeerCandidate[] {
    const excluded = new Set([primaryId]);
    const candidates = this.options.peers.candidates();
    if (canary) {
      const found = willingPeers(candidates, demand, excluded);
      return 'reason' in found ? [] : found.willing;
    }
    const selection = selectPeer(candidates, demand, { excluded, lastAssigned: this.lastAssigned });
    return selection.peer ? [selection.peer] : [];
  }

  /**
   * Runs the whole build on one peer. The primary run's stages, log and diagnostics are the
   * build's; the others' log lines are prefixed with their host and their results kept aside.
   */
  private async runOn(
    peer: PeerCandidate,
    role: PeerBuildResult['role'],
    request: BuildRequest,
    sources: PreparedSources,
    signal: AbortSignal,
    listener: BuildExecutionListener,
    primary: boolean,
    parent: TraceSpan | undefined,
  ): Promise<PeerRun> {
    const hostname = this.options.peers.hostnameOf(peer.agentId);
    const done: PeerRun = {
      peer,
      result: {
        agentId: peer.agentId,
        hostname,
        role,
        status: 'Running',
        startTime: this.now().toISOString(),
        endTime: null,
        failedGate: null,
        message: null,
        testResults: null,
        warningsCount: 0,
      },
      outcome: null,
      artifacts: [],
      testResults: null,
      warnings: 0,
      stages: new Map(),
    };
    listener.onPeerResult?.(done.result);
    const peerListener: BuildExecutionListener = {
      onLog: (level, message) => listener.onLog(level, primary ? message : `[${hostname}] ${message}`),
      onStage: (update) => {
        done.stages.set(update.name, update);
        if (primary) listener.onStage(update);
      },
      onCommit: (commit) => {
        if (primary) listener.onCommit(commit);
      },
      onDiagnostics: (diagnostics) => {
        done.warnings += diagnostics.filter((diagnostic) => diagnostic.severity === 'warning').length;
        if (primary) listener.onDiagnostics(diagnostics);
      },
      onTestResults: (results) => {
        done.testResults = results;
        if (primary) listener.onTestResults(results);
      },
      onArtifact: (artifact) => {
        done.artifacts.push(artifact);
      },
    };
    const span = (this.options.tracer ?? NOOP_TRACER).startSpan('BuildOrchestrator.PeerBuild', {
      kind: 'client',
      parent,
      attributes: { 'build.agent': peer.agentId, 'build.role': role },
    });
    try {
      done.outcome =
        peer.agentId === this.options.localAgentId
          ? await this.options.local.execute(request, { signal, listener: peerListener, span })
          : await this.options.remote.run(
              peer.agentId,
              { request, attempt: 1, source: sources, traceparent: span.traceparent },
              { signal, listener: peerListener },
            );
      recordOutcome(span, done.outcome);
    } catch (error) {
      span.fail(error);
      if (error instanceof JobRejectedError) {
        done.result = {
          ...done.result,
          status: 'Rejected',
          endTime: this.now().toISOString(),
          message: error.reason,
        };
        listener.onPeerResult?.(done.result);
        return done;
      }
      done.outcome = outcomeOfError(error, request, signal);
    } finally {
      span.end();
    }
    const outcome = done.outcome;
    const tests = done.testResults;
    done.result = {
      ...done.result,
      status: outcome.status,
      endTime: this.now().toISOString(),
      message: outcome.status === 'Succeeded' ? null : outcome.errorMessage,
      testResults: tests
        ? { total: tests.total, passed: tests.passed, failed: tests.failed, skipped: tests.skipped }
        : null,
      warningsCount: done.warnings,
    };
    // A canary failing a gate is reported again, with the gate, once the gates are evaluated.
    listener.onPeerResult?.(done.result);
    return done;
  }

  /** Compares each other peer's outputs with the reference (the canary's, or the first build's). */
  private async compare(reference: PeerRun, others: PeerRun[]): Promise<ReproducibilityReport> {
    const finished = others.filter((done) => done.outcome?.status === 'Succeeded');
    const checkedOn = [reference.peer.agentId, ...finished.map((done) => done.peer.agentId)];
    if (finished.length === 0) {
      return {
        checkedOn,
        reproducible: null,
        differences: [],
        message: 'No second peer finished the build; nothing to compare',
      };
    }
    if (reference.artifacts.length === 0) {
      return {
        checkedOn,
        reproducible: null,
        differences: [],
        message: 'The build produced no artifacts to compare (publishArtifacts and createPackages are off)',
      };
    }
    const referenceFiles = await this.filesOf(reference.artifacts);
    const seen = new Set<string>();
    const differences: OutputDifference[] = [];
    for (const done of finished) {
      const found = compareOutputs(referenceFiles, await this.filesOf(done.artifacts), {
        reference: reference.result.hostname,
        other: done.result.hostname,
      });
      for (const difference of found) {
        const key = `${difference.project}\0${difference.file}`;
        if (seen.has(key)) continue;
        seen.add(key);
        differences.push(difference);
      }
    }
    return {
      checkedOn,
      reproducible: differences.length === 0,
      differences,
      message:
        differences.length === 0
          ? null
          : `${differences.length} output file(s) differ between peers; those projects are never served from the cache`,
    };
  }

  private async filesOf(artifacts: readonly ProducedArtifact[]): Promise<ArtifactFiles[]> {
    const files: ArtifactFiles[] = [];
    for (const artifact of artifacts)
      files.push({ path: artifact.path, files: await this.options.inspector.listFiles(artifact) });
    return files;
  }
}
