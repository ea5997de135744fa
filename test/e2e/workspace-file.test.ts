/**
 * A workspace as one file another person opens (docs/workspace-file.md), in real Chromium with the
 * built app and its CSP: two separate browser profiles, two "people".
 *
 * Checked:
 * 1. A creates workspace "Launch", installs the examples there, runs `hello` to success and
 *    `approval` to its approval wait from their run forms, writes a Forest note, and exports the
 *    workspace from the Workspaces screen (the download is captured).
 * 2. B opens the file with "Open a workspace file…": it verifies and becomes a read-only copy,
 *    labelled "Imported from … on …, verified"; B sees the same session names and statuses, the
 *    same timeline (steps, statuses, attempts) and the note; the waiting run shows as exported
 *    (no controls, no approval form); B's log still verifies.
 * 3. A copy of the file with one event edited is refused with the sentence naming that event, and
 *    B's log does not move.
 * 4. B removes the copy (Remove copy, confirmed): gone from every list, the log still verifies.
 * 5. Screenshots at 1440, 820 and 390 px (.tmp/screens/); no CSP violation and no console error in
 *    either profile.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { Cleanup, REPO } from './support.ts';
import { cspViolations, launch, openBuiltApp, PageProblems, recordCspViolations, type OpenedApp } from './app-support.ts';
import { AppPage } from './pages/app-page.ts';
import { KingdomApiPage } from './pages/kingdom-api.ts';
import type { WireEvent } from '../../worker/kernel/log/envelope.ts';

const UI_MS = 20_000;
const SCREENS = join(REPO, '.tmp/screens');
const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;

interface Person { readonly page: Page; readonly ui: AppPage; readonly api: KingdomApiPage; readonly problems: PageProblems }

describe('a workspace file, from one person to another', () => {
  const cleanup = new Cleanup();
  let a: OpenedApp;
  let b: Person;
  let url = '';
  let file = '';
  let workspaceId = '';
  let copyId = '';

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    mkdirSync(SCREENS, { recursive: true });
    a = await openBuiltApp(cleanup, 'wsfile-a', '#/workspaces', UI_MS);
    url = a.server.url;
    const context = await launch(cleanup, cleanup.tempDir('kingdom-e2e-wsfile-b-'));
    await recordCspViolations(context);
    const page = await context.newPage();
    const problems = await PageProblems.watch(page);
    await page.goto(`${url}/#/workspaces`);
    const api = new KingdomApiPage(page);
    assert.equal((await api.ready()).storage, 'opfs');
    const ui = new AppPage(page, UI_MS);
    await ui.waitReady();
    b = { page, ui, api, problems };
  });
  after(() => cleanup.run());

  async function go(p: Page, hash: string): Promise<void> {
    await p.goto(`${url}/${hash}`);
    await p.locator(sel('storage-kind')).first().waitFor({ timeout: UI_MS });
  }

  async function run(name: string, status: string): Promise<void> {
    const p = a.page;
    await go(p, '#/workflows');
    await p.locator(`${sel('workflow-row', `[data-name="${name}"]`)} ${sel('workflow-run')}`).click({ timeout: UI_MS });
    await p.locator(sel('run-start')).click({ timeout: UI_MS });
    await p.waitForFunction(() => /^#\/sessions\/[^/]+$/.test(location.hash), undefined, { timeout: UI_MS });
    await p.locator(sel('session-status', `[data-status="${status}"]`)).waitFor({ timeout: UI_MS });
  }

  /** Session names and statuses of the open workspace's Sessions screen, sorted. */
  async function sessions(p: Page): Promise<string[]> {
    await go(p, '#/sessions');
    await p.locator(sel('session-row')).first().waitFor({ timeout: UI_MS });
    const rows = await p.locator(sel('session-row')).evaluateAll((els) => els.map((el) => `${el.querySelector('[data-testid="session-name"]')?.textContent?.trim()} ${el.getAttribute('data-status')}`));
    return rows.sort();
  }

  /** The timeline of the session named `name`: step, status and attempts of each row. */
  async function timeline(p: Page, name: string): Promise<string[]> {
    await go(p, '#/sessions');
    await p.locator(sel('session-name')).filter({ hasText: name }).first().click({ timeout: UI_MS });
    await p.locator(sel('timeline-row')).first().waitFor({ timeout: UI_MS });
    return p.locator(sel('timeline-row')).evaluateAll((els) => els.map((el) => `${el.getAttribute('data-step')} ${el.getAttribute('data-status')} ${el.getAttribute('data-attempts')}`));
  }

  async function screens(p: Page, name: string): Promise<void> {
    for (const width of [1440, 820, 390]) {
      await p.setViewportSize({ width, height: 900 });
      await p.waitForTimeout(150);
      const wide = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(wide <= 1, `${name} at ${width} px does not scroll sideways (${wide} px)`);
      await p.screenshot({ path: join(SCREENS, `workspace-file-${name}-${width}.png`), fullPage: true });
    }
    await p.setViewportSize({ width: 1280, height: 900 });
  }

  test('A runs examples in a workspace and exports it as one file', async () => {
    await a.ui.createWorkspace('Launch');
    await a.ui.workspaceItem('Launch').locator(sel('workspace-open')).click({ timeout: UI_MS });
    await a.page.locator(sel('workspace-switcher')).and(a.page.locator('[data-current]:not([data-current="00000000-0000-4000-8000-000000000000"])')).waitFor({ timeout: UI_MS });
    workspaceId = (await a.page.locator(sel('workspace-switcher')).getAttribute('data-current'))!;
    await go(a.page, '#/workflows');
    await a.page.locator(sel('install-examples')).click({ timeout: UI_MS });
    await a.page.locator(sel('workflow-row', '[data-name="approval"]')).waitFor({ timeout: UI_MS });
    await run('hello', 'succeeded');
    await run('approval', 'running');
    await a.page.locator(sel('approval-card')).first().waitFor({ timeout: UI_MS });
    const note = await a.api.command({ type: 'forest.node.create', payload: { workspaceId, title: 'Launch checklist', body: 'Ask **Ada** to sign off.' }, idempotencyKey: 'note-1' });
    assert.ok(note.ok, JSON.stringify(note));

    await go(a.page, '#/workspaces');
    const [download] = await Promise.all([a.page.waitForEvent('download', { timeout: UI_MS }), a.page.locator(sel('workspace-export')).click({ timeout: UI_MS })]);
    assert.match(download.suggestedFilename(), /^launch-\d{4}-\d\d-\d\d\.kingdom-workspace\.json(\.gz)?$/);
    file = join(cleanup.tempDir('kingdom-e2e-wsfile-'), download.suggestedFilename());
    await download.saveAs(file);
    await a.page.locator(sel('workspace-export-done')).waitFor({ timeout: UI_MS });
    await screens(a.page, 'a-export');
  });

  test('B opens the file: a verified read-only copy with the same sessions, timeline and note', async () => {
    await go(b.page, '#/workspaces');
    // The file input is a real one, named by its label and reachable by keyboard.
    const input = b.page.getByLabel('Open a workspace file…');
    assert.equal(await input.getAttribute('type'), 'file');
    await input.focus();
    assert.equal(await b.page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type), 'file');
    await input.setInputFiles(file, { timeout: UI_MS });
    const done = b.page.locator(sel('workspace-import-done'));
    await done.waitFor({ timeout: UI_MS });
    copyId = (await done.getAttribute('data-workspace'))!;
    assert.match((await done.textContent()) ?? '', /“Launch” is here as a read-only copy\.\s+Imported from dev-[0-9a-f-]+ on .+, verified: \d+ events/);
    await b.page.locator(sel('workspace-import-open')).click({ timeout: UI_MS });
    await b.page.locator(sel('workspace-switcher', `[data-current="${copyId}"]`)).waitFor({ timeout: UI_MS });
    assert.match((await b.page.locator(sel('imported-banner-label')).textContent()) ?? '', /^Imported from dev-[0-9a-f-]+ on .+, verified\.$/);
    assert.equal(await b.ui.workspaceItem('Launch').getAttribute('data-copy'), 'true');
    await screens(b.page, 'b-opened');

    const expected = await sessions(a.page);
    assert.deepEqual(expected, ['approval #1 running', 'hello #1 succeeded']);
    assert.deepEqual(await sessions(b.page), expected);
    await screens(b.page, 'b-sessions');
    for (const name of ['hello #1', 'approval #1']) {
      const original = await timeline(a.page, name);
      assert.ok(original.length >= (name.startsWith('hello') ? 2 : 1), `${name} has a timeline: ${original.join(', ')}`);
      assert.deepEqual(await timeline(b.page, name), original, `${name}: the same timeline`);
    }
    // The copy's waiting run shows as exported: no controls, no approval form.
    await b.page.locator(sel('session-copy')).waitFor({ timeout: UI_MS });
    assert.equal(await b.page.locator(sel('approval-card')).count(), 0);
    assert.equal(await b.page.locator(sel('session-status')).textContent(), 'waiting for approval');
    await screens(b.page, 'b-session');
    const notes = await b.api.query<{ nodes: { title: string }[] }>('forest.node.list', { workspaceId: copyId });
    assert.ok(notes.ok && notes.value.nodes.some((n) => n.title === 'Launch checklist'), 'the note came along');
    assert.equal(await b.ui.verify(), true, 'B\'s log still verifies');
  });

  test('a tampered copy of the file is refused with a sentence; nothing is written', async () => {
    const raw = readFileSync(file);
    const parsed = JSON.parse((raw[0] === 0x1f ? gunzipSync(raw) : raw).toString('utf8')) as { events: WireEvent[] };
    const i = parsed.events.findIndex((e) => e.type === 'step.succeeded');
    parsed.events[i] = { ...parsed.events[i]!, payload: { ...(parsed.events[i]!.payload as object), output: 'Hello, Mallory!' } };
    const tampered = join(cleanup.tempDir('kingdom-e2e-wsfile-t-'), 'launch-tampered.kingdom-workspace.json');
    writeFileSync(tampered, JSON.stringify(parsed));
    const head = await b.api.status();
    assert.ok(head.ok);
    await go(b.page, '#/workspaces');
    await b.page.locator(sel('workspace-file-input')).setInputFiles(tampered, { timeout: UI_MS });
    const error = b.page.locator(sel('error-message', '[data-code="file_not_verified"]'));
    await error.waitFor({ timeout: UI_MS });
    assert.match((await error.textContent()) ?? '', new RegExp(`Event ${i + 1} \\(step\\.succeeded\\) was changed after export\\. The file cannot be trusted: ask for a new export\\.`));
    const after = await b.api.status();
    assert.ok(after.ok);
    assert.equal(after.value.headSeq, head.value.headSeq, 'nothing written');
    await screens(b.page, 'b-refused');
  });

  test('B removes the copy: it leaves every list, and the log still verifies', async () => {
    await go(b.page, '#/workspaces');
    const remove = b.ui.workspaceItem('Launch').locator(sel('workspace-remove-copy'));
    await remove.click({ timeout: UI_MS });
    await remove.click({ timeout: UI_MS }); // confirm
    await b.ui.workspaceItem('Launch').waitFor({ state: 'detached', timeout: UI_MS });
    await b.page.locator(sel('workspace-switcher', '[data-current="00000000-0000-4000-8000-000000000000"]')).waitFor({ timeout: UI_MS });
    assert.equal(await b.page.locator(sel('imported-banner')).count(), 0);
    const list = await b.api.query<unknown[]>('session.list', { workspaceId: copyId });
    assert.ok(list.ok && list.value.length === 0, 'its runs are gone');
    assert.equal(await b.ui.verify(), true);
  });

  test('no CSP violation and no console error for either person', async () => {
    for (const [who, p, problems] of [['A', a.page, a.problems], ['B', b.page, b.problems]] as const) {
      assert.deepEqual(await cspViolations(p), [], `${who}: securitypolicyviolation events`);
      assert.deepEqual(problems.errors, [], `${who}: console errors (page and workers)`);
    }
  });
});
