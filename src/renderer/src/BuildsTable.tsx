import type { BuildSummary } from './api-client.js';
import { formatDuration } from './format.js';
import { Missing } from './Missing.js';
import { StatusBadge } from './StatusBadge.js';
import { buildStatusTone } from './status-tone.js';

/** The node's builds, newest first. */
export function BuildsTable({ builds, labelledBy }: { builds: readonly BuildSummary[]; labelledBy: string }) {
  return (
    <div className="table-scroll" role="region" aria-labelledby={labelledBy} tabIndex={0}>
      <table>
        <caption className="visually-hidden">
          Builds, newest first, with strategy, status, duration and requester
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
          </tr>
        </thead>
        <tbody>
          {builds.map((build) => (
            <tr key={build.executionId}>
              <th scope="row">{build.projectName}</th>
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
                {build.duration === null ? <Missing meaning="not started" /> : formatDuration(build.duration)}
              </td>
              <td>{build.requesterEmail ?? <Missing meaning="not given" />}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
