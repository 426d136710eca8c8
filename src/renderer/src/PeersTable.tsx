import type { AgentView } from '../../core/agent-view.js';
import { formatOs, formatPercent } from './format.js';
import { Missing } from './Missing.js';
import { StatusBadge } from './StatusBadge.js';
import { agentStatusTone } from './status-tone.js';

const DONATION_LABELS: Record<string, string> = {
  Always: 'Always',
  WhenIdle: 'When idle',
  Paused: 'Paused',
};

/** The machines of the mesh: what each can build and how busy it is. */
export function PeersTable({ peers, labelledBy }: { peers: readonly AgentView[]; labelledBy: string }) {
  return (
    <div className="table-scroll" role="region" aria-labelledby={labelledBy} tabIndex={0}>
      <table>
        <caption className="visually-hidden">
          Peers, with their operating system, .NET SDKs, status, donation mode, load and running task
        </caption>
        <thead>
          <tr>
            <th scope="col">Host</th>
            <th scope="col">OS</th>
            <th scope="col">.NET SDKs</th>
            <th scope="col">Status</th>
            <th scope="col">Donation</th>
            <th scope="col" className="num">
              CPU
            </th>
            <th scope="col" className="num">
              Memory
            </th>
          </tr>
        </thead>
        <tbody>
          {peers.map((peer) => (
            <tr key={peer.agentId}>
              <th scope="row">
                {peer.hostname}
                {peer.isLocal ? <span className="tag">this machine</span> : null}
              </th>
              <td>{formatOs(peer.capabilities.os, peer.capabilities.arch)}</td>
              <td>
                {peer.capabilities.installedSdks.length > 0 ? (
                  peer.capabilities.installedSdks.join(', ')
                ) : (
                  <span className="muted">none found</span>
                )}
              </td>
              <td>
                <StatusBadge label={peer.status} tone={agentStatusTone(peer.status)} />
                {peer.currentJob ? (
                  <span className="secondary">
                    <span className="visually-hidden">running </span>
                    {peer.currentJob}
                  </span>
                ) : null}
              </td>
              <td>
                {peer.donationMode ? (
                  <>
                    {DONATION_LABELS[peer.donationMode] ?? peer.donationMode}
                    <span className="secondary">
                      {peer.freeSlots} of {peer.capabilities.maxConcurrentBuilds} slots free
                    </span>
                  </>
                ) : (
                  <Missing meaning="not reported" />
                )}
              </td>
              <td className="num">
                {formatPercent(peer.cpuUsage)}
                <span className="secondary">{peer.capabilities.cpuCores} cores</span>
              </td>
              <td className="num">
                {formatPercent(peer.memoryUsage)}
                <span className="secondary">of {peer.capabilities.totalMemoryGB} GB</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
