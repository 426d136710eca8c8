import { describe, expect, it } from 'vitest';
import {
  actionCacheRequestSchema,
  actionCacheResponseSchema,
  describeMiss,
  MAX_LAST_INPUTS,
} from './action-cache.js';
import { explainMiss, sha256Hex, type InputDigest } from './cache-key.js';
import { MAX_MARK_REPOSITORY_CHARS } from './not-reproducible.js';

const h = (text: string): string => sha256Hex(text);

const previous: InputDigest[] = [
  { kind: 'setting', name: 'configuration', digest: h('Release') },
  { kind: 'file', name: 'src/A/A.csproj', digest: h('project') },
  { kind: 'file', name: 'src/A/Class1.cs', digest: h('class One {}') },
  { kind: 'file', name: 'src/A/Old.cs', digest: h('old') },
  { kind: 'reference', name: 'src/B/B.csproj', digest: h('key of B') },
];

describe('describeMiss', () => {
  it('says when there was never an entry', () => {
    expect(describeMiss(explainMiss(undefined, previous))).toBe('no entry for this project yet');
  });

  it('says when the inputs are the same and the entry is gone', () => {
    expect(describeMiss(explainMiss(previous, [...previous]))).toBe(
      'inputs unchanged since the last entry, which is gone (expired, evicted or rejected)',
    );
  });

  it('names a modified file bare', () => {
    const current = previous.map((input) =>
      input.name === 'src/A/Class1.cs' ? { ...input, digest: h('class One { int x; }') } : input,
    );
    expect(describeMiss(explainMiss(previous, current))).toBe('inputs changed: src/A/Class1.cs');
  });

  it('names references, settings, new and removed inputs', () => {
    const current: InputDigest[] = [
      { kind: 'setting', name: 'configuration', digest: h('Debug') },
      { kind: 'file', name: 'src/A/A.csproj', digest: h('project') },
      { kind: 'file', name: 'src/A/Class1.cs', digest: h('class One {}') },
      { kind: 'file', name: 'src/A/New.cs', digest: h('new') },
      { kind: 'reference', name: 'src/B/B.csproj', digest: h('another key of B') },
    ];
    expect(describeMiss(explainMiss(previous, current))).toBe(
      'inputs changed: configuration, src/A/New.cs (new), src/A/Old.cs (removed), reference src/B/B.csproj',
    );
  });

  it('summarises long lists', () => {
    const many = (salt: string): InputDigest[] =>
      Array.from({ length: 25 }, (_, index) => ({
        kind: 'file' as const,
        name: `src/A/File${String(index).padStart(2, '0')}.cs`,
        digest: h(`${salt}${index}`),
      }));
    const text = describeMiss(explainMiss(many('a'), many('b')));
    expect(text).toMatch(/^inputs changed: src\/A\/File00\.cs, .*src\/A\/File09\.cs and 15 more$/);
    expect(text.split(', ')).toHaveLength(10);
  });
});

describe('action-cache wire schemas', () => {
  it('accepts a lookup and refuses malformed keys or extra fields', () => {
    const request = { type: 'lookup', cacheKey: h('k'), kind: 'build', project: 'src/A/A.csproj' };
    expect(actionCacheRequestSchema.safeParse(request).success).toBe(true);
    expect(actionCacheRequestSchema.safeParse({ ...request, cacheKey: 'ABC' }).success).toBe(false);
    expect(actionCacheRequestSchema.safeParse({ ...request, kind: 'deploy' }).success).toBe(false);
    expect(actionCacheRequestSchema.safeParse({ ...request, extra: 1 }).success).toBe(false);
  });

  it('takes an optional, bounded repository URL on a lookup and a not-reproducible refusal on a miss', () => {
    const request = { type: 'lookup', cacheKey: h('k'), kind: 'build', project: 'src/A/A.csproj' };
    const repositoryUrl = 'https://git.example.com/team/app';
    expect(actionCacheRequestSchema.parse({ ...request, repositoryUrl })).toEqual({
      ...request,
      repositoryUrl,
    });
    expect(actionCacheRequestSchema.safeParse({ ...request, repositoryUrl: '' }).success).toBe(false);
    const long = `https://git.example.com/${'a'.repeat(MAX_MARK_REPOSITORY_CHARS)}`;
    expect(actionCacheRequestSchema.safeParse({ ...request, repositoryUrl: long }).success).toBe(false);
    expect(actionCacheResponseSchema.parse({ type: 'miss', refused: 'not-reproducible' })).toEqual({
      type: 'miss',
      refused: 'not-reproducible',
    });
    expect(actionCacheResponseSchema.safeParse({ type: 'miss', refused: 'tired' }).success).toBe(false);
  });

  it('bounds the inputs a miss may carry', () => {
    const input = { kind: 'file', name: 'a.cs', digest: h('a') };
    expect(actionCacheResponseSchema.safeParse({ type: 'miss' }).success).toBe(true);
    expect(actionCacheResponseSchema.safeParse({ type: 'miss', lastInputs: [input] }).success).toBe(true);
    const tooMany = Array.from({ length: MAX_LAST_INPUTS + 1 }, () => input);
    expect(actionCacheResponseSchema.safeParse({ type: 'miss', lastInputs: tooMany }).success).toBe(false);
    expect(
      actionCacheResponseSchema.safeParse({ type: 'miss', lastInputs: [{ ...input, kind: 'env' }] }).success,
    ).toBe(false);
  });
});
