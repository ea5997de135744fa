/**
 * Two tabs, one writer (the brief's c and d): exactly one tab's worker owns the OPFS database,
 * writes from either tab reach both, and when the leader tab closes the other takes over within a
 * second without losing anything, including commands it sent while the leader was going away.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { Cleanup, pollUntil } from './support.ts';
import { launch, PageProblems, serveTarget, target, type Target } from './app-support.ts';
import { KingdomApiPage } from './pages/kingdom-api.ts';
import { AppPage } from './pages/app-page.ts';
import type { StaticServer } from '../helpers/static-server.ts';

const HANDOVER_BOUND_MS = 1_000;

describe('two tabs share one writer', () => {
  const cleanup = new Cleanup();
  let t: Target;
  let server: StaticServer;
  let context: BrowserContext;

  before(async () => {
    t = target();
    server = await serveTarget(t, cleanup);
    context = await launch(cleanup, cleanup.tempDir('kingdom-e2e-tabs-'));
  });
  after(() => cleanup.run());

  async function open(query = ''): Promise<{ page: Page; api: KingdomApiPage; ui: AppPage; problems: PageProblems }> {
    const page = await context.newPage();
    const problems = await PageProblems.watch(page);
    await page.goto(`${server.url}${t.entry}${query}`);
    const api = new KingdomApiPage(page);
    await api.ready();
    const ui = new AppPage(page);
    if (t.ui) await ui.waitReady();
    return { page, api, ui, problems };
  }

  /** Tab roles as the kernel reports them. */
  async function roles(...tabs: { api: KingdomApiPage }[]): Promise<string[]> {
    return Promise.all(tabs.map(async (x) => (await x.api.info()).role));
  }

  test('exactly one tab leads; workspaces created in either tab reach both (list and event log)', async () => {
    const a = await open();
    const b = await open();
    try {
      assert.deepEqual(await roles(a, b), ['leader', 'follower'], 'first tab leads, second follows');
      assert.equal((await a.api.info()).storage, 'opfs');
      assert.equal((await b.api.info()).storage, 'opfs', 'the follower reports the leader\'s storage');
      if (t.ui) {
        await a.ui.waitRole('leader');
        await b.ui.waitRole('follower');
      }

      if (t.ui) {
        await a.ui.createWorkspace('From A');
        await b.ui.waitWorkspace('From A');
        await b.ui.waitEventRow('workspace.created', 'From A');
        await b.ui.createWorkspace('From B');
        await a.ui.waitWorkspace('From B');
        await a.ui.waitEventRow('workspace.created', 'From B');
      } else {
        await a.api.createWorkspace('From A');
        await b.api.createWorkspace('From B');
      }
      for (const x of [a, b]) assert.deepEqual(await x.api.workspaceNames(), ['From A', 'From B']);
      const [ha, hb] = await Promise.all([a.api.statusOrThrow(), b.api.statusOrThrow()]);
      assert.equal(ha.headSeq, hb.headSeq, 'both tabs see the same head');
      assert.deepEqual([...a.problems.errors, ...b.problems.errors], [], 'no console errors');
    } finally {
      await a.page.close();
      await b.page.close();
    }
  });

  test(`closing the leader tab hands the database to the other tab within ${HANDOVER_BOUND_MS} ms, losing nothing`, async () => {
    const a = await open();
    const b = await open();
    try {
      const [ra, rb] = await roles(a, b);
      const [leader, follower] = ra === 'leader' ? [a, b] : [b, a];
      assert.deepEqual([ra, rb].sort(), ['follower', 'leader'], 'one leader, one follower');
      const names = ['Before 1', 'Before 2', 'Before 3'];
      for (const n of names) await leader.api.createWorkspace(`${n} ${Date.now()}`);
      const before = await follower.api.statusOrThrow();
      const expectedNames = await follower.api.workspaceNames();

      const t0 = Date.now();
      await leader.page.close();
      const info = await pollUntil(async () => {
        const i = await follower.api.info();
        return i.role === 'leader' ? i : null;
      }, { timeoutMs: 20_000, intervalMs: 20, what: 'the follower to become leader' });
      const handoverMs = Date.now() - t0;
      console.log(`handover: ${handoverMs} ms (bound ${HANDOVER_BOUND_MS} ms)`);
      assert.equal(info.storage, 'opfs', `the new leader opened OPFS (not a memory fallback: ${info.fallbackReason})`);
      assert.ok(handoverMs <= HANDOVER_BOUND_MS, `handover took ${handoverMs} ms`);

      await follower.api.createWorkspace(`After ${Date.now()}`);
      const after = await follower.api.statusOrThrow();
      assert.ok(after.headSeq > before.headSeq, 'the new leader writes');
      const report = await follower.api.verifyOrThrow();
      assert.ok(report.ok, `verify ok (${JSON.stringify(report.broken)})`);
      const now = await follower.api.workspaceNames();
      for (const n of expectedNames) assert.ok(now.includes(n), `workspace ${n} survived the handover`);
      if (t.ui) {
        // The tab's live event log went from broadcasts (follower) to its own kernel (leader):
        // every seq up to the new head exactly once, no gap, no duplicate.
        await follower.ui.waitWorkspace(now.find((n) => n.startsWith('After '))!);
        await follower.ui.nav('events');
        await pollUntil(async () => Number(await follower.ui.eventRows().first().getAttribute('data-seq')) === after.headSeq,
          { timeoutMs: 10_000, what: `the event log to show head ${after.headSeq}` });
        const seqs = (await follower.ui.eventRows().evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq')))));
        const expected = Array.from({ length: seqs.length }, (_, i) => after.headSeq - i);
        assert.deepEqual(seqs, expected, 'event log rows: newest first, contiguous, no duplicates');
        assert.deepEqual(follower.problems.errors, [], 'no console errors in the surviving tab');
        await follower.ui.waitRole('leader');
      }
    } finally {
      await Promise.all([a.page.close(), b.page.close()]);
    }
  });

  test('commands a follower sends while the leader tab closes are applied exactly once', async () => {
    const a = await open();
    const b = await open();
    try {
      const [ra] = await roles(a, b);
      const [leader, follower] = ra === 'leader' ? [a, b] : [b, a];
      const run = `burst-${Date.now()}`;
      const total = 50;
      // Fire the commands from the follower, ~8 ms apart, without awaiting them.
      await follower.page.evaluate(([prefix, n]) => {
        const w = window as unknown as { kingdomDevHook: { api: any }; __burst: Promise<unknown[]>; __burstAcked: number };
        w.__burstAcked = 0;
        const all: Promise<unknown>[] = [];
        w.__burst = (async () => {
          for (let i = 0; i < (n as number); i++) {
            const name = `${prefix}-${i}`;
            all.push(w.kingdomDevHook.api.command({ type: 'workspace.create', payload: { name }, idempotencyKey: name }).then((r: unknown) => {
              w.__burstAcked++;
              return r;
            }));
            await new Promise((r) => setTimeout(r, 8));
          }
          return Promise.all(all);
        })();
      }, [run, total] as const);
      // Close the leader mid-burst: after some were answered and while more are being sent.
      await pollUntil(() => follower.page.evaluate(() => (window as unknown as { __burstAcked: number }).__burstAcked >= 10),
        { timeoutMs: 15_000, intervalMs: 5, what: '10 burst commands answered' });
      await leader.page.close();
      const results = (await follower.page.evaluate(() => (window as unknown as { __burst: Promise<unknown[]> }).__burst)) as
        { ok: boolean; error?: { code: string; message: string }; value?: { replayed: boolean } }[];
      const acked = await follower.page.evaluate(() => (window as unknown as { __burstAcked: number }).__burstAcked);
      console.log(`burst: ${acked}/${total} answered; replayed after resend: ${results.filter((r) => r.value?.replayed).length}`);
      const failed = results.map((r, i) => ({ i, r })).filter((x) => !x.r.ok);
      assert.deepEqual(failed, [], 'every command of the burst succeeded');

      const events = await follower.api.eventsOfType(['workspace.created']);
      const counts = new Map<string, number>();
      for (const e of events) {
        const name = String(e.payload['name']);
        if (name.startsWith(`${run}-`)) counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      const wrong = [...Array(total).keys()].map((i) => `${run}-${i}`).filter((n) => counts.get(n) !== 1)
        .map((n) => `${n}: ${counts.get(n) ?? 0}`);
      assert.deepEqual(wrong, [], 'each key\'s event is present exactly once');
      const report = await follower.api.verifyOrThrow();
      assert.ok(report.ok, 'verify ok');
      assert.equal((await follower.api.info()).role, 'leader');
    } finally {
      await Promise.all([a.page.close(), b.page.close()]);
    }
  });

  test('a tab that says its data is saved on this device (opfs) really keeps it, even next to a ?storage=memory tab', async () => {
    const memoryTab = await open('?storage=memory');
    try {
      await pollUntil(async () => (await memoryTab.api.info()).role === 'leader', { timeoutMs: 10_000, what: 'the memory tab to lead' });
      assert.equal((await memoryTab.api.info()).storage, 'memory');
      const normal = await open();
      const name = `Saved? ${Date.now()}`;
      await normal.api.createWorkspace(name);
      const claimed = await normal.api.info();
      if (t.ui) assert.equal(await normal.ui.storageKind(), claimed.storage, 'the badge shows what info() says');
      console.log(`normal tab next to a memory tab: role ${claimed.role}, reports storage ${claimed.storage}`);
      await memoryTab.page.close();
      await pollUntil(async () => (await normal.api.info()).role === 'leader', { timeoutMs: 10_000, what: 'the normal tab to lead' });
      await normal.page.reload();
      await normal.api.ready();
      const names = await normal.api.workspaceNames();
      if (claimed.storage === 'opfs') {
        assert.ok(names.includes(name),
          `the tab reported storage "opfs" (role ${claimed.role}) but its workspace is gone after the memory tab closed: ` +
          'its commands went to the ?storage=memory leader');
      }
      await normal.page.close();
    } finally {
      await memoryTab.page.close();
    }
  });
});
