/**
 * Workspace policies in real Chromium (the built app): in Settings → Policies a bad pattern gets
 * its sentence as it is typed and Save waits until it is fixed; a deny rule for a 127.0.0.1 port
 * is saved; a URL tried against it says it is refused; a workflow whose http step calls that port
 * fails with the policy's sentence on the session page, and the server never gets a request; the
 * refused call is listed under "Refused calls" and is in the audit chain. No CSP violations, no
 * console errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { startEffectServer, type EffectServer } from '../helpers/effect-server.ts';
import { mkdirSync } from 'node:fs';
import { Cleanup } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import type { KingdomApiPage } from './pages/kingdom-api.ts';

const UI_MS = 20_000;

describe('policies: Settings → Policies, enforced at run time', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;
  let page: Page;
  let api: KingdomApiPage;
  let problems: PageProblems;
  let fx: EffectServer;
  let port: number;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    mkdirSync('.tmp/screens', { recursive: true });
    fx = await startEffectServer();
    cleanup.add('effect server', () => fx.close());
    port = Number(new URL(fx.url).port);
    ({ server, page, api, problems } = await openBuiltApp(cleanup, 'policies', '#/settings', UI_MS));
  });
  after(() => cleanup.run());

  const sel = (id: string): string => `[data-testid="${id}"]`;
  const text = async (id: string): Promise<string> => ((await page.locator(sel(id)).textContent()) ?? '').replace(/\s+/g, ' ').trim();
  const waitText = (id: string, re: RegExp) => page.waitForFunction(([s, src]) => new RegExp(src!).test(document.querySelector(s!)?.textContent ?? ''), [sel(id), re.source], { timeout: UI_MS });

  test('a bad pattern is named as it is typed; the fixed deny rule is saved', async () => {
    const denied = page.getByLabel('Denied hosts');
    await denied.waitFor({ timeout: UI_MS });
    assert.match(await text('policy-state'), /No policy: every host and runner is allowed/);
    await denied.fill(`https://127.0.0.1:${port}`);
    await waitText('policy-hosts-deny-problems', /write the host alone, without https:\/\//);
    assert.equal(await denied.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator(sel('policy-save')).isDisabled(), true, 'Save waits for a valid policy');

    await denied.fill(`127.0.0.1:${port}`);
    await page.waitForFunction((s) => document.querySelector(s)?.textContent?.trim() === '', sel('policy-hosts-deny-problems'), { timeout: UI_MS });
    assert.equal(await denied.getAttribute('aria-invalid'), 'false');
    await page.locator(sel('policy-try-url')).fill(`${fx.url}/effect/tried`);
    await waitText('policy-try-result', new RegExp(`does not allow calls to 127\\.0\\.0\\.1:${port} \\(denied by 127\\.0\\.0\\.1:${port}\\)`));
    await page.locator(sel('policy-save')).click({ timeout: UI_MS });
    await waitText('policy-state', /^Saved /);
    const saved = await api.query<{ hosts: { deny: string[] } }>('policy.get', {});
    assert.ok(saved.ok);
    assert.deepEqual(saved.value.hosts.deny, [`127.0.0.1:${port}`]);
  });

  test('an http step to the denied port fails with the sentence on the session page; no request leaves', async () => {
    const source = `name: call_denied\nversion: 1.0.0\nsteps:\n  - id: call\n    type: task\n    runner: http\n    with: { url: "${fx.url}/effect/e2e" }\n`;
    const r = await api.command({ type: 'session.start', payload: { source, inputs: {} }, idempotencyKey: 'policies-start' });
    assert.ok(r.ok, JSON.stringify(r));
    const id = (r.value.value as { sessionId: string }).sessionId;
    await page.goto(`${server.url}/#/sessions/${encodeURIComponent(id)}`);
    await page.locator(`${sel('session-status')}[data-status="failed"]`).waitFor({ timeout: UI_MS });
    await waitText('session-error', /Step call: The workspace policy does not allow calls to/);
    const said = await text('session-error');
    assert.ok(said.includes(`The workspace policy does not allow calls to 127.0.0.1:${port} (denied by 127.0.0.1:${port}). Change the policy in Settings → Policies if this call is intended.`), said);
    assert.equal(fx.requests(), 0, 'the server got no request');
  });

  test('the refused call is listed in Settings and is in the audit chain', async () => {
    await page.goto(`${server.url}/#/settings`);
    const item = page.locator(sel('policy-violation')).first();
    await item.waitFor({ timeout: UI_MS });
    await page.screenshot({ path: '.tmp/screens/policies-1440.png', fullPage: true });
    assert.equal(await item.getAttribute('data-rule'), `127.0.0.1:${port}`);
    assert.match((await item.textContent()) ?? '', /step call of session/);
    const audit = await api.query<{ action: string }[]>('audit.list', { limit: 1000 });
    assert.ok(audit.ok);
    assert.deepEqual(audit.value.filter((a) => a.action.startsWith('policy.')).map((a) => a.action), ['policy.set', 'policy.violation']);
  });

  test('on a phone (390 px) every control of the section is a 44 px target and reachable by keyboard', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const id of ['policy-hosts-allow', 'policy-hosts-deny', 'policy-runners-allow', 'policy-runners-deny', 'policy-save', 'policy-revert', 'policy-try-url', 'policy-try-runner']) {
        const box = await page.locator(sel(id)).boundingBox();
        assert.ok(box && box.height >= 44 && box.width <= 390, `${id}: ${JSON.stringify(box)}`);
      }
      const link = await page.locator(`${sel('policy-violation')} a`).first().boundingBox();
      assert.ok(link && link.height >= 44, `session link: ${JSON.stringify(link)}`);
      await page.locator(sel('policy-form')).scrollIntoViewIfNeeded();
      await page.screenshot({ path: '.tmp/screens/policies-390.png', fullPage: true });
      // Keyboard: from the first list, Tab reaches the next one (no trap in the text areas).
      await page.getByLabel('Allowed hosts').focus();
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'policy-hosts-deny');
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });

  test('no console errors and no CSP violations', async () => {
    assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events');
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });
});
