/**
 * Recovery mode, concurrent changes and refused chains in the built app, in real Chromium.
 *
 * Recovery, on a really broken OPFS database:
 * 1. the app writes a few workspaces (checkpoints every 2 events) and closes its kernel;
 * 2. with no app tab open, the storage test page (same origin) opens the app's sahpool database,
 *    drops the append-only triggers, changes the newest workspace.created event's payload and
 *    deletes the newest checkpoint (the one the device's anchor remembers);
 * 3. the app opens on it: the recovery banner shows on every screen (details one click away),
 *    creating a workspace fails with the read-only sentence and a link to the Integrity page,
 *    "Export everything" downloads kingdom-log-<date>.json with every event as stored (the
 *    tampered one included), Verify names the broken link with its device and position,
 *    "Rebuild projections" reports the database still read-only (it cannot mend a missing
 *    checkpoint), "Cut the log back" (confirmed) downloads the export first, cuts
 *    from the changed event on, and recovers: the banner goes, a workspace can be created again,
 *    Verify says intact; the concurrent-changes area shows its empty states.
 * A change the bounded open check cannot see (an event under a checkpoint) opens normally; Verify
 * finds it, the banner appears, and the cut recovers.
 *
 * Concurrent changes: two browser profiles (two devices) rename one workspace without seeing each
 * other's rename; after ingest the Integrity page lists the conflict with its resolution, and a
 * chain changed on the way (its hash no longer matches) is listed as refused.
 *
 * Zero CSP violations and zero console errors throughout (the open check logs a warning only).
 *
 * After a cut below the old head the live UI shows new changes without a reload (the kernel moves
 * its subscription cursors back to the cut).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Download, Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { serveStatic } from '../helpers/static-server.ts';
import { Cleanup, ensureAppBuild, ensurePagesBuild, pollUntil } from './support.ts';
import { appCsp, cspViolations, launch, PageProblems, recordCspViolations } from './app-support.ts';
import { AppPage } from './pages/app-page.ts';
import { KingdomApiPage, unwrap } from './pages/kingdom-api.ts';
import { prepareAppDatabase } from './pages/storage-page.ts';
import type { IngestReport, KingdomApi, LogExport, Result, WireCheckpoint, WireEvent } from '../../worker/api.ts';

const UI_MS = 20_000;

/** Drops the triggers that keep the log append-only, renames workspace `name` in its
 *  workspace.created event and, with `dropCheckpoint`, deletes the newest checkpoint (the one the
 *  device's anchor remembers). Answers the changed event's seq. */
function tamperSql(name: string, dropCheckpoint: boolean): string {
  return `
  DROP TRIGGER IF EXISTS events_append_only_update;
  DROP TRIGGER IF EXISTS checkpoints_append_only_delete;
  UPDATE events SET payload = replace(payload, '"${name}"', '"Tampered"')
    WHERE type = 'workspace.created' AND payload LIKE '%"${name}"%';
  ${dropCheckpoint ? 'DELETE FROM checkpoints WHERE id = (SELECT MAX(id) FROM checkpoints);' : ''}
  SELECT seq FROM events WHERE payload LIKE '%"Tampered"%'`;
}

type Win = Window & { kingdomDevHook: { api: KingdomApi } };
type Chain = { events: WireEvent[]; checkpoints: WireCheckpoint[] };

async function exportChain(page: Page, device: string, after = 0): Promise<Chain> {
  const r = await page.evaluate<Result<Chain>, [string, number]>(([d, a]) => (window as unknown as Win).kingdomDevHook.api.exportChain(d, a), [device, after]);
  return unwrap(r, 'exportChain');
}

async function ingest(page: Page, batch: Chain): Promise<IngestReport> {
  // As JSON text: Playwright's argument types recurse too deep on Json payloads.
  const r = await page.evaluate<Result<IngestReport>, string>((json) => (window as unknown as Win).kingdomDevHook.api.ingest(JSON.parse(json) as Chain), JSON.stringify(batch));
  return unwrap(r, 'ingest');
}

async function openApp(page: Page, url: string): Promise<{ ui: AppPage; api: KingdomApiPage }> {
  await page.goto(url);
  const ui = new AppPage(page, UI_MS);
  const api = new KingdomApiPage(page);
  await api.ready();
  await ui.waitReady();
  return { ui, api };
}

async function downloaded(download: Download): Promise<{ name: string; json: unknown }> {
  const path = await download.path();
  return { name: download.suggestedFilename(), json: JSON.parse(readFileSync(path, 'utf8')) as unknown };
}

/**
 * A profile whose app database holds workspaces Alpha, Beta and Gamma (checkpoints every 2
 * events, the tail signed at close), then tampered with by `sql` from the storage test page with
 * no app tab open. The app and the storage page share one origin (the page opens the app's pool).
 */
async function brokenDatabase(cleanup: Cleanup, dist: string, csp: string, sql: string) {
  const root = cleanup.tempDir('kingdom-e2e-recovery-root-');
  for (const entry of readdirSync(dist)) symlinkSync(join(dist, entry), join(root, entry));
  mkdirSync(join(root, '__e2e'));
  const pages = ensurePagesBuild();
  for (const entry of readdirSync(pages)) symlinkSync(join(pages, entry), join(root, '__e2e', entry));
  const server = await serveStatic(root, { headers: { 'content-security-policy': csp } });
  cleanup.add('server', () => server.close());
  const context = await launch(cleanup, cleanup.tempDir('kingdom-e2e-recovery-'));
  await recordCspViolations(context);

  // 1. A healthy database with a few workspaces and checkpoints, closed cleanly.
  const first = await context.newPage();
  const firstProblems = await PageProblems.watch(first);
  const setup = await openApp(first, `${server.url}/?checkpointEvery=2`);
  assert.equal((await setup.api.info()).storage, 'opfs');
  await setup.ui.createWorkspace('Alpha');
  await setup.api.createWorkspace('Beta');
  await setup.api.createWorkspace('Gamma');
  const healthy = await setup.api.verifyOrThrow();
  assert.equal(healthy.ok, true, 'the database verifies before it is tampered with');
  assert.ok(healthy.checkpoints >= 1, `checkpoints were signed (${healthy.checkpoints})`);
  assert.deepEqual(await cspViolations(first), [], 'no CSP violations while writing');
  // The app's service worker would answer the storage page's URL with the app: unregister it.
  await first.evaluate(async () => {
    for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
  });
  await first.evaluate(() => (window as unknown as Win).kingdomDevHook.api.close());
  await first.close();
  assert.deepEqual(firstProblems.errors, [], 'no console errors while writing');

  // 2. Tamper with it from the storage page (the pool is free once the app's worker is gone).
  const tamperPage = await context.newPage();
  const tampered = await pollUntil(async () => {
    const r = await prepareAppDatabase(tamperPage, server.url, sql, '/__e2e/contract.html');
    if (!r.ok && r.code === 'storage_locked') return null;
    return r;
  }, { timeoutMs: 20_000, intervalMs: 250, what: 'the app database to be free for tampering' });
  assert.ok(tampered.ok, `tampering ran: ${JSON.stringify(tampered)}`);
  const tamperedSeq = Number(tampered.value);
  assert.ok(tamperedSeq > 0, 'a workspace.created event was changed');
  await tamperPage.close();

  return { server, context, tamperedSeq };
}

describe('recovery mode in the app', () => {
  const cleanup = new Cleanup();
  let dist: string;
  let csp: string;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH}`);
    dist = ensureAppBuild();
    csp = await appCsp();
  });
  after(() => cleanup.run());

  test('a tampered OPFS database: banner, read-only sentence, export, cut back, recovered', async () => {
    const { server, context, tamperedSeq } = await brokenDatabase(cleanup, dist, csp, tamperSql('Gamma', true));

    // 3. The app on the broken database.
    const page = await context.newPage();
    const problems = await PageProblems.watch(page);
    const { ui, api } = await openApp(page, `${server.url}/#/workspaces`);
    const banner = ui.byTestId('recovery-banner');
    await banner.waitFor({ timeout: UI_MS });
    assert.match(await banner.innerText(), /failed its integrity check and is read-only\. Nothing was deleted\. Export everything, then repair\./);
    const status = unwrap(await api.status(), 'status');
    assert.ok(status.recovery, 'status().recovery is set');
    assert.equal(await banner.getAttribute('data-reason'), 'checkpoint_missing');
    // Details one click away.
    const message = ui.byTestId('recovery-banner-message');
    assert.equal(await message.isVisible(), false, 'details start folded');
    await banner.locator('summary').click();
    await message.waitFor({ state: 'visible', timeout: UI_MS });
    assert.match(await message.innerText(), /checkpoint/i);

    // Creating a workspace is refused, with the sentence and the way to the Integrity page.
    await ui.byTestId('workspace-name-input').first().fill('Refused');
    await ui.byTestId('workspace-create').first().click();
    const error = page.locator('[data-testid="error-message"][data-code="read_only"]').first();
    await error.waitFor({ timeout: UI_MS });
    assert.match(await error.innerText(), /read-only until it is repaired/);
    assert.equal(await ui.workspaceItem('Refused').count(), 0, 'nothing was created');
    // The banner is on every screen; the error's link leads to the Integrity page.
    await ui.nav('events');
    await banner.waitFor({ timeout: UI_MS });
    await ui.nav('workspaces');
    await ui.byTestId('workspace-name-input').first().fill('Refused');
    await ui.byTestId('workspace-create').first().click();
    await page.locator('[data-testid="error-message"][data-code="read_only"] [data-testid="error-link"]').first().click();
    await ui.byTestId('recovery-problem').waitFor({ timeout: UI_MS });
    assert.ok(page.url().endsWith('#/integrity'), page.url());

    // The concurrent-changes area: nothing concurrent, nothing refused.
    await ui.byTestId('conflicts-empty').waitFor({ timeout: UI_MS });
    await ui.byTestId('quarantine-empty').waitFor({ timeout: UI_MS });

    // Export everything: the log exactly as stored, the changed event included.
    const [exportDownload] = await Promise.all([page.waitForEvent('download', { timeout: UI_MS }), ui.byTestId('recovery-export').click()]);
    const exported = await downloaded(exportDownload);
    assert.match(exported.name, /^kingdom-log-\d{4}-\d{2}-\d{2}\.json$/);
    const log = exported.json as LogExport;
    assert.equal(log.format, 'kingdom.log/2');
    assert.equal(log.events.length, status.headSeq, 'every event is in the export');
    assert.ok(log.events.some((e) => e.seq === tamperedSeq && JSON.stringify(e.payload).includes('Tampered')), 'the changed event is exported as stored');
    assert.ok(log.checkpoints.length >= 1 && log.audit.length >= 1, 'audit and checkpoints are exported');
    await ui.byTestId('recovery-exported').waitFor({ timeout: UI_MS });

    // Verify names the broken link, with its device and position.
    await ui.byTestId('verify-button').click();
    await ui.byTestId('verify-broken').waitFor({ timeout: UI_MS });
    assert.equal(await ui.byTestId('verify-result').getAttribute('data-ok'), 'false');
    assert.equal(await ui.byTestId('verify-broken-device').innerText(), status.deviceId);
    assert.ok(Number(await ui.byTestId('verify-broken-device-seq').innerText()) > 0);

    // Rebuilding the projections does not mend a missing checkpoint: the report says so, still read-only.
    await ui.byTestId('recovery-rebuild').click();
    const rebuilt = ui.byTestId('repair-result');
    await rebuilt.waitFor({ timeout: UI_MS });
    assert.equal(await rebuilt.getAttribute('data-recovered'), 'false', await rebuilt.innerText());
    assert.match(await rebuilt.innerText(), /Still read-only/);
    assert.equal(await banner.count(), 1, 'the banner stays');

    // Cut the log back: confirmation first, the export is downloaded, then the cut.
    await ui.byTestId('recovery-cut').click();
    const confirm = ui.byTestId('recovery-cut-confirm');
    await confirm.waitFor({ timeout: UI_MS });
    assert.match(await confirm.innerText(), /moved aside/);
    assert.match(await confirm.innerText(), /never deleted/);
    assert.match(await confirm.innerText(), /new device chain/);
    const [cutDownload] = await Promise.all([page.waitForEvent('download', { timeout: UI_MS }), ui.byTestId('recovery-cut-confirm-button').click()]);
    const beforeCut = await downloaded(cutDownload);
    assert.equal((beforeCut.json as LogExport).events.length, status.headSeq, 'everything was downloaded before the cut');
    const result = page.locator('[data-testid="repair-result"][data-recovered="true"]');
    await result.waitFor({ timeout: UI_MS });
    assert.equal(await result.getAttribute('data-recovered'), 'true', await result.innerText());
    const cutEvents = Number(await ui.byTestId('repair-cut-events').innerText());
    assert.equal(cutEvents, status.headSeq - tamperedSeq + 1, 'the events from the changed one on were cut');
    await banner.waitFor({ state: 'detached', timeout: UI_MS });
    const after = unwrap(await api.status(), 'status');
    assert.equal(after.recovery, null, 'recovery mode is over');
    assert.notEqual(after.deviceId, status.deviceId, 'the device continues under a new chain');
    // The repair is recorded and the cut rows are kept: the kernel's own report.
    const repairs = await api.eventsOfType(['kernel.log_repaired']);
    assert.equal(repairs.length, 1);
    assert.equal((repairs[0]!.payload as { action: string }).action, 'cut');

    // Writing works again, and the log verifies.
    await ui.createWorkspace('Delta');
    assert.deepEqual(await api.workspaceNames(), ['Alpha', 'Beta', 'Delta'], 'Gamma (changed) was cut; Delta is new');
    assert.equal(await ui.verify(), true, 'Verify shows the log intact');
    assert.equal(unwrap(await api.verify(), 'verify').ok, true);

    assert.deepEqual(await cspViolations(page), [], 'no CSP violations');
    assert.deepEqual(problems.errors, [], 'no console errors');
  });

  test('a change under a checkpoint opens normally; Verify finds it, the banner appears, the cut recovers', async () => {
    const { server, context, tamperedSeq } = await brokenDatabase(cleanup, dist, csp, tamperSql('Alpha', false));
    const page = await context.newPage();
    const problems = await PageProblems.watch(page);
    const { ui, api } = await openApp(page, `${server.url}/#/integrity`);
    await ui.byTestId('recovery-ok').waitFor({ timeout: UI_MS });
    assert.equal(unwrap(await api.status(), 'status').recovery, null, 'the bounded open check passes');
    assert.equal(await ui.byTestId('recovery-banner').count(), 0);

    await ui.byTestId('verify-button').click();
    await ui.byTestId('verify-broken').waitFor({ timeout: UI_MS });
    const banner = ui.byTestId('recovery-banner');
    await banner.waitFor({ timeout: UI_MS });
    assert.equal(await banner.getAttribute('data-reason'), 'hash_mismatch');
    await ui.byTestId('recovery-problem').waitFor({ timeout: UI_MS });

    await ui.byTestId('recovery-cut').click();
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: UI_MS }), ui.byTestId('recovery-cut-confirm-button').click()]);
    assert.match(download.suggestedFilename(), /^kingdom-log-/);
    const result = page.locator('[data-testid="repair-result"][data-recovered="true"]');
    await result.waitFor({ timeout: UI_MS });
    assert.ok(Number(await ui.byTestId('repair-cut-events').innerText()) >= 1);
    await banner.waitFor({ state: 'detached', timeout: UI_MS });
    const names = await api.workspaceNames();
    assert.ok(!names.includes('Tampered') && !names.includes('Alpha'), `the changed event and the ones after it were cut (${names.join(', ')})`);
    assert.ok(tamperedSeq > 0);
    // The kernel accepts changes again, and they survive a reload.
    await api.createWorkspace('Again');
    await page.reload();
    await ui.waitReady();
    await ui.waitWorkspace('Again');
    assert.equal(await ui.verify(), true, 'Verify shows the log intact');
    assert.deepEqual(await cspViolations(page), [], 'no CSP violations');
    assert.deepEqual(problems.errors, [], 'no console errors');
  });

  test('two devices rename one workspace at once: the conflict is listed; a chain changed on the way is refused', async () => {
    const server = await serveStatic(dist, { headers: { 'content-security-policy': csp } });
    cleanup.add('server', () => server.close());
    const open = async (name: string) => {
      const context = await launch(cleanup, cleanup.tempDir(`kingdom-e2e-${name}-`));
      await recordCspViolations(context);
      const page = await context.newPage();
      const problems = await PageProblems.watch(page);
      const { ui, api } = await openApp(page, `${server.url}/#/integrity`);
      return { page, problems, ui, api, device: unwrap(await api.status(), 'status').deviceId };
    };
    const a = await open('device-a');
    const b = await open('device-b');
    assert.notEqual(a.device, b.device);
    await a.ui.byTestId('conflicts-empty').waitFor({ timeout: UI_MS });
    await a.ui.byTestId('quarantine-empty').waitFor({ timeout: UI_MS });

    // A creates the workspace; B receives it; both rename it without seeing the other's rename.
    const workspaceId = await a.api.createWorkspace('Shared');
    const fromA = await exportChain(a.page, a.device);
    const intoB = await ingest(b.page, fromA);
    assert.deepEqual(intoB.refused, []);
    assert.ok(intoB.applied >= 1);
    const rename = async (side: typeof a, name: string) => {
      const r = await side.api.command({ type: 'workspace.rename', payload: { workspaceId, name }, idempotencyKey: `rename:${name}` });
      assert.ok(r.ok, JSON.stringify(r));
    };
    await rename(a, 'Renamed on A');
    await rename(b, 'Renamed on B');
    const fromB = await exportChain(b.page, b.device);
    const intoA = await ingest(a.page, fromB);
    assert.deepEqual(intoA.refused, []);
    const intoB2 = await ingest(b.page, await exportChain(a.page, a.device));
    assert.deepEqual(intoB2.refused, []);

    // Both devices list the concurrent rename, with the resolution text.
    for (const side of [a, b]) {
      const row = side.page.locator(`[data-testid="conflict-row"][data-stream="workspace:${workspaceId}"][data-type="workspace.renamed"]`).first();
      await row.waitFor({ timeout: UI_MS });
      const text = await row.innerText();
      assert.match(text, /1 earlier event/);
      assert.match(text, /merge order/);
    }
    assert.equal((await a.api.workspaceNames()).join(), (await b.api.workspaceNames()).join(), 'both devices converge');

    // B writes on; its chain is changed on the way to A (a payload without its hash): refused.
    await b.api.createWorkspace('Honest');
    const tail = await exportChain(b.page, b.device, fromB.events.at(-1)!.deviceSeq);
    assert.ok(tail.events.length >= 1);
    const forged = tail.events.map((e, i) => (i === 0 ? { ...e, payload: { ...(e.payload as Record<string, unknown>), name: 'Forged' } } : e));
    const refused = await ingest(a.page, { events: forged, checkpoints: tail.checkpoints });
    assert.equal(refused.refused.length, 1, JSON.stringify(refused));
    assert.equal(refused.refused[0]!.reason, 'hash_mismatch');
    await a.page.reload();
    await a.ui.waitReady();
    const q = a.page.locator('[data-testid="quarantine-row"][data-reason="hash_mismatch"]').first();
    await q.waitFor({ timeout: UI_MS });
    assert.match(await q.innerText(), /hash/i);

    for (const side of [a, b]) {
      assert.deepEqual(await cspViolations(side.page), [], 'no CSP violations');
      assert.deepEqual(side.problems.errors, [], 'no console errors');
    }
  });

  test('after a cut below the old head, the live UI shows new changes without a reload', async () => {
    const { server, context } = await brokenDatabase(cleanup, dist, csp, tamperSql('Alpha', false));
    const page = await context.newPage();
    const { ui } = await openApp(page, `${server.url}/#/integrity`);
    await ui.byTestId('verify-button').click();
    await ui.byTestId('recovery-banner').waitFor({ timeout: UI_MS });
    await ui.byTestId('recovery-cut').click();
    await Promise.all([page.waitForEvent('download', { timeout: UI_MS }), ui.byTestId('recovery-cut-confirm-button').click()]);
    await page.locator('[data-testid="repair-result"][data-recovered="true"]').waitFor({ timeout: UI_MS });
    const short = new AppPage(page, 5_000);
    await short.createWorkspace('Live after the cut');
  });

  test('a cut in the leader tab moves the follower tab back too: it sees the changes made after the cut', async () => {
    const { server, context } = await brokenDatabase(cleanup, dist, csp, tamperSql('Alpha', false));
    const leader = await context.newPage();
    const a = await openApp(leader, `${server.url}/#/integrity`);
    const follower = await context.newPage();
    const b = await openApp(follower, `${server.url}/#/workspaces`);
    assert.equal((await a.api.ready()).role, 'leader');
    assert.equal((await b.api.ready()).role, 'follower');
    await a.api.verify();
    const r = await leader.evaluate(() => (window as unknown as { kingdomDevHook: { api: { repair(a: 'cut'): Promise<{ ok: boolean; value?: { recovered: boolean; cut: { events: unknown[] } } }> } } }).kingdomDevHook.api.repair('cut'));
    assert.ok(r.ok && r.value?.recovered && r.value.cut.events.length > 0, JSON.stringify(r));
    await a.api.createWorkspace('Made after the cut');
    await b.ui.waitWorkspace('Made after the cut');
  });
});

