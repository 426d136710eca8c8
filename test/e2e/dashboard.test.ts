// The dashboard in Debian's Chromium against two real nodes of one mesh, with generated .NET
// repositories over file://: what a user sees while launching, watching and cancelling builds.
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build as viteBuild } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import {
  api,
  removeDir,
  startTestNode,
  tokenFor,
  waitFor,
  waitForBuild,
  type TestNode,
} from '../helpers/node-harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCREENSHOTS = join(ROOT, 'test/e2e/screenshots');
const CHROMIUM = process.env.BUILDMESH_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// Generous: on a loaded 2-core machine a 4-project Distributed build can take minutes.
const BUILD_TIMEOUT_MS = 360_000;

describe('dashboard', () => {
  let root: string;
  let ok: GeneratedRepo;
  let failing: GeneratedRepo;
  let a: TestNode;
  let b: TestNode;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const open = async (fragment: string) => {
    await page.evaluate((hash) => {
      window.location.hash = hash;
    }, fragment);
  };
  const buildStatus = () => page.locator('#build-heading + .panel-summary .status');
  const submitApi = async (body: Record<string, unknown>) => {
    const response = await api<{ executionId: string }>(a.url, 'POST', '/api/v1/builds', body);
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    return response.body.executionId;
  };

  beforeAll(async () => {
    // The node serves whatever out/renderer holds: build the UI of this checkout first.
    await viteBuild({ configFile: join(ROOT, 'vite.renderer.config.ts'), logLevel: 'error' });
    root = await mkdtemp(join(tmpdir(), 'buildmesh-e2e-'));
    await mkdir(SCREENSHOTS, { recursive: true });
    // Two libraries side by side (one per peer), their test project and an app: 4 projects.
    ok = await generateSolutionRepo({ root, width: 2, depth: 1, name: 'shop', extraCommits: 0 });
    failing = await generateSolutionRepo({
      root,
      width: 1,
      depth: 1,
      variant: 'failing-test',
      app: false,
      name: 'broken',
      extraCommits: 0,
    });
    a = await startTestNode({ dataDir: join(root, 'a') });
    const joinCode = await runCliInProcess(['mesh', 'join-code', '--data-dir', join(root, 'a')]);
    expect(joinCode.code, joinCode.stderr).toBe(0);
    b = await startTestNode({ dataDir: join(root, 'b'), joinCode: joinCode.stdout.trim() });
    await waitFor(
      'node A to see both peers idle',
      async () => {
        const agents = (await api<{ agents: { status: string }[] }>(a.url, 'GET', '/api/v1/agents')).body
          .agents;
        return agents.filter((agent) => agent.status === 'Idle').length === 2;
      },
      60_000,
    );

    context = await chromium.launchPersistentContext(join(root, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await b?.stop();
    await a?.stop();
    await removeDir(root);
  });

  it('asks for a token when the node refuses the one it was given, and takes a pasted one', async () => {
    const token = tokenFor(a.url);
    expect(token, 'the harness holds a token for node A').toBeTruthy();
    await page.goto(`${a.url}/#token=not-a-valid-token`);
    await page.getByRole('heading', { name: 'Sign in to this node' }).waitFor();
    expect(await page.getByRole('alert').first().textContent()).toContain('did not accept the token');
    expect(await page.locator('main').textContent()).toContain('buildmesh token create --role Developer');
    await page.getByLabel('API token').fill(token!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#builds-heading').waitFor();
    await shot('sign-in-accepted');
  });

  it('signs in from the link and takes the token out of the address bar', async () => {
    // Signs in the way a user does: the link the node prints, token in the fragment.
    await page.goto(`${a.url}/#token=${tokenFor(a.url)}`);
    await expect.poll(() => page.url()).toBe(`${a.url}/`);
    await page.locator('#builds-heading').waitFor();
    await expect.poll(() => page.locator('.state-empty').textContent()).toContain('No builds yet.');
    await page.locator('.live-open').waitFor();
  });

  it('lists both peers with their OS, SDKs and status', async () => {
    await page.getByRole('link', { name: 'Peers' }).click();
    const rows = page.locator('table tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const text = await page.locator('table').textContent();
    expect(text).toContain('this machine');
    expect(text).toMatch(/Linux/);
    expect(text).toMatch(/10\.0\.\d+/);
    expect(text).toContain('Idle');
    await shot('peers');
  });

  it('shows the API’s message next to the field for an invalid repository URL', async () => {
    await page.getByRole('link', { name: 'New build' }).click();
    await page.getByLabel('Repository URL').fill('not a git url');
    await page.getByLabel('Solution').fill('App.sln');
    await page.getByRole('button', { name: 'Start build' }).click();
    const error = page.locator('#field-repositoryUrl-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('must be an absolute git URL');
    expect(await page.getByLabel('Repository URL').getAttribute('aria-invalid')).toBe('true');
    // The focus moves to the field to fix.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('field-repositoryUrl');
    expect(page.url()).toContain('#/builds/new');
    await shot('new-build-invalid');
  });

  it('launches a Distributed build from the form and watches it to Succeeded, with a streamed log and tasks on both peers', async () => {
    // A fresh form: through the builds list, as a user would.
    await page.getByRole('link', { name: 'Builds' }).click();
    await page.getByRole('link', { name: 'New build' }).click();
    await page.getByLabel('Repository URL').fill(ok.repositoryUrl);
    await page.getByLabel('Ref').fill('main');
    // Leaving the ref field resolves it and offers the repository's solutions.
    await page.getByLabel('Strategy').focus();
    await expect
      .poll(() => page.locator('.lookup-status').textContent(), { timeout: 60_000 })
      .toContain(`to ${ok.headCommit.slice(0, 12)}`);
    expect(await page.getByLabel('Solution').inputValue()).toBe(ok.solutionPath);
    await page.getByLabel('Strategy').selectOption('Distributed');
    await shot('new-build');
    await page.getByRole('button', { name: 'Start build' }).click();
    await page.waitForURL(/#\/builds\/[0-9a-f-]{36}$/);
    const executionId = decodeURIComponent(page.url().split('/').pop()!);

    // The log streams while the build runs: lines show up before it has finished.
    const lines = page.locator('.log-line');
    await expect.poll(() => lines.count(), { timeout: 120_000 }).toBeGreaterThan(0);
    const statusWhileLogging = await buildStatus().textContent();
    // So do the timeline's bars: a task's bar appears as a peer takes it (live `task` events).
    await expect.poll(() => page.locator('.timeline .bar').count(), { timeout: 180_000 }).toBeGreaterThan(0);
    const statusWithFirstBar = await buildStatus().textContent();
    await expect
      .poll(() => buildStatus().textContent(), { timeout: BUILD_TIMEOUT_MS, interval: 1000 })
      .toMatch(/Succeeded|Failed|Cancelled|TimedOut/);
    expect(await buildStatus().textContent()).toBe('Succeeded');
    const finalLines = await lines.count();
    expect(finalLines).toBeGreaterThan(10);
    expect(await page.locator('.log-lines').textContent()).toContain('Build Succeeded');
    // At least one line was on screen before the end: it was streamed, not loaded afterwards.
    expect(statusWhileLogging).toBe('Running');
    expect(statusWithFirstBar).toBe('Running');

    // Timeline: one lane per peer, each with bars, every bar a succeeded task; a critical path.
    const lanes = page.locator('.timeline-lane');
    await expect.poll(() => lanes.count()).toBe(2);
    const laneIds = await lanes.evaluateAll((elements) =>
      elements.map((element) => element.getAttribute('data-agent-id')),
    );
    expect(new Set(laneIds)).toEqual(new Set([a.node.agentId, b.node.agentId]));
    for (let index = 0; index < 2; index++)
      expect(await lanes.nth(index).locator('.bar').count()).toBeGreaterThan(0);
    const bars = page.locator('.timeline .bar');
    expect(await bars.count()).toBe(5); // 4 build tasks + 1 test task
    expect(await page.locator('.timeline .bar.bar-succeeded').count()).toBe(5);
    expect(await page.locator('.timeline .bar.critical').count()).toBeGreaterThan(1);
    const box = await bars.first().boundingBox();
    expect(box?.width ?? 0).toBeGreaterThan(2);

    // Tests passed, stages all succeeded; the list shows the build.
    expect(await page.locator('.test-summary').textContent()).toContain(`${ok.testCount} passed`);
    expect(await page.locator('.stages .status').allTextContents()).toEqual(Array(6).fill('Succeeded'));
    await page.getByRole('button', { name: 'Jump to first error' }).waitFor();
    await page.getByRole('searchbox', { name: 'Search the log' }).fill('Planned');
    await expect.poll(() => page.locator('.log-count').textContent()).toMatch(/match/);
    await page.getByRole('searchbox', { name: 'Search the log' }).fill('');
    await page.locator('.timeline .bar').first().focus();
    await shot('build-detail');
    await copyFile(join(SCREENSHOTS, 'build-detail.png'), join(SCREENSHOTS, 'dashboard.png'));

    await page.getByRole('link', { name: 'Builds' }).click();
    const row = page.locator('table tbody tr', { hasText: executionId.slice(0, 8) });
    await row.waitFor();
    expect(await row.textContent()).toContain('Distributed');
    expect(await row.textContent()).toContain('Succeeded');
    // Launched by: the subject of the token the browser signed in with.
    expect(await row.textContent()).toContain('test');
  });

  it('opens a build with a failing test and shows the failed test’s name and message first', async () => {
    const executionId = await submitApi({
      repositoryUrl: failing.repositoryUrl,
      gitRef: 'main',
      solutionPath: failing.solutionPath,
      strategy: 'Incremental',
    });
    await page.getByRole('link', { name: 'Builds' }).click();
    const link = page.locator(`a[href="#/builds/${executionId}"]`);
    await link.click();
    await expect
      .poll(() => buildStatus().textContent(), { timeout: BUILD_TIMEOUT_MS, interval: 1000 })
      .toMatch(/Succeeded|Failed|Cancelled|TimedOut/);
    expect(await buildStatus().textContent()).toBe('Failed');
    const failure = page.locator('.failures .failure').first();
    await failure.waitFor();
    expect(await failure.locator('.failure-name').textContent()).toBe(failing.failingTestName);
    expect(await failure.locator('.failure-message').textContent()).toMatch(/Assert\.Equal\(\) Failure/);
    expect(await page.locator('.test-summary').textContent()).toContain('1 failed');
    await failure.locator('summary').click();
    expect(await failure.locator('pre').textContent()).toContain('Deliberately_failing_test');
    await page.getByRole('button', { name: 'Jump to first error' }).click();
    await page.locator('.log-line.current').waitFor();
    await shot('build-failed-test');
  });

  it('cancels a running build from its page', async () => {
    const executionId = await submitApi({
      repositoryUrl: ok.repositoryUrl,
      gitRef: 'main',
      solutionPath: ok.solutionPath,
      strategy: 'Clean',
    });
    await open(`#/builds/${executionId}`);
    await expect.poll(() => buildStatus().textContent(), { timeout: 60_000 }).toBe('Running');
    await expect.poll(() => page.locator('.log-line').count(), { timeout: 60_000 }).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Cancel build' }).click();
    await expect
      .poll(() => buildStatus().textContent(), { timeout: 60_000, interval: 500 })
      .toBe('Cancelled');
    const final = await waitForBuild(a.url, executionId, 60_000);
    expect(final.status).toBe('Cancelled');
    expect(await page.getByRole('button', { name: 'Cancel build' }).count()).toBe(0);
    await shot('build-cancelled');

    await page.getByRole('link', { name: 'Builds' }).click();
    await page.getByLabel('Status').selectOption('cancelled');
    const rows = page.locator('table tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('Cancelled');
    await page.getByRole('button', { name: 'Clear filter' }).click();
    await expect.poll(() => rows.count()).toBe(3);
    await shot('builds');
    expect(pageErrors).toEqual([]);
  });

  it('shows a verified Distributed build’s checks: the verdict, hatched verify bars, and verify kept on edit-and-rebuild', async () => {
    const executionId = await submitApi({
      repositoryUrl: ok.repositoryUrl,
      gitRef: 'main',
      solutionPath: ok.solutionPath,
      strategy: 'Distributed',
      verify: true,
    });
    await open(`#/builds/${executionId}`);
    await expect
      .poll(() => buildStatus().textContent(), { timeout: BUILD_TIMEOUT_MS, interval: 1000 })
      .toMatch(/Succeeded|Failed|Cancelled|TimedOut/);
    expect(await buildStatus().textContent()).toBe('Succeeded');
    // Every project was built a second time on the other peer: 4 verify bars besides the 5 tasks.
    await expect.poll(() => page.locator('.timeline .bar.bar-verify').count(), { timeout: 10_000 }).toBe(4);
    expect(await page.locator('.timeline .bar').count()).toBe(9);
    expect(await page.locator('.timeline .bar.bar-verify.critical').count()).toBe(0);
    const verdict = page.locator('.verdict .verdict-title');
    await expect
      .poll(() => verdict.textContent(), { timeout: 10_000 })
      .toBe('Reproducible: identical outputs on 2 peers');
    await shot('build-verified');
    await page.getByRole('link', { name: 'Edit and rebuild' }).click();
    await expect.poll(() => page.getByLabel('Strategy').inputValue()).toBe('Distributed');
    expect(
      await page.getByLabel('Verify: build again on a second peer and compare outputs').isChecked(),
    ).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
