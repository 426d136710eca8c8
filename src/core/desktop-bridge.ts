import { z } from 'zod';

/**
 * What each desktop IPC channel (src/core/desktop-channels.ts) carries, validated on arrival in
 * main, and the file names artifacts get on the user's disk.
 */

export const revealArtifactRequestSchema = z.strictObject({
  artifactId: z.string().min(1).max(200),
});
export type RevealArtifactRequest = z.infer<typeof revealArtifactRequestSchema>;

export const notifyRequestSchema = z.strictObject({
  title: z.string().min(1).max(200),
  body: z.string().max(2000),
});
export type NotifyRequest = z.infer<typeof notifyRequestSchema>;

/** Characters Windows, macOS or Linux refuse in a file name. */
// eslint-disable-next-line no-control-regex
const UNSAFE_FILE_CHARACTERS = /[<>:"|?*\u0000-\u001f]/g;

/**
 * A file name for an artifact on the user's disk: its last path segment, with characters no file
 * system accepts replaced, never empty, `.` or `..`.
 */
export function artifactFileName(name: string): string {
  const last = name.split(/[\\/]/).filter(Boolean).at(-1) ?? '';
  const safe = last
    .replace(UNSAFE_FILE_CHARACTERS, '_')
    .replace(/[. ]+$/, '')
    .slice(0, 200);
  return safe === '' || safe === '.' || safe === '..' ? 'artifact' : safe;
}
