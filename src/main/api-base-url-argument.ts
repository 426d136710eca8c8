/**
 * The renderer command-line argument that tells the preload where the node's API is. Read by
 * src/preload/api-base-url-argument.ts, which must use the same switch. Command lines are visible
 * to other local processes: never pass a secret (such as the API token) this way.
 */
export function apiBaseUrlArgument(apiUrl: string): string {
  return `--buildmesh-api-base-url=${apiUrl}`;
}
