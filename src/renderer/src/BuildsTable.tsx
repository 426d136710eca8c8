import type { BuildSummary } from './api-client.js';
import { formatDuration, formatRatio } from './format.js';
import { Missing } from './Missing.js';
import { routeHref } from './route.js';
import { StatusBadge } from './StatusBadge.js';
import { buildStatusTone } from './status-tone.js';

/** Who launched a build: the token's subject, else the email the request gave. */
export function launchedBy(build: Pick<BuildSummary, 'requestedBy' | 'requesterEmail'>): string | null {
  if (build.requestedBy && build.requesterEmail && build.requestedBy !== build.requesterEmail)
    return `${build.requestedBy} (${build.requesterEmail})`;
  return build.requestedBy ?? build.requesterEmail ?? null;
}

/** Cache hit rate per build id; absent while unknown, null when the build looked nothing up. */
export type HitRates = ReadonlyMap<string, number | null>;

/** The node's builds, newest first; each project name links to the build's detail. */
export function BuildsTable({
  builds,
  labelledBy,
  hitRates = new Map(),
}: {
  builds: readonly BuildSummary[];
  labelledBy: string;
  hitRates?: HitRates;
}) {
  return (
    <div className="table-scroll" role="region" aria-labelledby={labelledBy} tabIndex={0}>
      <table>
        <caption className="visually-hidden">
          Builds, newest first, with strategy, status, duration, requester and cache hit rate
        </caption>
        <thead>
          <tr>
            <th scope="col">Project</th>
            <th scope="col">Strategy</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Duration
            </th>
            <th scope="col">Requester</th>
            <th scope="col" className="num">
              Cache hits
            </th>
          </tr>
        </thead>
        <tbody>
          {builds.map((build) => {
            const rate = hitRates.get(build.executionId);
            return (
              <tr key={build.executionId}>
                <th scope="row">
                  <a href={routeHref({ name: 'build', executionId: build.executionId })}>
                    {build.projectName}
                  </a>
                  <span className="secondary mono">{build.executionId.slice(0, 8)}</span>
                </th>
                <td>{build.strategy}</td>
                <td>
                  <StatusBadge label={build.status} tone={buildStatusTone(build.status)} />
                  {build.status === 'Running' && build.currentStage ? (
                    <span className="secondary">{build.currentStage}</span>
                  ) : null}
                  {build.errorMessage ? (
                    <span className="secondary error-text">{build.errorMessage}</span>
                  ) : null}
                </td>
                <td className="num">
                  {build.duration === null ? (
                    <Missing meaning="not started" />
                  ) : (
                    formatDuration(build.duration)
                  )}
                </td>
                <td>{launchedBy(build) ?? <Missing meaning="not given" />}</td>
                <td className="num">
                  {rate === undefined || rate === null ? (
                    <Missing meaning={rate === null ? 'no cache lookups' : 'not known'} />
                  ) : (
                    formatRatio(rate)
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
