/**
 * The app on a laptop (1440 px), a tablet (820 px) and a phone (390 px), in real Chromium (the
 * built app on OPFS, with its CSP):
 * 1. at 1440 the navigation is a sidebar; below 900 px it collapses behind the menu button, which
 *    opens it as a drawer (focus moves into it); Esc and its Close button close it and return focus
 *    to the menu button, a nav link and widening the window close it too;
 * 2. a session timeline keeps its bar area at ≥ 50 % of the row at 820 and 390, and its axis
 *    labels stay inside the axis without overlapping;
 * 3. at 390 the workflow list is cards: each Run action lies inside the viewport;
 * 4. on a touch phone (hasTouch, isMobile) nav items, list links and buttons, timeline rows, the
 *    menu button and every visible control of every screen are ≥ 44 px tall (the header chips
 *    through an invisible tap band);
 * 5. the header says "Offline — everything keeps working on this device" while the context is
 *    offline, and its storage chip says "Saved on this device" only when storage is persistent;
 * 6. no screen scrolls sideways at 390; no CSP violation, no console error.
 * Screenshots go to .tmp/screens/ (gitignored).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/chromium.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { Cleanup, REPO } from './support.ts';
import { cspViolations, PageProblems, recordCspViolations, serveApp } from './app-support.ts';
import { AppPage } from './pages/app-page.ts';
import { KingdomApiPage } from './pages/kingdom-api.ts';

const UI_MS = 20_000;
const RUN_MS = 60_000;
const SCREENS = join(REPO, '.tmp/screens');
const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;

interface Opened { readonly context: BrowserContext; readonly page: Page; readonly ui: AppPage; readonly problems: PageProblems }

describe('responsive layout: 1440, 820 and 390 px', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    mkdirSync(SCREENS, { recursive: true });
    server = await serveApp(cleanup);
  });
  after(() => cleanup.run());

  async function open(name: string, options: { width: number; height: number; touch?: boolean }, hash: string): Promise<Opened> {
    const context = await chromium.launchPersistentContext(cleanup.tempDir(`kingdom-e2e-responsive-${name}-`), {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: options.width, height: options.height },
      ...(options.touch ? { hasTouch: true, isMobile: true, deviceScaleFactor: 2 } : {}),
    });
    cleanup.add(`chromium ${name}`, () => context.close());
    await recordCspViolations(context);
    const page = context.pages()[0] ?? await context.newPage();
    const problems = await PageProblems.watch(page);
    await page.goto(`${server.url}/${hash}`);
    const ui = new AppPage(page, UI_MS);
    await new KingdomApiPage(page).ready();
    await ui.waitReady();
    return { context, page, ui, problems };
  }

  /** Install the examples from the library and run `name` from its form to success; stays on the session page. */
  async function runExample(page: Page, name: string): Promise<void> {
    await page.goto(`${server.url}/#/workflows`);
    await page.locator(sel('install-examples')).click({ timeout: UI_MS });
    const run = page.locator(`${sel('workflow-row', `[data-name="${name}"]`)} ${sel('workflow-run')}`);
    await run.click({ timeout: UI_MS });
    await page.locator(sel('run-start')).click({ timeout: UI_MS });
    await page.waitForFunction(() => /^#\/sessions\/[^/]+$/.test(location.hash), undefined, { timeout: UI_MS });
    await page.locator(sel('session-status', '[data-status="succeeded"]')).waitFor({ timeout: RUN_MS });
  }

  /** Whole pages, except the open drawer (fixed to the viewport): what the screen shows. */
  async function shot(page: Page, file: string): Promise<void> {
    await page.screenshot({ path: join(SCREENS, file), fullPage: !file.startsWith('nav-open') });
  }

  /** Track width / row width of every timeline row, and the axis labels' boxes. */
  async function timelineGeometry(page: Page): Promise<{ ratios: number[]; ticks: { left: number; right: number }[]; axis: { left: number; right: number } }> {
    return page.evaluate(() => {
      const rows = [...document.querySelectorAll('[data-testid="timeline-row"]')];
      const ratios = rows.map((r) => r.querySelector('.wf-tl-track')!.getBoundingClientRect().width / r.getBoundingClientRect().width);
      const ticks = [...document.querySelectorAll('[data-testid="timeline-tick"]')].map((t) => {
        const b = t.getBoundingClientRect();
        return { left: b.left, right: b.right };
      });
      const a = document.querySelector('.wf-tl-ticks')!.getBoundingClientRect();
      return { ratios, ticks, axis: { left: a.left, right: a.right } };
    });
  }

  async function assertClean(o: Opened): Promise<void> {
    assert.deepEqual(await cspViolations(o.page), [], 'no CSP violations');
    assert.deepEqual(o.problems.errors, [], 'no console errors');
  }

  test('laptop → tablet → phone: navigation drawer, timeline, workflow cards, offline notice, honest storage chip', async () => {
    const o = await open('laptop', { width: 1440, height: 900 }, '#/workspaces');
    const { page, context } = o;

    // 1440: the sidebar is there, no menu button.
    assert.equal(await page.locator(sel('nav-workflows')).isVisible(), true, 'sidebar visible at 1440');
    assert.equal(await page.locator(sel('nav-toggle')).isVisible(), false, 'no menu button at 1440');

    // The storage chip is honest: "Saved on this device" only when the browser granted persistence.
    const chip = page.locator(sel('storage-kind'));
    await page.waitForFunction(() => document.querySelector('[data-testid="storage-kind"]')?.getAttribute('data-persisted') !== 'unknown', undefined, { timeout: UI_MS });
    const persisted = await page.evaluate(() => navigator.storage.persisted());
    assert.equal(await chip.getAttribute('data-persisted'), String(persisted));
    const chipText = (await chip.textContent()) ?? '';
    if (persisted) assert.match(chipText, /Saved on this device/);
    else assert.match(chipText, /may be evicted/, `not persistent, the chip says so: ${chipText}`);
    assert.equal(await chip.getAttribute('href'), '#/storage', 'the chip leads to the Storage page');
    assert.equal(await page.locator(sel('role-badge')).count(), 0, 'no role chip in the header');

    await runExample(page, 'retry');
    await shot(page, 'session-1440.png');
    const wide = await timelineGeometry(page);
    assert.ok(wide.ratios.length >= 2, 'the timeline has rows');

    for (const width of [820, 390]) {
      await page.setViewportSize({ width, height: width === 820 ? 1180 : 844 });
      await page.waitForFunction(() => {
        const t = document.querySelector('.wf-tl-ticks');
        return t !== null && t.getBoundingClientRect().width > 0;
      });
      await page.waitForTimeout(200);
      const g = await timelineGeometry(page);
      for (const r of g.ratios) assert.ok(r >= 0.5, `bar area ${(r * 100).toFixed(0)} % of the row at ${width} px`);
      assert.ok(g.ticks.length >= 2, `at least two axis labels at ${width} px`);
      for (const [i, t] of g.ticks.entries()) {
        assert.ok(t.left >= g.axis.left - 1 && t.right <= g.axis.right + 1, `axis label ${i} inside the axis at ${width} px`);
        if (i > 0) assert.ok(t.left >= g.ticks[i - 1]!.right, `axis labels ${i - 1} and ${i} do not overlap at ${width} px`);
      }
      await shot(page, `session-${width}.png`);
    }

    // 820: the navigation collapses behind the menu button; Esc closes it and returns focus.
    await page.setViewportSize({ width: 820, height: 1180 });
    const toggle = page.locator(sel('nav-toggle'));
    assert.equal(await page.locator(sel('nav-workflows')).isVisible(), false, 'nav collapsed at 820');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await toggle.click();
    await page.locator(sel('nav-workflows')).waitFor({ state: 'visible', timeout: UI_MS });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.closest('#main-nav') !== null), true, 'focus moved into the drawer');
    await shot(page, 'nav-open-820.png');
    await page.keyboard.press('Escape');
    await page.locator(sel('nav-workflows')).waitFor({ state: 'hidden', timeout: UI_MS });
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'nav-toggle', 'Esc returns focus to the menu button');
    // The drawer's own Close button, and widening the window past the breakpoint, close it too.
    await toggle.click();
    await page.locator(sel('nav-close')).click({ timeout: UI_MS });
    await page.locator(sel('nav-workflows')).waitFor({ state: 'hidden', timeout: UI_MS });
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'nav-toggle', 'Close returns focus to the menu button');
    await toggle.click();
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.waitForFunction(() => document.querySelector('[data-testid="nav-drawer"]')?.getAttribute('data-open') === 'false', undefined, { timeout: UI_MS });
    await page.setViewportSize({ width: 820, height: 1180 });
    assert.equal(await page.locator(sel('nav-workflows')).isVisible(), false, 'back at 820 the drawer stays closed');
    // A nav link navigates and closes the drawer.
    await toggle.click();
    await page.locator(sel('nav-workflows')).click({ timeout: UI_MS });
    await page.waitForFunction(() => location.hash === '#/workflows', undefined, { timeout: UI_MS });
    await page.locator(sel('nav-workflows')).waitFor({ state: 'hidden', timeout: UI_MS });
    await page.locator(sel('workflow-row')).first().waitFor({ timeout: UI_MS });
    await shot(page, 'workflows-820.png');

    // 390: the workflow list is cards, every Run action inside the viewport.
    await page.setViewportSize({ width: 390, height: 844 });
    const runs = page.locator(sel('workflow-run'));
    assert.ok(await runs.count() >= 5, 'the examples are listed');
    for (const run of await runs.all()) {
      await run.scrollIntoViewIfNeeded();
      const b = await run.boundingBox();
      assert.ok(b && b.x >= 0 && b.x + b.width <= 390 && b.y >= 0 && b.y + b.height <= 844, `Run inside the 390 px viewport: ${JSON.stringify(b)}`);
    }
    // (The column headers are visually hidden, 1 px and clipped: they do not widen the page.)
    const wider = await page.evaluate(() => [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > 390.5 && e.closest('thead') === null)
      .slice(0, 5).map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`));
    assert.deepEqual(wider, [], 'nothing wider than the 390 px viewport');
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, 'no horizontal scrolling at 390');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'workflows-390.png');
    await toggle.click();
    await page.locator(sel('nav-workflows')).waitFor({ state: 'visible', timeout: UI_MS });
    await shot(page, 'nav-open-390.png');
    await page.keyboard.press('Escape');

    // Offline: the header says so plainly, and it goes away when the network is back.
    const offline = page.locator(sel('offline-indicator'));
    assert.equal(await offline.count(), 0, 'no offline notice while online');
    await context.setOffline(true);
    await offline.waitFor({ timeout: UI_MS });
    assert.equal((await offline.textContent())?.trim(), 'Offline — everything keeps working on this device');
    await shot(page, 'offline-390.png');
    await page.setViewportSize({ width: 1440, height: 900 });
    await shot(page, 'offline-1440.png');
    await context.setOffline(false);
    await offline.waitFor({ state: 'detached', timeout: UI_MS });

    // The tab's role and the log head are on the Storage & status page, in words.
    assert.equal(await o.ui.role(), 'leader');
    assert.ok(await o.ui.headSeq() >= 1, 'the log head is shown');
    await shot(page, 'storage-1440.png');
    await assertClean(o);
  });

  test('touch phone (390 px, hasTouch): nav items, list actions and timeline rows are at least 44 px tall', async () => {
    const o = await open('phone', { width: 390, height: 844, touch: true }, '#/workflows');
    const { page } = o;
    await runExample(page, 'hello');
    await shot(page, 'session-390-touch.png');

    const heights = async (selector: string): Promise<{ text: string; h: number; w: number }[]> =>
      page.locator(selector).evaluateAll((els) => els.filter((e) => (e as HTMLElement).offsetParent !== null).map((e) => {
        const b = e.getBoundingClientRect();
        return { text: (e.textContent ?? '').trim().slice(0, 30), h: b.height, w: b.width };
      }));
    const atLeast44 = (what: string, list: { text: string; h: number; w: number }[], checkWidth = false): void => {
      assert.ok(list.length > 0, `${what}: some found`);
      for (const x of list) {
        assert.ok(x.h >= 44, `${what} "${x.text}" is ${x.h} px tall`);
        if (checkWidth) assert.ok(x.w >= 44, `${what} "${x.text}" is ${x.w} px wide`);
      }
    };

    atLeast44('timeline row', await heights(sel('timeline-row')));
    atLeast44('menu button', await heights(sel('nav-toggle')), true);

    await page.goto(`${server.url}/#/workflows`);
    await page.locator(sel('workflow-row')).first().waitFor({ timeout: UI_MS });
    atLeast44('workflow link', await heights(`${sel('workflow-row')} a`), true);
    atLeast44('library button', await heights('.btn'), true);
    await shot(page, 'workflows-390-touch.png');

    await page.goto(`${server.url}/#/sessions`);
    await page.locator(sel('session-row')).first().waitFor({ timeout: UI_MS });
    atLeast44('session link', await heights(`${sel('session-row')} a`), true);
    await shot(page, 'sessions-390-touch.png');

    // No screen scrolls sideways on the phone (wide content such as the integrity chain scrolls inside its own box).
    const screens = await page.locator('#main-nav a').evaluateAll((links) => links.map((l) => [l.getAttribute('data-testid')!, l.getAttribute('href')!] as const));
    assert.ok(screens.length >= 5, 'the nav lists the screens');
    for (const [id, link] of screens) {
      await page.goto(`${server.url}/${link}`);
      await page.locator(sel(id, '[aria-current="page"]')).waitFor({ state: 'attached', timeout: UI_MS });
      await page.waitForTimeout(300);
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, `${link}: no horizontal scrolling at 390`);
      // Every visible link, button, select and text field is 44 px tall (checkboxes, the hidden file
      // inputs behind their labels and the integrity chain's blocks aside)...
      const small = await page.evaluate(() => [...document.querySelectorAll('a, button, select, input, textarea')]
        .filter((e) => (e as HTMLElement).offsetParent !== null && !e.matches('[type="checkbox"], [type="radio"], [type="file"], a.badge, [data-testid="chain-block"]'))
        .map((e) => ({ e, h: e.getBoundingClientRect().height })).filter(({ h }) => h > 0 && h < 44)
        .map(({ e, h }) => `${e.tagName} ${e.getAttribute('data-testid') ?? ''} "${(e.textContent ?? '').trim().slice(0, 20)}" ${h.toFixed(0)} px`));
      assert.deepEqual(small, [], `${link}: touch targets under 44 px`);
      // ...and the header's small chips answer a tap 20 px above and below their centre.
      const chipsTap = await page.evaluate(() => [...document.querySelectorAll('header a.badge')].map((chip) => {
        const b = chip.getBoundingClientRect();
        const x = b.left + b.width / 2;
        const mid = b.top + b.height / 2;
        return [mid - 20, mid + 20].every((y) => chip.contains(document.elementFromPoint(x, y)));
      }));
      assert.ok(chipsTap.length >= 2 && chipsTap.every(Boolean), `${link}: header chips have a 44 px tap band (${chipsTap.join(', ')})`);
    }

    await page.locator(sel('nav-toggle')).tap();
    await page.locator(sel('nav-workflows')).waitFor({ state: 'visible', timeout: UI_MS });
    atLeast44('nav item', await heights('#main-nav a'));
    // A tap beside the drawer closes it.
    await page.locator(sel('nav-scrim')).tap({ position: { x: 370, y: 400 } });
    await page.locator(sel('nav-workflows')).waitFor({ state: 'hidden', timeout: UI_MS });
    await assertClean(o);
  });
});
