import { useCallback } from 'react';
import type { ApiClient } from './api-client.js';
import { BuildsTable } from './BuildsTable.js';
import { PeersTable } from './PeersTable.js';
import { PolledSection } from './PolledSection.js';
import { usePolling } from './use-polling.js';

/** How often the screen asks the node for fresh peers and builds. */
export const POLL_INTERVAL_MS = 2000;
/** How many of the newest builds the first screen lists. */
export const BUILDS_SHOWN = 20;

export interface AppProps {
  client: ApiClient;
  /** Where the node is, shown in the header (the API URL on desktop, the page's origin in a browser). */
  nodeAddress: string;
}

/** The first screen: this mesh's peers and the node's latest builds, refreshed every 2 s. */
export function App({ client, nodeAddress }: AppProps) {
  const loadPeers = useCallback((signal: AbortSignal) => client.listAgents({ signal }), [client]);
  const loadBuilds = useCallback(
    (signal: AbortSignal) => client.listBuilds({ pageSize: BUILDS_SHOWN, signal }),
    [client],
  );
  const peers = usePolling(loadPeers, POLL_INTERVAL_MS);
  const builds = usePolling(loadBuilds, POLL_INTERVAL_MS);

  return (
    <>
      <header className="app-header">
        <h1>Build Mesh</h1>
        <p className="app-node">
          Node <span className="mono">{nodeAddress}</span>
        </p>
      </header>
      <main className="app-main">
        <PolledSection
          id="peers"
          title="Peers"
          polled={peers}
          isEmpty={(list) => list.length === 0}
          summary={(list) => `${list.length} ${list.length === 1 ? 'machine' : 'machines'}`}
          empty={
            <>
              <p className="state-title">No peers yet.</p>
              <p>
                This machine lists itself once its build agent has started; others appear as they join the
                mesh.
              </p>
            </>
          }
        >
          {(list) => <PeersTable peers={list} labelledBy="peers-heading" />}
        </PolledSection>
        <PolledSection
          id="builds"
          title="Builds"
          polled={builds}
          isEmpty={(page) => page.builds.length === 0}
          summary={(page) =>
            page.totalCount > page.builds.length
              ? `Newest ${page.builds.length} of ${page.totalCount}`
              : `${page.totalCount} ${page.totalCount === 1 ? 'build' : 'builds'}`
          }
          empty={
            <>
              <p className="state-title">No builds yet.</p>
              <p>
                Start one from a terminal:{' '}
                <code>buildmesh build &lt;repository-url&gt; --ref main --solution App.sln</code>
              </p>
            </>
          }
        >
          {(page) => <BuildsTable builds={page.builds} labelledBy="builds-heading" />}
        </PolledSection>
      </main>
    </>
  );
}
