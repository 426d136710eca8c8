import { hasChecks, peerCheckRows, reproducibilityVerdict, type ChecksSource } from './checks-view.js';
import { Missing } from './Missing.js';
import { StatusBadge } from './StatusBadge.js';

/** The Build detail's Checks section; nothing for a build with neither peer results nor a report. */
export function ChecksSection({ build, nowMs }: { build: ChecksSource; nowMs: number }) {
  if (!hasChecks(build)) return null;
  return (
    <section aria-labelledby="checks-heading" className="sub">
      <h3 id="checks-heading">Checks</h3>
      <Checks build={build} nowMs={nowMs} />
    </section>
  );
}

/**
 * The Checks of a Canary or verify build: how each peer's whole build of the commit ended (role,
 * status, the gate a canary failed, tests, warnings) and whether their outputs were identical. It
 * shows what the build detail holds; the screen refreshes that from the live stream.
 */
export function Checks({ build, nowMs }: { build: ChecksSource; nowMs: number }) {
  const rows = peerCheckRows(build, nowMs);
  const verdict = reproducibilityVerdict(build);
  return (
    <div className="checks">
      <div className={`verdict verdict-${verdict.state}`} role="status" aria-live="polite">
        <p className="verdict-title strong">{verdict.title}</p>
        {verdict.peers.length > 0 ? (
          <p className="secondary">Compared on {verdict.peers.join(', ')}</p>
        ) : null}
        {verdict.detail ? <p className="secondary">{verdict.detail}</p> : null}
      </div>
      {verdict.differences.length > 0 ? (
        <>
          <div className="table-scroll" role="region" aria-label="Output differences" tabIndex={0}>
            <table>
              <caption className="visually-hidden">Output files that differ between peers</caption>
              <thead>
                <tr>
                  <th scope="col">Project</th>
                  <th scope="col">File</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {verdict.differences.map((difference) => (
                  <tr key={`${difference.project}\0${difference.file}`}>
                    <th scope="row" className="mono">
                      {difference.project}
                    </th>
                    <td className="mono wrap">{difference.file}</td>
                    <td>{difference.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="checks-note">
            {verdict.projects.length === 1 ? 'This project is' : 'These projects are'} never served from the
            cache for this repository, on any peer:{' '}
            <span className="mono">{verdict.projects.join(', ')}</span>
          </p>
        </>
      ) : null}
      {rows.length > 0 ? (
        <div className="table-scroll" role="region" aria-label="Peer results" tabIndex={0}>
          <table>
            <caption className="visually-hidden">How each peer&apos;s build ended</caption>
            <thead>
              <tr>
                <th scope="col">Peer</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Failed gate</th>
                <th scope="col" className="num">
                  Tests passed
                </th>
                <th scope="col" className="num">
                  Warnings
                </th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.key}>
                  <th scope="row">{row.peer}</th>
                  <td>{row.role}</td>
                  <td>
                    <StatusBadge label={row.status} tone={row.tone} />
                    {row.duration ? <span className="secondary">{row.duration}</span> : null}
                  </td>
                  <td>
                    {row.failedGate ? (
                      <span className="error-text">{row.failedGate}</span>
                    ) : (
                      <Missing meaning="none" />
                    )}
                  </td>
                  <td className="num">
                    {row.tests ? (
                      <>
                        <span className={row.testsFailed ? 'error-text' : undefined}>{row.tests}</span>
                        {row.testsNote ? <span className="secondary">{row.testsNote}</span> : null}
                      </>
                    ) : (
                      <Missing meaning="no tests ran" />
                    )}
                  </td>
                  <td className="num">{row.warnings}</td>
                  <td className="wrap">{row.message ?? <Missing meaning="no message" />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}
