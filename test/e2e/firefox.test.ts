/**
 * Smoke journeys of the built app (dist/) in Firefox ESR (Debian's /usr/bin/firefox-esr, driven
 * by puppeteer-core over WebDriver BiDi), served on 127.0.0.1 with its CSP header, real SQLite on
 * OPFS in the real kernel worker. One profile on disk for the whole file, in order:
 * 1. the app opens: the kernel is ready on OPFS, no error banner, no memory-fallback banner;
 * 2. "Install examples", then `hello` runs to success from its run form;
 * 3. a reload, then a browser restart on the same profile: the session, its output and the
 *    workflows are still there, the head of the log did not move, the integrity check passes with
 *    a signed checkpoint (Ed25519), and the device key in IndexedDB came back;
 * 4. CSP: zero securitypolicyviolation events in the page and zero violation reports from any
 *    realm (page, kernel worker, service worker: the header gets a test-only `report-uri`, the
 *    only way to see a dedicated worker's violations from outside); a control checks that a
 *    violation in the kernel worker does get reported;
 * 5. offline: once the service worker controls the page, with the server stopped and the network
 *    off, the app starts, shows its data and writes; a new tab starts offline too.
 * What differs from Chromium is in docs/testing.md ("Browsers").
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { firefoxAvailable, FIREFOX_PATH, launchFirefox, type LaunchedFirefox } from '../helpers/firefox.ts';
import { serveStatic, type StaticServer } from '../helpers/static-server.ts';
import { Cleanup, ensureAppBuild, pollUntil, withTimeout } from './support.ts';
import { appCsp } from './app-support.ts';
import { FirefoxApp, sel } from './firefox-app.ts';
import { EXAMPLES } from '../../src/lib/examples.ts';

const RUN_MS = 60_000;
const REPORT_PATH = '/__csp-report';
/** The control of journey 4: the kernel worker's http runner fetches a URL connect-src forbids. */
const BLOCKED_URL = 'http://192.0.2.1/blocked-by-connect-src';
const CONTROL = `name: csp-control
version: 1.0.0
steps:
  - id: blocked
    type: task
    runner: http
    with:
      method: GET
      url: "${BLOCKED_URL}"
    timeout: 5s
    retry: { maxAttempts: 1 }
`;

describe('the app in Firefox ESR', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;
  let serverStopped = false;
  let profile: string;
  let ff: LaunchedFirefox;
  let app: FirefoxApp;
  let sessionId = '';

  async function launch(): Promise<LaunchedFirefox> {
    const started = Date.now();
    const f = await launchFirefox(profile, { removeProfileAtExit: true });
    cleanup.add(`firefox pid ${f.pid}`, () => f.close());
    console.log(`# firefox started in ${Date.now() - started} ms (pid ${f.pid})`);
    return f;
  }

  before(async () => {
    assert.ok(firefoxAvailable(), `Firefox ESR is missing at ${FIREFOX_PATH} (scripts/e2e.sh installs it: apt-get install -y firefox-esr)`);
    const dist = ensureAppBuild();
    // The app's own policy plus a report-uri: violations in workers reach the server as reports.
    server = await serveStatic(dist, { headers: { 'content-security-policy': `${await appCsp()}; report-uri ${REPORT_PATH}` }, collectPosts: REPORT_PATH });
    cleanup.add('server', () => (serverStopped ? undefined : server.close()));
    profile = cleanup.tempDir('kingdom-e2e-firefox-');
    ff = await launch();
  });
  after(() => cleanup.run());

  test('1. the app opens: kernel ready on OPFS, no error banner', async () => {
    const started = Date.now();
    app = await FirefoxApp.open(ff, `${server.url}/`);
    const info = await app.ready();
    console.log(`# ready in ${Date.now() - started} ms`);
    assert.equal(info.storage, 'opfs', `durable storage (fallback reason: ${info.fallbackReason})`);
    assert.equal(info.startupError, null, 'no startup error');
    assert.equal(info.role, 'leader', 'the only tab owns the database');
    assert.equal(await app.page.$eval(sel('storage-kind'), (e) => e.getAttribute('data-kind')), 'opfs', 'the storage badge');
    assert.deepEqual(await app.alerts(), [], 'no alert, fatal screen or storage banner');
    assert.deepEqual(app.problems, [], 'no console errors or page errors');
  });

  test('2. a workflow from the examples runs to completion', async () => {
    assert.ok(app, 'journey 1 opened the app');
    const { page } = app;
    await app.route('#/workflows', sel('install-examples'));
    await page.locator(sel('install-examples')).click();
    for (const ex of EXAMPLES) await page.waitForSelector(sel('workflow-row', `[data-name="${ex.name}"]`));
    assert.deepEqual(await app.workflowNames(), EXAMPLES.map((e) => e.name).sort(), 'the examples are installed');

    await page.locator(`${sel('workflow-row', '[data-name="hello"]')} ${sel('workflow-run')}`).click();
    await page.waitForSelector(sel('run-form'), { visible: true });
    await page.locator(sel('run-input-who')).fill('Firefox');
    const started = Date.now();
    await page.locator(sel('run-start')).click();
    await page.waitForFunction(() => /^#\/sessions\/[^/]+$/.test(location.hash));
    sessionId = await page.evaluate(() => decodeURIComponent(location.hash.split('/')[2]!));
    await page.waitForSelector(sel('session-status', '[data-status="succeeded"]'), { timeout: RUN_MS });
    console.log(`# hello: started and succeeded in ${Date.now() - started} ms`);
    assert.match(await app.text(sel('session-output')), /Hello, Firefox!/);
    const session = await app.query<{ status: string }>('session.get', { sessionId });
    assert.equal(session.status, 'succeeded');
    assert.deepEqual(app.problems, [], 'no console errors or page errors');
  });

  async function sessionStillThere(a: FirefoxApp, what: string): Promise<void> {
    await a.route(`#/sessions/${encodeURIComponent(sessionId)}`, sel('session-status', '[data-status="succeeded"]'));
    assert.match(await a.text(sel('session-output')), /Hello, Firefox!/, `${what}: the session's output`);
    assert.equal((await a.query<{ status: string }>('session.get', { sessionId })).status, 'succeeded', `${what}: the session`);
    assert.deepEqual(await a.workflowNames(), EXAMPLES.map((e) => e.name).sort(), `${what}: the workflows`);
  }

  test('3. a reload and a browser restart keep the session and the workflows (OPFS)', async () => {
    assert.ok(sessionId, 'journey 2 started a session');
    // Past 100 events, so the device signs a checkpoint (Ed25519, WebCrypto) for verify to check.
    const bulk = Array.from({ length: 100 }, (_, i) => ({ type: 'workspace.create', payload: { name: `Bulk ${i}` }, idempotencyKey: `bulk-${i}` }));
    assert.equal(await app.commandBatch(bulk), 100, 'a batch of 100 commands');
    const head = await app.status();
    let info = await app.reload();
    assert.equal(info.storage, 'opfs', 'after the reload');
    await sessionStillThere(app, 'after the reload');
    assert.equal((await app.status()).headSeq, head.headSeq, 'the head after the reload');
    assert.deepEqual(app.problems, [], 'no console errors or page errors before the restart');

    await ff.close();
    ff = await launch();
    app = await FirefoxApp.open(ff, `${server.url}/#/sessions/${encodeURIComponent(sessionId)}`);
    info = await app.ready();
    assert.equal(info.storage, 'opfs', `after the restart (fallback reason: ${info.fallbackReason})`);
    await sessionStillThere(app, 'after the restart');
    const after = await app.status();
    assert.equal(after.headSeq, head.headSeq, 'the head after the restart');
    assert.equal(after.headHash, head.headHash, 'the head hash after the restart');
    const verified = await app.verify();
    console.log(`# verify: ${verified.events} events, ${verified.checkpoints} signed checkpoint(s), ${verified.durationMs} ms`);
    assert.equal(verified.ok, true, 'the log verifies');
    assert.ok(verified.checkpoints >= 1, 'with a signed checkpoint');
    // The device key (a non-extractable CryptoKey in IndexedDB) came back: no second key registered.
    const keys = await app.query<{ events: unknown[] }>('events.list', { order: 'asc', afterSeq: 0, limit: 100, types: ['device.key_registered'] });
    assert.equal(keys.events.length, 1, 'one device key across the restart');
    assert.deepEqual(await app.alerts(), [], 'no alert after the restart');
    assert.deepEqual(app.problems, [], 'no console errors or page errors after the restart');
  });

  test('4. CSP: no securitypolicyviolation in the page, no violation report from any realm', async () => {
    const { page } = app;
    // Every screen of the nav bar, then the integrity check and the storage panel.
    const screens = await page.$$eval('nav [data-testid^="nav-"]', (links) => links.map((l) => l.getAttribute('data-testid')!));
    assert.ok(screens.length >= 5, `the nav bar lists the screens (${screens.join(', ')})`);
    for (const id of screens) {
      // Puppeteer's default viewport (800 px) is below the 900 px breakpoint: the nav is a drawer behind the menu button.
      if (await page.$eval(sel('nav-toggle'), (b) => getComputedStyle(b).display !== 'none')) {
        await page.locator(sel('nav-toggle')).click();
        await page.waitForSelector(sel(id), { visible: true });
      }
      await page.locator(sel(id)).click();
      await page.waitForSelector(`${sel(id)}[aria-current="page"]`);
    }
    await app.route('#/integrity', sel('verify-button'));
    await page.locator(sel('verify-button')).click();
    await page.waitForSelector(sel('verify-result', '[data-ok="true"]'));
    await app.route('#/storage', sel('db-bytes'));
    await page.waitForSelector(sel('persisted', ':not([data-persisted="unknown"])')); // navigator.storage answers
    assert.deepEqual(await app.cspEvents(), [], 'securitypolicyviolation events in the page');
    assert.deepEqual([...server.posts], [], 'violation reports (page, kernel worker, service worker) since the first start');
    assert.deepEqual(app.problems, [], 'no console errors or page errors');

    // The control: a violation in the kernel worker reaches the server as a report.
    const { sessionId: controlId } = await app.command<{ sessionId: string }>({
      type: 'session.start', payload: { source: CONTROL, env: { origin: server.url } }, idempotencyKey: 'csp-control',
    });
    const reports = await pollUntil(() => {
      const got = server.posts.map((p) => (JSON.parse(p) as { 'csp-report': Record<string, unknown> })['csp-report']);
      return got.find((r) => String(r['blocked-uri']).startsWith('http://192.0.2.1')) ? got : null;
    }, { timeoutMs: 15_000, intervalMs: 100, what: `a connect-src violation report for ${BLOCKED_URL}` });
    const report = reports.find((r) => String(r['blocked-uri']).startsWith('http://192.0.2.1'))!;
    console.log(`# control report: ${report['effective-directive']} blocked ${report['blocked-uri']} in ${report['document-uri']}`);
    assert.equal(report['effective-directive'], 'connect-src');
    assert.match(String(report['document-uri']), /\/assets\/kernel\.worker[^/]*\.js$/, 'reported by the kernel worker');
    assert.deepEqual(await app.cspEvents(), [], "a worker's violation is no event of the page (hence the report-uri)");
    await pollUntil(async () => (await app.query<{ status: string }>('session.get', { sessionId: controlId })).status === 'failed',
      { timeoutMs: 15_000, intervalMs: 100, what: 'the control session to fail' });
  });

  test('5. offline: with the server stopped and the network off, the app starts, shows its data and writes', async () => {
    const { page } = app;
    await page.evaluate(async () => {
      await Promise.race([
        navigator.serviceWorker.ready,
        new Promise((_, reject) => setTimeout(() => reject(new Error('no service worker became ready within 20 s')), 20_000)),
      ]);
    });
    const controlled = (): Promise<boolean> => page.evaluate(() => !!navigator.serviceWorker.controller);
    let reloads = 0;
    for (; reloads < 5 && !(await controlled()); reloads++) await app.reload();
    assert.ok(await controlled(), 'the service worker controls the page');
    console.log(`# the service worker controls the page after ${reloads} reload(s)`);

    const port = server.port;
    await server.close();
    serverStopped = true;
    await page.setOfflineMode(true);
    const offlineAt = Date.now();
    const info = await app.reload();
    console.log(`# offline reload: ready in ${Date.now() - offlineAt} ms`);
    assert.equal(info.storage, 'opfs', `offline, still on OPFS (fallback reason: ${info.fallbackReason})`);
    await sessionStillThere(app, 'offline');
    await app.route('#/workspaces', sel('workspace-name-input'));
    await page.locator(sel('workspace-name-input')).fill('While offline');
    await page.locator(sel('workspace-create')).click();
    await page.waitForSelector(sel('workspace-item', '[data-name="While offline"]'));
    assert.equal((await app.verify()).ok, true, 'the log verifies offline');

    // And a brand-new tab, offline from its first request.
    const second = await FirefoxApp.open(ff, `http://127.0.0.1:${port}/#/workspaces`, { offline: true });
    try {
      assert.equal((await second.ready()).role, 'follower', 'the second tab forwards to the first tab\'s worker');
      await second.page.waitForSelector(sel('workspace-item', '[data-name="While offline"]'));
      assert.deepEqual(await second.alerts(), [], 'no alert in the offline tab');
      assert.deepEqual(await second.cspEvents(), [], 'securitypolicyviolation events in the offline tab');
      assert.deepEqual(second.problems, [], 'no console errors or page errors in the offline tab');
    } finally {
      await withTimeout(second.page.close(), 10_000, 'closing the offline tab');
    }
    assert.deepEqual(await app.cspEvents(), [], 'securitypolicyviolation events offline');
    assert.deepEqual(app.problems, [], 'no console errors or page errors');
  });
});
