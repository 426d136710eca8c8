/**
 * Where the dashboard's API token comes from, in order: the sign-in link's fragment
 * (`http://host:port/#token=<token>`, printed by the node), the desktop preload, then what this
 * browser kept from an earlier visit.
 */
export type TokenSource = 'link' | 'desktop' | 'stored' | 'none';

/** The localStorage key under which a browser keeps the token between visits. */
export const TOKEN_STORAGE_KEY = 'buildmesh.token';

/**
 * Reads `token=` from a URL fragment. Returns the token and the fragment to put back in the address
 * bar without it (`#token=abc` → `''`; `#/builds?x&token=abc` is left alone: only the sign-in form
 * `#token=…[&…]` is recognised).
 */
export function tokenFromFragment(hash: string): { token: string | null; rest: string } {
  const raw = hash.replace(/^#/, '');
  if (!raw.startsWith('token=')) return { token: null, rest: hash };
  const params = new URLSearchParams(raw);
  const token = params.get('token')?.trim() ?? '';
  params.delete('token');
  const remaining = params.toString();
  return { token: token === '' ? null : token, rest: remaining === '' ? '' : `#${remaining}` };
}

/** Picks the token to use: the link first (it is the newest), then the desktop bridge, then storage. */
export function chooseToken(candidates: {
  fromLink: string | null;
  fromDesktop: string | null | undefined;
  stored: string | null;
}): { token: string | null; source: TokenSource } {
  if (candidates.fromLink) return { token: candidates.fromLink, source: 'link' };
  if (candidates.fromDesktop) return { token: candidates.fromDesktop, source: 'desktop' };
  if (candidates.stored) return { token: candidates.stored, source: 'stored' };
  return { token: null, source: 'none' };
}

/** A pasted token, trimmed; a whole sign-in link is accepted too. Null when nothing usable was given. */
export function normalisePastedToken(input: string): string | null {
  const text = input.trim();
  if (text === '') return null;
  const hashAt = text.indexOf('#');
  if (hashAt >= 0) return tokenFromFragment(text.slice(hashAt)).token;
  const bare = text.replace(/^Bearer\s+/i, '');
  return /\s/.test(bare) ? null : bare;
}
