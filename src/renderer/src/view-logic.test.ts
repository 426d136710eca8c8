import { describe, expect, it } from 'vitest';
import { BUILD_STRATEGIES, type PeerBuildResult, type TaskTimelineEntry } from '../../core/models.js';
import { chooseToken, normalisePastedToken, tokenFromFragment } from './auth-token.js';
import {
  buildRequestBody,
  DEFAULT_FORM,
  fieldErrors,
  firstInvalidField,
  formValuesFromBuild,
  verifyHint,
} from './build-form.js';
import { EMPTY_FILTER, filterBuilds, isFiltering } from './build-filters.js';
import { formatBytes, formatMs, formatRatio, shortHash } from './format.js';
import {
  firstErrorIndex,
  highlightParts,
  LogLineSplitter,
  parseLogLine,
  searchLog,
  stepMatch,
} from './log-view.js';
import { coalesce, LiveEventHub, parseLiveEvent } from './node-events.js';
import { parseRoute, routeHref } from './route.js';
import {
  barTone,
  cacheHitRate,
  criticalPath,
  isVerifyTask,
  layoutTimeline,
  shortPeerId,
  taskCountLabel,
  timeTicks,
} from './timeline-layout.js';
import { vi } from 'vitest';
import { agentStatusTone, buildStatusTone, peerBuildStatusTone, stageStatusTone } from './status-tone.js';
import {
  hasChecks,
  peerCheckRows,
  peerNamer,
  reproducibilityVerdict,
  type ChecksSource,
} from './checks-view.js';

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, seconds)).toISOString();

const task = (id: string, overrides: Partial<TaskTimelineEntry>): TaskTimelineEntry => ({
  taskId: `build:src/${id}/${id}.csproj`,
  kind: 'build',
  project: `src/${id}/${id}.csproj`,
  status: 'Succeeded',
  agentId: 'peer-a',
  hostname: 'box-a',
  queuedAt: at(0),
  startTime: at(0),
  endTime: at(10),
  attempt: 1,
  cache: 'off',
  cacheKey: id,
  missReason: null,
  message: null,
  outputTreeSha256: null,
  ...overrides,
});

describe('timeline layout', () => {
  // A and B in parallel on two peers; C waits for both (B ends later), then tests of C.
  const a = task('A', { endTime: at(10) });
  const b = task('B', { agentId: 'peer-b', hostname: 'box-b', endTime: at(20) });
  const c = task('C', { queuedAt: at(20), startTime: at(21), endTime: at(40) });
  const testC = task('C', {
    taskId: 'test:src/C/C.csproj',
    kind: 'test',
    agentId: 'peer-b',
    hostname: 'box-b',
    queuedAt: at(40),
    startTime: at(40),
    endTime: at(50),
  });
  const now = Date.parse(at(60));

  it('follows the task that made each one ready back from the last to end', () => {
    expect(criticalPath([a, b, c, testC], now)).toEqual([b.taskId, c.taskId, testC.taskId]);
  });

  it("prefers a test task's own build task, and ends at a running task's now", () => {
    const running = task('D', { queuedAt: at(10), startTime: at(10), endTime: null, status: 'Running' });
    expect(criticalPath([a, b, running], now)).toEqual([a.taskId, running.taskId]);
    expect(criticalPath([task('E', { startTime: null, endTime: null })], now)).toEqual([]);
  });

  it('puts one lane per peer with bars placed on the span, start to end', () => {
    const layout = layoutTimeline([a, b, c, testC], now);
    expect(layout.lanes.map((lane) => [lane.label, lane.bars.map((bar) => bar.taskId)])).toEqual([
      ['box-a', [a.taskId, c.taskId]],
      ['box-b', [b.taskId, testC.taskId]],
    ]);
    const barC = layout.lanes[0]!.bars[1]!;
    expect(barC.left).toBeCloseTo(21 / 50);
    expect(barC.width).toBeCloseTo(19 / 50);
    expect(barC.critical).toBe(true);
    expect(layout.lanes[0]!.bars[0]!.critical).toBe(false);
    expect(layout.endMs - layout.startMs).toBe(50_000);
  });

  it('tells apart peers that share a host name, and lists tasks that never started', () => {
    const twin = task('B', { agentId: '12D3KooWabcdefXYZ123', hostname: 'box-a' });
    const skipped = task('S', { status: 'Skipped', startTime: null, endTime: null });
    const layout = layoutTimeline([a, twin, skipped], now);
    expect(layout.lanes.map((lane) => lane.label).sort()).toEqual(['box-a · peer-a', 'box-a · …XYZ123']);
    expect(layout.notStarted).toEqual([skipped]);
    expect(layoutTimeline([skipped], now).lanes).toEqual([]);
    expect(shortPeerId('short')).toBe('short');
  });

  it('keeps tiny bars visible and open bars running to now', () => {
    const blink = task('Z', { startTime: at(0), endTime: at(0) });
    const open = task('O', { startTime: at(30), endTime: null, status: 'Running' });
    const layout = layoutTimeline([a, blink, open], now);
    const bars = layout.lanes[0]!.bars;
    expect(bars.find((bar) => bar.taskId === blink.taskId)!.width).toBeGreaterThan(0);
    const openBar = bars.find((bar) => bar.taskId === open.taskId)!;
    expect(openBar.open).toBe(true);
    expect(openBar.left + openBar.width).toBeCloseTo(1);
  });

  it('colours by outcome and cache hit, and computes the hit rate over looked-up tasks', () => {
    expect(barTone({ status: 'Succeeded', cache: 'hit' })).toBe('hit');
    expect(barTone({ status: 'Succeeded', cache: 'miss' })).toBe('succeeded');
    expect(
      ['Failed', 'Running', 'Cancelled', 'Skipped', 'Pending'].map((status) =>
        barTone({ status: status as 'Failed', cache: 'off' }),
      ),
    ).toEqual(['failed', 'running', 'cancelled', 'skipped', 'pending']);
    expect(
      cacheHitRate([{ cache: 'hit' }, { cache: 'miss' }, { cache: 'off' }, { cache: 'hit' }]),
    ).toBeCloseTo(2 / 3);
    expect(cacheHitRate([{ cache: 'off' }])).toBeNull();
  });

  it('leaves verify tasks off the critical path, though they end last', () => {
    const verifyC = task('C', {
      taskId: 'verify:src/C/C.csproj',
      kind: 'verify',
      agentId: 'peer-b',
      hostname: 'box-b',
      queuedAt: at(40),
      startTime: at(41),
      endTime: at(59),
    });
    expect(isVerifyTask(verifyC)).toBe(true);
    expect(isVerifyTask(c)).toBe(false);
    expect(criticalPath([a, b, c, testC, verifyC], now)).toEqual([b.taskId, c.taskId, testC.taskId]);
    const layout = layoutTimeline([a, b, c, testC, verifyC], now);
    const verifyBar = layout.lanes[1]!.bars.find((bar) => bar.taskId === verifyC.taskId)!;
    expect(verifyBar).toMatchObject({ kind: 'verify', label: 'C.csproj', critical: false });
    // The chart still spans the verify task's time.
    expect(layout.endMs - layout.startMs).toBe(59_000);
    expect(criticalPath([verifyC], now)).toEqual([]);
    expect(taskCountLabel([a, b, c, testC, verifyC])).toBe('5 tasks (1 verify)');
    expect(taskCountLabel([a])).toBe('1 task');
    expect(taskCountLabel([a, b])).toBe('2 tasks');
  });

  it('picks round tick steps', () => {
    expect(timeTicks(50_000)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000]);
    expect(timeTicks(0)).toEqual([0]);
  });
});

describe('log view', () => {
  const lines = [
    '[2026-01-01 10:00:00] INFO: Cloning',
    '[2026-01-01 10:00:01] INFO: src/Lib/Class1.cs(3,5): error CS1002: ; expected',
    'a continuation line',
    '[2026-01-01 10:00:02] ERROR: Build Failed',
  ].map(parseLogLine);

  it('splits time, level and message, and recognises error lines', () => {
    expect(lines[0]).toEqual({
      index: 0,
      time: '2026-01-01 10:00:00',
      level: 'INFO',
      message: 'Cloning',
      isError: false,
    });
    expect(lines[1]!.isError).toBe(true);
    expect(lines[2]).toMatchObject({
      time: null,
      level: null,
      message: 'a continuation line',
      isError: false,
    });
    expect(firstErrorIndex(lines)).toBe(1);
    expect(firstErrorIndex(lines.slice(2, 3))).toBeNull();
  });

  it('searches ignoring case and steps through matches, wrapping around', () => {
    const matches = searchLog(lines, 'LINE');
    expect(matches).toEqual([2]);
    expect(searchLog(lines, '  ')).toEqual([]);
    const many = [1, 4, 9];
    expect(stepMatch(many, null, 1)).toBe(1);
    expect(stepMatch(many, null, -1)).toBe(9);
    expect(stepMatch(many, 4, 1)).toBe(9);
    expect(stepMatch(many, 9, 1)).toBe(1);
    expect(stepMatch(many, 1, -1)).toBe(9);
    expect(stepMatch([], 1, 1)).toBeNull();
  });

  it('highlights every occurrence', () => {
    expect(highlightParts('Error here, error there', 'error')).toEqual([
      { text: 'Error', match: true },
      { text: ' here, ', match: false },
      { text: 'error', match: true },
      { text: ' there', match: false },
    ]);
    expect(highlightParts('x', '')).toEqual([{ text: 'x', match: false }]);
  });

  it('rebuilds lines from chunks split anywhere', () => {
    const splitter = new LogLineSplitter();
    expect(splitter.push('one\r\ntw')).toEqual(['one']);
    expect(splitter.push('o\nthr')).toEqual(['two']);
    expect(splitter.flush()).toEqual(['thr']);
    expect(splitter.flush()).toEqual([]);
  });
});

describe('builds filter', () => {
  const builds = [
    {
      executionId: 'a1',
      projectName: 'Api',
      strategy: 'Distributed',
      status: 'Running',
      requesterEmail: 'ana@x.dev',
      errorMessage: null,
    },
    {
      executionId: 'b2',
      projectName: 'Web',
      strategy: 'Incremental',
      status: 'Failed',
      requesterEmail: null,
      errorMessage: 'CS1002',
    },
    {
      executionId: 'c3',
      projectName: 'Lib',
      strategy: 'Cached',
      status: 'Cancelled',
      requesterEmail: null,
      errorMessage: null,
    },
  ] as const;

  it('filters by status group, strategy and text', () => {
    const ids = (filter: Partial<typeof EMPTY_FILTER>) =>
      filterBuilds(builds, { ...EMPTY_FILTER, ...filter }).map((build) => build.executionId);
    expect(ids({})).toEqual(['a1', 'b2', 'c3']);
    expect(ids({ status: 'active' })).toEqual(['a1']);
    expect(ids({ status: 'failed' })).toEqual(['b2']);
    expect(ids({ status: 'cancelled' })).toEqual(['c3']);
    expect(ids({ status: 'succeeded' })).toEqual([]);
    expect(ids({ strategy: 'Cached' })).toEqual(['c3']);
    expect(ids({ text: 'ANA' })).toEqual(['a1']);
    expect(ids({ text: 'cs1002' })).toEqual(['b2']);
    expect(isFiltering(EMPTY_FILTER)).toBe(false);
    expect(isFiltering({ ...EMPTY_FILTER, text: 'x' })).toBe(true);
  });
});

describe('build form', () => {
  it('sends the flat request with trimmed values', () => {
    expect(
      buildRequestBody({ ...DEFAULT_FORM, repositoryUrl: ' file:///r.git ', solutionPath: 'A.sln' }),
    ).toEqual({
      repositoryUrl: 'file:///r.git',
      gitRef: 'main',
      solutionPath: 'A.sln',
      configuration: 'Release',
      strategy: 'Incremental',
      targetPool: 'Linux',
      runTests: true,
      createPackages: false,
      verify: false,
    });
  });

  it("puts each of the API's problems next to its field, keeping the rest", () => {
    const { byField, other } = fieldErrors([
      { field: 'job.repositoryUrl', message: 'must be an absolute git URL' },
      { field: 'gitRef', message: 'may not start with "-"' },
      { field: 'buildProperties.x', message: 'keys must be names' },
      'a plain string',
      42,
    ]);
    expect(byField).toEqual({
      repositoryUrl: ['must be an absolute git URL'],
      gitRef: ['may not start with "-"'],
    });
    expect(other).toEqual(['buildProperties.x keys must be names', 'a plain string']);
    expect(firstInvalidField(byField)).toBe('repositoryUrl');
    expect(firstInvalidField({})).toBeNull();
    expect(fieldErrors('nope')).toEqual({ byField: {}, other: [] });
  });

  it('reads the toggles of a build back from what it did', () => {
    const build = {
      repositoryUrl: 'file:///r.git',
      gitRef: 'main',
      solutionPath: 'A.sln',
      configuration: 'Debug',
      strategy: 'Incremental' as const,
      targetPool: 'Linux' as const,
      stages: [{ name: 'Test', message: 'runTests is false' }],
      artifacts: [{ name: 'Lib.1.0.0.nupkg' }],
      peerResults: [{ role: 'verify' }],
    };
    expect(formValuesFromBuild(build)).toMatchObject({
      runTests: false,
      createPackages: true,
      verify: true,
      configuration: 'Debug',
    });
    expect(formValuesFromBuild({ ...build, stages: [], artifacts: [], peerResults: [] })).toMatchObject({
      runTests: true,
      createPackages: false,
      verify: false,
    });
  });

  it('takes the toggles the detail echoes over what the build did', () => {
    const build = {
      repositoryUrl: 'file:///r.git',
      gitRef: 'main',
      solutionPath: 'A.sln',
      configuration: 'Release',
      strategy: 'Cached' as const,
      targetPool: 'Linux' as const,
      // Packages were produced and a report exists, yet the request had both toggles off.
      stages: [],
      artifacts: [{ name: 'Lib.1.0.0.nupkg' }],
      peerResults: [],
      reproducibility: { checkedOn: [], reproducible: null, differences: [], message: null },
      options: { runTests: false, createPackages: false, verify: false },
    };
    expect(formValuesFromBuild(build)).toMatchObject({
      runTests: false,
      createPackages: false,
      verify: false,
    });
    expect(
      formValuesFromBuild({ ...build, options: { runTests: true, createPackages: true, verify: true } }),
    ).toMatchObject({ runTests: true, createPackages: true, verify: true });
  });

  it('reads verify back from every strategy: a report, or verify tasks, as well as a verify peer', () => {
    const base = {
      repositoryUrl: 'file:///r.git',
      gitRef: 'main',
      solutionPath: 'A.sln',
      configuration: 'Release',
      targetPool: 'Linux' as const,
      stages: [],
      artifacts: [],
      peerResults: [],
    };
    const report = { checkedOn: ['p1', 'p2'], reproducible: true, differences: [], message: null };
    for (const strategy of ['Distributed', 'Cached'] as const) {
      expect(formValuesFromBuild({ ...base, strategy, reproducibility: report }).verify).toBe(true);
      expect(
        formValuesFromBuild({ ...base, strategy, reproducibility: null, timeline: [{ kind: 'verify' }] })
          .verify,
      ).toBe(true);
      expect(
        formValuesFromBuild({ ...base, strategy, reproducibility: null, timeline: [{ kind: 'build' }] })
          .verify,
      ).toBe(false);
    }
    expect(formValuesFromBuild({ ...base, strategy: 'Clean', reproducibility: report }).verify).toBe(true);
    // A Canary always checks; verify is not a choice it was given.
    expect(formValuesFromBuild({ ...base, strategy: 'Canary', reproducibility: report }).verify).toBe(false);
  });

  it('says what verify does with each strategy, refusing none', () => {
    for (const strategy of BUILD_STRATEGIES) {
      expect(verifyHint(strategy)).not.toMatch(/not (available|supported)|only|cannot/i);
    }
    expect(verifyHint('Distributed')).toContain('Each project is built again on another peer');
    expect(verifyHint('Cached')).toContain('verify tasks');
    expect(verifyHint('Incremental')).toContain('A second peer builds the whole solution');
    expect(verifyHint('Canary')).toContain('always compares');
  });
});

describe('auth token', () => {
  it('reads the sign-in link fragment and what to leave in the address bar', () => {
    expect(tokenFromFragment('#token=abc')).toEqual({ token: 'abc', rest: '' });
    expect(tokenFromFragment('#token=abc&x=1')).toEqual({ token: 'abc', rest: '#x=1' });
    expect(tokenFromFragment('#/builds/1')).toEqual({ token: null, rest: '#/builds/1' });
    expect(tokenFromFragment('#token=')).toEqual({ token: null, rest: '' });
  });

  it('prefers the link, then the desktop, then storage', () => {
    expect(chooseToken({ fromLink: 'l', fromDesktop: 'd', stored: 's' })).toEqual({
      token: 'l',
      source: 'link',
    });
    expect(chooseToken({ fromLink: null, fromDesktop: 'd', stored: 's' })).toEqual({
      token: 'd',
      source: 'desktop',
    });
    expect(chooseToken({ fromLink: null, fromDesktop: null, stored: 's' })).toEqual({
      token: 's',
      source: 'stored',
    });
    expect(chooseToken({ fromLink: null, fromDesktop: undefined, stored: null })).toEqual({
      token: null,
      source: 'none',
    });
  });

  it('accepts a pasted token, a Bearer header value or the whole link', () => {
    expect(normalisePastedToken('  abc  ')).toBe('abc');
    expect(normalisePastedToken('Bearer abc')).toBe('abc');
    expect(normalisePastedToken('http://127.0.0.1:5000/#token=xyz')).toBe('xyz');
    expect(normalisePastedToken('two words')).toBeNull();
    expect(normalisePastedToken('')).toBeNull();
  });
});

describe('routes', () => {
  it('parses and writes every screen', () => {
    expect(parseRoute('')).toEqual({ name: 'builds' });
    expect(parseRoute('#/peers')).toEqual({ name: 'peers' });
    expect(parseRoute('#/builds/new?from=b1')).toEqual({ name: 'new-build', from: 'b1' });
    expect(parseRoute('#/builds/new')).toEqual({ name: 'new-build', from: null });
    expect(parseRoute('#/builds/abc-1')).toEqual({ name: 'build', executionId: 'abc-1' });
    expect(parseRoute('#/what')).toEqual({ name: 'not-found', path: '/what' });
    for (const route of [
      { name: 'builds' },
      { name: 'peers' },
      { name: 'new-build', from: 'b1' },
      { name: 'new-build', from: null },
      { name: 'build', executionId: 'x y' },
    ] as const) {
      expect(parseRoute(routeHref(route))).toEqual(route);
    }
    expect(routeHref({ name: 'not-found', path: '/x' })).toBe('#/x');
  });
});

describe('live events', () => {
  it('reads the node event envelope and fans it out', () => {
    const event = parseLiveEvent({ id: '7', event: 'task', data: '{"executionId":"b1","taskId":"t"}' });
    expect(event).toEqual({
      id: 7,
      type: 'task',
      executionId: 'b1',
      data: { executionId: 'b1', taskId: 't' },
    });
    expect(parseLiveEvent({ id: null, event: 'peer', data: 'not json' })).toBeNull();
    expect(parseLiveEvent({ id: null, event: 'peer', data: '[1]' })).toBeNull();
    expect(parseLiveEvent({ id: null, event: 'peer', data: '{"agents":[]}' })).toMatchObject({
      id: null,
      executionId: null,
    });
    const hub = new LiveEventHub();
    const seen: string[] = [];
    const unsubscribe = hub.subscribe((e) => seen.push(e.type));
    hub.emit(event!);
    unsubscribe();
    hub.emit(event!);
    expect(seen).toEqual(['task']);
  });

  it('coalesces a burst into one action', () => {
    vi.useFakeTimers();
    try {
      const action = vi.fn();
      const refresher = coalesce(action, 100);
      refresher.trigger();
      refresher.trigger();
      vi.advanceTimersByTime(100);
      expect(action).toHaveBeenCalledTimes(1);
      refresher.trigger();
      refresher.cancel();
      vi.advanceTimersByTime(200);
      expect(action).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('formatting', () => {
  it('formats sizes, durations, ratios and hashes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MB');
    expect(formatBytes(-1)).toBe('—');
    expect(formatMs(850)).toBe('850 ms');
    expect(formatMs(4200)).toBe('4.2 s');
    expect(formatMs(185_000)).toBe('3 min 5 s');
    expect(formatMs(3_720_000)).toBe('1 h 2 min');
    expect(formatMs(Number.NaN)).toBe('—');
    expect(formatRatio(0.754)).toBe('75 %');
    expect(formatRatio(null)).toBe('—');
    expect(shortHash('0123456789abcdef')).toBe('0123456789ab');
    expect(shortHash(null)).toBe('—');
  });
});

describe('status tones', () => {
  it('colours every status, the word always shown beside it', () => {
    expect(
      ['Pending', 'Running', 'Succeeded', 'Failed', 'Skipped', 'Cancelled'].map((s) =>
        stageStatusTone(s as 'Pending'),
      ),
    ).toEqual(['waiting', 'active', 'good', 'bad', 'muted', 'muted']);
    expect(
      ['Queued', 'Cancelling', 'TimedOut', 'Cancelled'].map((s) => buildStatusTone(s as 'Queued')),
    ).toEqual(['waiting', 'waiting', 'bad', 'muted']);
    expect(['Idle', 'Building', 'Maintenance', 'Offline'].map((s) => agentStatusTone(s as 'Idle'))).toEqual([
      'good',
      'active',
      'muted',
      'muted',
    ]);
    expect(
      ['Running', 'Succeeded', 'Failed', 'TimedOut', 'Cancelled', 'Rejected'].map((s) =>
        peerBuildStatusTone(s as 'Running'),
      ),
    ).toEqual(['active', 'good', 'bad', 'bad', 'muted', 'muted']);
  });
});

describe('checks', () => {
  const peerResult = (overrides: Partial<PeerBuildResult>): PeerBuildResult => ({
    agentId: '12D3KooWcanaryAAA111',
    hostname: 'box-a',
    role: 'canary',
    status: 'Succeeded',
    startTime: at(0),
    endTime: at(42),
    failedGate: null,
    message: null,
    testResults: { total: 12, passed: 12, failed: 0, skipped: 0 },
    warningsCount: 0,
    ...overrides,
  });
  const canary = peerResult({});
  const fanOut = peerResult({
    agentId: '12D3KooWfanoutBBB222',
    hostname: 'box-b',
    role: 'fan-out',
    status: 'Failed',
    endTime: at(30),
    message: 'Build failed: 1 error',
    testResults: { total: 12, passed: 10, failed: 1, skipped: 1 },
    warningsCount: 3,
  });
  const source = (overrides: Partial<ChecksSource>): ChecksSource => ({
    status: 'Succeeded',
    agent: null,
    peerResults: [canary, fanOut],
    reproducibility: null,
    timeline: [],
    ...overrides,
  });
  const now = Date.parse(at(60));

  it('shows only for builds with peer results or a reproducibility report', () => {
    expect(hasChecks({ peerResults: [], reproducibility: null })).toBe(false);
    expect(hasChecks({ peerResults: [canary], reproducibility: null })).toBe(true);
    expect(
      hasChecks({
        peerResults: [],
        reproducibility: { checkedOn: [], reproducible: null, differences: [], message: 'x' },
      }),
    ).toBe(true);
  });

  it('names peers by host from the results, the timeline or the coordinator, else by the end of the id', () => {
    const nameOf = peerNamer(
      source({
        agent: { agentId: 'coord-1', hostname: 'coord-box', targetType: 'Linux' },
        timeline: [
          { agentId: '12D3KooWtaskCCC333', hostname: 'box-c' },
          { agentId: null, hostname: null },
          // Two peers on one host: told apart by their ids.
          { agentId: '12D3KooWtwinDDD444', hostname: 'box-a' },
        ],
      }),
    );
    expect(nameOf('12D3KooWfanoutBBB222')).toBe('box-b');
    expect(nameOf('12D3KooWtaskCCC333')).toBe('box-c');
    expect(nameOf('coord-1')).toBe('coord-box');
    expect(nameOf('12D3KooWcanaryAAA111')).toBe('box-a · …AAA111');
    expect(nameOf('12D3KooWtwinDDD444')).toBe('box-a · …DDD444');
    expect(nameOf('12D3KooWunknownEEE555')).toBe('…EEE555');
  });

  it("turns each peer's outcome into a row: role, status, gate, tests passed of total, warnings", () => {
    const gated = peerResult({
      status: 'Failed',
      failedGate: 'warnings',
      message: 'Canary failed the warnings gate: 7 warnings, at most 5',
      warningsCount: 7,
    });
    const rejected = peerResult({
      agentId: 'peer-r',
      hostname: 'box-r',
      role: 'verify',
      status: 'Rejected',
      endTime: at(1),
      testResults: null,
      message: 'busy',
    });
    const running = peerResult({
      agentId: 'peer-x',
      hostname: 'box-x',
      role: 'fan-out',
      status: 'Running',
      endTime: null,
    });
    const rows = peerCheckRows(source({ peerResults: [gated, fanOut, rejected, running] }), now);
    expect(rows.map((row) => [row.peer, row.role, row.status, row.tone, row.failedGate])).toEqual([
      ['box-a', 'Canary', 'Failed', 'bad', 'Warnings'],
      ['box-b', 'Fan-out', 'Failed', 'bad', null],
      ['box-r', 'Verify', 'Rejected', 'muted', null],
      ['box-x', 'Fan-out', 'Running', 'active', null],
    ]);
    expect(rows[0]).toMatchObject({ tests: '12 / 12', testsNote: null, testsFailed: false, warnings: 7 });
    expect(rows[0]!.message).toContain('warnings gate');
    expect(rows[1]).toMatchObject({
      tests: '10 / 12',
      testsNote: '1 failed, 1 skipped',
      testsFailed: true,
      warnings: 3,
      duration: '30 s',
    });
    expect(rows[2]).toMatchObject({ tests: null, duration: null, message: 'busy' });
    expect(rows[3]!.duration).toBe('1 min 0 s so far');
    expect(new Set(rows.map((row) => row.key)).size).toBe(4);
  });

  it('says reproducible with the number of peers compared, named by host', () => {
    const verdict = reproducibilityVerdict(
      source({
        reproducibility: {
          checkedOn: ['12D3KooWcanaryAAA111', '12D3KooWfanoutBBB222'],
          reproducible: true,
          differences: [],
          message: null,
        },
      }),
    );
    expect(verdict).toMatchObject({
      state: 'reproducible',
      title: 'Reproducible: identical outputs on 2 peers',
      peers: ['box-a', 'box-b'],
      differences: [],
    });
  });

  it('lists the differences and the projects no longer cached when not reproducible', () => {
    const differences = [
      { project: 'src/Lib', file: 'Lib.dll', reason: 'content differs' },
      { project: 'src/Lib', file: 'Lib.pdb', reason: 'content differs' },
      { project: 'src/App', file: 'App.deps.json', reason: 'only on box-a' },
    ];
    const verdict = reproducibilityVerdict(
      source({
        peerResults: [],
        timeline: [
          { agentId: 'peer-1', hostname: 'box-1' },
          { agentId: 'peer-2', hostname: 'box-2' },
        ],
        reproducibility: {
          checkedOn: ['peer-1', 'peer-2'],
          reproducible: false,
          differences,
          message: '3 differ',
        },
      }),
    );
    expect(verdict).toMatchObject({
      state: 'not-reproducible',
      title: 'Not reproducible',
      detail: '3 differ',
      peers: ['box-1', 'box-2'],
      projects: ['src/Lib', 'src/App'],
    });
    expect(verdict.differences).toEqual(differences);
  });

  it('says not checked with the reason, and waits while the build runs', () => {
    const none = reproducibilityVerdict(
      source({
        reproducibility: {
          checkedOn: ['12D3KooWcanaryAAA111'],
          reproducible: null,
          differences: [],
          message: 'No second peer finished the build; nothing to compare',
        },
      }),
    );
    expect(none).toMatchObject({
      state: 'not-checked',
      title: 'Not checked',
      detail: 'No second peer finished the build; nothing to compare',
      peers: ['box-a'],
    });
    expect(reproducibilityVerdict(source({ status: 'Running' }))).toMatchObject({
      state: 'pending',
      title: 'Not checked yet',
    });
    const failedCanary = reproducibilityVerdict(
      source({ status: 'Failed', peerResults: [peerResult({ status: 'Failed', failedGate: 'tests' })] }),
    );
    expect(failedCanary.state).toBe('not-checked');
    expect(failedCanary.detail).toContain('The canary did not pass');
  });
});
