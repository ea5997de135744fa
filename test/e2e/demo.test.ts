/**
 * The first run and the demo, in real Chromium (the built app on OPFS, with its CSP), at 1440, 820
 * and 390 px, each in a fresh profile:
 * 1. the first screen of a fresh database welcomes and offers "Try the demo" (primary) and "Start
 *    with an empty workspace";
 * 2. Try the demo → the demo's live session: the timeline shows its check step "retrying in N s"
 *    after the first attempt failed, then the step succeeded on attempt 2; the approval appears in
 *    the Inbox with a count; approving removes it and the session finishes;
 * 3. the demo is marked: "Demo" in the header and in the workspace list, the banner "This is demo
 *    data" with "Remove the demo"; the Forest holds the linked demo notes (their wiki links resolve);
 * 4. the guided path steps through (Next / Back, by mouse and keyboard, focus on the step's title)
 *    to the run, the Inbox, the workflow and the Forest, closes with Esc, stays closed after a
 *    reload (done on this device) and restarts from the banner;
 * 5. a reload keeps everything (the demo, the finished session, the open workspace);
 * 6. Remove the demo asks first (saying what goes), then the demo is gone from every list and the
 *    first screen offers the demo again; "Start with an empty workspace" leads to an empty
 *    workspace whose next step is obvious;
 * 7. no CSP violation, no console error. Screenshots go to .tmp/screens/ (gitignored).
 * And: "Try the demo" clicked in two tabs at once makes one demo (the same idempotency key);
 * once there is work, the first screen is the Inbox (an approval waits) or the workflows.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/chromium.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { Cleanup, REPO } from './support.ts';
import { cspViolations, PageProblems, recordCspViolations, serveApp } from './app-support.ts';
import { AppPage } from './pages/app-page.ts';
import { KingdomApiPage } from './pages/kingdom-api.ts';
import { DEMO_NOTES, DEMO_WORKFLOW, DEMO_WORKSPACE_NAME } from '../../src/lib/demo/content.ts';

const UI_MS = 20_000;
const SCREENS = join(REPO, '.tmp/screens');
const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;
const SIZES = [
  { name: 'laptop', width: 1440, height: 900 },
  { name: 'tablet', width: 820, height: 1180 },
  { name: 'phone', width: 390, height: 844 },
] as const;

describe('first run and the demo', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    mkdirSync(SCREENS, { recursive: true });
    server = await serveApp(cleanup);
  });
  after(() => cleanup.run());

  test('Try the demo in two tabs at once makes one demo (one idempotency key)', async () => {
    const context = await chromium.launchPersistentContext(cleanup.tempDir('kingdom-e2e-demo-twice-'), {
      executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS], viewport: { width: 1440, height: 900 },
    });
    cleanup.add('chromium twice', () => context.close());
    await recordCspViolations(context);
    const pages = [context.pages()[0] ?? await context.newPage(), await context.newPage()];
    const problems = await Promise.all(pages.map((p) => PageProblems.watch(p)));
    for (const p of pages) {
      await p.goto(`${server.url}/`);
      await new KingdomApiPage(p).ready();
      await p.locator(sel('try-demo')).waitFor({ timeout: UI_MS });
    }
    // Both clicks at once (dispatched in the pages, not through Playwright's one-by-one actionability
    // checks), so both tabs plan before either batch commits: the second replays the first's key.
    await Promise.all(pages.map((p) => p.evaluate(() => (document.querySelector('[data-testid="try-demo"]') as HTMLButtonElement).click())));
    const ids = await Promise.all(pages.map(async (p) => {
      await p.waitForFunction(() => /^#\/sessions\/[^/]+$/.test(location.hash), undefined, { timeout: UI_MS });
      return p.evaluate(() => location.hash);
    }));
    assert.equal(ids[0], ids[1], 'both tabs show the same live session');
    const all = await new KingdomApiPage(pages[0]!).workspaces();
    assert.deepEqual(all.map((w) => w.name).sort(), ['Default', DEMO_WORKSPACE_NAME], 'one demo workspace');
    const sessions = await new KingdomApiPage(pages[1]!).query<unknown[]>('session.list', { workspaceId: all.find((w) => w.name === DEMO_WORKSPACE_NAME)!.id });
    assert.ok(sessions.ok && sessions.value.length === 1, 'one live session');
    for (const [i, p] of pages.entries()) {
      assert.deepEqual(await cspViolations(p), [], `tab ${i}: no CSP violations`);
      assert.deepEqual(problems[i]!.errors, [], `tab ${i}: no console errors`);
    }
  });

  for (const size of SIZES) {
    test(`${size.width} px: welcome → Try the demo → live retry → approve in the Inbox → tour → reload → remove → empty workspace`, async () => {
      const context = await chromium.launchPersistentContext(cleanup.tempDir(`kingdom-e2e-demo-${size.name}-`), {
        executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS], viewport: { width: size.width, height: size.height },
      });
      cleanup.add(`chromium ${size.name}`, () => context.close());
      await recordCspViolations(context);
      const page = context.pages()[0] ?? await context.newPage();
      const problems = await PageProblems.watch(page);
      const api = new KingdomApiPage(page);
      const ui = new AppPage(page, UI_MS);
      const shot = (what: string): Promise<Buffer> => page.screenshot({ path: join(SCREENS, `demo-${what}-${size.width}.png`), fullPage: true });
      const hash = (): Promise<string> => page.evaluate(() => location.hash);
      const waitHash = (re: RegExp): Promise<unknown> => page.waitForFunction((src) => new RegExp(src).test(location.hash), re.source, { timeout: UI_MS });
      const go = async (h: string): Promise<void> => {
        await page.evaluate((to) => { location.hash = to; }, h);
      };

      // 1. A fresh profile: the first screen welcomes and offers the demo first.
      await page.goto(`${server.url}/`);
      assert.equal((await api.ready()).storage, 'opfs');
      await ui.waitReady();
      await page.locator(sel('welcome')).waitFor({ timeout: UI_MS });
      const tryDemo = page.locator(sel('try-demo'));
      assert.equal(await tryDemo.textContent().then((t) => t?.trim()), 'Try the demo');
      assert.match((await tryDemo.getAttribute('class')) ?? '', /btn-primary/, 'the demo is the primary choice');
      assert.equal(await page.locator(sel('start-empty')).textContent().then((t) => t?.trim()), 'Start with an empty workspace');
      assert.match((await page.locator(sel('welcome')).textContent()) ?? '', /Kingdom runs workflows/);
      assert.equal(await page.locator(sel('demo-banner')).count(), 0);
      await shot('welcome');

      // 2. Try the demo: its live session, the check fails once and succeeds on the retry.
      await tryDemo.click();
      await waitHash(/^#\/sessions\/[^/]+$/);
      const sessionId = decodeURIComponent((await hash()).split('/')[2]!);
      await page.locator(sel('demo-banner')).waitFor({ timeout: UI_MS });
      const checkRow = page.locator(sel('timeline-row', '[data-step="check"]'));
      await checkRow.locator(sel('timeline-retry')).waitFor({ timeout: UI_MS });
      assert.match((await checkRow.locator(sel('timeline-retry')).textContent()) ?? '', /^retrying in \d+ s$/);
      assert.match((await page.locator(sel('session-status')).textContent()) ?? '', /^retrying check in \d+ s$/);
      await shot('retrying');
      await page.locator(sel('timeline-row', '[data-step="check"][data-status="succeeded"][data-attempts="2"]')).waitFor({ timeout: UI_MS });
      await page.waitForFunction(() => document.querySelector('[data-testid="session-status"]')?.textContent === 'waiting for you', undefined, { timeout: UI_MS });
      const events = await api.query<{ events: { type: string; step: string | null }[] }>('session.state', { sessionId });
      assert.ok(events.ok);
      const checkTypes = events.value.events.filter((e) => e.step === 'check').map((e) => e.type);
      assert.ok(checkTypes.includes('step.retry_scheduled'), `a real retry was scheduled: ${checkTypes.join(', ')}`);
      assert.equal(checkTypes.filter((t) => t === 'step.started').length, 2, 'two attempts');
      assert.equal(checkTypes.at(-1), 'step.succeeded');
      await page.waitForFunction(() => document.querySelector('[data-testid="inbox-count"]')?.textContent === '1', undefined, { timeout: UI_MS });
      // Now there is work: the first screen is the work, here the Inbox (an approval waits).
      await go('#/start');
      await waitHash(/^#\/inbox$/);
      await go(`#/sessions/${encodeURIComponent(sessionId)}`);

      // 3. Marked as demo data everywhere it shows.
      await page.locator(sel('header-demo-badge')).waitFor({ timeout: UI_MS });
      assert.match((await page.locator(sel('demo-banner')).textContent()) ?? '', /This is demo data\.[\s\S]*Remove the demo/);
      assert.equal(await page.locator(`${sel('workspace-switcher')} option:checked`).textContent(), DEMO_WORKSPACE_NAME);

      // 4. The guided path: run → Inbox (approve there) → workflow → Forest.
      const tour = page.locator(sel('tour'));
      await tour.waitFor({ timeout: UI_MS });
      assert.equal(await tour.getAttribute('data-step'), 'run');
      assert.equal(await page.locator(sel('tour-back')).isDisabled(), true, 'no Back on the first step');
      await shot('session');
      await page.locator(sel('tour-next')).click();
      await waitHash(/^#\/inbox$/);
      assert.equal(await tour.getAttribute('data-step'), 'inbox');
      await page.waitForFunction(() => document.activeElement?.id === 'tour-title', undefined, { timeout: UI_MS });
      const item = page.locator(sel('inbox-approval', `[data-session="${sessionId}"]`));
      await item.waitFor({ timeout: UI_MS });
      assert.match((await item.textContent()) ?? '', /Ship release 2\.4\.0\? The check passed on attempt 2\./);
      await shot('inbox');
      await item.locator(sel('inbox-approve')).click();
      await item.waitFor({ state: 'detached', timeout: UI_MS });
      await page.locator(sel('inbox-count')).waitFor({ state: 'detached', timeout: UI_MS });
      await page.waitForFunction(async (id) => {
        const w = window as unknown as { kingdomDevHook: { api: { query: (n: string, p: unknown) => Promise<{ ok: boolean; value?: { status: string } }> } } };
        const r = await w.kingdomDevHook.api.query('session.get', { sessionId: id });
        return r.ok && r.value?.status === 'succeeded';
      }, sessionId, { timeout: UI_MS, polling: 200 });

      // Keyboard: Enter on Next, then Back, then Next again.
      await page.locator(sel('tour-next')).focus();
      await page.keyboard.press('Enter');
      await waitHash(new RegExp(`^#/workflows/${DEMO_WORKFLOW}$`));
      assert.equal(await tour.getAttribute('data-step'), 'workflow');
      await page.locator(sel('tour-back')).focus();
      await page.keyboard.press('Enter');
      await waitHash(/^#\/inbox$/);
      await page.locator(sel('tour-next')).focus();
      await page.keyboard.press('Space');
      await waitHash(new RegExp(`^#/workflows/${DEMO_WORKFLOW}$`));
      await shot('workflow');
      await page.locator(sel('tour-next')).click();
      await waitHash(/^#\/forest$/);
      assert.equal(await tour.getAttribute('data-step'), 'forest');
      assert.equal((await page.locator(sel('tour-next')).textContent())?.trim(), 'Finish');

      // The Forest shows the linked demo notes.
      await page.locator(sel('forest-hit')).nth(DEMO_NOTES.length - 1).waitFor({ timeout: UI_MS });
      const hits = (await page.locator(sel('forest-hit')).allTextContents()).join('\n');
      for (const n of DEMO_NOTES) assert.ok(hits.includes(n.title), `the Forest lists "${n.title}"`);
      await shot('forest');

      // Esc inside the panel closes the tour; it is done on this device.
      await page.locator(sel('tour-close')).focus();
      await page.keyboard.press('Escape');
      await tour.waitFor({ state: 'detached', timeout: UI_MS });

      const checklist = page.locator(sel('forest-hit')).filter({ hasText: 'Release checklist' }).locator('a').first();
      await checklist.click();
      await page.locator(sel('forest-body')).waitFor({ timeout: UI_MS });
      await page.locator(sel('wiki-link')).first().waitFor({ timeout: UI_MS });
      assert.equal(await page.locator(sel('wiki-unresolved')).count(), 0, 'every wiki link resolves');
      assert.deepEqual((await page.locator(sel('wiki-link')).evaluateAll((as) => as.map((a) => a.getAttribute('data-target')))).sort(),
        ['Approvals', 'Build checks', 'Release notes', 'Retries']);

      // 5. A reload keeps everything; the tour stays closed.
      await page.reload();
      await ui.waitReady();
      await page.locator(sel('demo-banner')).waitFor({ timeout: UI_MS });
      await page.locator(sel('forest-body')).waitFor({ timeout: UI_MS });
      assert.equal(await tour.count(), 0, 'done on this device: not shown again');
      // The bare address opens the work: nothing waits any more, so the demo's workflows.
      await page.goto(`${server.url}/`);
      await ui.waitReady();
      await waitHash(/^#\/workflows$/);
      await page.locator(sel('workflow-row', `[data-name="${DEMO_WORKFLOW}"]`)).waitFor({ timeout: UI_MS });
      await go(`#/sessions/${encodeURIComponent(sessionId)}`);
      await page.locator(sel('session-status', '[data-status="succeeded"]')).waitFor({ timeout: UI_MS });
      assert.equal(await page.locator(sel('timeline-row', '[data-step="check"]')).getAttribute('data-attempts'), '2');
      await page.locator(sel('header-demo-badge')).waitFor({ timeout: UI_MS });
      // The banner restarts the tour, on the run.
      await go('#/forest');
      await page.locator(sel('tour-restart')).click();
      await tour.waitFor({ timeout: UI_MS });
      await waitHash(/^#\/sessions\/[^/]+$/);
      assert.equal(await tour.getAttribute('data-step'), 'run');
      await page.locator(sel('tour-close')).click();
      await tour.waitFor({ state: 'detached', timeout: UI_MS });

      // The workspace list marks the demo.
      await go('#/workspaces');
      const demoItem = page.locator(sel('workspace-item', `[data-name="${DEMO_WORKSPACE_NAME}"]`));
      await demoItem.locator(sel('workspace-demo-badge')).waitFor({ timeout: UI_MS });
      assert.equal(await page.locator(sel('workspace-demo-badge')).count(), 1);
      await shot('workspaces');

      // 6. Remove the demo: asked first (what goes), Keep it cancels, then removed.
      await page.locator(sel('demo-remove')).click();
      const confirm = page.locator(sel('demo-remove-confirm'));
      await confirm.waitFor({ timeout: UI_MS });
      const says = (await confirm.textContent())?.replace(/\s+/g, ' ') ?? '';
      assert.match(says, new RegExp(`“${DEMO_WORKSPACE_NAME}” leaves every list, with \\d+ workflows, 1 session and \\d+ Forest notes`));
      assert.match(says, /append-only/);
      await shot('remove-confirm');
      await page.locator(sel('demo-remove-no')).click();
      await confirm.waitFor({ state: 'detached', timeout: UI_MS });
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'demo-remove', 'focus back on the button');
      await page.locator(sel('demo-remove')).click();
      await page.locator(sel('demo-remove-yes')).click();
      await page.locator(sel('welcome')).waitFor({ timeout: UI_MS });
      assert.equal(await hash(), '#/start', 'the first screen offers the demo again');
      await page.locator(sel('try-demo')).waitFor({ timeout: UI_MS });
      assert.equal(await page.locator(sel('demo-banner')).count(), 0);
      assert.equal(await page.locator(sel('header-demo-badge')).count(), 0);
      assert.deepEqual(await page.locator(`${sel('workspace-switcher')} option`).allTextContents(), ['Default'], 'gone from the switcher');
      const listed = await api.workspaces();
      assert.deepEqual(listed.filter((w) => w.status === 'active').map((w) => w.name), ['Default'], 'gone from the workspace list');
      assert.equal(listed.find((w) => w.name === DEMO_WORKSPACE_NAME)?.status, 'archived', 'archived: the log is append-only');
      const after = await api.query<{ status: string }>('session.get', { sessionId });
      assert.ok(after.ok && after.value.status === 'succeeded', 'its finished session is history, not rewritten');
      await go('#/workspaces');
      await page.locator(sel('workspace-item')).first().waitFor({ timeout: UI_MS });
      assert.equal(await page.locator(sel('workspace-item', `[data-name="${DEMO_WORKSPACE_NAME}"]`)).count(), 0);
      const inbox = await api.query<{ approvals: unknown[] }>('session.inbox', {});
      assert.ok(inbox.ok && inbox.value.approvals.length === 0);

      // Start with an empty workspace: its workflows, empty, with the next step at hand.
      await go('#/start');
      await page.locator(sel('start-empty')).click({ timeout: UI_MS });
      await waitHash(/^#\/workflows$/);
      await page.locator(sel('workflows-empty')).waitFor({ timeout: UI_MS });
      assert.equal(await page.locator(sel('install-examples')).isVisible(), true);
      assert.equal(await page.locator(sel('workflow-new')).isVisible(), true);
      await shot('empty');

      // 7. Clean.
      assert.deepEqual(await cspViolations(page), [], 'no CSP violations');
      assert.deepEqual(problems.errors, [], 'no console errors');
    });
  }
});
