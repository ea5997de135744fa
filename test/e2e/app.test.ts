/**
 * The built app (dist/) in real Chromium, served on 127.0.0.1 with its CSP header:
 * a. data survives a reload and a full browser restart on the same profile (OPFS);
 * b. offline: once the service worker controls the page, the app starts and works with the
 *    server stopped and the network off;
 * e. CSP: the header and the meta policy are there, a normal session records zero
 *    `securitypolicyviolation` events and zero console errors, and no built file contains
 *    `eval(`, `new Function` or the Function constructor (also as zod's `F = Function; new F(`);
 * f. `?storage=memory` shows the banner and the memory badge, and the app still works;
 * and: a database written by a newer Kingdom shows an error page, never a blank or endless boot.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { serveStatic } from '../helpers/static-server.ts';
import { Cleanup, ensureAppBuild, ensurePagesBuild, pollUntil } from './support.ts';
import { appCsp, cspViolations, launch, PageProblems, recordCspViolations } from './app-support.ts';
import { AppPage } from './pages/app-page.ts';
import { KingdomApiPage } from './pages/kingdom-api.ts';
import { prepareAppDatabase } from './pages/storage-page.ts';

async function openApp(context: BrowserContext, url: string): Promise<{ page: Page; ui: AppPage; api: KingdomApiPage; problems: PageProblems }> {
  const page = await context.newPage();
  const problems = await PageProblems.watch(page);
  await page.goto(url);
  const ui = new AppPage(page);
  const api = new KingdomApiPage(page);
  await api.ready();
  await ui.waitReady();
  return { page, ui, api, problems };
}

describe('the app in Chromium', () => {
  const cleanup = new Cleanup();
  let dist: string;
  let csp: string;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    dist = ensureAppBuild();
    csp = await appCsp();
  });
  after(() => cleanup.run());

  test('a. data survives a reload and a browser restart on the same profile', async () => {
    const local = new Cleanup();
    try {
      const server = await serveStatic(dist, { headers: { 'content-security-policy': csp } });
      local.add('server', () => server.close());
      const profile = local.tempDir('kingdom-e2e-persist-');
      let context = await launch(local, profile);
      let { page, ui, api, problems } = await openApp(context, `${server.url}/`);
      assert.equal((await api.info()).storage, 'opfs', 'durable storage');
      await ui.createWorkspace('Survivor');
      for (let i = 0; i < 25; i++) await api.createWorkspace(`Bulk ${i}`);
      const before = await api.statusOrThrow();
      const names = await api.workspaceNames();

      await page.reload();
      await api.ready();
      await ui.waitReady();
      await ui.waitWorkspace('Survivor');
      assert.deepEqual(await api.workspaceNames(), names, 'after reload');
      assert.equal((await api.statusOrThrow()).headSeq, before.headSeq, 'head after reload');
      assert.deepEqual(problems.errors, [], 'no console errors before the restart');

      await context.close();
      context = await launch(local, profile);
      ({ page, ui, api, problems } = await openApp(context, `${server.url}/`));
      const info = await api.info();
      assert.equal(info.storage, 'opfs', `durable storage after restart (${info.fallbackReason})`);
      await ui.waitWorkspace('Survivor');
      assert.deepEqual(await api.workspaceNames(), names, 'after a browser restart');
      const after = await api.statusOrThrow();
      assert.equal(after.headSeq, before.headSeq, 'head after restart');
      assert.equal(after.headHash, before.headHash, 'head hash after restart');
      assert.equal(await ui.verify(), true, 'the integrity check passes in the UI');
      assert.deepEqual(problems.errors, [], 'no console errors after the restart');
    } finally {
      await local.run();
    }
  });

  test('b. offline: with the server stopped and the network off, the app starts and the kernel works', async () => {
    const local = new Cleanup();
    try {
      const server = await serveStatic(dist, { headers: { 'content-security-policy': csp } });
      const port = server.port;
      let stopped = false;
      local.add('server', () => (stopped ? undefined : server.close()));
      const context = await launch(local, local.tempDir('kingdom-e2e-offline-'));
      const { page, ui, api } = await openApp(context, `${server.url}/`);
      await ui.createWorkspace('Before offline');

      await page.evaluate(async () => {
        await Promise.race([
          navigator.serviceWorker.ready,
          new Promise((_, reject) => setTimeout(() => reject(new Error('no service worker became ready within 20 s')), 20_000)),
        ]);
      });
      for (let i = 0; i < 5 && !(await page.evaluate(() => !!navigator.serviceWorker.controller)); i++) {
        await page.reload();
        await api.ready();
      }
      assert.ok(await page.evaluate(() => !!navigator.serviceWorker.controller), 'the service worker controls the page');

      await server.close();
      stopped = true;
      await context.setOffline(true);
      await page.reload();
      await api.ready();
      await ui.waitReady();
      const info = await api.info();
      assert.equal(info.storage, 'opfs', `offline, still on OPFS (${info.fallbackReason})`);
      await ui.waitWorkspace('Before offline');
      await ui.createWorkspace('While offline');
      assert.deepEqual((await api.workspaceNames()).filter((n) => n.endsWith('offline')), ['Before offline', 'While offline']);
      assert.equal((await api.verifyOrThrow()).ok, true, 'verify offline');

      // And a brand-new tab, offline, too.
      const second = await context.newPage();
      await second.goto(`http://127.0.0.1:${port}/`);
      await new KingdomApiPage(second).ready();
      await new AppPage(second).waitWorkspace('While offline');
      await second.close();
    } finally {
      await local.run();
    }
  });

  test('e. CSP: header and meta policy, zero violations and console errors in a normal session', async () => {
    const local = new Cleanup();
    try {
      const server = await serveStatic(dist, { headers: { 'content-security-policy': csp } });
      local.add('server', () => server.close());
      const context = await launch(local, local.tempDir('kingdom-e2e-csp-'));
      await recordCspViolations(context);
      const page = await context.newPage();
      const problems = await PageProblems.watch(page);
      const response = await page.goto(`${server.url}/`);
      assert.ok(response, 'index.html response');
      assert.equal(response.headers()['content-security-policy'], csp, 'index.html carries the CSP header');
      const html = readFileSync(join(dist, 'index.html'), 'utf8');
      const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(html);
      assert.ok(meta, 'the built index.html has a CSP meta element');
      assert.match(meta[1]!, /script-src 'self' 'wasm-unsafe-eval'(;|$)/, 'meta policy: scripts only from self (+ wasm)');
      assert.doesNotMatch(meta[1]!, /'unsafe-eval'/, 'no unsafe-eval');

      const ui = new AppPage(page);
      const api = new KingdomApiPage(page);
      await api.ready();
      await ui.waitReady();
      // A normal session: every screen, every action.
      await ui.createWorkspace('CSP workspace');
      await ui.workspaceItem('CSP workspace').first().click();
      await ui.createProject('CSP project').catch((err: unknown) => {
        throw new Error(`creating a project in the UI: ${err instanceof Error ? err.message : String(err)}`);
      });
      await ui.waitEventRow('workspace.created', 'CSP workspace');
      assert.equal(await ui.verify(), true, 'verify in the UI');
      await ui.byTestId('rebuild-button').first().click();
      await ui.byTestId('rebuild-result').first().waitFor({ timeout: 15_000 });
      await ui.nav('storage');
      await ui.byTestId('db-bytes').first().waitFor({ timeout: 15_000 });
      await ui.nav('workspaces');

      assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events in the page');
      assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
    } finally {
      await local.run();
    }
  });

  test('e. no eval, new Function or Function constructor in any built file', () => {
    const offenders: string[] = [];
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const p = join(dir, entry);
        if (statSync(p).isDirectory()) walk(p);
        else if (['.js', '.mjs', '.html'].includes(extname(p))) files.push(p);
      }
    };
    walk(dist);
    assert.ok(files.some((f) => /kernel\.worker/.test(f)), `the worker chunk is among the scanned files (${files.length} files)`);
    assert.ok(files.some((f) => f.endsWith('sw.js')), 'sw.js is among the scanned files');
    const patterns: [string, RegExp][] = [
      ['eval(', /(?<![\w$])eval\s*\(/],
      ['new Function', /\bnew\s+Function\b/],
      ['Function( constructor call', /(?<![\w$.])Function\s*\(/],
      // zod's `const F = Function; new F(...)`, minified to `let e=Function,…new e(`.
      ['alias of Function (F = Function; new F(…))', /(?<![\w$.])[\w$]+\s*=\s*Function\b(?!\s*[.\w$])/],
    ];
    for (const file of files) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const [what, re] of patterns) {
          const m = re.exec(line);
          if (m) {
            const at = m.index;
            offenders.push(`${relative(dist, file)}:${i + 1}: ${what}: …${line.slice(Math.max(0, at - 60), at + 60)}…`);
          }
        }
      });
    }
    assert.deepEqual(offenders, [], `eval-like code in dist/ (see the list)`);
  });

  test('f. ?storage=memory shows the banner and the memory badge, and the app works', async () => {
    const local = new Cleanup();
    try {
      const server = await serveStatic(dist, { headers: { 'content-security-policy': csp } });
      local.add('server', () => server.close());
      const context = await launch(local, local.tempDir('kingdom-e2e-memory-'));
      const { ui, api, problems } = await openApp(context, `${server.url}/?storage=memory`);
      await ui.byTestId('storage-banner').first().waitFor({ state: 'visible', timeout: 15_000 });
      assert.equal(await ui.storageKind(), 'memory', 'storage-kind badge');
      const info = await api.info();
      assert.equal(info.storage, 'memory');
      assert.ok(info.fallbackReason, 'a reason is given');
      await ui.createWorkspace('In memory');
      assert.deepEqual(await api.workspaceNames(), ['In memory']);
      assert.ok(await ui.headSeq() >= 2, 'head-seq shows the new events');
      assert.deepEqual(problems.errors, [], 'no console errors');
    } finally {
      await local.run();
    }
  });

  test('a database from a newer Kingdom shows an error page, never a blank page or an endless boot', async () => {
    const local = new Cleanup();
    try {
      // The app and the storage test page on one origin, so the page can prepare the app's OPFS.
      const root = local.tempDir('kingdom-e2e-combined-');
      for (const entry of readdirSync(dist)) symlinkSync(join(dist, entry), join(root, entry));
      mkdirSync(join(root, '__e2e'));
      for (const entry of readdirSync(ensurePagesBuild())) symlinkSync(join(ensurePagesBuild(), entry), join(root, '__e2e', entry));
      const server = await serveStatic(root, { headers: { 'content-security-policy': csp } });
      local.add('server', () => server.close());
      const context = await launch(local, local.tempDir('kingdom-e2e-toonew-'));
      const page = await context.newPage();
      const prepared = await prepareAppDatabase(page, server.url, 'CREATE TABLE from_the_future (x); PRAGMA user_version = 42; PRAGMA user_version', '/__e2e/contract.html');
      assert.deepEqual(prepared, { ok: true, value: 42 });
      await page.goto(`${server.url}/`);
      const shown = await pollUntil(() => page.evaluate(() => {
        const alert = document.querySelector('[role="alert"]');
        return alert && /newer|schema/i.test(alert.textContent ?? '') ? alert.textContent : null;
      }), { timeoutMs: 10_000, intervalMs: 100, what: 'an error (role=alert) explaining the database is from a newer Kingdom' });
      assert.match(String(shown), /newer|schema/i);
    } finally {
      await local.run();
    }
  });
});
