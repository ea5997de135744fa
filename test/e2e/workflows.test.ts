/**
 * The workflow library and session screens in real Chromium (the built app on OPFS, with its CSP):
 * every example validates; "Install examples" saves them; hello, retry and http-self run to
 * success from their run forms; "slow" finishes after a reload mid-run (the engine resumes from
 * the log); the approval example waits for a person and succeeds after Approve; the spec's
 * deploy_service saved verbatim shows as canonical YAML (flat `type: llm` steps) and "Replace the
 * editor's text" puts that in the editor without saving.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { Cleanup } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import type { AppPage } from './pages/app-page.ts';
import type { KingdomApiPage } from './pages/kingdom-api.ts';
import { EXAMPLES } from '../../src/lib/examples.ts';

const UI_MS = 20_000;
const RUN_MS = 60_000;

describe('workflows and sessions in the app', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;
  let page: Page;
  let ui: AppPage;
  let api: KingdomApiPage;
  let problems: PageProblems;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    ({ server, page, ui, api, problems } = await openBuiltApp(cleanup, 'workflows', '#/workflows', UI_MS));
  });
  after(() => cleanup.run());

  const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;

  async function startFromForm(name: string, fill?: () => Promise<void>): Promise<string> {
    await page.goto(`${server.url}/#/workflows`);
    await page.locator(`${sel('workflow-row', `[data-name="${name}"]`)} ${sel('workflow-run')}`).click({ timeout: UI_MS });
    await page.locator(sel('run-form')).waitFor({ timeout: UI_MS });
    await fill?.();
    await page.locator(sel('run-start')).click({ timeout: UI_MS });
    await page.waitForFunction(() => /^#\/sessions\/[^/]+$/.test(location.hash), undefined, { timeout: UI_MS });
    return page.evaluate(() => decodeURIComponent(location.hash.split('/')[2]!));
  }

  async function waitStatus(status: string, timeout = RUN_MS): Promise<void> {
    await page.locator(sel('session-status', `[data-status="${status}"]`)).waitFor({ timeout });
  }

  test('every example validates', async () => {
    for (const ex of EXAMPLES) {
      const r = await api.query<{ ok: boolean; workflow?: { name: string }; errors?: unknown }>('workflow.validate', { source: ex.source });
      assert.ok(r.ok, `query ${ex.name}`);
      assert.equal(r.value.ok, true, `${ex.name} is valid: ${JSON.stringify(r.value.errors)}`);
      assert.equal(r.value.workflow?.name, ex.name, `${ex.name}: its name`);
    }
  });

  test('the editor validates live and an error moves the caret to its line', async () => {
    await ui.nav('workflows');
    await page.locator(sel('workflow-new')).click({ timeout: UI_MS });
    const source = page.locator(sel('workflow-source', '[data-ready="true"] .cm-content'));
    await page.locator(sel('workflow-validation', '[data-state="ok"]')).waitFor({ timeout: UI_MS });
    await source.fill('name: broken\nversion: 1.0.0\nsteps:\n  - id: a\n    type: task\n    runnr: transform\n');
    const issue = page.locator(sel('workflow-issue')).first();
    await issue.waitFor({ timeout: UI_MS });
    const line = Number(await issue.getAttribute('data-line'));
    assert.ok(line >= 1, 'the issue names a line');
    await issue.click();
    const caretLine = Number(await page.locator(`${sel('workflow-source')} .cm-lineNumbers .cm-activeLineGutter`).textContent());
    assert.equal(caretLine, line, 'the caret is on the line of the issue');
    assert.equal(await page.locator(sel('workflow-save')).isDisabled(), true, 'an invalid workflow cannot be saved');
  });

  test('install the examples', async () => {
    await page.goto(`${server.url}/#/workflows`);
    await page.locator(sel('install-examples')).click({ timeout: UI_MS });
    for (const ex of EXAMPLES) await page.locator(sel('workflow-row', `[data-name="${ex.name}"]`)).waitFor({ timeout: UI_MS });
    const list = await api.query<{ name: string }[]>('workflow.list');
    assert.ok(list.ok);
    assert.deepEqual(list.value.map((w) => w.name).sort(), EXAMPLES.map((e) => e.name).sort());
  });

  test('hello runs to success', async () => {
    const id = await startFromForm('hello', async () => {
      await page.locator(sel('run-input-who')).fill('Kingdom');
    });
    await waitStatus('succeeded');
    const out = await page.locator(sel('session-output')).textContent({ timeout: UI_MS });
    assert.match(out ?? '', /Hello, Kingdom!/);
    const s = await api.query<{ status: string }>('session.get', { sessionId: id });
    assert.ok(s.ok && s.value.status === 'succeeded');
  });

  test('retry succeeds on the third attempt; http-self gets status 200', async () => {
    await startFromForm('retry');
    await waitStatus('succeeded');
    assert.equal(await page.locator(sel('timeline-row', '[data-step="flaky"]')).getAttribute('data-attempts'), '3');

    await startFromForm('http-self');
    await waitStatus('succeeded');
    const out = await page.locator(sel('session-output')).textContent({ timeout: UI_MS });
    assert.match(out ?? '', /"status": 200/);
  });

  test('slow finishes after a reload mid-run', async () => {
    const id = await startFromForm('slow');
    await page.locator(sel('timeline-row', '[data-step="first"]')).waitFor({ timeout: UI_MS });
    await waitStatus('running', UI_MS);
    await page.reload();
    await api.ready();
    await ui.waitReady();
    assert.ok(page.url().includes(`#/sessions/${id}`), 'still on the session page');
    await waitStatus('succeeded');
    for (const step of ['first', 'second', 'third']) {
      assert.equal(await page.locator(sel('timeline-row', `[data-step="${step}"]`)).getAttribute('data-status'), 'succeeded', step);
    }
    // Time travel: the first event shows the session running, "Live" returns.
    await page.locator(sel('session-event')).first().click();
    await page.locator(sel('time-travel-badge')).waitFor({ timeout: UI_MS });
    await waitStatus('running', UI_MS);
    await page.locator(sel('time-travel-live')).click();
    await waitStatus('succeeded', UI_MS);
  });

  test('approval waits for a person, then succeeds after Approve', async () => {
    await startFromForm('approval');
    const card = page.locator(sel('approval-card', '[data-step="sign_off"]'));
    await card.waitFor({ timeout: RUN_MS });
    await page.locator(sel('approval-comment')).fill('ship it');
    await page.locator(sel('approval-approve')).click();
    await waitStatus('succeeded');
    assert.match((await page.locator(sel('session-output')).textContent()) ?? '', /ship it/);
    await card.waitFor({ state: 'detached', timeout: UI_MS });
  });

  test('the spec\'s deploy_service saved verbatim: Show as canonical YAML gives flat type: llm steps; Replace fills the editor, unsaved', async () => {
    const spec = readFileSync(new URL('../fixtures/workflows/spec/deploy_service.yaml', import.meta.url), 'utf8');
    await page.goto(`${server.url}/#/workflows`);
    await page.locator(sel('workflow-new')).click({ timeout: UI_MS });
    await page.locator(sel('workflow-source', '[data-ready="true"] .cm-content')).fill(spec);
    await page.locator(sel('workflow-validation', '[data-state="ok"]')).waitFor({ timeout: UI_MS });
    await page.locator(sel('workflow-save')).click();
    await page.waitForFunction(() => location.hash.endsWith('/deploy_service'), undefined, { timeout: UI_MS });
    assert.equal(await page.locator(sel('workflow-source-view')).textContent({ timeout: UI_MS }), spec, 'saved verbatim');
    await page.locator(sel('workflow-canonical', ':not([disabled])')).click({ timeout: UI_MS });
    const text = (await page.locator(sel('workflow-canonical-text')).textContent({ timeout: UI_MS })) ?? '';
    assert.match(text, /  - id: validate\n    name: Validate deployment\n    type: llm\n    model: claude-sonnet-4\n    prompt: \|\n/);
    assert.equal(text.match(/^ {4}type: llm$/gm)?.length, 2, 'both llm steps are flat');
    assert.match(text, /  # Step 2: Decision based on validation\n  - id: decide\n/, 'comments kept');
    assert.doesNotMatch(text, /^\s*(llm|task|condition|vars):/m, 'no spec block left');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Canonical YAML', 'focus moves to the view');
    mkdirSync('.tmp/screens', { recursive: true });
    for (const width of [1440, 820, 390]) {
      const size = page.viewportSize();
      await page.setViewportSize({ width, height: 900 });
      await page.locator(sel('workflow-canonical-view')).screenshot({ path: `.tmp/screens/workflow-canonical-${width}.png` });
      if (size) await page.setViewportSize(size);
    }
    await page.locator(sel('workflow-canonical-copy')).click();
    await page.locator(`${sel('workflow-canonical-view')} [role="status"]`).filter({ hasText: /Copied|selected/ }).waitFor({ timeout: UI_MS });
    await page.locator(sel('workflow-canonical-replace')).click();
    const editor = page.locator(sel('workflow-source', '[data-ready="true"] .cm-content'));
    await editor.waitFor({ timeout: UI_MS });
    await page.locator(sel('workflow-validation', '[data-state="ok"]')).waitFor({ timeout: UI_MS });
    const edited = (await editor.textContent()) ?? '';
    // CodeMirror renders the lines in view (joined without newlines): the first step is there.
    assert.ok(edited.includes('    type: llm    model: claude-sonnet-4    prompt: |') && !edited.includes('llm:'), `the editor holds the canonical text: ${edited.slice(0, 600)}`);
    const revisions = await api.query<unknown[]>('workflow.revisions', { name: 'deploy_service' });
    assert.ok(revisions.ok);
    assert.equal(revisions.value.length, 1, 'nothing saved before Save');
  });

  test('no console errors and no CSP violations', async () => {
    await page.goto(`${server.url}/#/sessions`);
    await page.locator(sel('session-row')).first().waitFor({ timeout: UI_MS });
    assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events');
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });
});
