import { describe, expect, it } from 'vitest';
import { ProjectEvaluationError } from '../core/errors.js';
import {
  parseBatchOutput,
  parseGetItemOutput,
  toProjectEvaluation,
  type RawEvaluation,
} from './project-evaluation.js';

const ROOT = '/work/repo';

/** Well-known metadata MSBuild adds to every item, trimmed to a few; the parsers must ignore it. */
const noise = (fullPath: string) => ({
  FullPath: fullPath,
  RootDir: '/',
  Extension: '.cs',
  ModifiedTime: '',
  DefiningProjectFullPath:
    '/usr/share/dotnet/sdk/10.0.401/Sdks/Microsoft.NET.Sdk/targets/Microsoft.NET.Sdk.DefaultItems.props',
});

/** The shape `dotnet msbuild src/Cpm/Cpm.csproj -getProperty:… -getItem:…` prints (SDK 10.0.401), trimmed. */
const GET_ITEM_JSON = {
  Properties: {
    TargetFramework: 'net10.0',
    TargetFrameworks: '',
    IsTestProject: '',
    IsPackable: 'true',
    AssemblyName: 'Cpm',
    OutputType: 'Library',
    NETCoreSdkVersion: '10.0.401',
    RestoreTool: '',
    DirectoryBuildPropsPath: `${ROOT}/Directory.Build.props`,
    DirectoryBuildTargetsPath: '',
    DirectoryPackagesPropsPath: `${ROOT}/Directory.Packages.props`,
  },
  Items: {
    Compile: [
      { Identity: 'C.cs', ...noise(`${ROOT}/src/Cpm/C.cs`) },
      { Identity: '../Shared/Link.cs', Link: 'Link.cs', ...noise(`${ROOT}/src/Shared/Link.cs`) },
      { Identity: '/elsewhere/Outside.cs', ...noise('/elsewhere/Outside.cs') },
    ],
    EmbeddedResource: [{ Identity: 'Strings.resx', ...noise(`${ROOT}/src/Cpm/Strings.resx`) }],
    None: [
      {
        Identity: '/root/.nuget/packages/xunit.runner.visualstudio/3.1.5/build/net8.0/xunit.abstractions.dll',
        ...noise('/root/.nuget/packages/xunit.runner.visualstudio/3.1.5/build/net8.0/xunit.abstractions.dll'),
      },
    ],
    Content: [],
    PackageReference: [
      { Identity: 'xunit', ...noise(`${ROOT}/src/Cpm/xunit`) },
      { Identity: 'xunit.analyzers', VersionOverride: '1.25.0', ...noise(`${ROOT}/src/Cpm/xunit.analyzers`) },
      { Identity: 'Newtonsoft.Json', Version: '13.0.3', ...noise(`${ROOT}/src/Cpm/Newtonsoft.Json`) },
    ],
    PackageVersion: [
      { Identity: 'xunit', Version: '2.9.3', ...noise(`${ROOT}/src/Cpm/xunit`) },
      { Identity: 'xunit.analyzers', Version: '1.26.0', ...noise(`${ROOT}/src/Cpm/xunit.analyzers`) },
    ],
    ProjectReference: [{ Identity: '..\\Multi\\Multi.csproj', ...noise(`${ROOT}/src/Multi/Multi.csproj`) }],
    Reference: [
      { Identity: 'Foo', HintPath: '..\\..\\lib\\Foo.dll', ...noise(`${ROOT}/src/Cpm/Foo`) },
      { Identity: 'System.Xml', ...noise(`${ROOT}/src/Cpm/System.Xml`) },
    ],
  },
};

describe('parseGetItemOutput + toProjectEvaluation', () => {
  it('turns -getProperty/-getItem JSON into repository-relative inputs and references', () => {
    const raw = parseGetItemOutput(GET_ITEM_JSON, `${ROOT}/src/Cpm/Cpm.csproj`);
    expect(toProjectEvaluation('src/Cpm/Cpm.csproj', [raw], ROOT)).toEqual({
      path: 'src/Cpm/Cpm.csproj',
      targetFrameworks: ['net10.0'],
      isTestProject: false,
      isPackable: true,
      assemblyName: 'Cpm',
      outputType: 'Library',
      // Sorted, inside the repository only (not /elsewhere, not the NuGet cache); hint paths resolved.
      inputFiles: ['lib/Foo.dll', 'src/Cpm/C.cs', 'src/Cpm/Strings.resx', 'src/Shared/Link.cs'],
      projectReferences: ['src/Multi/Multi.csproj'],
      // Central package management: the version comes from PackageVersion unless overridden.
      packageReferences: [
        { id: 'Newtonsoft.Json', version: '13.0.3' },
        { id: 'xunit', version: '2.9.3' },
        { id: 'xunit.analyzers', version: '1.25.0' },
      ],
      buildFiles: ['Directory.Build.props', 'Directory.Packages.props'],
      sdkVersion: '10.0.401',
      restored: false,
    });
  });

  it('rejects a project reference outside the repository', () => {
    const json = {
      ...GET_ITEM_JSON,
      Items: { ProjectReference: [{ Identity: '../../../x/X.csproj', FullPath: '/work/x/X.csproj' }] },
    };
    const raw = parseGetItemOutput(json, `${ROOT}/src/Cpm/Cpm.csproj`);
    expect(() => toProjectEvaluation('src/Cpm/Cpm.csproj', [raw], ROOT)).toThrow(ProjectEvaluationError);
    expect(() => toProjectEvaluation('src/Cpm/Cpm.csproj', [raw], ROOT)).toThrow(/outside the repository/);
  });

  it('ignores malformed JSON parts instead of crashing', () => {
    expect(parseGetItemOutput({ Properties: 'x', Items: { Compile: 'nope' } }, `${ROOT}/a.csproj`)).toEqual({
      properties: {},
      items: [],
    });
  });
});

describe('test projects', () => {
  const evaluation = (properties: Record<string, string>, packages: string[]): RawEvaluation => ({
    properties: { TargetFramework: 'net10.0', ...properties },
    items: packages.map((id) => ({
      type: 'PackageReference',
      identity: id,
      fullPath: '',
      metadata: { Version: '1.0.0' },
    })),
  });

  it('trusts IsTestProject, and without a restore counts a Microsoft.NET.Test.Sdk reference as a test project', () => {
    const project = 'tests/T/T.csproj';
    expect(
      toProjectEvaluation(project, [evaluation({ IsTestProject: 'True' }, [])], ROOT).isTestProject,
    ).toBe(true);
    expect(
      toProjectEvaluation(project, [evaluation({}, ['Microsoft.NET.Test.Sdk'])], ROOT).isTestProject,
    ).toBe(true);
    // After a restore the package's props would have said so; their silence is the answer.
    expect(
      toProjectEvaluation(project, [evaluation({ RestoreTool: 'NuGet' }, ['Microsoft.NET.Test.Sdk'])], ROOT)
        .isTestProject,
    ).toBe(false);
    expect(toProjectEvaluation(project, [evaluation({}, ['xunit'])], ROOT).isTestProject).toBe(false);
  });
});

/** The shape of the traversal's `-getTargetResult:BuildMeshEvaluateAll` for a multi-targeting project. */
const BATCH_JSON = {
  TargetResults: {
    BuildMeshEvaluateAll: {
      Result: 'Success',
      Items: [
        {
          Identity: `${ROOT}/src/Multi/Multi.csproj`,
          BuildMeshKind: 'Properties',
          BuildMeshProject: `${ROOT}/src/Multi/Multi.csproj`,
          TargetFramework: 'net8.0',
          TargetFrameworks: 'net8.0;net10.0',
          IsTestProject: '',
          IsPackable: 'true',
          AssemblyName: 'Multi',
          MSBuildSourceProjectFile: `${ROOT}/src/Multi/Multi.csproj`,
          ...noise(`${ROOT}/src/Multi/Multi.csproj`),
        },
        {
          Identity: `${ROOT}/src/Multi/A.cs`,
          BuildMeshKind: 'Compile',
          BuildMeshProject: `${ROOT}/src/Multi/Multi.csproj`,
          // Items come back through the traversal: FullPath is relative to it, Identity is the truth.
          ...noise('/tmp/buildmesh-eval-x/src/Multi/A.cs'),
        },
        {
          Identity: `${ROOT}/src/Shared/OnlyNet8.cs`,
          BuildMeshKind: 'Compile',
          BuildMeshProject: `${ROOT}/src/Multi/Multi.csproj`,
          ...noise('/tmp/x'),
        },
        {
          Identity: `${ROOT}/src/Multi/Multi.csproj`,
          BuildMeshKind: 'Properties',
          BuildMeshProject: `${ROOT}/src/Multi/Multi.csproj`,
          TargetFramework: 'net10.0',
          TargetFrameworks: 'net8.0;net10.0',
          IsTestProject: '',
          IsPackable: 'true',
          AssemblyName: 'Multi',
          ...noise(`${ROOT}/src/Multi/Multi.csproj`),
        },
        {
          Identity: `${ROOT}/src/Multi/Multi.csproj`,
          BuildMeshKind: 'Properties',
          BuildMeshProject: `${ROOT}/src/Multi/Multi.csproj`,
          TargetFramework: '',
          TargetFrameworks: 'net8.0;net10.0',
          IsTestProject: '',
          IsPackable: 'false',
          AssemblyName: 'Multi',
          ...noise(`${ROOT}/src/Multi/Multi.csproj`),
        },
        {
          Identity: 'xunit',
          BuildMeshKind: 'PackageReference',
          BuildMeshProject: `${ROOT}/src/Other/Other.csproj`,
          Version: '2.9.3',
        },
        {
          Identity: `${ROOT}/src/Other/Other.csproj`,
          BuildMeshKind: 'Properties',
          BuildMeshProject: `${ROOT}/src/Other/Other.csproj`,
          TargetFramework: 'net10.0',
          AssemblyName: 'Other',
        },
        { Identity: 'stray', BuildMeshKind: 'Compile' },
      ],
    },
  },
};

describe('parseBatchOutput', () => {
  it('groups evaluations by project and unions the frameworks', () => {
    const byProject = parseBatchOutput(BATCH_JSON);
    expect([...byProject.keys()]).toEqual([
      `${ROOT}/src/Multi/Multi.csproj`,
      `${ROOT}/src/Other/Other.csproj`,
    ]);
    const multi = toProjectEvaluation(
      'src/Multi/Multi.csproj',
      byProject.get(`${ROOT}/src/Multi/Multi.csproj`) ?? [],
      ROOT,
    );
    expect(multi).toMatchObject({
      targetFrameworks: ['net8.0', 'net10.0'],
      // The outer build's properties win for packing.
      isPackable: false,
      inputFiles: ['src/Multi/A.cs', 'src/Shared/OnlyNet8.cs'],
    });
    const other = toProjectEvaluation(
      'src/Other/Other.csproj',
      byProject.get(`${ROOT}/src/Other/Other.csproj`) ?? [],
      ROOT,
    );
    expect(other.packageReferences).toEqual([{ id: 'xunit', version: '2.9.3' }]);
  });

  it('returns nothing for output that is not a target result', () => {
    expect(parseBatchOutput({ Properties: {} }).size).toBe(0);
    expect(parseBatchOutput(null).size).toBe(0);
  });
});
