/**
 * Checks for the user-supplied parts of a git command line. Git reads anything that starts
 * with `-` as an option (`--upload-pack=...` runs a program), and `ext::` URLs run commands,
 * so these are validated before the request is accepted, and again before git runs.
 */

const ALLOWED_URL_PROTOCOLS = new Set(['https:', 'http:', 'ssh:', 'git:', 'file:']);
const SCP_LIKE_URL = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s:][^\s]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f]/;
const SHA_PATTERN = /^[0-9a-f]{4,40}$/i;

export const REPOSITORY_URL_HINT =
  'must be an absolute git URL (https://, ssh://, git://, file:// or user@host:path)';
export const GIT_REF_HINT =
  'must be a branch, tag, refs/heads/<name>, refs/tags/<name> or a commit SHA, and may not start with "-"';
export const SOLUTION_PATH_HINT =
  'must be a relative path inside the repository to a .sln, .slnx or project file (no "..", no leading "-")';

/** Returns a problem description, or null when the URL is acceptable. */
export function checkRepositoryUrl(url: string): string | null {
  if (url.trim() !== url || url.length === 0) return REPOSITORY_URL_HINT;
  if (url.startsWith('-'))
    return `${REPOSITORY_URL_HINT}; a value starting with "-" would be read as a git option`;
  if (CONTROL_OR_SPACE.test(url))
    return `${REPOSITORY_URL_HINT}; spaces and control characters are not allowed`;
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(url))
    return `${REPOSITORY_URL_HINT}; transport helpers ("ext::", "fd::") are not allowed`;
  if (SCP_LIKE_URL.test(url)) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return REPOSITORY_URL_HINT;
  }
  if (!ALLOWED_URL_PROTOCOLS.has(parsed.protocol)) return REPOSITORY_URL_HINT;
  if (parsed.protocol === 'file:') {
    return parsed.pathname.length > 1 ? null : `${REPOSITORY_URL_HINT}; file:// needs a path`;
  }
  return parsed.hostname ? null : `${REPOSITORY_URL_HINT}; the URL has no host`;
}

/** Returns a problem description, or null when the ref is acceptable (rules of `git check-ref-format`). */
export function checkGitRef(ref: string): string | null {
  if (ref.length === 0 || ref.length > 255) return GIT_REF_HINT;
  if (ref.startsWith('-')) return `${GIT_REF_HINT}; a value starting with "-" would be read as a git option`;
  if (CONTROL_OR_SPACE.test(ref) || /[~^:?*[\\]/.test(ref)) return GIT_REF_HINT;
  if (ref.includes('..') || ref.includes('@{') || ref.includes('//') || ref === '@') return GIT_REF_HINT;
  if (ref.endsWith('/') || ref.endsWith('.') || ref.endsWith('.lock') || ref.startsWith('/'))
    return GIT_REF_HINT;
  if (ref.split('/').some((part) => part.startsWith('.'))) return GIT_REF_HINT;
  return null;
}

export function isCommitSha(ref: string): boolean {
  return SHA_PATTERN.test(ref);
}

const SOLUTION_EXTENSIONS = ['.sln', '.slnx', '.csproj', '.fsproj', '.vbproj', '.proj'];

/** Normalises Windows separators; returns the path or a problem description. */
export function normaliseSolutionPath(path: string): { path: string } | { problem: string } {
  const normalised = path.trim().replace(/\\/g, '/').replace(/^\.\//, '');
  if (normalised.length === 0) return { problem: SOLUTION_PATH_HINT };
  if (normalised.startsWith('/') || /^[A-Za-z]:/.test(normalised)) {
    return { problem: `${SOLUTION_PATH_HINT}; got an absolute path` };
  }
  if (CONTROL_OR_SPACE.test(normalised.replace(/ /g, ''))) return { problem: SOLUTION_PATH_HINT };
  const segments = normalised.split('/');
  if (segments.some((segment) => segment === '..' || segment.startsWith('-') || segment === '')) {
    return { problem: SOLUTION_PATH_HINT };
  }
  if (!SOLUTION_EXTENSIONS.some((extension) => normalised.toLowerCase().endsWith(extension))) {
    return { problem: `${SOLUTION_PATH_HINT}; expected one of ${SOLUTION_EXTENSIONS.join(', ')}` };
  }
  return { path: normalised };
}

/** `https://user:token@host/x` → `https://***@host/x`, for logs and stored records. */
export function maskUrlCredentials(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/@\s]+)@/, '$1***@');
}

/** Every form in which a URL's credentials could be printed (raw, decoded, password alone). */
export function urlSecrets(url: string): string[] {
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/@\s]+)@/.exec(url);
  const userInfo = match?.[1];
  if (!userInfo) return [];
  const secrets = new Set<string>([userInfo, decodeURIComponentSafe(userInfo)]);
  const colon = userInfo.indexOf(':');
  if (colon >= 0) {
    const password = userInfo.slice(colon + 1);
    if (password.length > 0) {
      secrets.add(password);
      secrets.add(decodeURIComponentSafe(password));
    }
  }
  return [...secrets].filter((secret) => secret.length >= 3);
}

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * What identifies a repository across builds: its URL without credentials, a trailing `/` or `.git`.
 * Builds of the same identity (and solution) share a workspace on a peer.
 */
export function repositoryIdentity(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1')
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
}
