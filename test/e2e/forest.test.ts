/**
 * The Forest and Settings screens in real Chromium (the built app on OPFS, with its CSP): create
 * two nodes (the UI form and the API), link them from the node page, search with a highlighted
 * snippet, the backlink and the neighbourhood graph on the node page, markdown import (unresolved
 * wiki links reported) and export, archive, and an LLM provider whose key is never shown again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { Cleanup } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import type { AppPage } from './pages/app-page.ts';
import { unwrap, type KingdomApiPage } from './pages/kingdom-api.ts';

const UI_MS = 20_000;
const KEY = 'sk-test-NEVER-SHOWN-4711';

interface NodeDetail {
  node: { id: string; title: string; status: string };
  outgoing: { to: string; type: string }[];
  incoming: { from: string; type: string }[];
}

describe('the Forest and the LLM providers in the app', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;
  let page: Page;
  let ui: AppPage;
  let api: KingdomApiPage;
  let problems: PageProblems;
  let runbook = '';
  let notes = '';

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    ({ server, page, ui, api, problems } = await openBuiltApp(cleanup, 'forest', '#/forest', UI_MS));
  });
  after(() => cleanup.run());

  const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;
  const nodeId = (): Promise<string> => page.evaluate(() => decodeURIComponent(location.hash.split('/')[2] ?? ''));
  const get = async (id: string): Promise<NodeDetail> => unwrap(await api.query<NodeDetail>('forest.node.get', { id }), 'forest.node.get');

  test('the nav has Forest and Settings; Forest is no longer "coming soon"', async () => {
    await page.locator(sel('nav-forest')).waitFor({ timeout: UI_MS });
    await page.locator(sel('nav-settings')).waitFor({ timeout: UI_MS });
    assert.equal(await page.locator('.nav .soon', { hasText: 'Forest' }).count(), 0);
  });

  test('create a node from the form; its body is rendered as sanitized markdown', async () => {
    await ui.nav('forest');
    await page.locator(sel('forest-new-toggle')).click();
    await page.locator(sel('forest-node-title')).fill('Deployment runbook');
    await page.locator(sel('forest-node-body')).fill('# Deploy\n\nHow to deploy the kingdom safely.\n<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">');
    await page.locator(sel('forest-node-tags')).fill('Runbook, ops');
    await page.locator(sel('forest-node-save')).click();
    await page.waitForFunction(() => /^#\/forest\/[0-9a-f-]{36}$/.test(location.hash), undefined, { timeout: UI_MS });
    runbook = await nodeId();
    const body = page.locator(`${sel('forest-body')}[data-rendered="true"]`);
    await body.waitFor({ timeout: UI_MS });
    assert.equal(await body.locator('h1').textContent(), 'Deploy', 'markdown is rendered');
    assert.match((await body.textContent()) ?? '', /How to deploy the kingdom safely/);
    assert.match((await body.textContent()) ?? '', /<script>window.__pwned = 1<\/script>/, 'raw HTML other than bare formatting tags is shown as text');
    assert.equal(await body.locator('script, img, [onerror]').count(), 0, 'no script, no image, no handler (docs/forest.md, markdown rules)');
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    const d = await get(runbook);
    assert.equal(d.node.title, 'Deployment runbook');
  });

  test('a second node (API), linked to the first from its node page', async () => {
    const sessionId = '0b9e8c3a-54a1-4d7e-9a51-3f1f6a2b7c10';
    const r = unwrap(await api.command({
      type: 'forest.node.create',
      payload: { title: 'Release notes', body: 'Shipped after the deploy checklist.', tags: ['notes'], metadata: { sessionId } },
      idempotencyKey: 'e2e-forest-notes',
    }), 'forest.node.create');
    notes = (r.value as { nodeId: string }).nodeId;
    await page.goto(`${server.url}/#/forest/${notes}`);
    await page.locator(sel('forest-node', `[data-id="${notes}"]`)).waitFor({ timeout: UI_MS });
    assert.equal(await page.locator(sel('forest-session-link')).getAttribute('href'), `#/sessions/${sessionId}`, 'the session that touched it');
    await page.locator('summary', { hasText: 'Add a link' }).click();
    await page.locator(`${sel('forest-link-target')} option[value="${runbook}"]`).waitFor({ state: 'attached', timeout: UI_MS });
    await page.locator(sel('forest-link-target')).selectOption(runbook);
    await page.locator(sel('forest-link-type')).fill('derived_from');
    await page.locator(sel('forest-link-add')).click();
    await page.locator(sel('forest-link-out', `[data-to="${runbook}"][data-type="derived_from"]`)).waitFor({ timeout: UI_MS });
    assert.deepEqual((await get(notes)).outgoing.map((l) => [l.to, l.type]), [[runbook, 'derived_from']]);
  });

  test('search finds the runbook with a highlighted snippet; a tag chip filters', async () => {
    await page.goto(`${server.url}/#/forest`);
    await page.locator(sel('forest-search')).fill('deploy');
    await page.locator(sel('forest-results', '[data-mode="search"]')).waitFor({ timeout: UI_MS });
    const hit = page.locator(sel('forest-hit', `[data-id="${runbook}"]`));
    await hit.waitFor({ timeout: UI_MS });
    const mark = hit.locator(`${sel('forest-snippet')} mark`).first();
    await mark.waitFor({ timeout: UI_MS });
    assert.match((await mark.textContent()) ?? '', /deploy/i);
    assert.equal(await hit.locator('script, img').count(), 0, 'snippets never become markup');
    // "deploy" is in both bodies; the tag chip "ops" keeps only the runbook.
    await page.locator(sel('forest-tag-chip', '[data-tag="ops"]')).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="forest-hit"]').length === 1, undefined, { timeout: UI_MS });
    assert.equal(await page.locator(sel('forest-hit')).getAttribute('data-id'), runbook);
    await page.locator(sel('forest-tag-chip', '[data-tag="ops"]')).click();
  });

  test('the node page shows the backlink and the neighbourhood graph', async () => {
    await page.goto(`${server.url}/#/forest/${runbook}`);
    await page.locator(sel('forest-backlink', `[data-from="${notes}"][data-type="derived_from"]`)).waitFor({ timeout: UI_MS });
    const graph = page.locator(`svg${sel('forest-graph')}`);
    await graph.waitFor({ timeout: UI_MS });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="forest-graph-node"]').length >= 2, undefined, { timeout: UI_MS });
    assert.equal(await page.locator(sel('forest-graph-edge', '[data-type="derived_from"]')).count(), 1, 'the edge, labelled by type');
    assert.match((await page.locator(sel('forest-graph-edge')).first().textContent()) ?? '', /derived_from/);

    // Dragging a node moves it and does not navigate.
    const other = page.locator(sel('forest-graph-node', `[data-id="${notes}"]`));
    const circle = other.locator('circle');
    const before = Number(await circle.getAttribute('cx'));
    await graph.scrollIntoViewIfNeeded();
    const box = (await circle.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2 + 20, { steps: 6 });
    await page.mouse.up();
    assert.notEqual(Number(await circle.getAttribute('cx')), before, 'the node moved');
    assert.equal(await nodeId(), runbook, 'a drag does not open the node');
    // A click opens it.
    await circle.click();
    await page.waitForFunction((id) => location.hash === `#/forest/${id}`, notes, { timeout: UI_MS });
    await page.locator(sel('forest-node', `[data-id="${notes}"]`)).waitFor({ timeout: UI_MS });
  });

  test('import markdown files: wiki links resolve or are reported', async () => {
    await page.goto(`${server.url}/#/forest`);
    await page.locator(sel('forest-import-files')).setInputFiles([
      { name: 'ops.md', mimeType: 'text/markdown', buffer: Buffer.from('---\ntags: [imported]\n---\n# On-call\n\nSee [[Deployment runbook]] and [[Nowhere page]].\n') },
      { name: 'glossary.md', mimeType: 'text/markdown', buffer: Buffer.from('# Glossary\n\nTerms used by [[On-call]].\n') },
      { name: 'image.png', mimeType: 'image/png', buffer: Buffer.from([1, 2, 3]) },
    ]);
    const result = page.locator(sel('forest-import-result'));
    await result.waitFor({ timeout: UI_MS });
    assert.equal(await result.getAttribute('data-nodes'), '2');
    assert.equal(await result.getAttribute('data-unresolved'), '1');
    assert.match((await page.locator(sel('forest-unresolved')).textContent()) ?? '', /Nowhere page/);
    const d = await get(runbook);
    assert.ok(d.incoming.some((l) => l.type === 'mentions'), 'On-call mentions the runbook');
  });

  test('export a node as a .md download', async () => {
    await page.goto(`${server.url}/#/forest/${runbook}`);
    await page.locator(sel('forest-export')).waitFor({ timeout: UI_MS });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: UI_MS }), page.locator(sel('forest-export')).click()]);
    assert.equal(download.suggestedFilename(), 'deployment-runbook.md');
    const text = await readFile((await download.path())!, 'utf8');
    assert.match(text, /^---\n/);
    assert.match(text, /title: Deployment runbook/);
    assert.match(text, /How to deploy the kingdom safely/);
  });

  test('a [[wiki link]] typed in the app: unresolved until the note exists, then a link, with the backlink on the other side', async () => {
    await ui.nav('forest');
    await page.locator(sel('forest-new-toggle')).click();
    await page.locator(sel('forest-node-title')).fill('Incident review');
    await page.locator(sel('forest-node-body')).fill('Follow the [[Deployment runbook|runbook]] and the [[Postmortem template]].\n`[[not a link]]`');
    await page.locator(sel('forest-node-save')).click();
    await page.waitForFunction(() => /^#\/forest\/[0-9a-f-]{36}$/.test(location.hash), undefined, { timeout: UI_MS });
    const review = await nodeId();
    const link = page.locator(sel('wiki-link', '[data-target="Deployment runbook"]'));
    await link.waitFor({ timeout: UI_MS });
    assert.equal(await link.textContent(), 'runbook');
    assert.equal(await page.locator(sel('wiki-unresolved', '[data-target="Postmortem template"]')).count(), 1, 'no such note yet: unresolved');
    assert.equal(await page.locator(sel('wiki-link', '[data-target="not a link"]')).count() + await page.locator(sel('wiki-unresolved', '[data-target="not a link"]')).count(), 0, 'code is not a link');
    await link.click();
    await page.waitForFunction((id) => location.hash === `#/forest/${id}`, runbook, { timeout: UI_MS });
    await page.locator(`${sel('forest-mentioned-by')} a`, { hasText: 'Incident review' }).waitFor({ timeout: UI_MS });
    await page.goto(`${server.url}/#/forest/${review}`);
    await page.locator(sel('wiki-link', '[data-target="Deployment runbook"]')).waitFor({ timeout: UI_MS });
  });

  test('edit, then archive a node', async () => {
    await page.goto(`${server.url}/#/forest/${notes}`);
    await page.locator(sel('forest-edit')).click({ timeout: UI_MS });
    await page.locator(`${sel('forest-node-form')} ${sel('forest-node-title')}`).fill('Release notes v2');
    await page.locator(`${sel('forest-node-form')} ${sel('forest-node-save')}`).click();
    await page.locator('h1', { hasText: 'Release notes v2' }).waitFor({ timeout: UI_MS });
    page.once('dialog', (d) => void d.accept());
    await page.locator(sel('forest-archive')).click();
    await page.waitForFunction(() => location.hash === '#/forest', undefined, { timeout: UI_MS });
    assert.equal((await get(notes)).node.status, 'archived');
    await page.locator(sel('forest-hit', `[data-id="${runbook}"]`)).waitFor({ timeout: UI_MS });
    assert.equal(await page.locator(sel('forest-hit', `[data-id="${notes}"]`)).count(), 0, 'archived nodes leave the list');
  });

  test('settings: add an LLM provider; its key is stored as a secret and never shown', async () => {
    await ui.nav('settings');
    await page.locator(sel('provider-form')).waitFor({ timeout: UI_MS });
    await page.locator(sel('provider-id')).fill('openai-test');
    await page.locator(sel('provider-kind')).selectOption('openai');
    await page.locator(sel('provider-models')).fill('gpt-4o-mini, gpt-4o');
    await page.locator(sel('provider-key-input')).fill(KEY);
    await page.locator(sel('provider-save')).click();
    const row = page.locator(sel('provider-row', '[data-id="openai-test"]'));
    await row.waitFor({ timeout: UI_MS });
    assert.equal(await row.getAttribute('data-key-set'), 'true');
    assert.equal(await page.locator(sel('provider-key-input')).inputValue(), '', 'the key field is cleared');
    assert.ok(!(await page.content()).includes(KEY), 'the key is nowhere in the page');
    const list = unwrap(await api.query<{ id: string; baseUrl: string; models: string[]; apiKeySecret?: string; keySet: boolean }[]>('llm.provider.list'), 'llm.provider.list');
    const p = list.find((x) => x.id === 'openai-test');
    assert.ok(p);
    assert.deepEqual([p.keySet, p.apiKeySecret, p.baseUrl, p.models], [true, 'LLM_OPENAI_TEST_KEY', 'https://api.openai.com/v1', ['gpt-4o-mini', 'gpt-4o']]);
    const events = await api.eventsOfType(['llm.provider_set', 'secret.set']);
    assert.ok(!JSON.stringify(events).includes(KEY), 'the key is not in the log');

    // Edit without typing a key keeps it; the form never shows it.
    await row.locator(sel('provider-edit')).click();
    assert.equal(await page.locator(sel('provider-key-input')).inputValue(), '');
    await page.locator(sel('provider-models')).fill('gpt-4o-mini');
    await page.locator(sel('provider-save')).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="provider-row"][data-id="openai-test"]')?.textContent?.includes('gpt-4o-mini') && !document.querySelector('[data-testid="provider-row"][data-id="openai-test"]')?.textContent?.includes('gpt-4o '), undefined, { timeout: UI_MS });
    assert.equal(await row.getAttribute('data-key-set'), 'true', 'the key is kept');

    page.once('dialog', (d) => void d.accept());
    await row.locator(sel('provider-delete')).click();
    await row.waitFor({ state: 'detached', timeout: UI_MS });
    const secrets = unwrap(await api.query<{ name: string }[]>('secret.list'), 'secret.list');
    assert.ok(!secrets.some((s) => s.name === 'LLM_OPENAI_TEST_KEY'), 'its key went with it');
  });

  test('no console errors and no CSP violations', async () => {
    await page.goto(`${server.url}/#/forest/${runbook}`);
    await page.locator(sel('forest-graph')).waitFor({ timeout: UI_MS });
    assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events');
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });
});
