/**
 * Workspaces scope what the app shows, in real Chromium (the built app on OPFS, with its CSP).
 *
 * Invariants checked:
 * 1. A newcomer needs no workspace: the default one is open from the start (the header switcher
 *    names it) and holds what they make.
 * 2. After creating workspace B and switching to it in the header, the library, the Forest and the
 *    secrets are B's (empty); "Install examples" installs into B only.
 * 3. The open workspace is this device's choice: it survives a reload, and no event records it.
 * 4. Switching back to the default workspace shows the original data again.
 * 5. A project groups sessions inside the workspace: a run filed under it is what the sessions
 *    list shows when filtered by it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { Cleanup } from './support.ts';
import { openBuiltApp } from './app-support.ts';
import type { AppPage } from './pages/app-page.ts';
import type { KingdomApiPage } from './pages/kingdom-api.ts';
import { EXAMPLES } from '../../src/lib/examples.ts';
import { DEFAULT_WORKSPACE_ID } from '../../worker/domains/workspaces/default-id.ts';

const UI_MS = 20_000;

const ONLY_DEFAULT = `name: only-in-default
version: 1.0.0
steps:
  - id: a
    type: task
    runner: transform
    with:
      value: 1
`;

describe('workspaces in the app', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;
  let page: Page;
  let ui: AppPage;
  let api: KingdomApiPage;
  let b = '';

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    ({ server, page, ui, api } = await openBuiltApp(cleanup, 'workspaces', '#/workflows', UI_MS));
  });
  after(() => cleanup.run());

  const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;
  const switcher = () => page.locator(sel('workspace-switcher'));
  const row = (name: string) => page.locator(sel('workflow-row', `[data-name="${name}"]`));

  async function open(hash: string): Promise<void> {
    await page.goto(`${server.url}/${hash}`);
    await ui.waitReady();
  }

  async function switchTo(workspaceId: string): Promise<void> {
    await switcher().selectOption(workspaceId, { timeout: UI_MS });
    await page.locator(sel('workspace-switcher', `[data-current="${workspaceId}"]`)).waitFor({ timeout: UI_MS });
  }

  test('a newcomer works in the default workspace without creating one', async () => {
    await page.locator(sel('workspace-switcher', `[data-current="${DEFAULT_WORKSPACE_ID}"]`)).waitFor({ timeout: UI_MS });
    assert.equal(await switcher().locator('option:checked').textContent(), 'Default');
    await page.locator(sel('workflows-empty')).waitFor({ timeout: UI_MS });
    // What the newcomer makes goes into the open (default) workspace: a workflow, a Forest node, a secret.
    for (const [type, payload] of [
      ['workflow.save', { source: ONLY_DEFAULT }],
      ['forest.node.create', { title: 'Default runbook', body: 'Only in the default workspace.' }],
      ['secret.set', { name: 'DEFAULT_ONLY', value: 'not-for-b' }],
    ] as const) {
      const r = await api.command({ type, payload, idempotencyKey: `newcomer:${type}` });
      assert.ok(r.ok, `${type}: ${JSON.stringify(r)}`);
    }
    await row('only-in-default').waitFor({ timeout: UI_MS });
  });

  test('create workspace B, switch to it: an empty library, Forest and secrets', async () => {
    await ui.createWorkspace('Workspace B');
    b = (await api.workspaces()).find((w) => w.name === 'Workspace B')!.id;
    await switchTo(b);
    await open('#/workflows');
    await page.locator(sel('workspace-switcher', `[data-current="${b}"]`)).waitFor({ timeout: UI_MS });
    await page.locator(sel('workflows-empty')).waitFor({ timeout: UI_MS });
    assert.equal(await row('only-in-default').count(), 0);
    await open('#/forest');
    await page.locator(sel('forest-empty')).waitFor({ timeout: UI_MS });
    await open('#/workflows');
    await page.locator(sel('secret-name')).waitFor({ timeout: UI_MS });
    assert.equal(await page.locator(sel('secret-item')).count(), 0, 'no secrets of the default workspace');
  });

  test('"Install examples" installs into B only', async () => {
    await open('#/workflows');
    await page.locator(sel('install-examples')).click({ timeout: UI_MS });
    for (const ex of EXAMPLES) await row(ex.name).waitFor({ timeout: UI_MS });
    assert.equal(await row('only-in-default').count(), 0);
    const inB = await api.query<{ name: string }[]>('workflow.list', { workspaceId: b });
    const inDefault = await api.query<{ name: string }[]>('workflow.list', { workspaceId: DEFAULT_WORKSPACE_ID });
    assert.ok(inB.ok && inDefault.ok);
    assert.deepEqual(inB.value.map((w) => w.name).sort(), EXAMPLES.map((e) => e.name).sort());
    assert.deepEqual(inDefault.value.map((w) => w.name), ['only-in-default']);
  });

  test('the open workspace is this device\'s choice: it survives a reload and is in no event', async () => {
    await page.reload();
    await ui.waitReady();
    await page.locator(sel('workspace-switcher', `[data-current="${b}"]`)).waitFor({ timeout: UI_MS });
    await row(EXAMPLES[0]!.name).waitFor({ timeout: UI_MS });
    const types = await api.query<{ types: { type: string }[] }>('events.types', {});
    assert.ok(types.ok);
    assert.equal(types.value.types.some((t) => t.type === 'workspace.opened'), false);
  });

  test('switching back to the default workspace shows the original data', async () => {
    await switchTo(DEFAULT_WORKSPACE_ID);
    await row('only-in-default').waitFor({ timeout: UI_MS });
    assert.equal(await row(EXAMPLES[0]!.name).count(), 0, 'B\'s examples stay in B');
    await open('#/forest');
    await page.locator(sel('forest-hit')).first().waitFor({ timeout: UI_MS });
    assert.match(await page.locator(sel('forest-results')).textContent() ?? '', /Default runbook/);
    await open('#/workflows');
    await page.locator(sel('secret-item', '[data-name="DEFAULT_ONLY"]')).waitFor({ timeout: UI_MS });
  });

  test('a project of the open workspace groups the sessions filed under it', async () => {
    await open('#/workspaces');
    await ui.createProject('Launch');
    await open('#/workflows/only-in-default/run');
    await page.locator(sel('run-project')).selectOption({ label: 'Launch' }, { timeout: UI_MS });
    await page.locator(sel('run-start')).click({ timeout: UI_MS });
    await page.waitForFunction(() => /^#\/sessions\/[^/]+$/.test(location.hash), undefined, { timeout: UI_MS });
    const filed = await page.evaluate(() => decodeURIComponent(location.hash.split('/')[2]!));
    const other = await api.command({ type: 'session.start', payload: { workflow: 'only-in-default' }, idempotencyKey: 'unfiled' });
    assert.ok(other.ok);
    await open('#/sessions');
    await page.locator(sel('session-row')).nth(1).waitFor({ timeout: UI_MS });
    await page.locator(sel('session-filter-project')).selectOption({ label: 'Launch' }, { timeout: UI_MS });
    await page.locator(sel('session-row', `[data-id="${filed}"]`)).waitFor({ timeout: UI_MS });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="session-row"]').length === 1, undefined, { timeout: UI_MS });
  });
});
