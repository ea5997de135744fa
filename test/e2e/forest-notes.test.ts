/**
 * The Forest as linked notes, in real Chromium (the built app on OPFS, with its CSP), at 1440, 820
 * and 390 px: a note typed with `[[` link completion driven by the keyboard, saved, its link
 * working and the backlink on the other side; `[[Missing]]` shown as unresolved; `#ops` typed in
 * the body becoming the note's tag and a link to the list filtered by it; a real session summary
 * (the engine's, after a `hello` run) hidden by default and shown by the toggle; "New note" within
 * the first screen; the whole-Forest graph drawing every note with no two discs overlapping (read
 * from the graph element's data-layout), opening notes by click and from its accessible list; the
 * per-node graph without overlaps and with named, focusable links. No CSP violation, no console
 * error. Screenshots go to .tmp/screens/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { Cleanup, pollUntil, REPO } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import { unwrap, type KingdomApiPage } from './pages/kingdom-api.ts';
import { EXAMPLES } from '../../src/lib/examples.ts';

const UI_MS = 20_000;
const RUN_MS = 60_000;
const SCREENS = join(REPO, '.tmp/screens');
const WIDTHS = [[1440, 900], [820, 1180], [390, 844]] as const;

interface Disc { id: string; x: number; y: number; r: number }

describe('the Forest as linked notes', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;
  let page: Page;
  let api: KingdomApiPage;
  let problems: PageProblems;
  let other = '';
  let runbook = '';
  let summary = '';

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    mkdirSync(SCREENS, { recursive: true });
    ({ server, page, api, problems } = await openBuiltApp(cleanup, 'forest-notes', '#/forest', UI_MS));
    await page.setViewportSize({ width: 1440, height: 900 });
  });
  after(() => cleanup.run());

  const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;
  const hash = (): Promise<string> => page.evaluate(() => location.hash);
  const shot = (name: string) => page.screenshot({ path: join(SCREENS, `forest-notes-${name}.png`), fullPage: true });
  const open = async (h: string) => {
    await page.goto(`${server.url}/${h}`);
    await page.locator(sel('storage-kind')).first().waitFor({ timeout: UI_MS });
  };
  const create = async (title: string, body: string, extra: Record<string, unknown> = {}) =>
    (unwrap(await api.command({ type: 'forest.node.create', payload: { title, body, ...extra }, idempotencyKey: `notes-${title}` }), 'forest.node.create').value as { nodeId: string }).nodeId;
  const noteCount = async (summaries: boolean) => unwrap(await api.query<{ total: number }>('forest.node.list', { summaries, limit: 1 }), 'forest.node.list').total;

  /** The whole-Forest graph's discs once drawn, checked: every note, no two overlapping. */
  async function checkGraph(expected: number, label: string): Promise<Disc[]> {
    const graph = page.locator(sel('forest-whole-graph'));
    await page.locator(sel('forest-whole-graph', '[data-ready="true"]')).waitFor({ timeout: RUN_MS });
    const discs = await pollUntil(async () => {
      const d = JSON.parse((await graph.getAttribute('data-layout')) ?? '[]') as Disc[];
      return d.length === expected ? d : null;
    }, { timeoutMs: UI_MS, what: `${expected} discs in data-layout (${label})` });
    const box = (await graph.boundingBox())!;
    for (const d of discs) {
      assert.ok(d.r > 1, `${label}: disc ${d.id} is drawn (r ${d.r})`);
      assert.ok(d.x - d.r >= -1 && d.y - d.r >= -1 && d.x + d.r <= box.width + 1 && d.y + d.r <= box.height + 1, `${label}: disc ${JSON.stringify(d)} inside ${box.width}×${box.height}`);
    }
    const clashes: string[] = [];
    for (let i = 0; i < discs.length; i++) {
      for (let j = i + 1; j < discs.length; j++) {
        const a = discs[i]!;
        const b = discs[j]!;
        const gap = Math.hypot(a.x - b.x, a.y - b.y) - a.r - b.r;
        if (gap < 0) clashes.push(`${a.id}/${b.id} overlap by ${(-gap).toFixed(2)} px`);
      }
    }
    assert.deepEqual(clashes, [], `${label}: no two node discs overlap`);
    assert.equal(await page.locator(sel('forest-graph-item')).count(), expected, `${label}: the accessible list has every note`);
    return discs;
  }

  test('setup: a web of notes (API) and a real session summary (a hello run)', async () => {
    other = await create('Other', 'The other note, linked from the runbook.');
    // 24 more notes with wiki links among them, so the graph has something to lay out.
    const batch = Array.from({ length: 24 }, (_, i) => ({
      type: 'forest.node.create',
      payload: { title: `Web ${i}`, body: `Links to [[Web ${(i * 7 + 3) % 24}]] and [[Web ${(i * 5 + 1) % 24}]]${i % 4 === 0 ? ' and [[Other]]' : ''}.` },
      idempotencyKey: `notes-web-${i}`,
    }));
    unwrap(await api.commandBatch(batch), 'commandBatch');
    const hello = EXAMPLES.find((e) => e.name === 'hello')!;
    unwrap(await api.command({ type: 'workflow.save', payload: { source: hello.source }, idempotencyKey: 'notes-hello' }), 'workflow.save');
    unwrap(await api.command({ type: 'session.start', payload: { workflow: 'hello', inputs: { who: 'notes' } }, idempotencyKey: 'notes-hello-run' }), 'session.start');
    summary = await pollUntil(async () => {
      const r = unwrap(await api.query<{ nodes: { id: string; tags: string[] }[] }>('forest.node.list', { tag: 'session' }), 'forest.node.list');
      return r.nodes[0]?.id ?? null;
    }, { timeoutMs: RUN_MS, what: 'the session summary of the hello run' });
    assert.equal(await noteCount(true), 26, 'Other, 24 Web notes and the summary');
    assert.equal(await noteCount(false), 25);
  });

  test('"New note" is in the first screen; typing [[ offers titles, the keyboard inserts [[Other]]', async () => {
    await open('#/forest');
    const toggle = page.locator(sel('forest-new-toggle'));
    await toggle.waitFor({ timeout: UI_MS });
    const box = (await toggle.boundingBox())!;
    assert.ok(box.y + box.height <= 900, `New note at y ${box.y} within the first screen`);
    await toggle.focus();
    await page.keyboard.press('Enter');
    const title = page.locator(sel('forest-node-title'));
    await title.waitFor({ timeout: UI_MS });
    await title.fill('Ops runbook');
    const body = page.locator(sel('forest-node-body'));
    await body.focus();
    await page.keyboard.type('Before deploying, read [[Oth');
    const option = page.locator(sel('forest-complete-option', '[data-title="Other"]'));
    await option.waitFor({ timeout: UI_MS });
    assert.equal(await body.getAttribute('aria-expanded'), 'true', 'the combobox says its list is open');
    const activeId = await body.getAttribute('aria-activedescendant');
    assert.equal(await page.locator(`#${activeId}`).getAttribute('data-title'), 'Other', 'the best match is the active option');
    await shot('complete-1440');
    await page.keyboard.press('Enter');
    await page.locator(sel('forest-complete')).waitFor({ state: 'hidden', timeout: UI_MS });
    assert.equal(await body.inputValue(), 'Before deploying, read [[Other]]');
    // Escape closes the list and leaves the text as typed.
    await page.keyboard.type(' [[Web');
    await page.locator(sel('forest-complete-option')).first().waitFor({ timeout: UI_MS });
    await page.keyboard.press('Escape');
    await page.locator(sel('forest-complete')).waitFor({ state: 'hidden', timeout: UI_MS });
    assert.equal(await body.inputValue(), 'Before deploying, read [[Other]] [[Web', 'Escape leaves the text as typed');
    for (let i = 0; i < ' [[Web'.length; i++) await page.keyboard.press('Backspace');
    await page.keyboard.type(', [[Missing]] and the #ops checklist.');
    assert.equal(await body.inputValue(), 'Before deploying, read [[Other]], [[Missing]] and the #ops checklist.');
    await page.locator(sel('forest-node-save')).click();
    await page.waitForFunction(() => /^#\/forest\/[0-9a-f-]{36}$/.test(location.hash), undefined, { timeout: UI_MS });
    runbook = decodeURIComponent((await hash()).split('/')[2]!);
  });

  test('the saved note: [[Other]] links, [[Missing]] is unresolved, #ops is its tag', async () => {
    const link = page.locator(`${sel('forest-body')} ${sel('wiki-link', '[data-target="Other"]')}`);
    await link.waitFor({ timeout: UI_MS });
    assert.equal(await link.getAttribute('href'), `#/forest/${other}`);
    const missing = page.locator(sel('wiki-unresolved', '[data-target="Missing"]'));
    assert.equal(await missing.count(), 1);
    assert.match((await missing.getAttribute('title')) ?? '', /No note is titled “Missing” yet/);
    assert.equal(await missing.evaluate((el) => el.tagName), 'SPAN', 'unresolved: not a link');
    assert.equal(await page.locator(sel('forest-node-tag', '[data-tag="ops"]')).count(), 1, '#ops is one of the note\'s tags');
    const node = unwrap(await api.query<{ node: { tags: string[]; bodyTags: string[] } }>('forest.node.get', { id: runbook }), 'forest.node.get');
    assert.deepEqual(node.node.bodyTags, ['ops']);
    await shot('note-1440');
    await link.click();
    await page.waitForFunction((id) => location.hash === `#/forest/${id}`, other, { timeout: UI_MS });
    await page.locator(`${sel('forest-mentioned-by')} a`, { hasText: 'Ops runbook' }).waitFor({ timeout: UI_MS });
  });

  test('the #ops tag link opens the list filtered by ops', async () => {
    await open(`#/forest/${runbook}`);
    const tag = page.locator(`${sel('forest-body')} ${sel('tag-link', '[data-tag="ops"]')}`);
    await tag.waitFor({ timeout: UI_MS });
    await tag.click();
    await page.waitForFunction(() => location.hash === '#/forest?tag=ops', undefined, { timeout: UI_MS });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="forest-hit"]').length === 1, undefined, { timeout: UI_MS });
    assert.equal(await page.locator(sel('forest-hit')).getAttribute('data-id'), runbook);
    assert.equal(await page.locator(sel('forest-tag-chip', '[data-tag="ops"]')).getAttribute('aria-pressed'), 'true');
    await shot('tag-ops-1440');
  });

  test('session summaries are hidden by default and shown by the toggle', async () => {
    await open('#/forest');
    await page.locator(sel('forest-hit', `[data-id="${runbook}"]`)).waitFor({ timeout: UI_MS });
    const toggle = page.locator(sel('forest-show-summaries'));
    assert.equal(await toggle.isChecked(), false);
    assert.equal(await page.locator(sel('forest-hit', `[data-id="${summary}"]`)).count(), 0, 'no summary by default');
    assert.equal(await page.locator(sel('forest-tag-chip', '[data-tag="succeeded"]')).count(), 0, 'nor the summaries\' tags');
    await toggle.check();
    await page.locator(sel('forest-hit', `[data-id="${summary}"]`)).waitFor({ timeout: UI_MS });
    assert.match(await hash(), /summaries=1/);
    await toggle.uncheck();
    await page.locator(sel('forest-hit', `[data-id="${summary}"]`)).waitFor({ state: 'detached', timeout: UI_MS });
  });

  test('the whole-Forest graph: every note, no overlap, opened by click and from its list', async () => {
    await open('#/forest?view=graph');
    const discs = await checkGraph(await noteCount(false), '1440');
    assert.ok(!discs.some((d) => d.id === summary), 'the summary is filtered out');
    await shot('graph-1440');
    await page.locator(sel('forest-show-summaries')).check();
    const withSummaries = String(await noteCount(true));
    await page.waitForFunction((n) => document.querySelector('[data-testid="forest-whole-graph"]')?.getAttribute('data-nodes') === n, withSummaries, { timeout: UI_MS });
    const all = await checkGraph(await noteCount(true), '1440 with summaries');
    // A click on a disc opens its note.
    const target = all.find((d) => d.id === other)!;
    const box = (await page.locator(sel('forest-whole-graph')).boundingBox())!;
    await page.locator(sel('forest-whole-graph')).scrollIntoViewIfNeeded();
    const again = (await page.locator(sel('forest-whole-graph')).boundingBox())!;
    void box;
    await page.mouse.click(again.x + target.x, again.y + target.y);
    await page.waitForFunction((id) => location.hash === `#/forest/${id}`, other, { timeout: UI_MS });
    // The list opens a note by keyboard.
    await open('#/forest?view=graph');
    await page.locator(sel('forest-whole-graph', '[data-ready="true"]')).waitFor({ timeout: RUN_MS });
    await page.locator(sel('forest-graph-item', `[data-id="${runbook}"]`)).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction((id) => location.hash === `#/forest/${id}`, runbook, { timeout: UI_MS });
  });

  test('the node page\'s neighbourhood graph: no overlap, links focusable with names', async () => {
    // Links from the runbook to several Web notes, so its neighbourhood is crowded.
    for (let i = 0; i < 12; i++) {
      unwrap(await api.command({ type: 'forest.link.create', payload: { from: runbook, to: await idOf(`Web ${i}`), type: 'relates_to' }, idempotencyKey: `notes-link-${i}` }), 'forest.link.create');
    }
    await open(`#/forest/${runbook}`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="forest-graph-node"]').length >= 13, undefined, { timeout: UI_MS });
    const svg = page.locator(`svg${sel('forest-graph')}`);
    assert.notEqual(await svg.getAttribute('role'), 'img', 'its links are not hidden inside an image');
    const nodes = await page.locator(sel('forest-graph-node')).evaluateAll((els) => els.map((el) => ({
      id: el.getAttribute('data-id')!, x: Number(el.getAttribute('data-x')), y: Number(el.getAttribute('data-y')), r: Number(el.getAttribute('data-r')),
      name: el.getAttribute('aria-label') ?? '', tab: el.getAttribute('tabindex'),
    })));
    for (let i = 0; i < nodes.length; i++) {
      for (let j = i + 1; j < nodes.length; j++) {
        const a = nodes[i]!;
        const b = nodes[j]!;
        assert.ok(Math.hypot(a.x - b.x, a.y - b.y) >= a.r + b.r, `discs ${a.name} and ${b.name} do not overlap`);
      }
    }
    for (const n of nodes) assert.ok(n.name.length > 0 && n.tab === '0', `node ${n.id} is focusable with a name`);
    const edges = await page.locator(sel('forest-graph-edge')).evaluateAll((els) => els.map((el) => ({ name: el.getAttribute('aria-label') ?? '', tab: el.getAttribute('tabindex'), href: el.getAttribute('href') })));
    assert.ok(edges.length >= 12);
    for (const e of edges) assert.ok(/^Link \w+ from .+ to .+/.test(e.name) && e.tab === '0' && e.href?.startsWith('#/forest/'), JSON.stringify(e));
    // Keyboard: focus an edge and open it.
    const edge = page.locator(sel('forest-graph-edge')).first();
    await edge.focus();
    assert.equal(await edge.evaluate((el) => el === document.activeElement), true);
    await page.keyboard.press('Enter');
    await page.waitForFunction((id) => location.hash !== `#/forest/${id}`, runbook, { timeout: UI_MS });
  });

  async function idOf(title: string): Promise<string> {
    const r = unwrap(await api.query<{ hits: { id: string; title: string }[] }>('forest.search', { query: `"${title}"`, limit: 50 }), 'forest.search');
    return r.hits.find((h) => h.title === title)!.id;
  }

  for (const [width, height] of WIDTHS.slice(1)) {
    test(`at ${width} px: New note in the first screen, completion by pointer, the graph without overlap`, async () => {
      await page.setViewportSize({ width, height });
      await open('#/forest');
      const toggle = page.locator(sel('forest-new-toggle'));
      await toggle.waitFor({ timeout: UI_MS });
      const box = (await toggle.boundingBox())!;
      assert.ok(box.y + box.height <= height, `New note at y ${box.y} within the first ${height} px`);
      assert.ok(box.x >= 0 && box.x + box.width <= width, 'and inside the width');
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, 'no sideways scroll');
      await shot(`list-${width}`);
      await toggle.click();
      const body = page.locator(sel('forest-node-body'));
      await body.click();
      await page.keyboard.type('See [[Oth');
      await page.locator(sel('forest-complete-option', '[data-title="Other"]')).click();
      assert.equal(await body.inputValue(), 'See [[Other]]');
      assert.equal(await body.evaluate((el) => el === document.activeElement), true, 'the caret stays in the text');
      await shot(`complete-${width}`);
      await open('#/forest?view=graph');
      await checkGraph(await noteCount(false), `${width}`);
      await shot(`graph-${width}`);
      await open(`#/forest/${runbook}`);
      await page.locator(`${sel('forest-body')} ${sel('wiki-link')}`).first().waitFor({ timeout: UI_MS });
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, 'no sideways scroll on the note');
      await shot(`note-${width}`);
    });
  }

  test('no CSP violation and no console error', async () => {
    assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events');
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });
});
