/**
 * The command-line switch that carries the node's API URL into the renderer process (main adds it
 * with `webPreferences.additionalArguments`). It must match src/main/api-base-url-argument.ts;
 * both sides cannot share a module until it moves to src/core.
 */
export const API_BASE_URL_SWITCH = '--buildmesh-api-base-url=';

/**
 * The API base URL from the renderer's argv, without a trailing slash; `null` when the switch is
 * missing or is not an http(s) URL. A sandboxed preload still sees `process.argv`.
 */
export function readApiBaseUrl(argv: readonly string[]): string | null {
  const argument = argv.findLast((value) => value.startsWith(API_BASE_URL_SWITCH));
  if (argument === undefined) return null;
  const value = argument.slice(API_BASE_URL_SWITCH.length);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return value.replace(/\/+$/, '');
}
