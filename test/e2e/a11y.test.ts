/**
 * Accessibility of every screen, in real Chromium (the built app on OPFS, with its strict CSP):
 * 1. axe-core (the npm package, evaluated through CDP: no inline script, the CSP violation count
 *    stays 0) finds no serious or critical violation on any route of ROUTES below, at 1440, 820
 *    and 390 px, and once with the navigation drawer open at 390; the data is realistic (the
 *    example workflows installed, sessions finished and waiting for approval, linked Forest notes,
 *    a verified log), and every route again at 1440 in dark colours. A failure lists rule id, impact, help and the first target selectors; a
 *    table of counts per route and width is printed either way.
 * 2. Visible focus: Tab through every route at 1440: the skip link is the first stop and moves
 *    focus to <main>; every stop shows a ring (a ≥ 2 px outline with ≥ 3:1 contrast, see
 *    a11y-support.ts); the route's keyboard actions (timeline rows, chain blocks, graph nodes, row
 *    actions) are in the tab order.
 * To check a new screen, add it to ROUTES (and its data to `seed`). Screenshots: .tmp/screens/a11y-*.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { Cleanup, pollUntil, REPO } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import type { KingdomApiPage } from './pages/kingdom-api.ts';
import { blocking, focusDocumentStart, formatViolations, runAxe, tabSweep, type AxeViolation } from './a11y-support.ts';

const UI_MS = 20_000;
const RUN_MS = 60_000;
const SCREENS = join(REPO, '.tmp/screens');
const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;

/** What `seed` made: the ids the routes point at. */
interface Seeded {
  readonly finished: string;
  readonly waiting: string;
  readonly note: string;
  readonly eventSeq: number;
}

interface A11yRoute {
  readonly name: string;
  readonly hash: (s: Seeded) => string;
  /** Present once the screen shows its data. */
  readonly ready: string;
  /** After `ready`: bring the screen into the state to check (open an editor, verify…). */
  readonly prepare?: (page: Page) => Promise<void>;
  /** Selectors of keyboard actions that must be in the tab order (checked at 1440). */
  readonly reach?: readonly string[];
}

/** Every screen of src/lib/router.svelte.ts, with the sub-views that matter. Add new screens here. */
const ROUTES: readonly A11yRoute[] = [
  { name: 'workspaces', hash: () => '#/workspaces', ready: sel('workspace-item'), reach: [sel('workspace-rename')] },
  { name: 'workflows', hash: () => '#/workflows', ready: sel('workflow-row'), reach: [sel('workflow-run')] },
  { name: 'workflow', hash: () => '#/workflows/hello', ready: sel('workflow-source-view'), reach: [sel('workflow-source-view'), sel('workflow-revision')] },
  {
    name: 'workflow-editor', hash: () => '#/workflows/hello', ready: sel('workflow-source-view'),
    prepare: async (page) => {
      await page.locator(sel('workflow-edit')).click({ timeout: UI_MS });
      await page.locator(sel('workflow-source', '[data-ready="true"]')).waitFor({ timeout: UI_MS });
    },
    reach: [sel('workflow-save')],
  },
  { name: 'workflow-run', hash: () => '#/workflows/hello/run', ready: sel('run-form'), reach: [sel('run-start')] },
  { name: 'contracts', hash: () => '#/contracts', ready: sel('contract-row'), reach: [sel('contract-run'), sel('contract-edit')] },
  { name: 'contract-form', hash: () => '#/contracts/new', ready: sel('contract-preview-next'), reach: [sel('contract-cron'), sel('contract-save')] },
  { name: 'manifests', hash: () => '#/manifests', ready: sel('graph-node'), reach: [sel('manifest-new'), `${sel('manifest-row')} a`, sel('graph-export-json')] },
  {
    name: 'manifest', hash: () => '#/manifests/Tool%2Frunner.notify', ready: sel('manifest-source', '[data-ready="true"]'),
    reach: [sel('manifest-dependents'), sel('manifest-remove')],
  },
  { name: 'inbox', hash: () => '#/inbox', ready: sel('inbox-approval'), reach: [sel('inbox-approve')] },
  { name: 'sessions', hash: () => '#/sessions', ready: sel('session-row'), reach: [`${sel('session-row')} a`] },
  {
    name: 'session-finished', hash: (s) => `#/sessions/${s.finished}`, ready: sel('session-status', '[data-status="succeeded"]'),
    prepare: async (page) => page.locator(sel('timeline-row')).first().click({ timeout: UI_MS }),
    reach: [sel('timeline-row'), sel('session-event')],
  },
  { name: 'session-waiting', hash: (s) => `#/sessions/${s.waiting}`, ready: sel('approval-card'), reach: [sel('approval-approve'), sel('timeline-row')] },
  { name: 'forest', hash: () => '#/forest', ready: sel('forest-hit'), reach: [sel('forest-tag-chip')] },
  { name: 'forest-graph', hash: () => '#/forest?view=graph', ready: sel('forest-graph-item'), reach: [sel('forest-graph-item')] },
  { name: 'forest-node', hash: (s) => `#/forest/${s.note}`, ready: sel('forest-graph-node'), reach: [sel('forest-graph-node'), sel('wiki-link')] },
  { name: 'events', hash: () => '#/events', ready: sel('event-row'), reach: [sel('event-row')] },
  { name: 'event', hash: (s) => `#/events/${s.eventSeq}`, ready: sel('event-detail') },
  {
    name: 'integrity', hash: () => '#/integrity', ready: sel('chain-block'),
    prepare: async (page) => {
      await page.locator(sel('verify-button')).click({ timeout: UI_MS });
      await page.locator(sel('verify-result', '[data-ok="true"]')).waitFor({ timeout: RUN_MS });
    },
    reach: [sel('chain-block')],
  },
  { name: 'devices', hash: () => '#/devices', ready: sel('device-row') },
  { name: 'storage', hash: () => '#/storage', ready: sel('role-badge') },
  { name: 'settings', hash: () => '#/settings', ready: sel('provider-row') },
];

const WIDTHS = [{ width: 1440, height: 900 }, { width: 820, height: 1180 }, { width: 390, height: 844 }] as const;

describe('accessibility: axe-core on every route, visible focus, keyboard reach', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;
  let page: Page;
  let api: KingdomApiPage;
  let problems: PageProblems;
  let seeded: Seeded;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    mkdirSync(SCREENS, { recursive: true });
    ({ server, page, api, problems } = await openBuiltApp(cleanup, 'a11y', '#/workflows', UI_MS));
    seeded = await seed();
  });
  after(() => cleanup.run());

  async function command(type: string, payload: unknown, key: string): Promise<{ value: unknown; seq: number }> {
    const r = await api.command({ type, payload, idempotencyKey: key } as Parameters<KingdomApiPage['command']>[0]);
    assert.ok(r.ok, `${type}: ${JSON.stringify(r)}`);
    return { value: r.value.value, seq: r.value.events.at(-1)?.seq ?? 0 };
  }

  /** Start a session and wait for `status` (an approval keeps its session 'running'). */
  async function startSession(workflow: string, inputs: Record<string, unknown>, status: 'succeeded' | 'running'): Promise<string> {
    const { value } = await command('session.start', { workflow, inputs }, `a11y-${workflow}-${JSON.stringify(inputs)}`);
    const id = (value as { sessionId: string }).sessionId;
    await pollUntil(async () => {
      const s = await api.query<{ status: string }>('session.get', { sessionId: id });
      return s.ok && s.value.status === status;
    }, { timeoutMs: RUN_MS, what: `${workflow} ${status}` });
    return id;
  }

  /** The examples installed from the library, sessions run, linked Forest notes, a provider. */
  async function seed(): Promise<Seeded> {
    await page.locator(sel('install-examples')).click({ timeout: UI_MS });
    await page.locator(sel('workflow-row', '[data-name="hello"]')).waitFor({ timeout: UI_MS });
    const finished = await startSession('hello', { who: 'Ada' }, 'succeeded');
    await startSession('retry', {}, 'succeeded');
    await startSession('decide-and-wait', { hurry: true }, 'succeeded');
    const waiting = await startSession('approval', { release: '2.1.0' }, 'running');
    await startSession('approval', { release: '2.2.0' }, 'running');
    const notes: { title: string; body: string; tags: string[] }[] = [
      { title: 'Deployment runbook', body: '# Deploy\n\nHow to deploy safely. See [[Release notes]] and [[Rollback plan]].', tags: ['runbook', 'ops'] },
      { title: 'Release notes', body: 'Shipped **2.1.0** after the deploy checklist.\n\n- faster boot\n- fewer retries', tags: ['notes'] },
      { title: 'Rollback plan', body: 'If the canary fails, roll back within *five minutes*.', tags: ['ops'] },
    ];
    const ids: string[] = [];
    let eventSeq = 0;
    for (const [i, n] of notes.entries()) {
      const r = await command('forest.node.create', n, `a11y-note-${i}`);
      ids.push((r.value as { nodeId: string }).nodeId);
      eventSeq = r.seq;
    }
    await command('forest.link.create', { from: ids[1], to: ids[0], type: 'derived_from' }, 'a11y-link-1');
    await command('forest.link.create', { from: ids[0], to: ids[2], type: 'relates_to' }, 'a11y-link-2');
    await command('contract.set', { name: 'Greet on demand', workflow: 'hello', inputs: { who: 'Ada' }, trigger: { kind: 'button' } }, 'a11y-contract-1');
    await command('contract.set', { name: 'Nightly greeting', workflow: 'hello', trigger: { kind: 'cron', cron: '30 2 * * *', timezone: 'Europe/Berlin' } }, 'a11y-contract-2');
    for (const f of ['tool-notify.yaml', 'agent-reviewer.yaml', 'kata-deploy.yaml']) {
      await command('manifest.apply', { source: readFileSync(join(REPO, 'test/fixtures/manifests', f), 'utf8') }, `a11y-manifest-${f}`);
    }
    await command('llm.provider.set', { id: 'local', kind: 'openai', baseUrl: 'http://127.0.0.1:11434/v1', models: ['llama3.2'] }, 'a11y-provider');
    return { finished, waiting, note: ids[0]!, eventSeq };
  }

  async function open(route: A11yRoute): Promise<void> {
    const hash = route.hash(seeded);
    if (await page.evaluate(() => location.hash) === hash) await page.goto(`${server.url}/#/storage`);
    await page.goto(`${server.url}/${hash}`);
    await page.locator(route.ready).first().waitFor({ timeout: UI_MS });
    await route.prepare?.(page);
    await page.waitForTimeout(150);
  }

  interface Row { route: string; width: string; serious: number; critical: number; moderate: number; minor: number; rules: string }
  const table: Row[] = [];
  const failures: string[] = [];

  function record(route: string, width: string, violations: readonly AxeViolation[]): void {
    const count = (impact: string): number => violations.filter((v) => v.impact === impact).reduce((n, v) => n + v.nodes.length, 0);
    table.push({ route, width, serious: count('serious'), critical: count('critical'), moderate: count('moderate'), minor: count('minor'), rules: violations.map((v) => v.id).join(' ') });
    const bad = blocking(violations);
    if (bad.length > 0) failures.push(formatViolations(`${route} @ ${width}`, bad));
  }

  test('axe-core: no serious or critical violation on any route at 1440, 820 and 390 px (and the drawer open)', async () => {
    for (const size of WIDTHS) {
      await page.setViewportSize(size);
      for (const route of ROUTES) {
        await open(route);
        record(route.name, `${size.width}`, await runAxe(page));
        await page.screenshot({ path: join(SCREENS, `a11y-${route.name}-${size.width}.png`), fullPage: true });
      }
    }
    // Dark colours (prefers-color-scheme: dark) have their own tokens: every route again at 1440.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize(WIDTHS[0]);
    for (const route of ROUTES) {
      await open(route);
      record(route.name, '1440 dark', await runAxe(page));
      await page.screenshot({ path: join(SCREENS, `a11y-${route.name}-1440-dark.png`), fullPage: true });
    }
    await page.emulateMedia({ colorScheme: 'light' });

    // The navigation drawer, open at 390 over a screen.
    await page.setViewportSize(WIDTHS[2]);
    await open(ROUTES[1]!);
    await page.locator(sel('nav-toggle')).click();
    await page.locator(sel('nav-workflows')).waitFor({ state: 'visible', timeout: UI_MS });
    record('drawer-open', '390', await runAxe(page));
    await page.screenshot({ path: join(SCREENS, 'a11y-drawer-open-390.png') });
    await page.keyboard.press('Escape');

    console.log(`\naxe-core: violations (nodes) per route and width\n${'route'.padEnd(18)} ${'width'.padStart(9)} critical serious moderate minor rules`);
    for (const r of table) {
      console.log(`${r.route.padEnd(18)} ${r.width.padStart(9)} ${String(r.critical).padStart(8)} ${String(r.serious).padStart(7)} ${String(r.moderate).padStart(8)} ${String(r.minor).padStart(5)} ${r.rules}`);
    }
    assert.equal(table.length, ROUTES.length * (WIDTHS.length + 1) + 1, 'every route was checked at every width, and dark');
    assert.deepEqual(await cspViolations(page), [], 'axe was loaded without a CSP violation');
    assert.equal(failures.length, 0, `serious or critical axe violations:\n${failures.join('\n')}`);
  });

  test('keyboard: skip link first; every tab stop on every route shows a visible ring; the route\'s actions are reachable', async () => {
    await page.setViewportSize(WIDTHS[0]);
    const problemsFound: string[] = [];
    for (const route of ROUTES) {
      await open(route);
      // A screenshot of the first focused action the route must offer (its ring, in context).
      const shotOf = /data-testid="([^"]+)"/.exec(route.reach?.[0] ?? '')?.[1];
      let shot = false;
      const stops = await tabSweep(page, 160, async (r) => {
        if (shot || r.testid !== shotOf) return;
        shot = true;
        await page.screenshot({ path: join(SCREENS, `a11y-focus-${route.name}.png`) });
      });
      console.log(`keyboard: ${route.name}: ${stops.length} tab stops, ${stops.filter((s) => s.visible).length} with a visible ring`);
      assert.ok(stops.length > 0, `${route.name}: some tab stops`);
      if (stops[0]!.testid !== 'skip-link') problemsFound.push(`${route.name}: the first stop is ${stops[0]!.what}, not the skip link`);
      for (const s of stops.filter((x) => !x.visible)) problemsFound.push(`${route.name}: no visible focus ring on ${s.what} [${s.testid}]: ${s.detail}`);
      for (const want of route.reach ?? []) {
        const reached = await page.evaluate((q) => [...document.querySelectorAll(q)].filter((e) => (e as HTMLElement).tabIndex >= 0).length, want);
        if (reached === 0) problemsFound.push(`${route.name}: no element ${want} is in the tab order`);
      }
      const ids = new Set(stops.map((s) => s.testid));
      for (const want of route.reach ?? []) {
        const id = /data-testid="([^"]+)"/.exec(want)?.[1];
        const direct = want === sel(id ?? '');
        if (id && direct && !ids.has(id)) problemsFound.push(`${route.name}: Tab never reached ${id} (${stops.length} stops)`);
      }
    }
    assert.deepEqual(problemsFound, [], problemsFound.join('\n'));
    // The skip link moves focus to <main>.
    await open(ROUTES[1]!);
    await focusDocumentStart(page);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'skip-link');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'MAIN', 'Enter on the skip link focuses <main>');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.closest('main') !== null), true, 'the next Tab stays in the content');
  });

  test('no console errors and no CSP violations', async () => {
    assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events');
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });
});
