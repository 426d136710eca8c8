export type ResponseHeaders = Record<string, string | string[]>;

/**
 * Response headers of the node's API with CORS opened to one origin. Used in development only:
 * the renderer then comes from electron-vite's dev server, a different origin from the API, and the
 * API itself sends no CORS headers (so other web pages cannot read it). Existing
 * `Access-Control-*` headers are replaced: a duplicate Allow-Origin would fail the check.
 */
export function withCorsFor(origin: string, headers: ResponseHeaders | undefined): ResponseHeaders {
  const kept = Object.entries(headers ?? {}).filter(
    ([name]) => !name.toLowerCase().startsWith('access-control-'),
  );
  return {
    ...Object.fromEntries(kept),
    'Access-Control-Allow-Origin': [origin],
    'Access-Control-Allow-Methods': ['GET, POST, OPTIONS'],
    'Access-Control-Allow-Headers': ['Authorization, Content-Type'],
  };
}
