import { describe, expect, it } from 'vitest';
import type { BuildJob } from '../../core/models.js';
import {
  buildArgs,
  escapeMsBuildValue,
  packArgs,
  publishArgs,
  restoreArgs,
  testArgs,
} from './dotnet-args.js';

const job: BuildJob = {
  jobId: 'j',
  projectName: 'App',
  repositoryUrl: 'file:///r.git',
  gitRef: 'main',
  solutionPath: 'App.sln',
  configuration: 'Debug',
  targetFramework: 'net10.0',
  platform: 'x64',
  runtimeIdentifier: 'linux-x64',
  buildProperties: { Version: '1.2.3', NoWarn: 'CS1591;CS8618' },
  runTests: true,
  createPackages: true,
  publishArtifacts: true,
  timeoutMinutes: 60,
  metadata: {},
  requesterEmail: null,
};

describe('dotnet arguments', () => {
  it('restores in locked mode only when asked, and forces a fresh restore for Clean', () => {
    expect(restoreArgs(job, { clean: false, lockedMode: false })).not.toContain('--locked-mode');
    expect(restoreArgs(job, { clean: false, lockedMode: true })).toContain('--locked-mode');
    expect(restoreArgs(job, { clean: true, lockedMode: false })).toContain('--force');
  });

  it('passes configuration, framework, platform, RID and properties to build', () => {
    const args = buildArgs(job, { clean: true });
    expect(args.slice(0, 5)).toEqual(['build', 'App.sln', '-c', 'Debug', '--no-restore']);
    expect(args).toEqual(
      expect.arrayContaining(['--no-incremental', '-f', 'net10.0', '-r', 'linux-x64', '-p:Platform=x64']),
    );
    expect(args).toContain('-p:NoWarn=CS1591%3BCS8618');
    expect(args).toContain('-p:Version=1.2.3');
    expect(
      buildArgs({ ...job, platform: 'AnyCPU' }, { clean: false }).some((a) => a.startsWith('-p:Platform')),
    ).toBe(false);
  });

  it('keeps the commit out of the assemblies of an Incremental build, unless the request sets the property', () => {
    const off = '-p:EnableSourceControlManagerQueries=false';
    expect(buildArgs(job, { clean: false, incremental: true })).toContain(off);
    expect(buildArgs(job, { clean: false })).not.toContain(off);
    expect(buildArgs(job, { clean: true, incremental: true })).not.toContain(off);
    const own = buildArgs(
      { ...job, buildProperties: { enablesourcecontrolmanagerqueries: 'true' } },
      { clean: false, incremental: true },
    );
    expect(own).not.toContain(off);
    expect(own).toContain('-p:enablesourcecontrolmanagerqueries=true');
  });

  it('reuses the build configuration, framework and RID for test, pack and publish, with --no-build', () => {
    for (const args of [testArgs(job, '/results'), packArgs(job), publishArgs(job)]) {
      expect(args).toContain('--no-build');
      expect(args).toEqual(expect.arrayContaining(['-c', 'Debug', '-r', 'linux-x64']));
    }
    expect(testArgs(job, '/results')).toEqual(
      expect.arrayContaining(['--logger', 'trx', '--results-directory', '/results', '-f', 'net10.0']),
    );
  });

  it('escapes MSBuild separators in property values', () => {
    expect(escapeMsBuildValue('a;b,c%d')).toBe('a%3Bb%2Cc%25d');
  });
});
