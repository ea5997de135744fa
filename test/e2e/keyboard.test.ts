/**
 * The app with the keyboard alone, in real Chromium (the built app on OPFS, with its CSP): no
 * click, no page.goto after the first load; only Tab, Shift+Tab, Enter and Esc. Every focus stop
 * shows a visible ring (a ≥ 2 px outline with ≥ 3:1 contrast, see a11y-support.ts `focusRing`).
 * 1. the skip link is the first stop and moves focus to <main>;
 * 2. install the examples, run `approval` from its form, open its session from the session list,
 *    open a step from the timeline;
 * 3. approve it from the inbox (the session then succeeds);
 * 4. at 390 px: the menu button opens the drawer with focus inside; Tab and Shift+Tab cycle inside
 *    it (past its last control back to its first, and the reverse); Esc closes it and returns focus
 *    to the menu button.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { Cleanup, pollUntil, REPO } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import type { KingdomApiPage } from './pages/kingdom-api.ts';
import { focusDocumentStart, focusRing, type Ring } from './a11y-support.ts';

const UI_MS = 20_000;
const RUN_MS = 60_000;
const SCREENS = join(REPO, '.tmp/screens');

describe('keyboard only: skip link, run a workflow, approve from the inbox, the drawer traps focus', () => {
  const cleanup = new Cleanup();
  let page: Page;
  let api: KingdomApiPage;
  let problems: PageProblems;
  /** Every focus stop of the journey, in order. */
  const stops: Ring[] = [];
  let sessionId = '';

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    mkdirSync(SCREENS, { recursive: true });
    ({ page, api, problems } = await openBuiltApp(cleanup, 'keyboard', '#/workflows', UI_MS));
    await page.setViewportSize({ width: 1440, height: 900 });
  });
  after(() => cleanup.run());

  /** The focused element, its ring asserted visible. */
  async function here(): Promise<Ring> {
    const r = await focusRing(page);
    assert.ok(r, 'something has focus');
    stops.push(r);
    assert.ok(r.visible, `a visible focus ring on ${r.what} [${r.testid}]: ${r.detail}`);
    return r;
  }

  /** Press `key` until the focused element matches `selector` (bounded); every stop on the way shows its ring. */
  async function tabTo(selector: string, key: 'Tab' | 'Shift+Tab' = 'Tab', max = 120): Promise<void> {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press(key);
      if ((await focusRing(page)) === null) continue;
      await here();
      if (await page.evaluate((q) => document.activeElement?.matches(q) === true, selector)) return;
    }
    assert.fail(`${key} never reached ${selector} in ${max} presses (last: ${stops.at(-1)?.what})`);
  }

  /** The focused element is inside the open drawer (and shows its ring). */
  async function inDrawer(what: string): Promise<Ring> {
    const r = await focusRing(page);
    assert.ok(r?.inDrawer, `${what} stays in the drawer; focus is on ${r?.what ?? 'nothing (it left the page)'}`);
    return here();
  }

  const waitFor = (selector: string, ms = UI_MS) => page.locator(selector).first().waitFor({ timeout: ms });

  test('the skip link is the first stop and moves focus to <main>', async () => {
    await waitFor('[data-testid="install-examples"]');
    await focusDocumentStart(page);
    await page.keyboard.press('Tab');
    const skip = await here();
    assert.equal(skip.testid, 'skip-link', `the first stop is the skip link, not ${skip.what}`);
    assert.equal(await page.locator('[data-testid="skip-link"]').isVisible(), true);
    await page.screenshot({ path: join(SCREENS, 'keyboard-skip-link-1440.png') });
    await page.keyboard.press('Enter');
    const main = await here();
    assert.match(main.what, /^main#main-content/, 'focus is on <main>');
    assert.equal(await page.evaluate(() => location.hash), '#/workflows', 'the skip link leaves the route alone');
    await page.keyboard.press('Tab');
    assert.ok((await here()).inMain, 'the next Tab is inside the content');
  });

  test('install the examples and run `approval` from its form; open its session from the list; open a step', async () => {
    await focusDocumentStart(page);
    await tabTo('[data-testid="install-examples"]');
    await page.keyboard.press('Enter');
    await waitFor('[data-testid="workflow-row"][data-name="approval"]');
    await tabTo('[data-testid="workflow-row"][data-name="approval"] [data-testid="workflow-run"]');
    await page.keyboard.press('Enter');
    await waitFor('[data-testid="run-form"]');
    await tabTo('[data-testid="run-start"]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /^#\/sessions\/[^/]+$/.test(location.hash), undefined, { timeout: UI_MS });
    sessionId = await page.evaluate(() => decodeURIComponent(location.hash.split('/')[2] ?? ''));
    await waitFor('[data-testid="approval-card"]');

    // The session list: back through the navigation, then the session's link.
    await tabTo('[data-testid="nav-sessions"]', 'Shift+Tab');
    await page.keyboard.press('Enter');
    await waitFor('[data-testid="session-row"]');
    await tabTo(`[data-testid="session-row"][data-id="${sessionId}"] a`);
    await page.keyboard.press('Enter');
    await page.waitForFunction((id) => location.hash === `#/sessions/${encodeURIComponent(id)}`, sessionId, { timeout: UI_MS });
    await waitFor('[data-testid="approval-card"]');
    // A timeline row opens its step.
    await tabTo('[data-testid="timeline-row"][data-step="sign_off"]');
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('[data-testid="timeline-row"][data-step="sign_off"]').getAttribute('aria-pressed'), 'true', 'Enter selected the step');
    await page.screenshot({ path: join(SCREENS, 'keyboard-session-1440.png') });
  });

  test('approve it from the inbox', async () => {
    await tabTo('[data-testid="nav-inbox"]', 'Shift+Tab');
    await page.keyboard.press('Enter');
    const item = `[data-testid="inbox-approval"][data-session="${sessionId}"]`;
    await waitFor(item);
    await tabTo(`${item} [data-testid="inbox-approve"]`);
    await page.screenshot({ path: join(SCREENS, 'keyboard-inbox-1440.png') });
    await page.keyboard.press('Enter');
    await page.locator(item).waitFor({ state: 'detached', timeout: UI_MS });
    await pollUntil(async () => {
      const s = await api.query<{ status: string }>('session.get', { sessionId });
      return s.ok && s.value.status === 'succeeded';
    }, { timeoutMs: RUN_MS, what: 'the approved session succeeds' });
  });

  test('at 390 px the drawer opens from the menu button, traps Tab and Shift+Tab, and Esc returns focus', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await focusDocumentStart(page);
    await tabTo('#nav-toggle');
    await page.keyboard.press('Enter');
    await waitFor('[data-testid="nav-workflows"]');
    const first = await here();
    assert.ok(first.inDrawer, `focus moved into the drawer (${first.what})`);
    assert.equal(await page.locator('[data-testid="nav-drawer"]').getAttribute('role'), 'dialog');
    assert.equal(await page.locator('[data-testid="nav-drawer"]').getAttribute('aria-modal'), 'true');

    // The drawer's controls, in order: Tab visits them all, then comes back around; never outside.
    const count = await page.locator('[data-testid="nav-drawer"]').evaluate((d) =>
      [...d.querySelectorAll('a[href], button:not(:disabled)')].filter((e) => e.getClientRects().length > 0).length);
    assert.ok(count >= 8, `the drawer has its controls (${count})`);
    const seen: string[] = [];
    for (let i = 0; i < count + 2; i++) {
      await page.keyboard.press('Tab');
      const r = await inDrawer(`Tab ${i + 1}`);
      seen.push(r.what);
    }
    assert.equal(new Set(seen).size, count, 'Tab visited every control of the drawer');
    assert.equal(seen[count - 1], first.what, 'past the last control, Tab comes back to where it started');
    await page.screenshot({ path: join(SCREENS, 'keyboard-drawer-390.png') });
    for (let i = 0; i < count + 2; i++) {
      await page.keyboard.press('Shift+Tab');
      await inDrawer(`Shift+Tab ${i + 1}`);
    }
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="nav-workflows"]').waitFor({ state: 'hidden', timeout: UI_MS });
    const back = await here();
    assert.equal(back.what.startsWith('button#nav-toggle'), true, `Esc returns focus to the menu button (${back.what})`);
  });

  test('every stop showed a ring; no console errors and no CSP violations', async () => {
    assert.ok(stops.length >= 20, `the journey made ${stops.length} stops`);
    assert.deepEqual(stops.filter((s) => !s.visible).map((s) => s.what), []);
    console.log(`keyboard journey: ${stops.length} focus stops, all with a visible ring`);
    assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events');
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });
});
