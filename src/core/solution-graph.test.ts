import { describe, expect, it } from 'vitest';
import { CycleDetectedError, InvalidGraphError, InvalidRepoPathError } from './errors.js';
import {
  buildSolutionGraph,
  normaliseRepoPath,
  parseProjectReferences,
  parseSolution,
  resolveRepoPath,
  sortTopologically,
  topologicalOrder,
  topologicalWaves,
} from './solution-graph.js';

const CSHARP = '{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}';
const FOLDER = '{2150E333-8FDC-42A3-9474-1A3956D46DE8}';
const SHARED = '{D954291E-2A0B-460D-934E-DC6B0785DB48}';

/** A .sln as Visual Studio writes it: CRLF, Windows separators, folders nested through NestedProjects. */
const SLN = [
  '',
  'Microsoft Visual Studio Solution File, Format Version 12.00',
  '# Visual Studio Version 17',
  'VisualStudioVersion = 17.0.31903.59',
  'MinimumVisualStudioVersion = 10.0.40219.1',
  `Project("${FOLDER}") = "src", "src", "{00000000-0000-0000-0000-0000000000F1}"`,
  'EndProject',
  `Project("${FOLDER}") = "libs", "libs", "{00000000-0000-0000-0000-0000000000F2}"`,
  '\tProjectSection(SolutionItems) = preProject',
  '\t\tDirectory.Build.props = Directory.Build.props',
  '\tEndProjectSection',
  'EndProject',
  `Project("${CSHARP}") = "App", "src\\App\\App.csproj", "{00000000-0000-0000-0000-000000000001}"`,
  'EndProject',
  `Project("${CSHARP}") = "Core", "src\\libs\\Core\\Core.csproj", "{00000000-0000-0000-0000-000000000002}"`,
  'EndProject',
  `Project("{F2A71F9B-5D33-465A-A702-920D77279786}") = "Fs", "src\\Fs\\Fs.fsproj", "{00000000-0000-0000-0000-000000000003}"`,
  'EndProject',
  `Project("${SHARED}") = "Shared", "src\\Shared\\Shared.shproj", "{00000000-0000-0000-0000-000000000004}"`,
  'EndProject',
  `Project("${CSHARP}") = "Tool", "tools\\Tool\\Tool.csproj", "{00000000-0000-0000-0000-000000000005}"`,
  'EndProject',
  'Global',
  '\tGlobalSection(SolutionConfigurationPlatforms) = preSolution',
  '\t\tDebug|Any CPU = Debug|Any CPU',
  '\tEndGlobalSection',
  '\tGlobalSection(NestedProjects) = preSolution',
  '\t\t{00000000-0000-0000-0000-0000000000F2} = {00000000-0000-0000-0000-0000000000F1}',
  '\t\t{00000000-0000-0000-0000-000000000001} = {00000000-0000-0000-0000-0000000000F1}',
  '\t\t{00000000-0000-0000-0000-000000000002} = {00000000-0000-0000-0000-0000000000F2}',
  '\tEndGlobalSection',
  'EndGlobal',
  '',
].join('\r\n');

const SLNX = `<Solution>
  <!-- <Project Path="commented/Out.csproj" /> -->
  <Folder Name="/src/">
    <Project Path="src/App/App.csproj" />
    <Project Path="src\\Lib\\Lib.csproj" Type="Classic C#">
      <BuildType Project="Release" />
    </Project>
  </Folder>
  <Folder Name="/src/nested/">
    <Project Path='src/nested/N/N.vbproj' />
  </Folder>
  <Folder Name="/Solution Items/">
    <File Path="Directory.Build.props" />
  </Folder>
  <Project Path="Top.csproj" />
  <Project Path="db/Db.sqlproj" />
</Solution>
`;

describe('parseSolution (.sln)', () => {
  it('lists projects with repository paths and folders, and skips folders and non-buildable entries', () => {
    const parsed = parseSolution('Fixture.sln', SLN);
    expect(parsed.projects).toEqual([
      { path: 'src/App/App.csproj', name: 'App', folder: 'src' },
      { path: 'src/libs/Core/Core.csproj', name: 'Core', folder: 'src/libs' },
      { path: 'src/Fs/Fs.fsproj', name: 'Fs', folder: '' },
      { path: 'tools/Tool/Tool.csproj', name: 'Tool', folder: '' },
    ]);
    expect(parsed.folders).toEqual(['src', 'src/libs']);
    expect(parsed.skipped).toEqual([
      { path: 'src/Shared/Shared.shproj', reason: expect.stringContaining('not a') },
    ]);
  });

  it('resolves project paths against the directory of a solution in a subfolder', () => {
    const text = [
      'Microsoft Visual Studio Solution File, Format Version 12.00',
      `Project("${CSHARP}") = "A", "..\\src\\A\\A.csproj", "{00000000-0000-0000-0000-000000000001}"`,
      'EndProject',
      `Project("${CSHARP}") = "B", "B\\B.csproj", "{00000000-0000-0000-0000-000000000002}"`,
      'EndProject',
    ].join('\n');
    expect(parseSolution('build\\All.sln', text).projects.map((p) => p.path)).toEqual([
      'src/A/A.csproj',
      'build/B/B.csproj',
    ]);
  });

  it('rejects a project outside the repository and text that is not a solution', () => {
    const outside = [
      'Microsoft Visual Studio Solution File, Format Version 12.00',
      `Project("${CSHARP}") = "X", "..\\..\\X\\X.csproj", "{00000000-0000-0000-0000-000000000001}"`,
    ].join('\n');
    expect(() => parseSolution('build/All.sln', outside)).toThrow(InvalidRepoPathError);
    expect(() => parseSolution('All.sln', '<Solution />')).toThrow(InvalidGraphError);
    expect(() => parseSolution('All.txt', SLN)).toThrow(InvalidGraphError);
  });
});

describe('parseSolution (.slnx)', () => {
  it('lists projects in folders and at the top level, ignoring comments, files and non-buildable projects', () => {
    const parsed = parseSolution('Fixture.slnx', SLNX);
    expect(parsed.projects).toEqual([
      { path: 'src/App/App.csproj', name: 'App', folder: 'src' },
      { path: 'src/Lib/Lib.csproj', name: 'Lib', folder: 'src' },
      { path: 'src/nested/N/N.vbproj', name: 'N', folder: 'src/nested' },
      { path: 'Top.csproj', name: 'Top', folder: '' },
    ]);
    expect(parsed.folders).toEqual(['Solution Items', 'src', 'src/nested']);
    expect(parsed.skipped.map((entry) => entry.path)).toEqual(['db/Db.sqlproj']);
  });

  it('decodes XML entities in paths and rejects text without <Solution>', () => {
    const text = '<Solution><Project Path="src/R&amp;D/R&amp;D.csproj" /></Solution>';
    expect(parseSolution('x.slnx', text).projects[0]?.path).toBe('src/R&D/R&D.csproj');
    expect(() => parseSolution('x.slnx', '<Project Path="a.csproj" />')).toThrow(InvalidGraphError);
  });
});

describe('parseProjectReferences', () => {
  it('resolves Windows-separated references against the project folder', () => {
    const text = `<Project Sdk="Microsoft.NET.Sdk">
  <ItemGroup>
    <ProjectReference Include="..\\B\\B.csproj" />
    <ProjectReference Include="../C/C.csproj;..\\..\\lib\\D\\D.csproj" Condition="'$(X)' &gt; '1'">
      <Private>false</Private>
    </ProjectReference>
    <!-- <ProjectReference Include="..\\Gone\\Gone.csproj" /> -->
    <ProjectReference Include="$(RepoRoot)src\\E\\E.csproj" />
    <ProjectReference Include="..\\B\\B.csproj" />
    <PackageReference Include="xunit" Version="2.9.3" />
  </ItemGroup>
</Project>`;
    expect(parseProjectReferences('src/A/A.csproj', text)).toEqual({
      references: ['src/B/B.csproj', 'src/C/C.csproj', 'lib/D/D.csproj'],
      unresolved: ['$(RepoRoot)src\\E\\E.csproj'],
    });
  });

  it('rejects a reference that leaves the repository or is absolute', () => {
    const leaves =
      '<Project><ItemGroup><ProjectReference Include="..\\..\\..\\X\\X.csproj" /></ItemGroup></Project>';
    expect(() => parseProjectReferences('src/A/A.csproj', leaves)).toThrow(InvalidRepoPathError);
    const absolute =
      '<Project><ItemGroup><ProjectReference Include="C:\\src\\X.csproj" /></ItemGroup></Project>';
    expect(() => parseProjectReferences('src/A/A.csproj', absolute)).toThrow(/absolute/);
  });
});

describe('repository paths', () => {
  it('normalises separators, dot segments and parent segments', () => {
    expect(normaliseRepoPath('src\\A\\.\\A.csproj')).toBe('src/A/A.csproj');
    expect(normaliseRepoPath('./src//B/../A/A.csproj')).toBe('src/A/A.csproj');
    expect(resolveRepoPath('tests/T', '..\\..\\src\\A\\A.csproj')).toBe('src/A/A.csproj');
  });

  it.each([
    '/etc/passwd',
    '\\\\server\\share\\a.cs',
    'C:\\src\\a.cs',
    'c:/a.cs',
    '../a.cs',
    'src/../..',
    '',
    '.',
  ])('rejects %j', (path) => {
    expect(() => normaliseRepoPath(path)).toThrow(InvalidRepoPathError);
  });
});

/** A diamond plus a tail: D → {B, C} → A, E → D. */
const DIAMOND = [
  { path: 'src/D/D.csproj', references: ['src/B/B.csproj', 'src/C/C.csproj'] },
  { path: 'src/A/A.csproj', references: [] },
  { path: 'src/C/C.csproj', references: ['src/A/A.csproj'] },
  { path: 'src/B/B.csproj', references: ['src/A/A.csproj', 'src\\A\\A.csproj'] },
  { path: 'src/E/E.csproj', references: ['src/D/D.csproj'] },
];

describe('buildSolutionGraph', () => {
  it('builds sorted nodes with deduplicated, normalised references', () => {
    const graph = buildSolutionGraph(DIAMOND);
    expect(graph.projects.map((p) => p.path)).toEqual([
      'src/A/A.csproj',
      'src/B/B.csproj',
      'src/C/C.csproj',
      'src/D/D.csproj',
      'src/E/E.csproj',
    ]);
    expect(graph.projects[1]).toEqual({ path: 'src/B/B.csproj', name: 'B', references: ['src/A/A.csproj'] });
  });

  it('gives a topological order and waves', () => {
    const graph = buildSolutionGraph(DIAMOND);
    expect(topologicalOrder(graph)).toEqual([
      'src/A/A.csproj',
      'src/B/B.csproj',
      'src/C/C.csproj',
      'src/D/D.csproj',
      'src/E/E.csproj',
    ]);
    expect(topologicalWaves(graph)).toEqual([
      ['src/A/A.csproj'],
      ['src/B/B.csproj', 'src/C/C.csproj'],
      ['src/D/D.csproj'],
      ['src/E/E.csproj'],
    ]);
  });

  it('names the cycle in the error', () => {
    const cyclic = [
      { path: 'src/A/A.csproj', references: ['src/B/B.csproj'] },
      { path: 'src/B/B.csproj', references: ['src/C/C.csproj'] },
      { path: 'src/C/C.csproj', references: ['src/A/A.csproj'] },
      { path: 'src/D/D.csproj', references: ['src/A/A.csproj'] },
    ];
    let error: unknown;
    try {
      buildSolutionGraph(cyclic);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CycleDetectedError);
    expect((error as CycleDetectedError).message).toBe(
      'Project reference cycle: A.csproj → B.csproj → C.csproj → A.csproj',
    );
    expect((error as CycleDetectedError).cycle).toEqual([
      'src/A/A.csproj',
      'src/B/B.csproj',
      'src/C/C.csproj',
      'src/A/A.csproj',
    ]);
    expect((error as CycleDetectedError).code).toBe('CycleDetected');
  });

  it('names a self-reference, and uses full paths when file names repeat in the cycle', () => {
    expect(() => buildSolutionGraph([{ path: 'A/A.csproj', references: ['A/A.csproj'] }])).toThrow(
      'Project reference cycle: A.csproj → A.csproj',
    );
    expect(() =>
      buildSolutionGraph([
        { path: 'one/A.csproj', references: ['two/A.csproj'] },
        { path: 'two/A.csproj', references: ['one/A.csproj'] },
      ]),
    ).toThrow('Project reference cycle: one/A.csproj → two/A.csproj → one/A.csproj');
  });

  it('lists every unknown reference and duplicate', () => {
    expect(() =>
      buildSolutionGraph([
        { path: 'a/A.csproj', references: ['b/B.csproj', 'c/C.csproj'] },
        { path: 'a\\A.csproj', references: [] },
      ]),
    ).toThrow(
      "Invalid graph: duplicate node 'a/A.csproj'; 'a/A.csproj' has an unknown reference 'b/B.csproj'; 'a/A.csproj' has an unknown reference 'c/C.csproj'",
    );
  });
});

describe('sortTopologically', () => {
  it('handles 10,000 nodes in a long chain and a wide fan quickly', () => {
    const nodes = Array.from({ length: 10_000 }, (_unused, index) => ({
      id: `n${String(index).padStart(5, '0')}`,
      dependencies: index === 0 ? [] : [`n${String(index - 1).padStart(5, '0')}`, 'n00000'],
    }));
    const started = performance.now();
    const sorted = sortTopologically(nodes);
    expect(performance.now() - started).toBeLessThan(500);
    expect(sorted.levels).toHaveLength(10_000);
    expect(sorted.order[9_999]).toBe('n09999');
  });
});
