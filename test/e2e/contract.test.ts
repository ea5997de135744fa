/**
 * The storage contract (test/contract/storage-contract.ts) on the OPFS adapter, in real Chromium:
 * a module worker on test/e2e/pages/contract.html runs every case on `opfsAdapter()` with its own
 * file names, one after another, and the results come back here as one subtest per case.
 *
 * Also checked here, because only a browser can: the sahpool directory is exclusive to one worker
 * (`storage_locked` for a second opener) and is handed over once the first worker releases it,
 * either by `close()` or by dying (like a tab that crashed or closed).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH, launchChromium } from '../helpers/chromium.ts';
import { serveStatic } from '../helpers/static-server.ts';
import { Cleanup, ensurePagesBuild, FALLBACK_CSP, pollUntil } from './support.ts';
import type { OpResult } from './pages/contract.worker.ts';

type CaseResult = { name: string; status: 'pass' | 'fail' | 'skip'; error?: string; ms: number };

const EXPECTED_CASES = 9;

describe('storage contract in Chromium', () => {
  const cleanup = new Cleanup();
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    const root = ensurePagesBuild();
    const server = await serveStatic(root, { headers: { 'content-security-policy': FALLBACK_CSP } });
    cleanup.add('static server', () => server.close());
    ({ context } = await launchChromium(cleanup.tempDir('kingdom-e2e-contract-')));
    cleanup.add('chromium', () => context.close());
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    await page.goto(`${server.url}/contract.html`);
    await page.waitForSelector('#status[data-ready="true"]', { timeout: 15_000 });
  });

  after(() => cleanup.run());

  /**
   * A failed sahpool initialisation must not try to delete the pool directory (sqlite-wasm does
   * `removeVfs()` on init failure unless `preserveOnInitFailure` is set): that path would wipe
   * every database of the origin if the other holder's handles were already partly released.
   */
  function assertPoolNeverRemoved(): void {
    const removals = consoleErrors.splice(0).filter((m) => /removeVfs/.test(m));
    assert.deepEqual(removals, [], 'a failed open tried to delete the OPFS pool (installOpfsSAHPoolVfs needs preserveOnInitFailure: true)');
  }

  async function runCases(t: test.TestContext, kind: 'opfs' | 'memory'): Promise<void> {
    const results = await page.evaluate(
      async ([k, prefix]) => {
        const i = window.e2e.spawn();
        return window.e2e.runContract(i, k as 'opfs' | 'memory', prefix as string);
      },
      [kind, `contract-${kind}-${Date.now()}`],
    ) as CaseResult[];
    assert.equal(results.length, EXPECTED_CASES, `every case reported (${results.map((r) => r.name).join(' | ')})`);
    for (const r of results) {
      await t.test(r.name, r.status === 'skip' ? { skip: r.error ?? 'skipped' } : {}, () => {
        if (r.status === 'fail') assert.fail(`${kind}: ${r.error}`);
      });
    }
    const failed = results.filter((r) => r.status === 'fail');
    assert.equal(failed.length, 0, `failed on ${kind}: ${failed.map((f) => f.name).join('; ')}`);
  }

  test('opfsAdapter() passes every storage contract case (no skips)', async (t) => {
    await runCases(t, 'opfs');
  });

  test('memoryAdapter() passes the same cases inside a browser worker', async (t) => {
    await runCases(t, 'memory');
  });

  test('no console errors and no CSP violations while the contract ran', () => {
    assert.deepEqual(consoleErrors.splice(0), [], 'console errors during the contract cases');
  });

  test('a second worker gets storage_locked while the first holds the pool, and opens after close()', async () => {
    consoleErrors.length = 0;
    const file = `/lock-close-${Date.now()}.sqlite3`;
    const [a, b] = await page.evaluate(() => [window.e2e.spawn(), window.e2e.spawn()]);
    const call = <T>(fn: string, ...args: unknown[]) =>
      page.evaluate(([f, as]) => (window.e2e as unknown as Record<string, (...x: unknown[]) => unknown>)[f as string]!(...(as as unknown[])), [fn, args]) as Promise<OpResult<T>>;

    assert.deepEqual(await call('open', a, file), { ok: true, value: null }, 'A opens');
    assert.equal((await call('exec', a, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('from A')")).ok, true, 'A writes');
    const locked = await call('open', b, file);
    assert.equal(locked.ok, false, 'B cannot open while A holds the pool');
    assert.equal(!locked.ok && locked.code, 'storage_locked', `B is told storage_locked (${JSON.stringify(locked)})`);

    assert.deepEqual(await call('close', a), { ok: true, value: null }, 'A closes');
    // B retries like the runtime does (every 50 ms, bounded).
    let last: OpResult | null = null;
    const opened = await pollUntil(async () => {
      last = await call('open', b, file);
      return last.ok ? last : null;
    }, { timeoutMs: 5_000, intervalMs: 50, what: 'B to open the pool after A closed' }).catch((err: Error) => {
      throw new Error(`${err.message}. B's last open() said ${JSON.stringify(last)}: a worker whose first open failed keeps ` +
        "getting sqlite-wasm's cached init failure (installOpfsSAHPoolVfs needs forceReinitIfPreviouslyFailed: true)");
    });
    assert.equal(opened.ok, true);
    const v = await call<string>('exec', b, 'SELECT v FROM t');
    assert.deepEqual(v, { ok: true, value: 'from A' }, 'B sees what A committed');
    await call('close', b);
    assertPoolNeverRemoved();
  });

  test('a worker that dies holding the pool releases it to the next opener', async () => {
    consoleErrors.length = 0;
    const file = `/lock-kill-${Date.now()}.sqlite3`;
    const [a, b] = await page.evaluate(() => [window.e2e.spawn(), window.e2e.spawn()]);
    const call = <T>(fn: string, ...args: unknown[]) =>
      page.evaluate(([f, as]) => (window.e2e as unknown as Record<string, (...x: unknown[]) => unknown>)[f as string]!(...(as as unknown[])), [fn, args]) as Promise<OpResult<T>>;

    assert.equal((await call('open', a, file)).ok, true, 'A opens');
    assert.equal((await call('exec', a, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('committed by A')")).ok, true, 'A commits');
    await page.evaluate((i) => window.e2e.terminate(i), a);
    const opened = await pollUntil(async () => {
      const r = await call('open', b, file);
      return r.ok ? r : null;
    }, { timeoutMs: 5_000, intervalMs: 50, what: 'B to open the pool after A was terminated' });
    assert.equal(opened.ok, true);
    assert.deepEqual(await call<string>('exec', b, 'SELECT v FROM t'), { ok: true, value: 'committed by A' });
    assert.deepEqual(await call<string>('exec', b, 'PRAGMA integrity_check'), { ok: true, value: 'ok' });
    await call('close', b);
    assertPoolNeverRemoved();
  });

});
