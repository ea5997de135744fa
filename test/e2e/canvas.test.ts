/**
 * The workflow canvas in real Chromium on the built app with its CSP, at 1440, 820 and 390 px
 * (the last as a touch phone). At each width, in a fresh profile:
 * 1. the example decide-and-wait opens as a graph: one node per step with its type, one edge per
 *    dependsOn entry, a labelled edge per then/else entry;
 * 2. on the editor's canvas: add a task from the palette, connect it (a drag at 1440, the
 *    "Depends on…" picker otherwise), rename it, delete another step — the YAML in the editor
 *    changes accordingly and its comment is still there;
 * 3. save, run: the session page's canvas shows each step's live status (the new step: done,
 *    1 attempt, a duration); a click (Enter at 820, a tap at 390) opens that step's detail;
 * 4. removing an edge on the canvas takes it out of the YAML; an edit in the YAML editor redraws
 *    the canvas; invalid YAML keeps the last good graph with the notice, and the canvas does not
 *    edit;
 * 5. keyboard: nodes are focusable and Enter opens them; touch targets are 44 px at 390; axe-core
 *    finds no serious or critical violation on the editing canvas (a step's panel open) or the
 *    session canvas;
 * 6. the first screen fetches no canvas chunk (xyflow comes with the first canvas shown);
 *    0 CSP violations, no console errors. Screenshots go to .tmp/screens/ (gitignored).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Locator, type Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/chromium.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { Cleanup, pollUntil, REPO } from './support.ts';
import { cspViolations, PageProblems, recordCspViolations, serveApp } from './app-support.ts';
import { blocking, formatViolations, runAxe } from './a11y-support.ts';
import { AppPage } from './pages/app-page.ts';
import { KingdomApiPage } from './pages/kingdom-api.ts';

const UI_MS = 20_000;
const RUN_MS = 60_000;
const SCREENS = join(REPO, '.tmp/screens');
const COMMENT = '# A decision picks a branch; the slow branch waits 3 seconds (a durable timer).';
const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;

interface Width { readonly name: string; readonly width: number; readonly height: number; readonly touch: boolean; readonly wide: boolean; readonly how: 'click' | 'enter' | 'tap' }
const WIDTHS: readonly Width[] = [
  { name: 'laptop', width: 1440, height: 900, touch: false, wide: true, how: 'click' },
  { name: 'tablet', width: 820, height: 1180, touch: false, wide: false, how: 'enter' },
  { name: 'phone', width: 390, height: 844, touch: true, wide: false, how: 'tap' },
];

describe('the workflow canvas: 1440, 820 and 390 px', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    mkdirSync(SCREENS, { recursive: true });
    server = await serveApp(cleanup);
  });
  after(() => cleanup.run());

  for (const w of WIDTHS) {
    test(`${w.name} (${w.width} px): draw, edit on the canvas, save, run, live status, editor ↔ canvas`, async () => {
      const context = await chromium.launchPersistentContext(cleanup.tempDir(`kingdom-e2e-canvas-${w.name}-`), {
        executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS],
        viewport: { width: w.width, height: w.height },
        ...(w.touch ? { hasTouch: true, isMobile: true, deviceScaleFactor: 2 } : {}),
      });
      cleanup.add(`chromium ${w.name}`, () => context.close());
      await recordCspViolations(context);
      const page = context.pages()[0] ?? await context.newPage();
      const problems = await PageProblems.watch(page);
      await page.goto(`${server.url}/#/workflows`);
      await new KingdomApiPage(page).ready();
      await new AppPage(page, UI_MS).waitReady();
      const canvasChunks = (): Promise<string[]> => page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => /\/(FlowView|WorkflowCanvas|SessionCanvas)-/.test(n)));
      assert.deepEqual(await canvasChunks(), [], 'the first screen fetches no canvas chunk (xyflow is lazy)');
      const shot = (file: string): Promise<Buffer> => page.screenshot({ path: join(SCREENS, `canvas-${w.name}-${file}.png`), fullPage: true });
      const go = (hash: string): Promise<void> => page.evaluate((h) => { location.hash = h; }, hash);

      await page.locator(sel('install-examples')).click({ timeout: UI_MS });
      await page.locator(sel('workflow-row', '[data-name="decide-and-wait"]')).waitFor({ timeout: UI_MS });
      await go('#/workflows/decide-and-wait');

      // 1. The saved revision as a graph (read-only); on a narrow screen the YAML shows first.
      if (!w.wide) {
        await page.locator(sel('workflow-source-view')).waitFor({ timeout: UI_MS });
        await activate(page.locator(sel('show-canvas')), w);
      }
      const view = page.locator(sel('workflow-canvas'));
      await nodesAre(view, ['choose', 'quick', 'pause', 'summary']);
      assert.ok((await canvasChunks()).some((n) => n.includes('/FlowView-')), 'fetched when a canvas shows');
      assert.deepEqual(await types(view), { choose: 'decision', quick: 'task', pause: 'wait', summary: 'task' }, 'each node shows its type');
      assert.deepEqual(await edges(view), ['quick->summary dependsOn', 'pause->summary dependsOn', 'choose->quick then', 'choose->pause else'].sort());
      assert.deepEqual((await view.locator('.svelte-flow__edge-label').allTextContents()).map((t) => t.trim()).sort(), ['else', 'then']);
      assert.equal(await view.locator(sel('canvas-palette')).count(), 0, 'no palette on a saved revision');
      await assertInside(page, view.locator(sel('canvas-node')), w);
      await shot('view');

      // 2. Edit on the canvas.
      await page.locator(sel('workflow-edit')).click({ timeout: UI_MS });
      const canvas = page.locator(sel('workflow-editor')).locator(sel('workflow-canvas'));
      if (!w.wide) {
        await page.locator(sel('workflow-source', '[data-ready="true"]')).waitFor({ timeout: UI_MS });
        assert.equal(await canvas.isVisible(), false, 'one of Canvas | YAML at a time: the YAML first');
        await activate(page.locator(sel('workflow-editor')).locator(sel('show-canvas')), w);
        assert.equal(await page.locator(sel('workflow-source')).isVisible(), false, 'one of Canvas | YAML at a time');
      } else assert.equal(await page.locator(sel('workflow-source')).isVisible(), true, 'the canvas beside the YAML');
      await nodesAre(canvas, ['choose', 'quick', 'pause', 'summary']);
      const palette = canvas.locator(sel('canvas-palette'));
      if (!(await palette.evaluate((d) => (d as HTMLDetailsElement).open))) {
        assert.ok(!w.wide, 'the palette is open on a wide screen');
        await activate(palette.locator('summary'), w);
      }
      await activate(canvas.locator(sel('palette-add', '[data-type="task"]')), w);
      await nodesAre(canvas, ['choose', 'quick', 'pause', 'summary', 'task_1']);
      assert.equal(await canvas.locator(`${sel('canvas-node', '[data-step="task_1"]')} ${sel('canvas-node-type')}`).textContent(), 'task');
      await canvas.locator(sel('canvas-panel', '[data-step="task_1"]')).waitFor({ timeout: UI_MS });
      assert.match(await yaml(page, w), /\n {2}- id: task_1\n {4}type: task\n {4}runner: transform\n {4}with: \{value: TODO\}\n/);

      // Connect task_1 → summary (summary depends on task_1).
      if (w.name === 'laptop') {
        await drag(page, canvas.locator(`${sel('canvas-node', '[data-step="task_1"]')} .svelte-flow__handle.source`), canvas.locator(`${sel('canvas-node', '[data-step="summary"]')} .svelte-flow__handle.target`));
      } else {
        await openNode(canvas, 'summary', w);
        const panel = canvas.locator(sel('canvas-panel', '[data-step="summary"]'));
        await panel.locator(sel('canvas-depends-select')).selectOption('task_1', { timeout: UI_MS });
        await activate(panel.locator(sel('canvas-depends-add')), w);
      }
      await edgeThere(canvas, 'task_1->summary dependsOn');
      assert.match(await yaml(page, w), /\n {4}dependsOn: \[quick, pause, task_1\]\n/);

      // Rename task_1 → report.
      await openNode(canvas, 'task_1', w);
      const panel = canvas.locator(sel('canvas-panel', '[data-step="task_1"]'));
      await panel.locator(sel('canvas-rename-input')).fill('report');
      await activate(panel.locator(sel('canvas-rename')), w);
      await nodesAre(canvas, ['choose', 'quick', 'pause', 'summary', 'report']);
      await edgeThere(canvas, 'report->summary dependsOn');

      // Delete pause.
      await openNode(canvas, 'pause', w);
      const pausePanel = canvas.locator(sel('canvas-panel', '[data-step="pause"]'));
      await activate(pausePanel.locator(sel('canvas-delete')), w);
      await activate(pausePanel.locator(sel('canvas-delete-yes')), w);
      await nodesAre(canvas, ['choose', 'quick', 'summary', 'report']);
      assert.deepEqual(await edges(canvas), ['quick->summary dependsOn', 'report->summary dependsOn', 'choose->quick then'].sort());
      const text = await yaml(page, w);
      assert.ok(text.startsWith(`${COMMENT}\n`), 'the comment is still there');
      assert.ok(!/\bpause\b/.test(text) && !text.includes('else:'), 'pause left the YAML, its else entry too');
      assert.match(text, /\n {2}- id: report\n/);
      assert.match(text, /\n {4}dependsOn: \[quick, report\]\n/);
      assert.equal(await canvas.getAttribute('data-stale'), 'false');
      await shot('edited');
      const axeEditor = blocking(await runAxe(page));
      assert.deepEqual(axeEditor, [], formatViolations(`editor canvas @ ${w.width}`, axeEditor));

      // 3. Save, run, live status on the session canvas.
      if (!w.wide) await page.locator(sel('show-yaml')).click();
      await page.locator(sel('workflow-validation', '[data-state="ok"]')).waitFor({ timeout: UI_MS });
      await page.locator(sel('workflow-save')).click({ timeout: UI_MS });
      await page.locator(sel('workflow-source-view')).filter({ hasText: 'id: report' }).waitFor({ state: 'attached', timeout: UI_MS });
      await page.locator(sel('workflow-run')).click({ timeout: UI_MS });
      await page.locator(sel('run-start')).click({ timeout: UI_MS });
      await page.waitForFunction(() => /^#\/sessions\/[^/]+$/.test(location.hash), undefined, { timeout: UI_MS });
      await page.locator(sel('session-status', '[data-status="succeeded"]')).waitFor({ timeout: RUN_MS });
      const live = page.locator(sel('session-canvas'));
      const report = live.locator(sel('canvas-node', '[data-step="report"][data-status="succeeded"]'));
      await report.waitFor({ timeout: UI_MS });
      assert.equal(await report.locator(sel('canvas-node-status')).textContent(), 'done');
      assert.equal(await report.locator(sel('canvas-node-attempts')).textContent(), '1 attempt');
      assert.match((await report.locator(sel('canvas-node-duration')).textContent()) ?? '', /^\d+(\.\d)? (ms|s)$/);
      assert.equal(await live.locator(`${sel('canvas-node', '[data-step="quick"]')} ${sel('canvas-node-status')}`).textContent(), 'skipped');
      assert.equal(await live.locator(`${sel('canvas-node', '[data-step="summary"]')} ${sel('canvas-node-status')}`).textContent(), 'done');
      assert.match((await report.getAttribute('aria-label')) ?? '', /^task step report: done, 1 attempt, /);
      await openNode(live, 'report', w);
      await page.locator(sel('step-detail', '[data-step="report"]')).waitFor({ timeout: UI_MS });
      await shot('session');
      const axeSession = blocking(await runAxe(page));
      assert.deepEqual(axeSession, [], formatViolations(`session canvas @ ${w.width}`, axeSession));

      // 4. The YAML editor redraws the canvas; invalid YAML keeps the last good graph.
      await go('#/workflows/decide-and-wait');
      await page.locator(sel('workflow-edit')).click({ timeout: UI_MS });
      if (!w.wide) await page.locator(sel('workflow-editor')).locator(sel('show-canvas')).click({ timeout: UI_MS });
      await nodesAre(canvas, ['choose', 'quick', 'summary', 'report']);
      // Remove an edge: pick it (click, Enter on the focused edge, tap), then "Remove this edge".
      const edge = canvas.locator(sel('canvas-edge', '[data-source="report"][data-target="summary"]'));
      if (w.how === 'enter') {
        await edge.focus();
        await edge.press('Enter');
      } else if (w.how === 'tap') await edge.locator('.svelte-flow__edge-interaction').tap({ timeout: UI_MS });
      else await edge.locator('.svelte-flow__edge-interaction').click({ timeout: UI_MS });
      assert.equal(await canvas.locator(sel('canvas-edge-panel')).getAttribute('data-edge', { timeout: UI_MS }), 'report->summary');
      await activate(canvas.locator(sel('canvas-edge-remove')), w);
      await pollUntil(async () => !(await edges(canvas)).includes('report->summary dependsOn'), { timeoutMs: UI_MS, what: 'the edge removed' });
      assert.match(await yaml(page, w), /\n {4}dependsOn: \[quick\]\n/);
      const before = await yaml(page, w);
      await setYaml(page, w, before.replace('outputs:', '  - id: extra\n    type: wait\n    duration: 1s\n    dependsOn: [report]\noutputs:'));
      await nodesAre(canvas, ['choose', 'quick', 'summary', 'report', 'extra']);
      await edgeThere(canvas, 'report->extra dependsOn');
      await setYaml(page, w, `${before}  oops: [\n`);
      await canvas.locator(sel('canvas-stale')).waitFor({ timeout: UI_MS });
      assert.equal(await canvas.locator(sel('canvas-stale')).textContent(), 'The YAML has errors: the canvas shows the last version that was valid');
      await nodesAre(canvas, ['choose', 'quick', 'summary', 'report', 'extra']);
      assert.equal(await canvas.getAttribute('data-editable'), 'false');
      assert.equal(await canvas.locator(sel('palette-add', '[data-type="task"]')).isDisabled(), true, 'no canvas edits while the YAML is invalid');
      await shot('stale');

      // 5. Touch targets at 390: the canvas's controls, the palette, the switch, a step's panel.
      if (w.touch) {
        await openNode(canvas, 'report', w);
        await canvas.locator(sel('canvas-panel', '[data-step="report"]')).waitFor({ timeout: UI_MS });
        const small = await page.locator(`${sel('workflow-editor')} button:visible, ${sel('workflow-editor')} summary:visible, ${sel('workflow-editor')} select:visible, ${sel('workflow-editor')} input:visible`).evaluateAll((els) =>
          els.map((e) => ({ what: e.getAttribute('aria-label') ?? e.textContent?.trim() ?? e.tagName, h: e.getBoundingClientRect().height })).filter((x) => x.h < 44));
        assert.deepEqual(small, [], 'every control is at least 44 px tall on touch');
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= w.width, `no sideways scroll (${width} px)`);
      }

      assert.deepEqual(await cspViolations(page), [], 'no CSP violations');
      assert.deepEqual(problems.errors, [], 'no console errors');
    });
  }
});

async function nodesAre(scope: Locator, ids: readonly string[]): Promise<void> {
  await pollUntil(async () => {
    const have = await scope.locator(sel('canvas-node')).evaluateAll((els) => els.map((e) => e.getAttribute('data-step')));
    return JSON.stringify([...have].sort()) === JSON.stringify([...ids].sort());
  }, { timeoutMs: UI_MS, what: `canvas nodes ${ids.join(', ')}` });
}

async function types(scope: Locator): Promise<Record<string, string>> {
  return Object.fromEntries(await scope.locator(sel('canvas-node')).evaluateAll((els) =>
    els.map((e) => [e.getAttribute('data-step'), e.querySelector('[data-testid="canvas-node-type"]')?.textContent ?? ''])));
}

async function edges(scope: Locator): Promise<string[]> {
  const list = await scope.locator(sel('canvas-edge')).evaluateAll((els) =>
    els.map((e) => `${e.getAttribute('data-source')}->${e.getAttribute('data-target')} ${e.getAttribute('data-kind')}`));
  return list.sort();
}

async function edgeThere(scope: Locator, edge: string): Promise<void> {
  await pollUntil(async () => (await edges(scope)).includes(edge), { timeoutMs: UI_MS, what: `edge ${edge}` });
}

/** Press a control the way this width's user does: a click, Enter on the focused control, a tap. */
async function activate(target: Locator, w: Width): Promise<void> {
  await target.waitFor({ timeout: UI_MS });
  if (w.how === 'tap') await target.tap({ timeout: UI_MS });
  else if (w.how === 'enter') {
    await target.focus({ timeout: UI_MS });
    await target.press('Enter', { timeout: UI_MS });
  } else await target.click({ timeout: UI_MS });
}

/** Open a step from the canvas: click, focus and Enter (the node is focusable), or tap. */
async function openNode(scope: Locator, id: string, w: Width): Promise<void> {
  const node = scope.locator(sel('canvas-node', `[data-step="${id}"]`));
  await node.waitFor({ timeout: UI_MS });
  if (w.how === 'enter') {
    assert.equal(await node.getAttribute('tabindex'), '0', 'nodes are focusable');
    await node.focus();
    await node.press('Enter');
  } else if (w.how === 'tap') await node.tap({ timeout: UI_MS });
  else await node.click({ timeout: UI_MS });
}

async function drag(page: Page, from: Locator, to: Locator): Promise<void> {
  await from.locator('xpath=ancestor::div[@data-testid="canvas"]').scrollIntoViewIfNeeded();
  const a = (await from.boundingBox())!;
  const b = (await to.boundingBox())!;
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
  await page.mouse.up();
}

/** The editor's text (switching to YAML and back on a narrow screen). */
async function yaml(page: Page, w: Width): Promise<string> {
  if (!w.wide) await page.locator(sel('show-yaml')).click();
  await page.locator(sel('workflow-source', '[data-ready="true"]')).waitFor({ timeout: UI_MS });
  const lines = await page.locator(`${sel('workflow-source')} .cm-line`).allTextContents();
  if (!w.wide) await page.locator(sel('show-canvas')).click();
  return `${lines.join('\n')}\n`.replace(/\n+$/, '\n');
}

async function setYaml(page: Page, w: Width, text: string): Promise<void> {
  if (!w.wide) await page.locator(sel('show-yaml')).click();
  await page.locator(`${sel('workflow-source')} .cm-content`).fill(text);
  if (!w.wide) await page.locator(sel('show-canvas')).click();
}

/** Every node lies inside the visible canvas once the view has fit. */
async function assertInside(page: Page, nodes: Locator, w: Width): Promise<void> {
  await pollUntil(async () => {
    const r = await nodes.evaluateAll((els) => {
      const box = els[0]?.closest('.canvas-flow')?.getBoundingClientRect();
      return box !== undefined && els.every((e) => {
        const b = e.getBoundingClientRect();
        return b.left >= box.left - 1 && b.right <= box.right + 1 && b.top >= box.top - 1 && b.bottom <= box.bottom + 1;
      });
    });
    return r;
  }, { timeoutMs: UI_MS, what: `every node inside the canvas at ${w.width} px (fit to view)` });
  void page;
}
