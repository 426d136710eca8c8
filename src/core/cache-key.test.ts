import { describe, expect, it } from 'vitest';
import {
  ambientFilesFor,
  cacheKeyFromInputs,
  computeCacheKey,
  explainMiss,
  sha256Hex,
  type CacheKeyInput,
} from './cache-key.js';
import { InvalidCacheKeyInputError } from './errors.js';

const h = (text: string): string => sha256Hex(text);

function baseInput(): CacheKeyInput {
  return {
    kind: 'build',
    project: { path: 'src/A/A.csproj', sha256: h('<Project Sdk="Microsoft.NET.Sdk" />') },
    inputs: [
      { path: 'src/A/Class1.cs', sha256: h('class One {}') },
      { path: 'src/A/Class2.cs', sha256: h('class Two {}') },
      { path: 'src/A/Resources/strings.resx', sha256: h('<root />') },
      { path: 'README.md', sha256: h('# readme') },
    ],
    ambient: [
      { path: 'Directory.Build.props', sha256: h('<Project />') },
      { path: 'global.json', sha256: h('{}') },
      { path: 'NuGet.config', sha256: h('<configuration />') },
    ],
    references: [
      { project: 'src/B/B.csproj', digest: h('key of B') },
      { project: 'src/C/C.csproj', digest: h('key of C') },
    ],
    configuration: 'Release',
    targetFramework: 'net10.0',
    runtimeIdentifier: '',
    platform: 'AnyCPU',
    properties: { ContinuousIntegrationBuild: 'true', Version: '1.2.3', DefineConstants: 'A;B' },
    sdkVersion: '10.0.401',
  };
}

/** A seeded shuffle (mulberry32), so a failure can be replayed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}

describe('computeCacheKey', () => {
  it('is a sha256 that does not depend on the order of inputs, ambient files, references or properties', () => {
    const base = computeCacheKey(baseInput());
    expect(base.key).toMatch(/^[0-9a-f]{64}$/);
    for (let seed = 1; seed <= 20; seed++) {
      const input = baseInput();
      const properties = Object.fromEntries(shuffled(Object.entries(input.properties), seed));
      const again = computeCacheKey({
        ...input,
        inputs: shuffled(input.inputs, seed),
        ambient: shuffled(input.ambient, seed + 100),
        references: shuffled(input.references, seed + 200),
        properties,
      });
      expect(again.key).toBe(base.key);
      expect(again.inputs).toEqual(base.inputs);
    }
  });

  it('matches an independent implementation of the encoding (a contract: change CACHE_KEY_FORMAT to change it)', () => {
    expect(computeCacheKey(baseInput()).key).toBe(
      '840820fd1ccfee29498f0a8c86ebab8cae143fd445299e22521b4d741ca82cdf',
    );
  });

  const changes: [string, (input: CacheKeyInput) => CacheKeyInput, string[]][] = [
    ['task kind', (i) => ({ ...i, kind: 'pack' }), ['kind']],
    [
      'project file content',
      (i) => ({ ...i, project: { ...i.project, sha256: h('other') } }),
      ['src/A/A.csproj'],
    ],
    [
      'project file path',
      (i) => ({ ...i, project: { ...i.project, path: 'src/A/A2.csproj' } }),
      ['project', 'src/A/A.csproj', 'src/A/A2.csproj'],
    ],
    [
      'one input file content',
      (i) => ({
        ...i,
        inputs: i.inputs.map((f, n) => (n === 0 ? { ...f, sha256: h('class One { int x; }') } : f)),
      }),
      ['src/A/Class1.cs'],
    ],
    [
      'one input file path (renamed)',
      (i) => ({ ...i, inputs: i.inputs.map((f, n) => (n === 1 ? { ...f, path: 'src/A/Class3.cs' } : f)) }),
      ['src/A/Class2.cs', 'src/A/Class3.cs'],
    ],
    [
      'an added input file',
      (i) => ({ ...i, inputs: [...i.inputs, { path: 'src/A/New.cs', sha256: h('x') }] }),
      ['src/A/New.cs'],
    ],
    ['a removed input file', (i) => ({ ...i, inputs: i.inputs.slice(1) }), ['src/A/Class1.cs']],
    [
      'Directory.Build.props',
      (i) => ({
        ...i,
        ambient: i.ambient.map((f) =>
          f.path === 'Directory.Build.props' ? { ...f, sha256: h('changed') } : f,
        ),
      }),
      ['Directory.Build.props'],
    ],
    [
      'a new lock file',
      (i) => ({
        ...i,
        ambient: [...i.ambient, { path: 'src/A/packages.lock.json', sha256: h('{"version":1}') }],
      }),
      ['src/A/packages.lock.json'],
    ],
    [
      'a referenced project key',
      (i) => ({
        ...i,
        references: i.references.map((r, n) => (n === 0 ? { ...r, digest: h('new key of B') } : r)),
      }),
      ['reference src/B/B.csproj'],
    ],
    [
      'a dropped reference',
      (i) => ({ ...i, references: i.references.slice(1) }),
      ['reference src/B/B.csproj'],
    ],
    ['configuration', (i) => ({ ...i, configuration: 'Debug' }), ['configuration']],
    ['target framework', (i) => ({ ...i, targetFramework: 'net9.0' }), ['targetFramework']],
    ['runtime identifier', (i) => ({ ...i, runtimeIdentifier: 'linux-x64' }), ['runtimeIdentifier']],
    ['platform', (i) => ({ ...i, platform: 'x64' }), ['platform']],
    [
      'a property value',
      (i) => ({ ...i, properties: { ...i.properties, Version: '1.2.4' } }),
      ['property Version'],
    ],
    [
      'an added property',
      (i) => ({ ...i, properties: { ...i.properties, Deterministic: 'true' } }),
      ['property Deterministic'],
    ],
    ['SDK version', (i) => ({ ...i, sdkVersion: '10.0.402' }), ['sdkVersion']],
  ];

  it.each(changes)('changes when the %s changes, and explainMiss names it', (_what, change, expected) => {
    const before = computeCacheKey(baseInput());
    const after = computeCacheKey(change(baseInput()));
    expect(after.key).not.toBe(before.key);
    const explanation = explainMiss(before.inputs, after.inputs);
    expect(explanation).toMatchObject({ reason: 'changed', inputs: expected });
  });

  it('counts a file listed as an input and as an ambient file once', () => {
    const input = baseInput();
    const twice = computeCacheKey({
      ...input,
      inputs: [...input.inputs, { path: 'global.json', sha256: h('{}') }],
    });
    expect(twice.key).toBe(computeCacheKey(input).key);
  });

  it('keeps length-prefixed fields apart: moving characters between name and value changes the key', () => {
    const a = computeCacheKey({ ...baseInput(), properties: { AB: 'C' } });
    const b = computeCacheKey({ ...baseInput(), properties: { A: 'BC' } });
    expect(a.key).not.toBe(b.key);
  });

  it('is reproducible from the stored digest list', () => {
    const key = computeCacheKey(baseInput());
    expect(cacheKeyFromInputs(shuffled(key.inputs, 7))).toBe(key.key);
    expect(JSON.stringify(key.inputs)).not.toContain('Release');
  });

  const rejected: [string, (input: CacheKeyInput) => CacheKeyInput, RegExp][] = [
    [
      'an absolute input path',
      (i) => ({ ...i, inputs: [{ path: '/home/me/repo/src/A/Class1.cs', sha256: h('x') }] }),
      /absolute/,
    ],
    [
      'a Windows absolute path',
      (i) => ({ ...i, ambient: [{ path: 'C:\\repo\\global.json', sha256: h('x') }] }),
      /absolute/,
    ],
    [
      'a UNC project path',
      (i) => ({ ...i, project: { path: '\\\\server\\share\\A.csproj', sha256: h('x') } }),
      /absolute/,
    ],
    [
      'an absolute reference',
      (i) => ({ ...i, references: [{ project: '/repo/src/B/B.csproj', digest: h('b') }] }),
      /absolute/,
    ],
    [
      'an absolute property value',
      (i) => ({ ...i, properties: { OutputPath: '/tmp/out/' } }),
      /absolute path/,
    ],
    [
      'an absolute path inside a list value',
      (i) => ({ ...i, properties: { Paths: 'a;D:\\x' } }),
      /absolute path/,
    ],
    [
      'a backslash path',
      (i) => ({ ...i, inputs: [{ path: 'src\\A\\Class1.cs', sha256: h('x') }] }),
      /expected 'src\/A\/Class1.cs'/,
    ],
    [
      'a path leaving the repository',
      (i) => ({ ...i, inputs: [{ path: '../other/x.cs', sha256: h('x') }] }),
      /leaves/,
    ],
    [
      'an upper-case digest',
      (i) => ({ ...i, inputs: [{ path: 'a.cs', sha256: h('x').toUpperCase() }] }),
      /lowercase hex/,
    ],
    [
      'two hashes for one path',
      (i) => ({ ...i, ambient: [...i.ambient, { path: 'global.json', sha256: h('other') }] }),
      /two different hashes/,
    ],
    [
      'one property in two spellings',
      (i) => ({ ...i, properties: { Version: '1', version: '2' } }),
      /same property/,
    ],
    ['an empty SDK version', (i) => ({ ...i, sdkVersion: '' }), /sdkVersion: must not be empty/],
    [
      'a self-reference',
      (i) => ({ ...i, references: [{ project: 'src/A/A.csproj', digest: h('a') }] }),
      /itself/,
    ],
  ];

  it.each(rejected)('rejects %s', (_what, change, message) => {
    expect(() => computeCacheKey(change(baseInput()))).toThrow(InvalidCacheKeyInputError);
    expect(() => computeCacheKey(change(baseInput()))).toThrow(message);
  });

  it('lists every problem at once', () => {
    const input: CacheKeyInput = {
      ...baseInput(),
      project: { path: '/abs/A.csproj', sha256: 'nope' },
      sdkVersion: '',
      properties: { OutputPath: '/tmp' },
    };
    try {
      computeCacheKey(input);
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidCacheKeyInputError).problems.map((p) => p.field).sort()).toEqual([
        'project',
        'properties.OutputPath',
        'sdkVersion',
      ]);
    }
  });
});

describe('explainMiss', () => {
  it('says no-entry without a previous entry, and inputs-unchanged when the entry is gone', () => {
    const key = computeCacheKey(baseInput());
    expect(explainMiss(undefined, key.inputs)).toEqual({ reason: 'no-entry' });
    expect(explainMiss(shuffled(key.inputs, 3), key.inputs)).toEqual({ reason: 'inputs-unchanged' });
  });

  it('reports added, removed and modified inputs, settings first, then properties, files and references', () => {
    const before = computeCacheKey(baseInput());
    const input = baseInput();
    const after = computeCacheKey({
      ...input,
      configuration: 'Debug',
      inputs: [...input.inputs.slice(1), { path: 'src/A/Class9.cs', sha256: h('nine') }],
      references: [{ project: 'src/B/B.csproj', digest: h('new key of B') }, ...input.references.slice(1)],
    });
    expect(explainMiss(before.inputs, after.inputs)).toEqual({
      reason: 'changed',
      inputs: ['configuration', 'src/A/Class1.cs', 'src/A/Class9.cs', 'reference src/B/B.csproj'],
      changes: [
        { kind: 'setting', name: 'configuration', change: 'modified' },
        { kind: 'file', name: 'src/A/Class1.cs', change: 'removed' },
        { kind: 'file', name: 'src/A/Class9.cs', change: 'added' },
        { kind: 'reference', name: 'src/B/B.csproj', change: 'modified' },
      ],
    });
  });
});

describe('ambientFilesFor', () => {
  const repoFiles = [
    'Directory.Build.props',
    'Directory.Packages.props',
    'global.json',
    'nuget.config',
    '.editorconfig',
    'README.md',
    'src/Directory.Build.targets',
    'src/A/A.csproj',
    'src/A/packages.lock.json',
    'src/A/.editorconfig',
    'src/AB/Directory.Build.props',
    'src/AB/packages.lock.json',
    'src/B/packages.B.lock.json',
    'tests/Directory.Build.props',
  ];

  it('takes the build files of the project folder and every folder above, and only its own lock file', () => {
    expect(ambientFilesFor('src/A/A.csproj', repoFiles)).toEqual([
      '.editorconfig',
      'Directory.Build.props',
      'Directory.Packages.props',
      'global.json',
      'nuget.config',
      'src/A/.editorconfig',
      'src/A/packages.lock.json',
      'src/Directory.Build.targets',
    ]);
    expect(ambientFilesFor('src/B/B.csproj', repoFiles)).toContain('src/B/packages.B.lock.json');
    expect(ambientFilesFor('Top.csproj', repoFiles)).not.toContain('src/Directory.Build.targets');
  });
});
