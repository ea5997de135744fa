/**
 * The workflow YAML editor (CodeMirror, loaded lazily) in real Chromium, on the built app with its
 * CSP: lint markers from the worker's validator on the right line, one sentence each (a bad indent,
 * an unknown step type, a runner no installed Tool provides: a warning); completion of step types after `type: ` and of step ids inside
 * `{{ steps.`; Esc then Tab leaves the editor; saving works; no CSP violations.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { Cleanup } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import type { AppPage } from './pages/app-page.ts';

const UI_MS = 20_000;
const HEAD = 'name: edited\nversion: 1.0.0\nsteps:\n  - id: first\n    type: task\n    runner: transform\n';

describe('the workflow YAML editor', () => {
  const cleanup = new Cleanup();
  let page: Page;
  let ui: AppPage;
  let problems: PageProblems;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    ({ page, ui, problems } = await openBuiltApp(cleanup, 'editor', '#/workflows', UI_MS));
    await ui.nav('workflows');
    await page.locator('[data-testid="workflow-new"]').click({ timeout: UI_MS });
    await page.locator('[data-testid="workflow-source"][data-ready="true"]').waitFor({ timeout: UI_MS });
  });
  after(() => cleanup.run());

  const content = (): ReturnType<Page['locator']> => page.locator('[data-testid="workflow-source"] .cm-content');

  async function setText(text: string): Promise<void> {
    await content().fill(text);
  }

  /** The lint markers' lines and messages, once the validator has answered for the current text. */
  async function markers(): Promise<{ line: number; message: string }[]> {
    await page.locator('[data-testid="workflow-validation"]:not([data-state="checking"])').waitFor({ timeout: UI_MS });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="workflow-source"] .cm-lintRange').length > 0, undefined, { timeout: UI_MS });
    const lines = await page.locator('[data-testid="workflow-source"] .cm-gutter-lint .cm-gutterElement').evaluateAll((els) =>
      els.filter((e) => e.querySelector('.cm-lint-marker')).map((e) => e.getBoundingClientRect().top));
    const numbers = await page.locator('[data-testid="workflow-source"] .cm-lineNumbers .cm-gutterElement').evaluateAll((els) =>
      els.map((e) => ({ top: e.getBoundingClientRect().top, n: Number(e.textContent) })));
    const issues = await page.locator('[data-testid="workflow-issue"]').allTextContents();
    return lines.map((top, i) => ({ line: numbers.find((x) => Math.abs(x.top - top) < 2)?.n ?? -1, message: issues[i] ?? '' }));
  }

  test('the editor has a label and loads lazily', async () => {
    assert.equal(await content().getAttribute('aria-label'), 'Workflow YAML');
    assert.equal(await page.locator('[data-testid="workflow-source"]').getAttribute('role'), 'group');
  });

  test('a bad indent: one marker, one sentence, on the misindented line', async () => {
    await setText(`${HEAD}      with: {}\n`);
    const m = await markers();
    assert.deepEqual(m.map((x) => x.line), [7], JSON.stringify(m));
    assert.equal(await page.locator('[data-testid="workflow-issue"]').count(), 1);
    assert.match(m[0]!.message, /^7:7 steps\[0\] "with:" on line 7 is indented deeper than "runner:" on line 6 \(column 7, not 5\)/);
  });

  test('an unknown step type: one marker on its line', async () => {
    await setText('name: edited\nversion: 1.0.0\nsteps:\n  - id: first\n    type: tsk\n');
    const m = await markers();
    assert.deepEqual(m.map((x) => x.line), [5], JSON.stringify(m));
    assert.match(m[0]!.message, /^5:11 steps\[0\]\.type expected task \| llm .* did you mean "task"\?$/);
  });

  test('a runner no installed Tool provides: a warning marker on its line (workflow.check in the worker)', async () => {
    await setText('name: edited\nversion: 1.0.0\nsteps:\n  - id: first\n    type: task\n    runner: runner.deploy\n');
    const m = await markers();
    assert.deepEqual(m.map((x) => x.line), [6], JSON.stringify(m));
    const warning = page.locator('[data-testid="workflow-warning"]');
    assert.equal(await warning.getAttribute('data-line'), '6');
    assert.equal(await page.locator('[data-testid="workflow-save"]').isDisabled(), false, 'a warning does not stop saving');
    assert.match((await warning.textContent())!.trim(), /^6:13 steps\[0\]\.runner runner\.deploy is not a built-in runner and no Tool named runner\.deploy is installed in this workspace; apply its Tool manifest or install a kata that brings it/);
  });

  test('completion offers step types after type: and step ids inside {{ steps.', async () => {
    await setText('name: edited\nversion: 1.0.0\nsteps:\n  - id: first\n    type: task\n    runner: transform\n  - id: second\n    type: ');
    await content().press('End');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('l');
    const options = page.locator('.cm-tooltip-autocomplete li');
    await options.first().waitFor({ timeout: UI_MS });
    assert.ok((await options.allTextContents()).some((t) => t.startsWith('llm')), 'llm is offered');
    await page.keyboard.press('Escape');
    await setText('name: edited\nversion: 1.0.0\nsteps:\n  - id: first\n    type: task\n    runner: transform\n  - id: second\n    type: task\n    runner: transform\n    dependsOn: first\n    with:\n      x: "{{ steps.');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('f');
    await options.first().waitFor({ timeout: UI_MS });
    assert.deepEqual((await options.allTextContents()).map((t) => t.trim()), ['first']);
    await page.keyboard.press('Escape');
  });

  test('Tab indents; Esc then Tab moves focus out of the editor', async () => {
    await setText('name: edited\n');
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Tab');
    assert.equal(await content().evaluate((el) => el.contains(document.activeElement) || el === document.activeElement), true, 'Tab stays in the editor');
    assert.match((await content().textContent()) ?? '', /name: edited {2}|name: edited$/);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    const inside = await content().evaluate((el) => el.contains(document.activeElement) || el === document.activeElement);
    assert.equal(inside, false, 'focus left the editor');
  });

  test('saving still works', async () => {
    await setText(HEAD);
    await page.locator('[data-testid="workflow-validation"][data-state="ok"]').waitFor({ timeout: UI_MS });
    await page.locator('[data-testid="workflow-save"]').click();
    await page.waitForFunction(() => location.hash.endsWith('/edited'), undefined, { timeout: UI_MS });
    assert.match((await page.locator('[data-testid="workflow-source-view"]').textContent({ timeout: UI_MS })) ?? '', /runner: transform/);
  });

  test('no console errors and no CSP violations', async () => {
    assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events');
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });
});
