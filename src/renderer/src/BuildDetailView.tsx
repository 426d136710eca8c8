import { useCallback, useEffect, useState } from 'react';
import { isTerminalStatus, type BuildArtifact, type TestResults } from '../../core/models.js';
import type { ApiClient, BuildDetail, StageView } from './api-client.js';
import { buildRequestBody, formValuesFromBuild, hasMaskedCredentials } from './build-form.js';
import { streamEvents } from './event-stream.js';
import { formatBytes, formatDuration, formatMs, formatRatio, shortHash } from './format.js';
import { LogViewer } from './LogViewer.js';
import { Missing } from './Missing.js';
import { coalesce, parseLiveEvent } from './node-events.js';
import { PolledSection } from './PolledSection.js';
import { routeHref, type Route } from './route.js';
import { StatusBadge } from './StatusBadge.js';
import { buildStatusTone, stageStatusTone } from './status-tone.js';
import { launchedBy } from './BuildsTable.js';
import { ChecksSection } from './Checks.js';
import { cacheHitRate, taskCountLabel } from './timeline-layout.js';
import { Timeline } from './Timeline.js';
import { useBuildLog } from './use-build-log.js';
import { usePolling } from './use-polling.js';

/** Polling while the build runs, as a fallback for the live stream. */
const RUNNING_POLL_MS = 3000;

/**
 * The Build detail screen: stages, the checks of a Canary or verify build, live log, timeline,
 * tests, artifacts; cancel and rebuild.
 */
export function BuildDetailView({
  client,
  executionId,
  navigate,
}: {
  client: ApiClient;
  executionId: string;
  navigate: (route: Route) => void;
}) {
  const load = useCallback(
    (signal: AbortSignal) => client.getBuild(executionId, { signal }),
    [client, executionId],
  );
  const build = usePolling(load, RUNNING_POLL_MS);
  const log = useBuildLog(client, executionId);
  const [now, setNow] = useState(() => Date.now());
  const running = build.data !== null && !isTerminalStatus(build.data.status);
  const { refresh } = build;
  const refreshRef = useLatest(refresh);

  useEffect(() => {
    const controller = new AbortController();
    const refresher = coalesce(() => refreshRef.current(), 250);
    void streamEvents({
      url: client.url(`/api/v1/builds/${encodeURIComponent(executionId)}/events`),
      token: client.token,
      fetch: client.fetchImpl,
      signal: controller.signal,
      reconnectOnEnd: false,
      onUnauthorized: () => client.reportUnauthorized(),
      onMessage: (message) => {
        const event = parseLiveEvent(message);
        if (event && event.type !== 'log') refresher.trigger();
      },
    }).then(() => refreshRef.current());
    return () => {
      controller.abort();
      refresher.cancel();
    };
  }, [client, executionId, refreshRef]);

  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);

  return (
    <PolledSection
      id="build"
      title={build.data ? build.data.projectName : 'Build'}
      polled={build}
      isEmpty={() => false}
      empty={null}
      summary={(detail) => <StatusBadge label={detail.status} tone={buildStatusTone(detail.status)} />}
    >
      {(detail) => (
        <div className="detail">
          <BuildHeader detail={detail} client={client} navigate={navigate} onChange={refresh} />
          <section aria-labelledby="stages-heading" className="sub">
            <h3 id="stages-heading">Stages</h3>
            <Stages stages={detail.stages} />
          </section>
          <ChecksSection build={detail} nowMs={now} />
          <section aria-labelledby="log-heading" className="sub">
            <h3 id="log-heading">Log</h3>
            <LogViewer log={log} />
          </section>
          {detail.strategy === 'Cached' || detail.strategy === 'Distributed' || detail.timeline.length > 0 ? (
            <section aria-labelledby="timeline-heading" className="sub">
              <h3 id="timeline-heading">
                Timeline
                <span className="heading-note">
                  {taskCountLabel(detail.timeline)}, cache hits {formatRatio(cacheHitRate(detail.timeline))}
                </span>
              </h3>
              <Timeline
                entries={detail.timeline}
                nowMs={running ? now : Date.parse(detail.endTime ?? '') || now}
              />
            </section>
          ) : null}
          <section aria-labelledby="tests-heading" className="sub">
            <h3 id="tests-heading">Tests</h3>
            <Tests results={detail.testResults} status={detail.stages.find((s) => s.name === 'Test')} />
          </section>
          <section aria-labelledby="artifacts-heading" className="sub">
            <h3 id="artifacts-heading">Artifacts</h3>
            <Artifacts detail={detail} client={client} />
          </section>
        </div>
      )}
    </PolledSection>
  );
}

function useLatest<T>(value: T): { current: T } {
  const [ref] = useState(() => ({ current: value }));
  ref.current = value;
  return ref;
}

function BuildHeader({
  detail,
  client,
  navigate,
  onChange,
}: {
  detail: BuildDetail;
  client: ApiClient;
  navigate: (route: Route) => void;
  onChange: () => void;
}) {
  const [action, setAction] = useState<{ busy: boolean; message: string | null; failed: boolean }>({
    busy: false,
    message: null,
    failed: false,
  });
  const terminal = isTerminalStatus(detail.status);
  const cancel = async () => {
    setAction({ busy: true, message: null, failed: false });
    try {
      const result = await client.cancelBuild(detail.executionId);
      setAction({ busy: false, message: result.message, failed: false });
      onChange();
    } catch (error) {
      setAction({ busy: false, message: (error as Error).message, failed: true });
    }
  };
  const rebuild = async () => {
    const values = formValuesFromBuild(detail);
    if (hasMaskedCredentials(values.repositoryUrl)) {
      navigate({ name: 'new-build', from: detail.executionId });
      return;
    }
    setAction({ busy: true, message: null, failed: false });
    try {
      const { executionId } = await client.submitBuild(buildRequestBody(values));
      setAction({ busy: false, message: null, failed: false });
      navigate({ name: 'build', executionId });
    } catch (error) {
      setAction({ busy: false, message: `Rebuild failed: ${(error as Error).message}`, failed: true });
    }
  };
  return (
    <div className="build-header">
      <dl className="facts">
        <Fact term="Strategy">{detail.strategy}</Fact>
        <Fact term="Repository">
          <span className="mono wrap">{detail.repositoryUrl}</span>
        </Fact>
        <Fact term="Ref">
          <span className="mono">{detail.gitRef}</span>
          {detail.resolvedCommit ? (
            <span className="secondary mono">{shortHash(detail.resolvedCommit)}</span>
          ) : null}
        </Fact>
        <Fact term="Solution">
          <span className="mono">{detail.solutionPath}</span>
          <span className="secondary">
            {detail.configuration}, {detail.targetPool}
          </span>
        </Fact>
        <Fact term="Duration">
          {detail.duration ? formatDuration(detail.duration) : <Missing meaning="not started" />}
          {detail.status === 'Queued' && detail.queueReason ? (
            <span className="secondary">{detail.queueReason}</span>
          ) : null}
        </Fact>
        <Fact term="Launched by">{launchedBy(detail) ?? <Missing meaning="not given" />}</Fact>
        <Fact term="Coordinated on">
          {detail.agent ? detail.agent.hostname : <Missing meaning="no peer yet" />}
        </Fact>
      </dl>
      {detail.errorMessage ? (
        <p className="build-error" role="alert">
          {detail.errorMessage}
        </p>
      ) : null}
      <div className="actions">
        {!terminal ? (
          <button
            type="button"
            className="danger"
            onClick={() => void cancel()}
            disabled={action.busy || detail.status === 'Cancelling'}
          >
            {detail.status === 'Cancelling' ? 'Cancelling…' : 'Cancel build'}
          </button>
        ) : null}
        <button type="button" onClick={() => void rebuild()} disabled={action.busy}>
          Rebuild
        </button>
        <a className="button-link" href={routeHref({ name: 'new-build', from: detail.executionId })}>
          Edit and rebuild
        </a>
        {action.message ? (
          <span className={action.failed ? 'error-text' : 'muted'} role="status">
            {action.message}
          </span>
        ) : null}
      </div>
    </div>
  );
}

function Fact({ term, children }: { term: string; children: React.ReactNode }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function Stages({ stages }: { stages: readonly StageView[] }) {
  return (
    <ol className="stages">
      {stages.map((stage) => (
        <li key={stage.name} className={`stage stage-${stage.status.toLowerCase()}`}>
          <span className="stage-name">{stage.name}</span>
          <StatusBadge label={stage.status} tone={stageStatusTone(stage.status)} />
          <span className="secondary">
            {stage.duration ? formatDuration(stage.duration) : stage.status === 'Running' ? 'running' : ''}
            {stage.errorsCount > 0 ? ` · ${stage.errorsCount} errors` : ''}
            {stage.warningsCount > 0 ? ` · ${stage.warningsCount} warnings` : ''}
          </span>
          {stage.message ? <span className="secondary stage-message">{stage.message}</span> : null}
        </li>
      ))}
    </ol>
  );
}

export function Tests({ results, status }: { results: TestResults | null; status: StageView | undefined }) {
  if (!results) {
    return (
      <div className="state state-empty">
        <p>
          {status?.status === 'Skipped'
            ? `No tests ran${status.message ? `: ${status.message}` : ''}.`
            : status?.status === 'Running' || status?.status === 'Pending'
              ? 'Test results appear once the tests have run.'
              : 'No test results.'}
        </p>
      </div>
    );
  }
  return (
    <div className="tests">
      <p className="test-summary">
        <span className={results.failed > 0 ? 'error-text strong' : 'good-text strong'}>
          {results.failed > 0 ? `${results.failed} failed` : 'All passed'}
        </span>{' '}
        · {results.passed} passed · {results.skipped} skipped · {results.total} total ·{' '}
        {formatMs(results.durationMs)}
      </p>
      {results.failures.length > 0 ? (
        <ul className="failures" aria-label="Failed tests">
          {results.failures.map((failure) => (
            <li key={failure.name} className="failure">
              <p className="failure-name mono">{failure.name}</p>
              <p className="failure-message">{failure.message}</p>
              {failure.stackTrace ? (
                <details>
                  <summary>Stack trace</summary>
                  <pre>{failure.stackTrace}</pre>
                </details>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function Artifacts({ detail, client }: { detail: BuildDetail; client: ApiClient }) {
  const [downloading, setDownloading] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  if (detail.artifacts.length === 0) {
    return (
      <div className="state state-empty">
        <p>
          {isTerminalStatus(detail.status)
            ? 'This build produced no artifacts.'
            : 'Artifacts appear as the build uploads them.'}
        </p>
      </div>
    );
  }
  const download = async (artifact: BuildArtifact) => {
    setDownloading(artifact.artifactId);
    setProblem(null);
    try {
      const blob = await client.downloadArtifact(artifact.downloadUrl);
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = artifact.name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      setProblem(`Could not download ${artifact.name}: ${(error as Error).message}`);
    } finally {
      setDownloading(null);
    }
  };
  return (
    <>
      {problem ? (
        <p className="stale" role="alert">
          {problem}
        </p>
      ) : null}
      <div className="table-scroll" role="region" aria-labelledby="artifacts-heading" tabIndex={0}>
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col">SHA-256</th>
              <th scope="col">Provenance</th>
              <th scope="col">
                <span className="visually-hidden">Download</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {detail.artifacts.map((artifact) => (
              <tr key={artifact.artifactId}>
                <th scope="row">
                  {artifact.name}
                  <span className="secondary mono">{artifact.path}</span>
                </th>
                <td className="num">{formatBytes(artifact.sizeBytes)}</td>
                <td>
                  <span className="mono" title={artifact.sha256Hash}>
                    {shortHash(artifact.sha256Hash)}…
                  </span>
                </td>
                <td>
                  {detail.gitRef} @ <span className="mono">{shortHash(detail.resolvedCommit)}</span>
                  <span className="secondary">
                    build {detail.executionId.slice(0, 8)} on {detail.agent?.hostname ?? 'this node'},{' '}
                    {new Date(artifact.createdAt).toLocaleString()}
                  </span>
                </td>
                <td>
                  <button
                    type="button"
                    onClick={() => void download(artifact)}
                    disabled={downloading === artifact.artifactId}
                    aria-label={`Download ${artifact.name}`}
                  >
                    {downloading === artifact.artifactId ? 'Downloading…' : 'Download'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
