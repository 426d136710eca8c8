import { useCallback } from 'react';
import type { ApiClient } from './api-client.js';
import { POLL_INTERVAL_MS } from './App.js';
import type { LiveEventHub } from './node-events.js';
import { PeersTable } from './PeersTable.js';
import { PolledSection } from './PolledSection.js';
import { useRefreshOn } from './use-live.js';
import { usePolling } from './use-polling.js';

/** The Peers screen: every machine of the mesh; joins, leaves and status changes arrive live. */
export function PeersView({ client, hub }: { client: ApiClient; hub: LiveEventHub }) {
  const load = useCallback((signal: AbortSignal) => client.listAgents({ signal }), [client]);
  const peers = usePolling(load, POLL_INTERVAL_MS);
  useRefreshOn(hub, (event) => event.type === 'peer' || event.type === 'status', peers.refresh);
  return (
    <PolledSection
      id="peers"
      title="Peers"
      polled={peers}
      isEmpty={(list) => list.length === 0}
      summary={(list) => {
        const online = list.filter((peer) => peer.status !== 'Offline').length;
        return `${list.length} ${list.length === 1 ? 'machine' : 'machines'}, ${online} online`;
      }}
      empty={
        <>
          <p className="state-title">No peers yet.</p>
          <p>
            This machine lists itself once its build agent has started; others appear as they join the mesh (
            <code>buildmesh mesh join-code</code> on a member, then{' '}
            <code>buildmesh node --join &lt;code&gt;</code>).
          </p>
        </>
      }
    >
      {(list) => <PeersTable peers={list} labelledBy="peers-heading" />}
    </PolledSection>
  );
}
