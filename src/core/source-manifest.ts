import { z } from 'zod';

/**
 * A source tree as content-addressed files: what a coordinator sends a peer instead of the
 * repository, so peers need no access to it and fetch each distinct file once.
 */
export const sourceManifestSchema = z.strictObject({
  version: z.literal(1),
  commit: z.string().regex(/^[0-9a-f]{40}$/),
  entries: z
    .array(
      z.discriminatedUnion('kind', [
        z.strictObject({
          kind: z.literal('file'),
          path: z.string().min(1).max(4096),
          sha256: z.string().regex(/^[0-9a-f]{64}$/),
          sizeBytes: z.number().int().min(0),
          executable: z.boolean(),
        }),
        z.strictObject({
          kind: z.literal('symlink'),
          path: z.string().min(1).max(4096),
          target: z.string().min(1).max(4096),
        }),
      ]),
    )
    .max(500_000),
});

export type SourceManifest = z.infer<typeof sourceManifestSchema>;
export type SourceManifestEntry = SourceManifest['entries'][number];

/** A relative path that stays inside the workspace (no absolute paths, no `..`). */
export function isSafeRelativePath(path: string): boolean {
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.includes('\\')) return false;
  return path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** The distinct blobs a manifest needs. */
export function manifestBlobs(manifest: SourceManifest): string[] {
  const blobs = new Set<string>();
  for (const entry of manifest.entries) if (entry.kind === 'file') blobs.add(entry.sha256);
  return [...blobs];
}
