import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ApiClient } from './api-client.js';
import { BuildDetailView } from './BuildDetailView.js';
import { BuildsView } from './BuildsView.js';
import { NewBuildView } from './NewBuildView.js';
import { PeersView } from './PeersView.js';
import { tokenFromFragment } from './auth-token.js';
import { parseRoute, routeHref, type Route } from './route.js';
import { SignIn } from './SignIn.js';
import type { StreamState } from './event-stream.js';
import { useNodeEvents } from './use-live.js';

/** How often screens ask the node again when no live event told them to. */
export const POLL_INTERVAL_MS = 5000;

export interface AppProps {
  /** The node's API client, without a token (the app adds the one it holds). */
  client: ApiClient;
  /** Where the node is, shown in the header (the API URL on desktop, the page's origin in a browser). */
  nodeAddress: string;
  /** The token found at start-up (link, desktop bridge or storage). */
  initialToken?: string | null;
  /** Keeps a token the user pasted; removes it when the node refuses it. */
  saveToken?: (token: string | null) => void;
  /** The screen to show first (defaults to the page's URL fragment). */
  initialRoute?: Route;
}

const NAVIGATION: { label: string; route: Route; matches: Route['name'][] }[] = [
  { label: 'Builds', route: { name: 'builds' }, matches: ['builds', 'build'] },
  { label: 'New build', route: { name: 'new-build', from: null }, matches: ['new-build'] },
  { label: 'Peers', route: { name: 'peers' }, matches: ['peers'] },
];

function currentRoute(): Route {
  return typeof window === 'undefined' ? { name: 'builds' } : parseRoute(window.location.hash);
}

/** The dashboard: a header with the screens, the live connection, and the current screen. */
export function App({ client, nodeAddress, initialToken = null, saveToken, initialRoute }: AppProps) {
  const [token, setToken] = useState<string | null>(initialToken);
  const [refused, setRefused] = useState(false);
  const [route, setRoute] = useState<Route>(initialRoute ?? currentRoute());

  useEffect(() => {
    const onHash = () => {
      // A sign-in link opened in a tab that already shows the dashboard only changes the fragment.
      const link = tokenFromFragment(window.location.hash);
      if (link.token) {
        window.history.replaceState(
          null,
          '',
          `${window.location.pathname}${window.location.search}${link.rest}`,
        );
        saveToken?.(link.token);
        setToken(link.token);
        setRefused(false);
      }
      setRoute(parseRoute(window.location.hash));
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, [saveToken]);

  const onUnauthorized = useCallback(() => {
    setRefused(true);
    saveToken?.(null);
  }, [saveToken]);
  const authed = useMemo(() => client.withToken(token, onUnauthorized), [client, token, onUnauthorized]);
  const navigate = useCallback((next: Route) => {
    window.location.hash = routeHref(next);
  }, []);

  const signIn = (pasted: string) => {
    saveToken?.(pasted);
    setToken(pasted);
    setRefused(false);
  };

  return (
    <>
      <a className="skip-link" href="#main-content">
        Skip to content
      </a>
      <header className="app-header">
        <h1>Build Mesh</h1>
        {refused ? null : (
          <nav aria-label="Screens">
            <ul className="nav-list">
              {NAVIGATION.map((item) => (
                <li key={item.label}>
                  <a
                    href={routeHref(item.route)}
                    aria-current={item.matches.includes(route.name) ? 'page' : undefined}
                  >
                    {item.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        )}
        <p className="app-node">
          Node <span className="mono">{nodeAddress}</span>
        </p>
      </header>
      {refused ? (
        <SignIn reason={token ? 'refused' : 'missing'} onToken={signIn} />
      ) : (
        <Screens client={authed} route={route} navigate={navigate} />
      )}
    </>
  );
}

function Screens({
  client,
  route,
  navigate,
}: {
  client: ApiClient;
  route: Route;
  navigate: (route: Route) => void;
}) {
  const { hub, state } = useNodeEvents(client);
  return (
    <main className="app-main" id="main-content" tabIndex={-1}>
      <LiveIndicator state={state} />
      {route.name === 'builds' ? <BuildsView client={client} hub={hub} /> : null}
      {route.name === 'peers' ? <PeersView client={client} hub={hub} /> : null}
      {route.name === 'new-build' ? (
        <NewBuildView key={route.from ?? 'new'} client={client} from={route.from} navigate={navigate} />
      ) : null}
      {route.name === 'build' ? (
        <BuildDetailView
          key={route.executionId}
          client={client}
          executionId={route.executionId}
          navigate={navigate}
        />
      ) : null}
      {route.name === 'not-found' ? (
        <section className="panel state state-empty" aria-labelledby="not-found-heading">
          <h2 id="not-found-heading" className="state-title">
            No such screen: {route.path}
          </h2>
          <p>
            <a href={routeHref({ name: 'builds' })}>Go to the builds</a>
          </p>
        </section>
      ) : null}
    </main>
  );
}

const LIVE_LABELS: Record<StreamState, string> = {
  connecting: 'Connecting to live updates…',
  open: 'Live',
  reconnecting: 'Live updates interrupted; reconnecting…',
  closed: 'Live updates off',
};

function LiveIndicator({ state }: { state: StreamState }) {
  return (
    <p className={`live live-${state}`} role="status" aria-live="polite">
      <span className="live-dot" aria-hidden="true" />
      {LIVE_LABELS[state]}
    </p>
  );
}
