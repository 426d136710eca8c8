/**
 * The dashboard's screens, addressed by the URL fragment (`#/builds/<id>`). Hash routing keeps the
 * relative asset URLs of the built UI working from file:// on desktop and from any path over HTTP.
 */
export type Route =
  /** The builds list, the home screen. */
  | { name: 'builds' }
  /** The form that starts a build; `from` pre-fills it from an earlier build. */
  | { name: 'new-build'; from: string | null }
  /** One build: stages, log, timeline, tests, artifacts. */
  | { name: 'build'; executionId: string }
  /** The machines of the mesh. */
  | { name: 'peers' }
  /** A fragment this UI does not know. */
  | { name: 'not-found'; path: string };

/** `#/builds/abc` → `{ name: 'build', executionId: 'abc' }`; an empty fragment is the builds list. */
export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [pathPart = '', queryPart = ''] = raw.split('?', 2);
  const path = pathPart.replace(/^\/+|\/+$/g, '');
  const query = new URLSearchParams(queryPart);
  if (path === '' || path === 'builds') return { name: 'builds' };
  if (path === 'peers') return { name: 'peers' };
  if (path === 'builds/new') return { name: 'new-build', from: query.get('from') };
  const build = /^builds\/([^/]+)$/.exec(path);
  if (build?.[1]) return { name: 'build', executionId: decodeURIComponent(build[1]) };
  return { name: 'not-found', path: `/${path}` };
}

/** The fragment (with `#`) of a route, for links. */
export function routeHref(route: Route): string {
  switch (route.name) {
    case 'builds':
      return '#/builds';
    case 'peers':
      return '#/peers';
    case 'new-build':
      return route.from ? `#/builds/new?from=${encodeURIComponent(route.from)}` : '#/builds/new';
    case 'build':
      return `#/builds/${encodeURIComponent(route.executionId)}`;
    case 'not-found':
      return `#${route.path}`;
  }
}
