// The screen's states rendered to HTML (no DOM needed): what a user sees in each moment.
import { createElement, type ReactElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { AgentView } from '../../core/agent-view.js';
import { ApiClient, type BuildSummary } from './api-client.js';
import { App } from './App.js';
import type { PeerBuildResult, TaskTimelineEntry } from '../../core/models.js';
import { ChecksSection } from './Checks.js';
import type { ChecksSource } from './checks-view.js';
import { LogViewer } from './LogViewer.js';
import { Artifacts, Tests } from './BuildDetailView.js';
import type { BuildDetail } from './api-client.js';
import type { Route } from './route.js';
import { SignIn } from './SignIn.js';
import { Timeline } from './Timeline.js';
import { BuildsTable } from './BuildsTable.js';
import { PeersTable } from './PeersTable.js';
import { PolledSection, type PolledSectionProps } from './PolledSection.js';
import type { Polled } from './use-polling.js';

const render = (element: ReactElement) => renderToStaticMarkup(element);
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

function section(polled: Partial<Polled<string[]>>): string {
  const props: PolledSectionProps<string[]> = {
    id: 'peers',
    title: 'Peers',
    polled: { data: null, error: null, updatedAt: null, refresh: () => {}, ...polled },
    isEmpty: (list) => list.length === 0,
    empty: 'No peers yet.',
    children: (list) =>
      createElement(
        'ul',
        null,
        list.map((item) => createElement('li', { key: item }, item)),
      ),
  };
  return render(createElement(PolledSection<string[]>, props));
}

const peer: AgentView = {
  agentId: 'node-1',
  hostname: 'dev-box',
  targetType: 'Linux',
  status: 'Building',
  currentJob: 'Contoso.Api',
  donationMode: 'Always',
  freeSlots: 0,
  cpuUsage: 63.4,
  memoryUsage: 41.2,
  capabilities: {
    os: 'linux',
    arch: 'x64',
    cpuCores: 8,
    totalMemoryGB: 32,
    freeMemoryGB: 18,
    availableDiskSpaceGB: 120,
    installedSdks: ['8.0.404', '10.0.100'],
    installedRuntimes: [],
    buildableFrameworks: [],
    installedTools: ['git', 'dotnet'],
    gitVersion: '2.47.0',
    dockerVersion: null,
    maxConcurrentBuilds: 1,
  },
  lastHeartbeat: '2026-01-01T10:00:00.000Z',
  isLocal: true,
};

const build = (overrides: Partial<BuildSummary>): BuildSummary => ({
  executionId: 'b-1',
  projectName: 'Contoso.Api',
  strategy: 'Incremental',
  status: 'Succeeded',
  currentStage: null,
  queuedAt: '2026-01-01T10:00:00.000Z',
  startTime: '2026-01-01T10:00:01.000Z',
  endTime: '2026-01-01T10:01:31.500Z',
  duration: 'PT1M30.5S',
  requesterEmail: 'ana@contoso.dev',
  agent: null,
  errorMessage: null,
  ...overrides,
});

describe('PolledSection', () => {
  it('shows a labelled loading state before the first answer, never a blank panel', () => {
    const html = section({});
    expect(html).toContain('aria-labelledby="peers-heading"');
    expect(html).toContain('<h2 id="peers-heading">Peers</h2>');
    expect(html).toContain('role="status"');
    expect(text(html)).toContain('Loading peers…');
  });

  it('explains a failure before any data and offers a retry button', () => {
    const html = section({ error: new Error('Cannot reach the Build Mesh node.') });
    expect(html).toContain('role="alert"');
    expect(text(html)).toContain('Could not load peers. Cannot reach the Build Mesh node.');
    expect(html).toContain('<button type="button">Retry now</button>');
    expect(text(html)).not.toContain('Loading');
  });

  it('keeps the last data when a refresh fails, and says it is stale', () => {
    const html = section({
      data: ['dev-box'],
      error: new Error('Timed out.'),
      updatedAt: Date.UTC(2026, 0, 1),
    });
    expect(text(html)).toContain('Could not refresh: Timed out.');
    expect(text(html)).toContain('Showing what the node said at');
    expect(html).toContain('<li>dev-box</li>');
  });

  it('shows the empty state when the node has nothing to list', () => {
    const html = section({ data: [], updatedAt: 0 });
    expect(text(html)).toContain('No peers yet.');
    expect(html).not.toContain('<ul>');
  });
});

describe('PeersTable', () => {
  it('shows host, OS, SDKs, status and load in a semantic table', () => {
    const html = render(createElement(PeersTable, { peers: [peer], labelledBy: 'peers-heading' }));
    expect(html).toContain('tabindex="0"');
    expect(html).toContain('<th scope="col">.NET SDKs</th>');
    expect(html).toContain('<th scope="row">dev-box');
    expect(text(html)).toContain('this machine');
    expect(text(html)).toContain('Linux x64');
    expect(text(html)).toContain('8.0.404, 10.0.100');
    expect(text(html)).toContain('Building running Contoso.Api');
    expect(text(html)).toContain('Always 0 of 1 slots free');
    expect(text(html)).toContain('63 % 8 cores');
    expect(text(html)).toContain('41 % of 32 GB');
  });

  it('says so when no .NET SDK was found', () => {
    const bare = { ...peer, capabilities: { ...peer.capabilities, installedSdks: [] } };
    expect(text(render(createElement(PeersTable, { peers: [bare], labelledBy: 'x' })))).toContain(
      'none found',
    );
  });
});

describe('BuildsTable', () => {
  it('shows project, strategy, status, duration and requester', () => {
    const html = render(createElement(BuildsTable, { builds: [build({})], labelledBy: 'builds-heading' }));
    expect(text(html)).toContain('Contoso.Api b-1 Incremental Succeeded 1 min 30 s ana@contoso.dev');
    expect(html).toContain('href="#/builds/b-1"');
    const byToken = render(
      createElement(BuildsTable, { builds: [build({ requestedBy: 'ana' })], labelledBy: 'builds-heading' }),
    );
    expect(text(byToken)).toContain('ana (ana@contoso.dev)');
    const tokenOnly = build({ requestedBy: 'ci', requesterEmail: null });
    expect(text(render(createElement(BuildsTable, { builds: [tokenOnly], labelledBy: 'x' })))).toContain(
      'ci',
    );
  });

  it('shows the running stage, the failure reason, and words for missing values', () => {
    const html = render(
      createElement(BuildsTable, {
        builds: [
          build({ executionId: 'a', status: 'Running', currentStage: 'Test', duration: 'PT12S' }),
          build({ executionId: 'b', status: 'Failed', errorMessage: 'CS1002: ; expected' }),
          build({
            executionId: 'c',
            status: 'Queued',
            duration: null,
            startTime: null,
            requesterEmail: null,
          }),
        ],
        labelledBy: 'builds-heading',
      }),
    );
    expect(text(html)).toContain('Running Test 12 s');
    expect(text(html)).toContain('Failed CS1002: ; expected');
    expect(text(html)).toContain('Queued — not started — not given');
  });
});

describe('App', () => {
  const client = new ApiClient({ baseUrl: 'http://127.0.0.1:5000', token: null });
  const app = (route: Route) =>
    render(createElement(App, { client, nodeAddress: 'http://127.0.0.1:5000', initialRoute: route }));

  it('first paints the builds list loading, with navigation and the node address in the header', () => {
    const html = app({ name: 'builds' });
    expect(html).toContain('<h1>Build Mesh</h1>');
    expect(text(html)).toContain('Node http://127.0.0.1:5000');
    expect(html).toContain('<a href="#/builds" aria-current="page">Builds</a>');
    expect(html).toContain('<a href="#/peers">Peers</a>');
    expect(text(html)).toContain('Loading builds…');
    expect(text(html)).toContain('Connecting to live updates…');
  });

  it('paints each screen of the navigation', () => {
    expect(text(app({ name: 'peers' }))).toContain('Loading peers…');
    expect(text(app({ name: 'build', executionId: 'b-1' }))).toContain('Loading build…');
    const form = app({ name: 'new-build', from: null });
    expect(form).toContain('<label for="field-repositoryUrl">Repository URL</label>');
    expect(form).toContain('id="field-gitRef"');
    expect(form).toContain('value="main"');
    expect(text(form)).toContain('Start build');
    expect(text(app({ name: 'not-found', path: '/nope' }))).toContain('No such screen: /nope');
  });

  it('explains the verify toggle without refusing any strategy', () => {
    const form = app({ name: 'new-build', from: null });
    expect(form).toContain('aria-describedby="field-verify-hint"');
    expect(text(form)).toContain('A second peer builds the whole solution from the same commit');
    expect(text(form)).not.toMatch(/verify[^.]*(not available|only for|cannot)/i);
  });
});

describe('SignIn', () => {
  it('explains how to get a token, and why it is asked again', () => {
    const missing = text(render(createElement(SignIn, { reason: 'missing', onToken: () => {} })));
    expect(missing).toContain('buildmesh token create --role Developer');
    expect(missing).toContain('API token');
    const refused = render(createElement(SignIn, { reason: 'refused', onToken: () => {} }));
    expect(refused).toContain('role="alert"');
    expect(text(refused)).toContain('did not accept the token');
  });
});

const task = (overrides: Partial<TaskTimelineEntry>): TaskTimelineEntry => ({
  taskId: 'build:src/A/A.csproj',
  kind: 'build',
  project: 'src/A/A.csproj',
  status: 'Succeeded',
  agentId: 'peer-a',
  hostname: 'box-a',
  queuedAt: '2026-01-01T10:00:00.000Z',
  startTime: '2026-01-01T10:00:00.000Z',
  endTime: '2026-01-01T10:00:10.000Z',
  attempt: 1,
  cache: 'miss',
  cacheKey: 'k',
  missReason: null,
  message: null,
  outputTreeSha256: null,
  ...overrides,
});

describe('Timeline', () => {
  it('draws one lane per peer and one labelled button per task, the critical path marked', () => {
    const html = render(
      createElement(Timeline, {
        entries: [
          task({}),
          task({
            taskId: 'build:src/B/B.csproj',
            project: 'src/B/B.csproj',
            agentId: 'peer-b',
            hostname: 'box-b',
            queuedAt: '2026-01-01T10:00:10.000Z',
            startTime: '2026-01-01T10:00:10.000Z',
            endTime: '2026-01-01T10:00:20.000Z',
            cache: 'hit',
          }),
        ],
        nowMs: Date.UTC(2026, 0, 1, 10, 0, 30),
      }),
    );
    expect(html.match(/class="timeline-lane"/g)).toHaveLength(2);
    expect(html).toContain(
      'aria-label="build A.csproj on box-a: Succeeded, cache miss, 10 s, on the critical path"',
    );
    expect(html).toContain('class="bar bar-hit critical"');
    expect(text(html)).toContain('Critical path (2 tasks, 20 s)');
  });

  it("draws a verify build's second builds hatched and labelled, never on the critical path", () => {
    const html = render(
      createElement(Timeline, {
        entries: [
          task({}),
          task({
            taskId: 'verify:src/A/A.csproj',
            kind: 'verify',
            agentId: 'peer-b',
            hostname: 'box-b',
            queuedAt: '2026-01-01T10:00:10.000Z',
            startTime: '2026-01-01T10:00:11.000Z',
            endTime: '2026-01-01T10:00:25.000Z',
            cache: 'off',
          }),
        ],
        nowMs: Date.UTC(2026, 0, 1, 10, 0, 30),
      }),
    );
    expect(html).toContain('class="bar bar-succeeded bar-verify"');
    expect(html).toContain(
      'aria-label="verify A.csproj (second build, outputs compared) on box-b: Succeeded, 14 s"',
    );
    expect(text(html)).toContain('verify A.csproj');
    expect(text(html)).toContain('Critical path (1 tasks, 10 s)');
    expect(text(html)).toContain('Verify: built again on another peer, outputs compared');
    expect(html).toContain('class="bar bar-succeeded critical"');
  });

  it('says why there is no chart for whole builds and before any task starts', () => {
    expect(text(render(createElement(Timeline, { entries: [], nowMs: 0 })))).toContain('No project tasks.');
    const pending = render(
      createElement(Timeline, {
        entries: [task({ status: 'Pending', startTime: null, endTime: null })],
        nowMs: 0,
      }),
    );
    expect(text(pending)).toContain('No task has started yet. 1 tasks are planned');
  });
});

describe('LogViewer', () => {
  it('shows lines with their time, marks errors, and offers search and the first error', () => {
    const html = render(
      createElement(LogViewer, {
        log: {
          state: 'streaming',
          error: null,
          lines: ['[2026-01-01 10:00:00] INFO: Restoring', '[2026-01-01 10:00:01] ERROR: Build Failed'],
        },
      }),
    );
    expect(html).toContain('role="log"');
    expect(text(html)).toContain('2026-01-01 10:00:00 Restoring');
    expect(html).toContain('class="log-line log-error"');
    expect(html).toContain('>Jump to first error</button>');
    expect(text(html)).toContain('Streaming…');
  });

  it('has designed loading and empty states', () => {
    expect(
      text(render(createElement(LogViewer, { log: { state: 'loading', error: null, lines: [] } }))),
    ).toContain('Loading the log…');
    expect(
      text(render(createElement(LogViewer, { log: { state: 'done', error: null, lines: [] } }))),
    ).toContain('The log is empty so far.');
  });
});

describe('Build detail sections', () => {
  it('lists failed tests first with name, message and stack', () => {
    const html = render(
      createElement(Tests, {
        results: {
          total: 3,
          passed: 2,
          failed: 1,
          skipped: 0,
          durationMs: 1200,
          failures: [
            {
              name: 'Shop.Tests.Adds',
              message: 'Assert.Equal() Failure',
              stackTrace: 'at Shop.Tests.Adds()',
              durationMs: 5,
            },
          ],
        },
        status: undefined,
      }),
    );
    expect(text(html)).toContain('1 failed · 2 passed · 0 skipped · 3 total · 1.2 s');
    expect(text(html)).toContain('Shop.Tests.Adds Assert.Equal() Failure Stack trace at Shop.Tests.Adds()');
    const skipped = render(
      createElement(Tests, {
        results: null,
        status: {
          name: 'Test',
          status: 'Skipped',
          message: 'runTests is false',
        } as BuildDetail['stages'][number],
      }),
    );
    expect(text(skipped)).toContain('No tests ran: runTests is false.');
  });

  it('shows each artifact with size, hash, provenance and a download button', () => {
    const detail = {
      executionId: '3f2b8c1e-4d5a',
      status: 'Succeeded',
      gitRef: 'main',
      resolvedCommit: 'bfcdbc990127d5cc6ad0be8b54bafa83212266f8',
      agent: { agentId: 'a', hostname: 'dev-box', targetType: 'Linux' },
      artifacts: [
        {
          artifactId: 'x1',
          name: 'Shop.1.0.0.nupkg',
          path: 'src/Shop/bin/Release/Shop.1.0.0.nupkg',
          sizeBytes: 4608,
          contentType: 'application/octet-stream',
          sha256Hash: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
          createdAt: '2026-01-01T10:00:00.000Z',
          downloadUrl: '/api/v1/artifacts/x1/download',
        },
      ],
    } as unknown as BuildDetail;
    const client = new ApiClient({ baseUrl: '', token: 't' });
    const html = render(createElement(Artifacts, { detail, client }));
    expect(text(html)).toContain(
      'Shop.1.0.0.nupkg src/Shop/bin/Release/Shop.1.0.0.nupkg 4.5 KB 9f86d081884c…',
    );
    expect(text(html)).toContain('main @ bfcdbc990127 build 3f2b8c1e on dev-box');
    expect(html).toContain('aria-label="Download Shop.1.0.0.nupkg"');
    const none = render(createElement(Artifacts, { detail: { ...detail, artifacts: [] }, client }));
    expect(text(none)).toContain('This build produced no artifacts.');
  });
});

describe('Checks', () => {
  const canaryId = '12D3KooWcanaryAAA111';
  const fanOutId = '12D3KooWfanoutBBB222';
  const peerResult = (overrides: Partial<PeerBuildResult>): PeerBuildResult => ({
    agentId: canaryId,
    hostname: 'box-a',
    role: 'canary',
    status: 'Succeeded',
    startTime: '2026-01-01T10:00:00.000Z',
    endTime: '2026-01-01T10:00:42.000Z',
    failedGate: null,
    message: null,
    testResults: { total: 12, passed: 12, failed: 0, skipped: 0 },
    warningsCount: 2,
    ...overrides,
  });
  const checks = (overrides: Partial<ChecksSource>) =>
    render(
      createElement(ChecksSection, {
        build: {
          status: 'Succeeded',
          agent: null,
          peerResults: [],
          reproducibility: null,
          timeline: [],
          ...overrides,
        },
        nowMs: Date.UTC(2026, 0, 1, 10, 1, 0),
      }),
    );

  it('is absent for a build with no peer results and no report', () => {
    expect(checks({})).toBe('');
  });

  it("tables each peer's outcome and says the outputs were identical", () => {
    const html = checks({
      peerResults: [
        peerResult({}),
        peerResult({
          agentId: fanOutId,
          hostname: 'box-b',
          role: 'fan-out',
          status: 'Failed',
          message: 'Build failed: 1 error',
          testResults: { total: 12, passed: 11, failed: 1, skipped: 0 },
          warningsCount: 0,
        }),
      ],
      reproducibility: {
        checkedOn: [canaryId, fanOutId],
        reproducible: true,
        differences: [],
        message: null,
      },
    });
    expect(html).toContain('<h3 id="checks-heading">Checks</h3>');
    expect(text(html)).toContain('Reproducible: identical outputs on 2 peers Compared on box-a, box-b');
    expect(text(html)).toContain('Peer Role Status Failed gate Tests passed Warnings Message');
    expect(text(html)).toContain('box-a Canary Succeeded 42 s — none 12 / 12 2 — no message');
    expect(text(html)).toContain('box-b Fan-out Failed 42 s — none 11 / 12 1 failed 0 Build failed: 1 error');
    expect(html).toContain('class="status status-bad"');
    expect(html).not.toContain('Output differences');
  });

  it('names the gate a canary failed', () => {
    const html = checks({
      status: 'Failed',
      peerResults: [
        peerResult({
          status: 'Failed',
          failedGate: 'tests',
          message: 'Canary failed the tests gate: 1 of 12 failed',
          testResults: { total: 12, passed: 11, failed: 1, skipped: 0 },
        }),
      ],
    });
    expect(text(html)).toContain('box-a Canary Failed 42 s Tests 11 / 12 1 failed');
    expect(text(html)).toContain('Not checked The canary did not pass');
  });

  it('lists the differing files and the projects no longer served from the cache', () => {
    const html = checks({
      timeline: [
        { agentId: 'peer-1', hostname: 'box-1' },
        { agentId: '12D3KooWsecondCCC333', hostname: null },
      ],
      reproducibility: {
        checkedOn: ['peer-1', '12D3KooWsecondCCC333'],
        reproducible: false,
        differences: [{ project: 'src/Lib', file: 'Lib.dll', reason: 'content differs' }],
        message: '1 output file(s) of 1 project(s) differ between peers',
      },
    });
    expect(text(html)).toContain('Not reproducible Compared on box-1, …CCC333');
    expect(html).toContain('aria-label="Output differences"');
    expect(text(html)).toContain('Project File Reason src/Lib Lib.dll content differs');
    expect(text(html)).toContain(
      'This project is never served from the cache for this repository, on any peer: src/Lib',
    );
    expect(html).toContain('class="verdict verdict-not-reproducible"');
    // A task build has no peer results: no peers table.
    expect(html).not.toContain('aria-label="Peer results"');
  });

  it('says not checked, with why, when nothing could be compared', () => {
    const html = checks({
      reproducibility: {
        checkedOn: [],
        reproducible: null,
        differences: [],
        message: 'No project was built on a second peer',
      },
    });
    expect(text(html)).toContain('Not checked No project was built on a second peer');
  });
});
