import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { persistentWorkspaceKey } from '../../src/agent/persistent-workspaces.js';
import type { PeerBuildResult, ReproducibilityReport, TaskTimelineEntry } from '../../src/core/models.js';
import { normalizeRepositoryUrl } from '../../src/core/not-reproducible.js';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import {
  api,
  removeDir,
  startTestNode,
  waitFor,
  waitForBuild,
  type BuildBody,
  type TestNode,
  apiFetch,
} from '../helpers/node-harness.js';
import { startNodeProcess, type NodeProcess } from '../helpers/node-process.js';

const execFileAsync = promisify(execFile);

interface CanaryBody extends BuildBody {
  peerResults: PeerBuildResult[];
  reproducibility: ReproducibilityReport | null;
}

async function agentIdOf(url: string): Promise<string> {
  const agents = (
    await api<{ agents: { agentId: string; isLocal: boolean }[] }>(url, 'GET', '/api/v1/agents')
  ).body.agents;
  return agents.find((agent) => agent.isLocal)?.agentId ?? '';
}

/**
 * A build step that is not deterministic: an MSBuild target writes the current time into a file
 * that is embedded in the library's assembly, so two builds never give the same dll.
 */
async function makeNondeterministic(repo: GeneratedRepo, projectPath: string): Promise<void> {
  const file = join(repo.workingCopyPath, projectPath);
  const project = await readFile(file, 'utf8');
  const target = `  <Target Name="StampBuildTime" BeforeTargets="BeforeBuild">
    <WriteLinesToFile File="$(IntermediateOutputPath)stamp.txt" Lines="$([System.DateTime]::UtcNow.Ticks)" Overwrite="true" />
    <ItemGroup>
      <EmbeddedResource Include="$(IntermediateOutputPath)stamp.txt" LogicalName="BuildStamp.txt" />
    </ItemGroup>
  </Target>
</Project>`;
  await writeFile(file, project.replace('</Project>', target));
  const git = (...args: string[]) => execFileAsync('git', args, { cwd: repo.workingCopyPath });
  await git(
    '-c',
    'user.name=Fixture',
    '-c',
    'user.email=fixture@buildmesh.invalid',
    'commit',
    '-qam',
    'stamp',
  );
  await git('push', '-q', 'origin', 'main');
}

describe('Canary builds and the reproducibility check on three peers', () => {
  let root: string;
  let a: TestNode;
  const processes: NodeProcess[] = [];
  const ids: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
  const dataDirs: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
  const repos: Record<'ok' | 'failing' | 'nondeterministic', GeneratedRepo | null> = {
    ok: null,
    failing: null,
    nondeterministic: null,
  };

  const submit = async (repo: GeneratedRepo, body: Record<string, unknown>): Promise<CanaryBody> => {
    const submitted = await api<{ executionId: string }>(a.url, 'POST', '/api/v1/builds', {
      repositoryUrl: repo.repositoryUrl,
      solutionPath: repo.solutionPath,
      gitRef: 'main',
      ...body,
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    return (await waitForBuild(a.url, submitted.body.executionId, 600_000)) as unknown as CanaryBody;
  };

  /**
   * Whether a peer ran anything of this repository: a Clean build (the canary, a fan-out) leaves
   * the kept workspace of the repository and solution, any other build one named after the build
   * (B and C keep theirs). Each repository is built by one test only.
   */
  const ranOn = (name: 'a' | 'b' | 'c', repo: GeneratedRepo, executionId: string) =>
    existsSync(
      join(
        dataDirs[name],
        'workspaces',
        '.repos',
        persistentWorkspaceKey(repo.repositoryUrl, repo.solutionPath),
      ),
    ) || existsSync(join(dataDirs[name], 'workspaces', executionId));
  const nameOf = (agentId: string) =>
    (['a', 'b', 'c'] as const).find((name) => ids[name] === agentId) ?? 'unknown';

  /** A counter of node A's `/metrics`, 0 when the series is not there yet. */
  const metric = async (name: string, labels: string): Promise<number> => {
    const text = await (await apiFetch(`${a.url}/metrics`)).text();
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}} `));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  const CANARY = 'build_canary_total';
  const CHECKS = 'build_reproducibility_checks_total';
  const counters = async () => ({
    passed: await metric(CANARY, 'result="passed"'),
    tests: await metric(CANARY, 'result="tests"'),
    reproducible: await metric(CHECKS, 'result="reproducible"'),
    notReproducible: await metric(CHECKS, 'result="not_reproducible"'),
  });
  type Counters = Awaited<ReturnType<typeof counters>>;
  /** Waits until the counters moved by exactly `delta` (the others stayed). */
  const expectCounters = async (before: Counters, delta: Partial<Counters>) => {
    const wanted: Counters = {
      passed: before.passed + (delta.passed ?? 0),
      tests: before.tests + (delta.tests ?? 0),
      reproducible: before.reproducible + (delta.reproducible ?? 0),
      notReproducible: before.notReproducible + (delta.notReproducible ?? 0),
    };
    let last = before;
    await waitFor(
      `metrics ${JSON.stringify(wanted)}`,
      async () => {
        last = await counters();
        return JSON.stringify(last) === JSON.stringify(wanted);
      },
      10_000,
    ).catch(() => undefined);
    expect(last).toEqual(wanted);
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-canary-'));
    const small = { root, width: 2, depth: 1, extraCommits: 0 } as const;
    repos.ok = await generateSolutionRepo({ ...small, name: 'ok' });
    repos.failing = await generateSolutionRepo({ ...small, name: 'failing', variant: 'failing-test' });
    repos.nondeterministic = await generateSolutionRepo({ ...small, name: 'nondet' });
    await makeNondeterministic(repos.nondeterministic, repos.nondeterministic.libraryProjects[0]!);

    dataDirs.a = join(root, 'a');
    a = await startTestNode({ dataDir: dataDirs.a });
    ids.a = a.node.agentId;
    const joinCode = await runCliInProcess(['mesh', 'join-code', '--data-dir', dataDirs.a]);
    expect(joinCode.code, joinCode.stderr).toBe(0);
    for (const name of ['b', 'c'] as const) {
      dataDirs[name] = join(root, name);
      const started = await startNodeProcess(dataDirs[name], [
        '--join',
        joinCode.stdout.trim(),
        '--keep-workspaces',
      ]);
      processes.push(started);
      ids[name] = await agentIdOf(started.url);
    }
    await waitFor(
      'node A to see B and C idle',
      async () => {
        const agents = (await api<{ agents: { status: string }[] }>(a.url, 'GET', '/api/v1/agents')).body
          .agents;
        return agents.filter((agent) => agent.status === 'Idle').length === 3;
      },
      60_000,
    );
  }, 180_000);

  afterAll(async () => {
    for (const started of processes) started.child.kill('SIGKILL');
    await a?.stop();
    await removeDir(root);
  });

  it('fans a passing canary out to the other two peers, with reproducible outputs', async () => {
    const repo = repos.ok!;
    const before = await counters();
    const build = await submit(repo, { strategy: 'Canary', maxWarnings: 0 });
    expect(build.status, build.errorMessage ?? '').toBe('Succeeded');
    expect(build.peerResults).toHaveLength(3);
    expect(new Set(build.peerResults.map((result) => result.agentId))).toEqual(
      new Set([ids.a, ids.b, ids.c]),
    );
    expect(build.peerResults.filter((result) => result.role === 'canary')).toHaveLength(1);
    for (const result of build.peerResults) {
      expect(result, JSON.stringify(result)).toMatchObject({
        status: 'Succeeded',
        failedGate: null,
        testResults: { total: repo.testCount, passed: repo.testCount, failed: 0 },
      });
    }
    // The canary is a Clean build with the full tests; its artifacts are the build's.
    expect(build.testResults).toMatchObject({ total: repo.testCount, failed: 0 });
    expect(build.artifacts.length).toBeGreaterThan(0);
    expect(build.reproducibility, JSON.stringify(build.reproducibility)).toMatchObject({
      reproducible: true,
      differences: [],
    });
    expect(build.reproducibility!.checkedOn).toHaveLength(3);
    const log = await (await apiFetch(`${a.url}/api/v1/builds/${build.executionId}/logs`)).text();
    expect(log).toContain('Canary passed');
    expect(log).toContain('-p:ContinuousIntegrationBuild=true');
    expect(log).toContain('-p:PathMap=');
    // The build's event stream told each peer's outcome and the report as they came (`checks`).
    const stream = await (
      await apiFetch(`${a.url}/api/v1/builds/${build.executionId}/events`, {
        headers: { 'last-event-id': '0' },
      })
    ).text();
    const checks = stream
      .split('\n\n')
      .filter((block) => block.includes('\nevent: checks\n'))
      .map(
        (block) =>
          JSON.parse(block.slice(block.indexOf('\ndata: ') + '\ndata: '.length)) as {
            peerResults: PeerBuildResult[];
            reproducibility: ReproducibilityReport | null;
          },
      );
    expect(checks.length).toBeGreaterThanOrEqual(3);
    expect(checks[0]!.peerResults.map((result) => result.role)).toEqual(['canary']);
    expect(checks.at(-1)).toMatchObject({ reproducibility: { reproducible: true } });
    expect(checks.at(-1)!.peerResults).toHaveLength(3);
    // Every peer built it, and its workspace shows it (what the failing canary's test relies on).
    for (const name of ['a', 'b', 'c'] as const) expect(ranOn(name, repo, build.executionId)).toBe(true);
    await expectCounters(before, { passed: 1, reproducible: 1 });
  }, 600_000);

  it('stops after a canary whose tests fail: no other peer gets work and nothing is published', async () => {
    const repo = repos.failing!;
    const before = await counters();
    const build = await submit(repo, { strategy: 'Canary' });
    expect(build.status).toBe('Failed');
    expect(build.errorMessage).toContain('tests gate');
    expect(build.errorMessage).toContain('100% must pass');
    expect(build.peerResults).toHaveLength(1);
    const [canary] = build.peerResults;
    expect(canary).toMatchObject({ role: 'canary', status: 'Failed', failedGate: 'tests' });
    expect(canary!.testResults?.failed).toBe(1);
    expect(build.artifacts).toEqual([]);
    expect(build.reproducibility ?? null).toBeNull();
    // The canary's peer has the workspace; the other two never received the build.
    const canaryPeer = nameOf(canary!.agentId);
    expect(canaryPeer).not.toBe('unknown');
    for (const name of ['a', 'b', 'c'] as const)
      expect(ranOn(name, repo, build.executionId), `peer ${name}`).toBe(name === canaryPeer);
    const log = await (await apiFetch(`${a.url}/api/v1/builds/${build.executionId}/logs`)).text();
    expect(log).not.toContain('Fanning out');
    await expectCounters(before, { tests: 1 });
  }, 600_000);

  // Two multi-peer builds (a canary with its fan-out, then a verified build): twice the time.
  it('reports a build with a timestamp in an embedded resource as not reproducible, naming the project and the dll', async () => {
    const repo = repos.nondeterministic!;
    const library = repo.libraryProjects[0]!;
    const before = await counters();
    const build = await submit(repo, { strategy: 'Canary' });
    expect(build.status, build.errorMessage ?? '').toBe('Succeeded');
    expect(build.peerResults.every((result) => result.status === 'Succeeded')).toBe(true);
    const report = build.reproducibility!;
    expect(report.reproducible).toBe(false);
    expect(report.differences).toContainEqual({
      project: dirname(library),
      file: `${basename(library, '.csproj')}.dll`,
      reason: 'content differs',
    });
    // Only the stamped library (and its symbols) differ; its dependents are not blamed for its dll.
    expect(new Set(report.differences.map((difference) => difference.project))).toEqual(
      new Set([dirname(library)]),
    );
    const marked = JSON.parse(
      await readFile(join(dataDirs.a, 'action-cache', 'not-reproducible.json'), 'utf8'),
    ) as { marks: { repositoryUrl: string | null; project: string }[] };
    expect(marked.marks).toContainEqual({
      repositoryUrl: normalizeRepositoryUrl(repo.repositoryUrl),
      project: dirname(library),
    });
    await expectCounters(before, { passed: 1, notReproducible: 1 });

    // The same check on demand for an ordinary build: a second peer repeats it.
    const verified = await submit(repo, { strategy: 'Incremental', verify: true });
    expect(verified.status, verified.errorMessage ?? '').toBe('Succeeded');
    expect(verified.peerResults.map((result) => result.role).sort()).toEqual(['verify', 'verify']);
    expect(verified.reproducibility).toMatchObject({ reproducible: false });
    expect(verified.reproducibility!.differences.map((difference) => difference.project)).toContain(
      dirname(library),
    );
    // A verify build is no canary, but its check counts.
    await expectCounters(before, { passed: 1, notReproducible: 2 });
  }, 1_200_000);

  it('verifies a Distributed build project by project: only the stamped library is named, with its dll', async () => {
    const repo = repos.nondeterministic!;
    const library = repo.libraryProjects[0]!;
    const name = basename(library, '.csproj');
    const before = await counters();
    const build = (await submit(repo, { strategy: 'Distributed', verify: true })) as CanaryBody & {
      timeline: TaskTimelineEntry[];
      options: { verify: boolean; schedule: string };
    };
    expect(build.status, build.errorMessage ?? '').toBe('Succeeded');
    // The detail echoes the toggles, so a rebuild repeats the check.
    expect(build.options).toMatchObject({ verify: true, schedule: 'critical-path' });
    const builds = build.timeline.filter((task) => task.kind === 'build');
    const verifies = build.timeline.filter((task) => task.kind === 'verify');
    expect(builds.length).toBe(repo.projectCount);
    // Every project was built a second time, on a peer other than the one that built it first.
    expect(verifies.map((task) => task.project).sort()).toEqual(builds.map((task) => task.project).sort());
    for (const verify of verifies) {
      const first = builds.find((task) => task.project === verify.project)!;
      expect(verify.agentId, verify.project).not.toBe(first.agentId);
      expect(verify.agentId, verify.project).not.toBeNull();
      expect(verify.status, `${verify.project}: ${verify.message}`).toBe(
        verify.project === library ? 'Failed' : 'Succeeded',
      );
    }
    // Second builds ran in workspaces of their own, apart from the build's own tasks.
    for (const peer of new Set(verifies.map((task) => nameOf(task.agentId!))))
      expect(
        existsSync(
          join(dataDirs[peer as keyof typeof dataDirs], 'workspaces', `tasks-${build.executionId}-verify`),
        ),
        `peer ${peer}`,
      ).toBe(true);
    const report = build.reproducibility!;
    expect(report.reproducible).toBe(false);
    expect(report.differences).toContainEqual({
      project: dirname(library),
      file: `bin/Release/net10.0/${name}.dll`,
      reason: 'content differs',
    });
    // Its dependents were built against the same outputs of it twice: they are not blamed.
    expect(new Set(report.differences.map((difference) => difference.project))).toEqual(
      new Set([dirname(library)]),
    );
    const log = await (await apiFetch(`${a.url}/api/v1/builds/${build.executionId}/logs`)).text();
    expect(log).toMatch(new RegExp(`\\[${name}@[^\\]]+ verify\\] `));
    expect(log).toContain(`Not reproducible: ${dirname(library)}: bin/Release/net10.0/${name}.dll`);
    await expectCounters(before, { notReproducible: 1 });
  }, 600_000);

  it('a peer that learned the mark over presence never takes the stamped library from the cache, though peers hold entries of it', async () => {
    const repo = repos.nondeterministic!;
    const library = repo.libraryProjects[0]!;
    const bUrl = processes[0]!.url;
    // B heard A's mark on presence and kept it.
    await waitFor(
      'B to keep the mark of the stamped library',
      async () => {
        const text = await readFile(join(dataDirs.b, 'action-cache', 'not-reproducible.json'), 'utf8').catch(
          () => '{"marks":[]}',
        );
        return (JSON.parse(text) as { marks: { project: string }[] }).marks.some(
          (mark) => mark.project === dirname(library),
        );
      },
      15_000,
    );
    // The properties a verify build adds, so that the keys are those of the verified build's entries.
    const git = (...args: string[]) => execFileAsync('git', args, { cwd: repo.workingCopyPath });
    const commit = (await git('rev-parse', 'HEAD')).stdout.trim();
    const submitted = await api<{ executionId: string }>(bUrl, 'POST', '/api/v1/builds', {
      repositoryUrl: repo.repositoryUrl,
      solutionPath: repo.solutionPath,
      gitRef: 'main',
      strategy: 'Cached',
      buildProperties: {
        ContinuousIntegrationBuild: 'true',
        Deterministic: 'true',
        EnableSourceControlManagerQueries: 'false',
        SourceRevisionId: commit,
      },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const build = (await waitForBuild(bUrl, submitted.body.executionId, 600_000)) as unknown as BuildBody & {
      timeline: TaskTimelineEntry[];
    };
    expect(build.status, build.errorMessage ?? '').toBe('Succeeded');
    const builds = build.timeline.filter((task) => task.kind === 'build');
    const stamped = builds.find((task) => task.project === library)!;
    expect(stamped.cache).toBe('miss');
    expect(stamped.missReason).toContain('not reproducible');
    // Everything else came from the verified build's entries.
    expect(builds.filter((task) => task.cache !== 'hit').map((task) => task.project)).toEqual([library]);
  }, 600_000);
});
