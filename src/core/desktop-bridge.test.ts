import { describe, expect, it } from 'vitest';
import { artifactFileName, notifyRequestSchema, revealArtifactRequestSchema } from './desktop-bridge.js';

describe('artifactFileName', () => {
  it('keeps the last path segment', () => {
    expect(artifactFileName('src/Lib/bin/Release/Lib.1.0.0.nupkg')).toBe('Lib.1.0.0.nupkg');
    expect(artifactFileName('publish\\App.tar.gz')).toBe('App.tar.gz');
  });

  it('never escapes the folder nor yields an invalid name', () => {
    expect(artifactFileName('../../etc/passwd')).toBe('passwd');
    expect(artifactFileName('..')).toBe('artifact');
    expect(artifactFileName('')).toBe('artifact');
    expect(artifactFileName('a<b>:c?.zip')).toBe('a_b__c_.zip');
    expect(artifactFileName('name. ')).toBe('name');
  });
});

describe('IPC payloads', () => {
  it('are validated strictly', () => {
    expect(revealArtifactRequestSchema.safeParse({ artifactId: 'a1' }).success).toBe(true);
    expect(revealArtifactRequestSchema.safeParse({ artifactId: '' }).success).toBe(false);
    expect(revealArtifactRequestSchema.safeParse({ artifactId: 'a', path: '/etc' }).success).toBe(false);
    expect(notifyRequestSchema.safeParse({ title: 'Done', body: 'ok' }).success).toBe(true);
    expect(notifyRequestSchema.safeParse({ title: '', body: 'ok' }).success).toBe(false);
  });
});
