/**
 * Sessions people can name and find, in real Chromium (the built app): a session of the approval
 * example is "approval #1" and says "waiting for you"; the nav's inbox count counts it; approving
 * from the inbox removes the item and drops the count; the session list filters by text and by
 * "waiting for you"; Cancel asks first and can be undone before it is sent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { Cleanup } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import type { KingdomApiPage } from './pages/kingdom-api.ts';
import { EXAMPLES } from '../../src/lib/examples.ts';

const UI_MS = 20_000;

describe('inbox, names, statuses and filters', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;
  let page: Page;
  let api: KingdomApiPage;
  let problems: PageProblems;
  const ids: string[] = [];

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    ({ server, page, api, problems } = await openBuiltApp(cleanup, 'inbox', '#/sessions', UI_MS));
  });
  after(() => cleanup.run());

  const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;
  const count = async (): Promise<string | null> => ((await page.locator(sel('inbox-count')).count()) > 0 ? page.locator(sel('inbox-count')).textContent() : null);
  const waitCount = (n: number) => page.waitForFunction((want) => (document.querySelector('[data-testid="inbox-count"]')?.textContent ?? '0') === String(want), n, { timeout: UI_MS });

  test('a session waiting for approval is named, says "waiting for you" and is counted in the inbox', async () => {
    const source = EXAMPLES.find((e) => e.name === 'approval')!.source;
    assert.equal((await api.command({ type: 'workflow.save', payload: { source }, idempotencyKey: 'inbox-save' })).ok, true);
    for (const n of [1, 2]) {
      const r = await api.command({ type: 'session.start', payload: { workflow: 'approval', inputs: { release: `${n}.0.0` } }, idempotencyKey: `inbox-start-${n}` });
      assert.ok(r.ok, JSON.stringify(r));
      ids.push((r.value.value as { sessionId: string }).sessionId);
    }
    await page.goto(`${server.url}/#/sessions/${encodeURIComponent(ids[0]!)}`);
    await page.waitForFunction(() => document.querySelector('[data-testid="session-status"]')?.textContent === 'waiting for you', undefined, { timeout: UI_MS });
    assert.equal(await page.locator('h1').first().textContent(), 'approval #1');
    assert.equal(await page.locator(sel('session-id')).textContent(), ids[0], 'the id is still shown');
    await waitCount(2);
  });

  test('approve from the inbox: the item is gone and the count drops', async () => {
    await page.locator(sel('nav-inbox')).click();
    const item = page.locator(sel('inbox-approval', `[data-session="${ids[0]}"]`));
    await item.waitFor({ timeout: UI_MS });
    assert.equal(await page.locator(sel('inbox-approval')).count(), 2);
    assert.match((await item.textContent()) ?? '', /approval #1[\s\S]*Ship release 1\.0\.0\?/);
    await item.locator(sel('inbox-approve')).click();
    await item.waitFor({ state: 'detached', timeout: UI_MS });
    await waitCount(1);
    assert.equal(await page.locator(sel('inbox-approval')).count(), 1);
    const done = await api.query<{ status: string }>('session.get', { sessionId: ids[0]! });
    assert.ok(done.ok && ['running', 'succeeded'].includes(done.value.status));
  });

  test('the session list is searchable and filters by "waiting for you"', async () => {
    await page.goto(`${server.url}/#/sessions`);
    await page.locator(sel('session-row')).nth(1).waitFor({ timeout: UI_MS });
    const names = () => page.locator(sel('session-name')).allTextContents();
    assert.deepEqual((await names()).sort(), ['approval #1', 'approval #2']);
    await page.locator(sel('session-filter-text')).fill('approval #2');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="session-row"]').length === 1, undefined, { timeout: UI_MS });
    assert.deepEqual(await names(), ['approval #2']);
    await page.locator(sel('session-filter-text')).fill('');
    await page.locator(sel('session-filter-status')).selectOption('waiting');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="session-row"]').length === 1, undefined, { timeout: UI_MS });
    assert.equal(await page.locator(sel('session-row')).getAttribute('data-id'), ids[1]);
    assert.match((await page.locator(sel('session-row')).textContent()) ?? '', /waiting for you/);
  });

  test('Cancel asks first, can be undone, and is sent after the grace period', async () => {
    await page.goto(`${server.url}/#/sessions/${encodeURIComponent(ids[1]!)}`);
    await page.locator(sel('session-cancel')).click({ timeout: UI_MS });
    await page.locator(sel('session-cancel-confirm')).waitFor({ timeout: UI_MS });
    assert.match((await page.locator(sel('session-cancel-confirm')).textContent()) ?? '', /approval #2/);
    await page.locator(sel('session-cancel-no')).click();
    await page.locator(sel('session-cancel-confirm')).waitFor({ state: 'detached', timeout: UI_MS });

    await page.locator(sel('session-cancel')).click();
    await page.locator(sel('session-cancel-yes')).click();
    await page.locator(sel('session-cancel-pending')).waitFor({ timeout: UI_MS });
    await page.locator(sel('session-cancel-undo')).click();
    await page.locator(sel('session-cancel-pending')).waitFor({ state: 'detached', timeout: UI_MS });
    await page.waitForTimeout(5_500);
    const still = await api.query<{ status: string }>('session.get', { sessionId: ids[1]! });
    assert.ok(still.ok && still.value.status === 'running', 'undone: nothing was sent');

    await page.locator(sel('session-cancel')).click();
    await page.locator(sel('session-cancel-yes')).click();
    await page.locator(sel('session-status', '[data-status="cancelled"]')).waitFor({ timeout: UI_MS });
    await waitCount(0).catch(async () => assert.fail(`inbox count ${await count()}`));
  });

  test('no console errors and no CSP violations', async () => {
    assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events');
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });
});
