/**
 * The Contracts screen in real Chromium (the built app): a button contract made through the form,
 * Run now starts a session that succeeds; a cron contract made through the form, its schedule
 * checked live (a wrong expression says what is wrong; a right one shows its next 5 instants) and
 * listed in words with its next instant; turned off and on. No CSP violations, no console errors;
 * screenshots at 1440, 820 and 390 px with no sideways scrolling.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { Cleanup } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import type { KingdomApiPage } from './pages/kingdom-api.ts';
import { EXAMPLES } from '../../src/lib/examples.ts';

const UI_MS = 20_000;
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCREENS = join(REPO, '.tmp/screens');
const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;

describe('contracts screen', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;
  let page: Page;
  let api: KingdomApiPage;
  let problems: PageProblems;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    ({ server, page, api, problems } = await openBuiltApp(cleanup, 'contracts', '#/contracts', UI_MS));
    const hello = EXAMPLES.find((e) => e.name === 'hello')!.source;
    assert.equal((await api.command({ type: 'workflow.save', payload: { source: hello }, idempotencyKey: 'contracts-save' })).ok, true);
    mkdirSync(SCREENS, { recursive: true });
  });
  after(() => cleanup.run());

  const row = (name: string) => page.locator(sel('contract-row', `[data-name="${name}"]`));

  test('the nav leads to the screen; a button contract made with the form runs from Run now', async () => {
    await page.locator(sel('nav-contracts')).click({ timeout: UI_MS });
    await page.locator(sel('contracts-empty')).waitFor({ timeout: UI_MS });
    await page.locator(sel('contract-new')).click();
    await page.locator(sel('contract-form')).waitFor({ timeout: UI_MS });
    await page.locator(sel('contract-name')).fill('Greet on demand');
    await page.locator(sel('contract-workflow')).selectOption('hello');
    await page.locator(sel('contract-inputs')).fill('{ "who": "contracts" }');
    await page.locator(sel('contract-kind-button')).check();
    await page.locator(sel('contract-save')).click();
    await row('Greet on demand').waitFor({ timeout: UI_MS });
    assert.equal(await row('Greet on demand').locator(sel('contract-trigger')).innerText(), 'When someone presses Run now → hello');
    await row('Greet on demand').locator(sel('contract-run')).click();
    await page.waitForFunction(() => /^#\/sessions\/[^/]+$/.test(location.hash), undefined, { timeout: UI_MS });
    await page.locator(sel('session-status', '[data-status="succeeded"]')).waitFor({ timeout: UI_MS });
    const sessionId = decodeURIComponent((await page.evaluate(() => location.hash)).split('/')[2]!);
    const s = await api.query<{ inputs: { who: string } }>('session.get', { sessionId });
    assert.ok(s.ok);
    assert.equal(s.value.inputs.who, 'contracts');
    await page.goto(`${server.url}/#/contracts`);
    await row('Greet on demand').locator(sel('contract-last')).waitFor({ timeout: UI_MS });
  });

  test('a cron contract: the schedule is checked live, shown in words with its next instants', async () => {
    await page.locator(sel('contract-new')).click();
    await page.locator(sel('contract-form')).waitFor({ timeout: UI_MS });
    await page.locator(sel('contract-name')).fill('Nightly greeting');
    await page.locator(sel('contract-kind-cron')).check();
    await page.locator(sel('contract-cron')).fill('every night');
    await page.locator(sel('contract-preview-error')).waitFor({ timeout: UI_MS });
    assert.match(await page.locator(sel('contract-preview-error')).innerText(), /is not a cron expression.*write five fields/);
    await page.locator(sel('contract-cron')).fill('30 2 * * *');
    await page.locator(sel('contract-timezone')).fill('Mars/Olympus');
    await page.waitForFunction(() => /not a time zone/.test(document.querySelector('[data-testid="contract-preview-error"]')?.textContent ?? ''), undefined, { timeout: UI_MS });
    await page.locator(sel('contract-timezone')).fill('Europe/Berlin');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="contract-preview-next"]').length === 5, undefined, { timeout: UI_MS });
    assert.match(await page.locator(sel('contract-preview')).innerText(), /Every day at 02:30, Europe\/Berlin/);
    assert.match(await page.locator(sel('contract-preview-next')).first().innerText(), /02:30$/);
    await page.locator(sel('contract-catchup')).selectOption('all');
    await page.locator(sel('contract-window')).fill('48');
    await page.locator(sel('contract-cap')).fill('2');
    await page.screenshot({ path: join(SCREENS, 'contracts-form-1440.png'), fullPage: true });
    await page.locator(sel('contract-save')).click();
    await page.waitForFunction(() => /^#\/contracts\/[0-9a-f-]{36}$/.test(location.hash), undefined, { timeout: UI_MS });
    const nightly = row('Nightly greeting');
    await nightly.waitFor({ timeout: UI_MS });
    assert.equal(await nightly.locator(sel('contract-trigger')).innerText(), 'Every day at 02:30, Europe/Berlin → hello');
    assert.match(await nightly.locator(sel('contract-next')).innerText(), /^Next: .*02:30$/);
    await page.locator(sel('contract-detail')).waitFor({ timeout: UI_MS });
    assert.equal(await page.locator(`${sel('contract-detail-next')} li`).count(), 5);
    assert.match(await page.locator(sel('contract-detail')).innerText(), /every missed instant within 2 days runs \(at most 2\)/);
    const list = await api.query<{ name: string; trigger: { kind: string; timezone?: string }; catchUp: { mode: string; cap?: number } }[]>('contract.list', {});
    assert.ok(list.ok);
    const saved = list.value.find((c) => c.name === 'Nightly greeting')!;
    assert.deepEqual([saved.trigger.kind, saved.trigger.timezone, saved.catchUp.mode, saved.catchUp.cap], ['cron', 'Europe/Berlin', 'all', 2]);
    // Off and on again.
    await nightly.locator(sel('contract-toggle')).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="contract-row"][data-name="Nightly greeting"] [data-testid="contract-state"]')?.textContent === 'off', undefined, { timeout: UI_MS });
    await nightly.locator(sel('contract-toggle')).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="contract-row"][data-name="Nightly greeting"] [data-testid="contract-state"]')?.textContent === 'on', undefined, { timeout: UI_MS });
  });

  test('laid out at 1440, 820 and 390 px without sideways scrolling', async () => {
    for (const [width, height] of [[1440, 900], [820, 1180], [390, 844]] as const) {
      await page.setViewportSize({ width, height });
      await page.goto(`${server.url}/#/contracts`);
      await row('Nightly greeting').waitFor({ timeout: UI_MS });
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), width, `no sideways scrolling at ${width}`);
      await page.screenshot({ path: join(SCREENS, `contracts-${width}.png`), fullPage: true });
    }
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  test('no console errors and no CSP violations', async () => {
    assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events');
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });
});
