/**
 * The kernel worker's runtime (worker/browser/runtime.ts) at startup, on the UI-less harness page
 * (test/e2e/pages/kernel.html), sharing an origin with the storage page so a test can prepare the
 * OPFS database before the kernel opens it.
 *
 * A kernel that cannot open its database must say why (a `Result` with the error code) instead of
 * leaving every call, `info()` and `window.kingdomDevHook.ready` pending forever: the UI would stay on its
 * boot screen with no message.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH, launchChromium } from '../helpers/chromium.ts';
import { serveStatic, type StaticServer } from '../helpers/static-server.ts';
import { Cleanup, ensurePagesBuild, FALLBACK_CSP, withTimeout } from './support.ts';
import { prepareAppDatabase } from './pages/storage-page.ts';

describe('kernel runtime startup', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;
  let context: BrowserContext;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH}`);
    server = await serveStatic(ensurePagesBuild(), { headers: { 'content-security-policy': FALLBACK_CSP } });
    cleanup.add('static server', () => server.close());
    ({ context } = await launchChromium(cleanup.tempDir('kingdom-e2e-runtime-')));
    cleanup.add('chromium', () => context.close());
  });
  after(() => cleanup.run());

  test('a database from a newer Kingdom is refused with schema_too_new instead of hanging, and left unchanged', async () => {
    const page = await context.newPage();
    try {
      const prepared = await prepareAppDatabase(page, server.url, 'CREATE TABLE from_the_future (x); PRAGMA user_version = 99; PRAGMA user_version');
      assert.deepEqual(prepared, { ok: true, value: 99 }, 'prepared a version-99 database');

      await page.goto(`${server.url}/kernel.html`);
      const outcome = await withTimeout(
        page.evaluate(async () => {
          const w = window as unknown as { kingdomDevHook: { api: any; ready: Promise<unknown> } };
          const ready = await w.kingdomDevHook.ready.then(() => 'resolved', (e: unknown) => `rejected: ${String(e)}`);
          const info = await w.kingdomDevHook.api.info();
          const cmd = await w.kingdomDevHook.api.command({ type: 'workspace.create', payload: { name: 'x' }, idempotencyKey: 'x' });
          return { ready, info, cmd };
        }),
        10_000,
        'kingdomDevHook.ready and a command on a kernel that cannot open its database (they hang: runtime.start() never settles `ready` when becomeLeader() throws)',
      );
      // The UI reads the reason from info().startupError (src/lib/ui-error.ts startupError()).
      assert.equal(outcome.info?.startupError?.code, 'schema_too_new', `info().startupError says why (${JSON.stringify(outcome.info)})`);
      assert.equal(outcome.cmd.ok, false, 'the command fails');
      assert.equal(outcome.cmd.error.code, 'schema_too_new', `with schema_too_new (${JSON.stringify(outcome.cmd.error)})`);

      const after = await prepareAppDatabase(page, server.url, "SELECT (SELECT group_concat(name) FROM sqlite_master) || ' v' || (SELECT user_version FROM pragma_user_version)");
      assert.deepEqual(after, { ok: true, value: 'from_the_future v99' }, 'the database was not modified');
    } finally {
      await page.close();
    }
  });
});
