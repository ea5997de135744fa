/**
 * One device-sync journey across browsers: device A is the built app in Firefox ESR (puppeteer-core
 * over WebDriver BiDi, a fresh profile on disk), device B the same build in Chromium
 * (playwright-core, a fresh profile), both served by one static server with the app's CSP (plus a
 * test-only `report-uri`), syncing through a real relay process (sync-server/) on 127.0.0.1.
 *
 * In order, each step depending on the one before:
 * 1. A (Firefox) turns sync on with the relay address and invites: the link and its QR code (the
 *    SVG in Firefox holds exactly the modules of the link's QR code); B (Chromium) opens the link,
 *    names itself and joins; both screens show the same code; both confirm; both say done.
 * 2. A creates a workspace through its screens and B gets it; B creates one and A shows it.
 * 3. A reloads: its sync resumes by itself (the chip says up to date, the pairing is remembered),
 *    its sealing key (a non-extractable ECDH CryptoKey in Firefox's IndexedDB) comes back usable
 *    and is not announced again, the room's Y.Doc is kept by y-indexeddb, and a new edit on B
 *    arrives on A.
 * 4. CSP: zero securitypolicyviolation events in either page, and zero violation reports from any
 *    realm of either browser (the report-uri method of firefox.test.ts; Chromium sends reports
 *    too). No console or page errors in Firefox.
 * What differs from Chromium is in docs/testing.md ("Browsers").
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { encode } from 'uqr';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { firefoxAvailable, FIREFOX_PATH, launchFirefox, type LaunchedFirefox } from '../helpers/firefox.ts';
import { serveStatic, type StaticServer } from '../helpers/static-server.ts';
import { removeDir, startRelay, tempDir, type RelayProcess } from '../../sync-server/test/helpers.ts';
import { Cleanup, ensureAppBuild, pollUntil } from './support.ts';
import { appCsp, cspViolations, launch, PageProblems, recordCspViolations } from './app-support.ts';
import { FirefoxApp, sel } from './firefox-app.ts';
import { AppPage } from './pages/app-page.ts';
import { KingdomApiPage } from './pages/kingdom-api.ts';

const UI_MS = 30_000;
const SYNC_MS = 30_000;
/** Every test, and the start, ends within this, whatever hangs. */
const TEST_MS = 120_000;
const REPORT_PATH = '/__csp-report';

/** Device B: the app in a Chromium tab. */
interface Chromium { page: Page; api: KingdomApiPage; problems: PageProblems }

describe('device sync across browsers (A in Firefox ESR, B in Chromium, a real relay)', () => {
  const cleanup = new Cleanup();
  let relay: RelayProcess;
  let server: StaticServer;
  let ff: LaunchedFirefox;
  let a: FirefoxApp;
  let b: Chromium;
  let paired = false;

  const ms = (since: number): string => `${Date.now() - since} ms`;
  const chipA = (state: string) => a.page.waitForSelector(sel('sync-chip', `[data-state="${state}"]`), { timeout: SYNC_MS });
  const chipB = (state: string) => b.page.locator(sel('sync-chip', `[data-state="${state}"]`)).waitFor({ timeout: SYNC_MS });
  const chipStateA = () => a.page.$eval(sel('sync-chip'), (e) => `${e.getAttribute('data-state')} (${e.getAttribute('title') ?? ''})`);
  /** `names` are all among `list()`'s, within SYNC_MS. */
  const arrives = (list: () => Promise<string[]>, names: string[], what: string) =>
    pollUntil(async () => { const have = await list(); return names.every((n) => have.includes(n)) ? have : undefined; },
      { timeoutMs: SYNC_MS, intervalMs: 200, what });

  /** A's sealing key as Firefox's IndexedDB gives it back (idb-keyval's store), used once in deriveBits. */
  const sealingKeyA = () => a.page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((ok, no) => { const r = indexedDB.open('keyval-store'); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
    const kept = await new Promise<{ privateKey: CryptoKey; publicKey: string } | undefined>((ok, no) => {
      const r = db.transaction('keyval').objectStore('keyval').get('kingdom:sync-sealing-key');
      r.onsuccess = () => ok(r.result as never); r.onerror = () => no(r.error);
    });
    db.close();
    if (!kept) return 'no sealing key stored';
    const other = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']) as CryptoKeyPair;
    const bits = await crypto.subtle.deriveBits({ name: 'ECDH', public: other.publicKey }, kept.privateKey, 256);
    return { publicKey: kept.publicKey, isCryptoKey: kept.privateKey instanceof CryptoKey, extractable: kept.privateKey.extractable, derived: bits.byteLength };
  });

  before(async () => {
    assert.ok(firefoxAvailable(), `Firefox ESR is missing at ${FIREFOX_PATH} (scripts/e2e.sh installs it)`);
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    const dataDir = await tempDir();
    cleanup.add(`rm ${dataDir}`, () => removeDir(dataDir));
    relay = await startRelay({ dataDir });
    cleanup.add(`relay pid ${relay.pid}`, () => { relay.kill(); return relay.exited; });
    server = await serveStatic(ensureAppBuild(), {
      headers: { 'content-security-policy': `${await appCsp()}; report-uri ${REPORT_PATH}` }, collectPosts: REPORT_PATH,
    });
    cleanup.add('server', () => server.close());
    const started = Date.now();
    ff = await launchFirefox(cleanup.tempDir('kingdom-e2e-ffsync-a-'), { removeProfileAtExit: true });
    cleanup.add(`firefox pid ${ff.pid}`, () => ff.close());
    a = await FirefoxApp.open(ff, `${server.url}/#/devices`, { uiMs: UI_MS });
    assert.equal((await a.ready()).storage, 'opfs', 'A (Firefox) on OPFS');
    console.log(`# A (Firefox) started and ready in ${ms(started)}`);
  }, { timeout: TEST_MS });
  after(() => cleanup.run(), { timeout: TEST_MS });

  async function openB(url: string): Promise<Chromium> {
    const started = Date.now();
    const context = await launch(cleanup, cleanup.tempDir('kingdom-e2e-ffsync-b-'));
    await recordCspViolations(context);
    const page = await context.newPage();
    const problems = await PageProblems.watch(page);
    await page.goto(url);
    const api = new KingdomApiPage(page);
    assert.equal((await api.ready(UI_MS)).storage, 'opfs', 'B (Chromium) on OPFS');
    await new AppPage(page, UI_MS).waitReady();
    console.log(`# B (Chromium) started and ready in ${ms(started)}`);
    return { page, api, problems };
  }

  test('1. A (Firefox) turns sync on and invites; B (Chromium) joins through the link; both confirm the same code', { timeout: TEST_MS }, async () => {
    const { page } = a;
    let t = Date.now();
    await page.locator(sel('sync-relay-url')).fill(relay.url);
    await page.locator(sel('sync-enable')).click();
    await chipA('up_to_date');
    console.log(`# A: sync on, up to date in ${ms(t)}`);

    t = Date.now();
    await page.locator(sel('sync-invite')).click();
    await page.waitForFunction((s) => ((document.querySelector(s) as HTMLInputElement | null)?.value ?? '').includes('#pair='), { timeout: UI_MS }, sel('pair-link'));
    const link = await page.$eval(sel('pair-link'), (e) => (e as HTMLInputElement).value);
    assert.match(link, new RegExp(`^${server.url}/#pair=[A-Za-z0-9_-]+$`));
    console.log(`# A: invitation link in ${ms(t)}`);
    // The QR code: a 220 px SVG in Firefox whose dark cells are exactly those of the link's code.
    const qr = await page.waitForSelector(sel('pair-qr'), { visible: true });
    const drawn = await qr!.evaluate((svg) => ({
      width: Math.round(svg.getBoundingClientRect().width),
      viewBox: svg.getAttribute('viewBox'),
      dark: [...svg.querySelectorAll('rect[fill="#000"]')].map((r) => `${r.getAttribute('x')},${r.getAttribute('y')}`).sort(),
    }));
    const want = encode(link, { ecc: 'L', border: 2 });
    assert.equal(drawn.width, 220, 'the QR code is drawn at its size');
    assert.equal(drawn.viewBox, `0 0 ${want.size} ${want.size}`);
    assert.deepEqual(drawn.dark, want.data.flatMap((row, y) => row.flatMap((on, x) => (on ? [`${x},${y}`] : []))).sort(), 'the QR code holds the link');

    b = await openB(link);
    assert.ok(!b.page.url().includes('#pair='), 'the secret leaves the address bar on B');
    t = Date.now();
    await b.page.getByTestId('sync-join-name').fill('Chromium tablet');
    await b.page.getByTestId('sync-join').click();
    const codeB = await b.page.getByTestId('pair-code').innerText({ timeout: UI_MS });
    const codeA = (await a.text(sel('pair-code'))).trim();
    console.log(`# pairing: the code on both screens ${ms(t)} after Join`);
    assert.match(codeA, /^\d{3} \d{3}$/);
    assert.equal(codeA, codeB.trim(), 'both screens show the same code');
    t = Date.now();
    await page.locator(sel('pair-confirm')).click();
    await b.page.getByTestId('pair-confirm').click();
    await page.waitForSelector(sel('pair-done'), { visible: true });
    await b.page.getByTestId('pair-done').waitFor({ timeout: UI_MS });
    assert.match(await a.text(sel('pair-done')), /Chromium tablet was added/);
    console.log(`# pairing: done on both ${ms(t)} after the confirmations`);
    paired = true;
  });

  test('2. a workspace made in Firefox reaches Chromium, and one made in Chromium reaches Firefox', { timeout: TEST_MS }, async () => {
    assert.ok(paired, 'journey 1 paired the devices');
    // A: through its screens.
    await a.route('#/workspaces', sel('workspace-name-input'));
    await a.page.locator(sel('workspace-name-input')).fill('Made in Firefox');
    let t = Date.now();
    await a.page.locator(sel('workspace-create')).click();
    await a.page.waitForSelector(sel('workspace-item', '[data-name="Made in Firefox"]'));
    await arrives(() => b.api.workspaceNames(), ['Made in Firefox'], 'B (Chromium) to have the workspace made on A');
    console.log(`# A → B: a workspace in ${ms(t)}`);

    t = Date.now();
    await b.api.createWorkspace('Made in Chromium');
    await a.page.waitForSelector(sel('workspace-item', '[data-name="Made in Chromium"]'), { timeout: SYNC_MS });
    console.log(`# B → A: a workspace on A's screen in ${ms(t)}`);
    await chipA('up_to_date');
    await chipB('up_to_date');
    assert.deepEqual(await a.workspaceNames(), await b.api.workspaceNames(), 'the same workspaces on both');
  });

  test('3. A (Firefox) reloads: sync resumes by itself, and a new edit from B arrives', { timeout: TEST_MS }, async () => {
    assert.ok(paired, 'journey 1 paired the devices');
    const before = await a.status();
    const sealedBefore = await sealingKeyA();
    assert.ok(typeof sealedBefore === 'object' && sealedBefore.isCryptoKey && !sealedBefore.extractable && sealedBefore.derived === 32,
      `A's sealing key in IndexedDB: a usable non-extractable CryptoKey (${JSON.stringify(sealedBefore)})`);
    await a.route('#/devices', sel('sync-chip'));
    const t = Date.now();
    assert.equal((await a.reload()).storage, 'opfs', 'A on OPFS after the reload');
    await chipA('up_to_date').catch(async (e: unknown) => {
      // Seen once under CI load (stuck at connecting for 30 s): say what the relay saw.
      const seen = relay.lines.slice(-25).map((l) => JSON.stringify(l)).join('\n');
      throw new Error(`A's chip after the reload: ${await chipStateA()}: ${String(e)}\nthe relay's last log lines:\n${seen}`);
    });
    console.log(`# A: reloaded, up to date again in ${ms(t)}`);
    assert.ok((await a.status()).headSeq >= before.headSeq, 'the log survived the reload');
    // The pairing is remembered: sync is on, with B in the device list.
    await a.page.waitForFunction((s) => [...document.querySelectorAll(s)].some((r) => r.textContent?.includes('Chromium tablet')),
      { timeout: UI_MS }, sel('device-row'));
    assert.equal(await a.page.$eval(sel('sync-epoch'), (e) => e.getAttribute('data-epoch')), '1', 'the same key epoch');
    // The sealing key (a non-extractable ECDH CryptoKey in IndexedDB) came back and still works:
    // the same public half, a usable private half, and no second key announced.
    assert.deepEqual(await sealingKeyA(), sealedBefore, 'the sealing key after the reload');
    const announced = await a.query<{ events: { payload: { publicKey: string } }[] }>('events.list', { order: 'asc', afterSeq: 0, limit: 100, types: ['sync.key_announced'] });
    assert.equal(announced.events.length, 2, 'one sealing key announced per device, A\'s none again after the reload');
    assert.ok(announced.events.some((e) => typeof sealedBefore === 'object' && e.payload.publicKey === sealedBefore.publicKey), "A's announced key is the stored one");
    // The room's Y.Doc is kept in Firefox's IndexedDB (y-indexeddb) between sessions.
    const dbs = await a.page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name ?? ''));
    assert.ok(dbs.some((n) => n.startsWith('kingdom-sync-')), `y-indexeddb keeps the room in Firefox (databases: ${dbs.join(', ')})`);

    const t2 = Date.now();
    await b.api.createWorkspace('After the reload');
    await a.route('#/workspaces', sel('workspace-name-input'));
    await a.page.waitForSelector(sel('workspace-item', '[data-name="After the reload"]'), { timeout: SYNC_MS });
    console.log(`# B → A after A's reload: a workspace on A's screen in ${ms(t2)}`);
    await arrives(() => a.workspaceNames(), ['Made in Chromium', 'Made in Firefox', 'After the reload'], 'A to have all three');
    await chipA('up_to_date');
  });

  test('4. CSP: no violation in either browser, from any realm; no console errors in Firefox', { timeout: TEST_MS }, async () => {
    assert.deepEqual(await a.cspEvents(), [], 'securitypolicyviolation events in Firefox');
    assert.deepEqual(await cspViolations(b.page), [], 'securitypolicyviolation events in Chromium');
    assert.deepEqual([...server.posts], [], 'violation reports (pages, kernel workers, service workers of both browsers)');
    assert.deepEqual(a.problems, [], 'no console errors or page errors in Firefox');
    console.log(`# Chromium console: ${b.problems.errors.length === 0 ? 'clean' : b.problems.errors.join(' | ')}`);

    // The control: a violation in each browser does reach the collector as a report.
    const blocked = (who: string) => `http://192.0.2.1/blocked-in-${who}`;
    const tryFetch = (url: string) => fetch(url).then(() => 'fetched', (e: unknown) => String(e));
    await a.page.evaluate(tryFetch, blocked('firefox'));
    await b.page.evaluate(tryFetch, blocked('chromium'));
    const reported = await pollUntil(() => {
      const uris = server.posts.map((p) => String((JSON.parse(p) as { 'csp-report': Record<string, unknown> })['csp-report']['blocked-uri']));
      return ['firefox', 'chromium'].every((who) => uris.some((u) => u.startsWith(blocked(who)))) ? uris : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100, what: 'a connect-src violation report from each browser (the control)' });
    console.log(`# control reports: ${reported.join(', ')}`);
  });
});
