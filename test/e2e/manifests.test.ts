/**
 * The registry in the app, in real Chromium (the built app, docs/manifests.md "The registry in the
 * app"): the fixtures applied through a real file input (and again: unchanged, no event); the graph
 * shows the Kata's missing workflow as a dashed node and in its list; Remove refused while an Agent
 * needs the Tool, with the sentence; a Tool edited to invalid shows its issues at their lines while
 * the last good version stays, fixed it is one new event; a Relic on 127.0.0.1 shows healthy and a
 * Monument comes up; a watched folder is applied and re-read on change (an invalid file refused with
 * its path and line, the last good version kept), with the hot-reload latency measured; exports;
 * 0 CSP violations, no console errors, axe with no serious or critical violation, screenshots at
 * 1440, 820 and 390 px.
 *
 * The watched folder: headless Chromium has showDirectoryPicker but no one to answer its dialog,
 * so the page's picker is answered with an OPFS directory (navigator.storage.getDirectory(), the
 * same FileSystemDirectoryHandle interface) by an init script; the app's own "Watch a folder"
 * button, walk, polling and apply run unchanged, and the test writes the files into that directory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { listenOnLoopback } from '../helpers/listen.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { Cleanup, REPO } from './support.ts';
import { cspViolations, launch, PageProblems, recordCspViolations, serveApp } from './app-support.ts';
import { KingdomApiPage } from './pages/kingdom-api.ts';
import { blocking, formatViolations, runAxe } from './a11y-support.ts';

const UI_MS = 20_000;
const SCREENS = join(REPO, '.tmp/screens');
const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;
const fixture = (name: string): string => readFileSync(join(REPO, 'test/fixtures/manifests', name), 'utf8');
const FIXTURES = ['agent-reviewer.yaml', 'kata-deploy.yaml', 'monument-forge.yaml', 'relic-git.yaml', 'tool-deploy.yaml', 'tool-notify.yaml'];

describe('the Manifests screen', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;
  let page: Page;
  let api: KingdomApiPage;
  let problems: PageProblems;
  let relicUrl = '';
  const files = (): { name: string; mimeType: string; buffer: Buffer }[] =>
    FIXTURES.map((f) => ({ name: f, mimeType: 'application/yaml', buffer: Buffer.from(fixture(f).replace(/http:\/\/127\.0\.0\.1:8788/g, relicUrl)) }));
  const applied = async (): Promise<number> => (await api.eventsOfType(['manifest.applied'])).length;
  const go = async (hash: string): Promise<void> => {
    await page.evaluate((h) => { location.hash = h; }, hash);
  };

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    const relic = createServer((req, res) => {
      res.writeHead(req.url === '/healthz' ? 200 : 404, { 'access-control-allow-origin': '*', 'content-type': 'text/plain' }).end('ok');
    });
    relicUrl = (await listenOnLoopback(relic)).url;
    cleanup.add('relic server', () => new Promise<void>((r) => relic.close(() => r())));
    server = await serveApp(cleanup);
    const context = await launch(cleanup, cleanup.tempDir('kingdom-e2e-manifests-'));
    await recordCspViolations(context);
    await context.addInitScript(() => {
      const w = window as unknown as { showDirectoryPicker?: unknown; __nativePicker?: boolean };
      w.__nativePicker = typeof w.showDirectoryPicker === 'function';
      w.showDirectoryPicker = async () => (await navigator.storage.getDirectory()).getDirectoryHandle('e2e-manifests', { create: true });
    });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    page = await context.newPage();
    problems = await PageProblems.watch(page);
    await page.goto(`${server.url}/#/manifests`);
    api = new KingdomApiPage(page);
    const info = await api.ready();
    assert.equal(info.storage, 'opfs');
    mkdirSync(SCREENS, { recursive: true });
  });
  after(() => cleanup.run());

  test('upload: every fixture applied through a real file input; again, all unchanged and no event', async () => {
    await page.locator(sel('manifests-empty')).waitFor({ timeout: UI_MS });
    await page.locator(sel('manifest-upload')).setInputFiles(files());
    await page.locator(sel('folder-log-entry')).nth(5).waitFor({ timeout: UI_MS });
    const outcomes = await page.locator(sel('folder-log-entry')).evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset['path']} ${(e as HTMLElement).dataset['outcome']}`).sort());
    assert.deepEqual(outcomes, FIXTURES.map((f) => `${f} applied`));
    await page.locator(sel('manifest-row')).nth(5).waitFor({ timeout: UI_MS });
    assert.equal(await applied(), 6);

    await page.locator(sel('manifest-upload')).setInputFiles(files());
    await page.locator(sel('folder-log-entry', '[data-outcome="unchanged"]')).nth(5).waitFor({ timeout: UI_MS });
    assert.equal(await applied(), 6, 'the same files again append nothing');
    assert.equal(await page.locator(sel('manifest-row', '[data-key="Kata/deploy-service@1.2.0"]')).getAttribute('data-missing'), '1', 'the kata misses its workflow');
  });

  test('the graph shows the missing need as a dashed node and in its list; click opens a manifest', async () => {
    const missing = page.locator(sel('graph-node', '[data-missing="true"]'));
    await missing.first().waitFor({ timeout: UI_MS });
    assert.equal(await missing.getAttribute('data-key'), 'missing:Workflow/deploy_service *');
    assert.match(await page.locator(sel('graph-missing')).first().textContent() ?? '', /Workflow\/deploy_service \*.*Monument\/code-forge@1\.0\.0 → Kata\/deploy-service@1\.2\.0/);
    const style = await missing.locator('.mf-node').evaluate((e) => getComputedStyle(e).borderStyle);
    assert.equal(style, 'dashed');
    assert.ok(await page.locator(sel('graph-edge', '[data-source="Agent/code-reviewer@0.3.0"][data-target="Tool/runner.notify@1.2.0"]')).count() === 1);
    const [json] = await Promise.all([page.waitForEvent('download', { timeout: UI_MS }), page.locator(sel('graph-export-json')).click()]);
    assert.equal(json.suggestedFilename(), 'kingdom-manifests.json');
    const graph = JSON.parse(readFileSync((await json.path())!, 'utf8')) as { nodes: unknown[]; missing: unknown[] };
    assert.equal(graph.nodes.length, 6);
    assert.equal(graph.missing.length, 1);
    const [mmd] = await Promise.all([page.waitForEvent('download', { timeout: UI_MS }), page.locator(sel('graph-export-mermaid')).click()]);
    assert.match(readFileSync((await mmd.path())!, 'utf8'), /^flowchart LR\n[\s\S]*:::missing/);
    await page.locator(sel('graph-copy-mermaid')).click();
    await page.locator(sel('graph-copied')).waitFor({ timeout: UI_MS });
    assert.match(await page.evaluate(() => navigator.clipboard.readText()), /^flowchart LR/);

    await page.locator(sel('graph-node', '[data-key="Tool/runner.notify@1.2.0"]')).click();
    await page.waitForFunction(() => location.hash.startsWith('#/manifests/Tool%2Frunner.notify'), undefined, { timeout: UI_MS });
    await page.locator(sel('manifest-active')).waitFor({ timeout: UI_MS });
  });

  test('Remove is refused while an Agent needs the Tool, with what depends on it', async () => {
    await page.locator(sel('manifest-dependents')).click();
    await page.locator(sel('manifest-breaks')).waitFor({ timeout: UI_MS });
    assert.match(await page.locator(sel('manifest-dependents-list')).textContent() ?? '', /Agent\/code-reviewer@0\.3\.0/);
    const before = (await api.status()).ok;
    assert.ok(before);
    await page.locator(sel('manifest-remove')).click();
    const notice = page.locator('[data-code="has_dependents"] [data-testid="error-sentence"]');
    await notice.waitFor({ timeout: UI_MS });
    const text = (await notice.textContent()) ?? '';
    assert.match(text, /Agent\/code-reviewer@0\.3\.0|depend/, text);
    console.log(`has_dependents sentence: ${text.trim()}`);
    assert.equal(await api.eventsOfType(['manifest.removed']).then((e) => e.length), 0, 'nothing removed');
  });

  test('edit a Tool to invalid: issues at their lines, the last good version stays; fixed, one new event', async () => {
    const content = page.locator(sel('manifest-source', '[data-ready="true"] .cm-content'));
    await content.waitFor({ timeout: UI_MS });
    const good = fixture('tool-notify.yaml');
    await content.fill(good.replace('parameters:', 'paramters:'));
    await page.locator(sel('manifest-validation', '[data-state="invalid"]')).waitFor({ timeout: UI_MS });
    assert.equal(await page.locator(sel('manifest-issue')).first().getAttribute('data-line'), '5');
    await page.locator(sel('manifest-last-good')).waitFor({ timeout: UI_MS });
    assert.equal(await page.locator(sel('manifest-apply')).isDisabled(), true);
    await page.locator('.cm-lint-marker-error').first().waitFor({ timeout: UI_MS });
    const active = await api.query<{ source: string }>('manifest.get', { kind: 'Tool', name: 'runner.notify' });
    assert.ok(active.ok && active.value.source === good, 'the last good version is still the active one');
    await page.screenshot({ path: join(SCREENS, 'manifests-invalid-1440.png'), fullPage: true });

    const n = await applied();
    await content.fill(good.replace('runner: transform', 'description: Says something\nrunner: transform'));
    await page.locator(sel('manifest-validation', '[data-state="changed"]')).waitFor({ timeout: UI_MS });
    await page.locator(sel('manifest-apply')).click();
    await page.locator(sel('manifest-applied')).waitFor({ timeout: UI_MS });
    assert.equal(await applied(), n + 1, 'the fix is exactly one event');
  });

  test('a Relic on 127.0.0.1 shows healthy; a Monument comes up as a checklist', async () => {
    await go('#/manifests/Relic%2Fgit-server');
    await page.locator(sel('relic-health-panel', '[data-health="healthy"]')).waitFor({ timeout: UI_MS });
    assert.notEqual(await page.locator(sel('relic-last-checked')).textContent(), '—');
    await go('#/manifests/Monument%2Fcode-forge');
    await page.locator(sel('monument-bring-up')).click({ timeout: UI_MS });
    await page.locator(sel('monument-overall', '[data-overall="up"]')).waitFor({ timeout: UI_MS });
    const steps = await page.locator(sel('monument-step')).evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset['component']} ${(e as HTMLElement).dataset['state']}`));
    assert.deepEqual(steps, ['git-server up', 'code-reviewer up', 'deploy-service up']);
  });

  test('Publish: a Kata with its workflow exports as one pack file with the index entry a publisher adds', async () => {
    const flow = readFileSync(join(REPO, 'test/fixtures/workflows/spec/deploy_service.yaml'), 'utf8');
    const saved = await api.command({ type: 'workflow.save', payload: { source: flow }, idempotencyKey: 'e2e-pack-flow' });
    assert.ok(saved.ok, 'the kata\'s workflow is in the library');
    await go('#/manifests/Kata%2Fdeploy-service');
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: UI_MS }), page.locator(sel('kata-pack-export')).click({ timeout: UI_MS })]).catch(async (err: unknown) => {
      throw new Error(`no download; the page says: ${(await page.locator("main").innerText()).slice(-1500)}`, { cause: err });
    });
    assert.equal(download.suggestedFilename(), 'deploy-service-1.2.0.kata-pack.json');
    const entry = JSON.parse(await page.locator(sel('kata-pack-entry')).textContent({ timeout: UI_MS }) ?? '{}') as { name: string; version: string; sha256: string; size: number };
    assert.equal(`${entry.name}@${entry.version}`, 'deploy-service@1.2.0');
    assert.match(entry.sha256, /^[0-9a-f]{64}$/);
    assert.ok(entry.size > 0, 'the entry names the pack\'s size');
  });

  test('a watched folder: applied, re-read on change, an invalid file refused with its path and line; hot-reload latency', async () => {
    await go('#/manifests');
    const write = (path: string, text: string): Promise<number> => page.evaluate(async ([p, t]) => {
      let dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('e2e-manifests', { create: true });
      const parts = p.split('/');
      for (const d of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(d, { create: true });
      const w = await (await dir.getFileHandle(parts.at(-1)!, { create: true })).createWritable();
      await w.write(t);
      await w.close();
      return performance.now();
    }, [path, text] as const);
    const tool = (version: string, extra = ''): string => `kind: Tool\nname: folder.echo\nversion: ${version}\nrunner: transform\n${extra}transform:\n  expression: "{ echoed: 1 }"\n`;
    await write('tools/echo.yaml', tool('1.0.0'));
    await page.locator(sel('folder-watch')).click();
    await page.locator(sel('folder-state', '[data-state="watching"]')).waitFor({ timeout: UI_MS });
    await page.locator(sel('graph-node', '[data-key="Tool/folder.echo@1.0.0"]')).waitFor({ timeout: UI_MS });
    assert.equal(await page.locator(sel('folder-log-entry', '[data-path="tools/echo.yaml"][data-outcome="applied"]')).count(), 1);

    const n = await applied();
    await write('tools/echo.yaml', tool('1.0.0', 'paramters: {}\n'));
    const refused = page.locator(sel('folder-log-entry', '[data-path="tools/echo.yaml"][data-outcome="refused"]'));
    await refused.waitFor({ timeout: UI_MS });
    assert.match(await refused.textContent() ?? '', /tools\/echo\.yaml[\s\S]*5:1 unknown key "paramters"[\s\S]*last good version stays active/);
    const kept = await api.query<{ source: string }>('manifest.get', { kind: 'Tool', name: 'folder.echo' });
    assert.ok(kept.ok && kept.value.source === tool('1.0.0'), 'the last good version stays active');
    await write('tools/echo.yaml', tool('1.0.0', 'description: fixed\n'));
    await page.locator(sel('folder-log-entry', '[data-path="tools/echo.yaml"][data-outcome="applied"]')).nth(1).waitFor({ timeout: UI_MS });
    assert.equal(await applied(), n + 1, 'refused: no event; fixed: one event');

    // Latency: file written → the new version on the graph (poll ~1 s, so up to about a second).
    const times: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const written = await write('tools/echo.yaml', tool(`1.1.${i}`));
      const shown = await page.waitForFunction((key) => document.querySelector(`[data-testid="graph-node"][data-key="${key}"]`) ? performance.now() : 0, `Tool/folder.echo@1.1.${i}`, { timeout: UI_MS, polling: 'raf' });
      times.push((await shown.jsonValue()) - written);
    }
    times.sort((a, b) => a - b);
    console.log(`hot-reload latency (file written → graph on screen), 5 changes: p50 ${times[2]!.toFixed(0)} ms, max ${times[4]!.toFixed(0)} ms (${times.map((t) => t.toFixed(0)).join(', ')}); native showDirectoryPicker: ${await page.evaluate(() => (window as unknown as { __nativePicker: boolean }).__nativePicker)}; FileSystemObserver: ${await page.evaluate(() => 'FileSystemObserver' in globalThis)}`);
    assert.ok(times[4]! < 5_000, 'each change on screen within 5 s');
  });

  test('0 CSP violations, no console errors, axe clean and screenshots at 1440, 820 and 390 px', async () => {
    const failures: string[] = [];
    for (const [width, height] of [[1440, 900], [820, 1180], [390, 844]] as const) {
      await page.setViewportSize({ width, height });
      await go('#/manifests');
      await page.locator(sel('graph-node')).first().waitFor({ timeout: UI_MS });
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(SCREENS, `manifests-${width}.png`), fullPage: true });
      for (const v of blocking(await runAxe(page))) failures.push(formatViolations(`manifests ${width}`, [v]));
      await go('#/manifests/Monument%2Fcode-forge');
      await page.locator(sel('monument-step')).first().waitFor({ timeout: UI_MS });
      await page.screenshot({ path: join(SCREENS, `manifests-monument-${width}.png`), fullPage: true });
      for (const v of blocking(await runAxe(page))) failures.push(formatViolations(`monument ${width}`, [v]));
    }
    assert.deepEqual(failures, [], failures.join('\n'));
    assert.deepEqual(await cspViolations(page), []);
    assert.deepEqual(problems.errors, []);
  });
});
