/**
 * The contract scheduler on real kernels under a ManualClock: cron contracts fire at their
 * instants (one timer at a time) and record their firings; daylight saving in Europe/Berlin; the
 * app closed for a day catches up per policy from the log alone, every instant fired or recorded as
 * skipped; overlap skip / buffer_one / allow; event triggers with a filter fire once per matching
 * event and never for others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../worker/engine/clock.ts';
import { createWorkspace, withTempDir } from '../../helpers/kernel.ts';
import { ContractWorld, iso, QUICK, SLOW } from './harness.ts';

const HOUR = 3_600_000;
const T = (s: string): number => Date.parse(s);
const hourly = { kind: 'cron', cron: '0 * * * *' };
const quick = { workflow: 'quick', inputs: { who: 'cron' } };

test('cron: fires at each instant on its one timer, records the firing and its session', async () => {
  const w = await ContractWorld.open({ clock: new ManualClock(T('2026-01-01T00:10:00Z')) });
  try {
    w.save(QUICK);
    const id = w.set({ name: 'hourly', ...quick, trigger: hourly });
    await w.settle();
    assert.equal(w.clock.nextTimer(), T('2026-01-01T01:00:00Z'), 'one timer, at the next instant');
    for (let i = 0; i < 3; i++) await w.advance(HOUR);
    const c = w.get(id);
    assert.deepEqual(iso(c.firings.map((f) => f.instant)).reverse(), ['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z', '2026-01-01T03:00:00.000Z']);
    assert.deepEqual(c.firings.map((f) => f.status), ['succeeded', 'succeeded', 'succeeded']);
    assert.deepEqual(c.skipped, []);
    assert.deepEqual(iso(c.next.slice(0, 2)), ['2026-01-01T04:00:00.000Z', '2026-01-01T05:00:00.000Z']);
    assert.deepEqual(w.errors, []);
  } finally {
    await w.close();
  }
});

test('cron in Europe/Berlin: the missing 02:30 fires at 03:00 CEST, the repeated 02:30 fires once', async () => {
  for (const [start, want] of [
    ['2026-03-27T12:00:00Z', ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']],
    ['2026-10-23T12:00:00Z', ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']],
  ] as const) {
    const w = await ContractWorld.open({ clock: new ManualClock(T(start)) });
    try {
      w.save(QUICK);
      const id = w.set({ name: 'nightly', ...quick, trigger: { kind: 'cron', cron: '30 2 * * *', timezone: 'Europe/Berlin' } });
      await w.settle();
      for (let i = 0; i < 3 * 24; i++) await w.advance(HOUR);
      const c = w.get(id);
      assert.deepEqual(iso(c.firings.map((f) => f.instant)).reverse(), [...want]);
      assert.deepEqual(c.skipped, [], 'on time, nothing skipped');
    } finally {
      await w.close();
    }
  }
});

test('closed for a day: reopening catches up per policy from the log; every instant fired or recorded as skipped', async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/k.db`;
    const clock = new ManualClock(T('2026-02-01T09:30:00Z'));
    let w = await ContractWorld.open({ clock, file });
    const ids: Record<string, string> = {};
    try {
      w.save(QUICK);
      ids['skip'] = w.set({ name: 'skip', ...quick, trigger: hourly, catchUp: { mode: 'skip' } });
      ids['latest'] = w.set({ name: 'latest', ...quick, trigger: hourly, catchUp: { mode: 'latest', windowMs: 6 * HOUR } });
      ids['all'] = w.set({ name: 'all', ...quick, trigger: hourly, overlap: 'allow', catchUp: { mode: 'all', windowMs: 6 * HOUR, cap: 3 } });
      await w.settle(); // the scheduler sees the new contracts and sets its timer
      await w.advance(HOUR); // 10:00 fires on time everywhere
    } finally {
      await w.close();
    }
    assert.equal(clock.nextTimer(), undefined, 'a closed kernel leaves no timer behind');
    clock.advance(24 * HOUR); // 10:30 the next day: 24 instants (11:00 … 10:00) missed
    w = await ContractWorld.open({ clock, file });
    try {
      await w.settle();
      const after10 = (id: string) => w.get(id).firings.filter((f) => f.instant > T('2026-02-01T10:00:00Z')).map((f) => f.instant);
      const accounted = (id: string) => after10(id).length + w.get(id).skipped.reduce((n, s) => n + (s.count ?? 0), 0);
      for (const id of Object.values(ids)) assert.equal(accounted(id), 24, `every missed instant is fired or skipped: ${JSON.stringify(w.get(id))}`);
      assert.deepEqual(after10(ids['skip']!), []);
      assert.deepEqual(w.get(ids['skip']!).skipped.map((s) => [s.reason, s.count]), [['missed', 24]]);
      assert.deepEqual(iso(after10(ids['latest']!)), ['2026-02-02T10:00:00.000Z']);
      assert.deepEqual(w.get(ids['latest']!).skipped.map((s) => [s.reason, s.count]).sort(), [['missed', 5], ['outside_window', 18]]);
      assert.deepEqual(iso(after10(ids['all']!)).reverse(), ['2026-02-02T08:00:00.000Z', '2026-02-02T09:00:00.000Z', '2026-02-02T10:00:00.000Z']);
      assert.deepEqual(w.get(ids['all']!).skipped.map((s) => [s.reason, s.count]).sort(), [['outside_window', 18], ['over_cap', 3]]);
      const all = w.get(ids['all']!);
      assert.ok(all.firings.every((f) => f.status === 'succeeded'), 'the caught-up runs ran');
      // Reopening again changes nothing: what was considered is in the log.
      await w.close();
      w = await ContractWorld.open({ clock, file });
      await w.settle();
      for (const id of Object.values(ids)) assert.equal(accounted(id), 24);
      assert.equal(clock.nextTimer() !== undefined && clock.nextTimer()! <= T('2026-02-02T11:00:00Z'), true);
      assert.deepEqual(w.errors, []);
    } finally {
      await w.close();
    }
  });
});

test('overlap: skip records the instant as skipped, buffer_one runs one later, allow runs them side by side', async () => {
  const w = await ContractWorld.open({ clock: new ManualClock(T('2026-01-01T00:30:00Z')) });
  try {
    w.save(SLOW);
    const slow = { workflow: 'slow', inputs: { ms: 150 * 60_000 }, trigger: hourly }; // each run takes 2.5 h
    const skip = w.set({ name: 'skip', ...slow, overlap: 'skip' });
    const buffer = w.set({ name: 'buffer', ...slow, overlap: 'buffer_one' });
    const allow = w.set({ name: 'allow', ...slow, overlap: 'allow' });
    await w.settle();
    for (let i = 0; i < 13; i++) await w.advance(15 * 60_000); // to 03:45
    const s = w.get(skip);
    assert.deepEqual(iso(s.firings.map((f) => f.instant)), ['2026-01-01T01:00:00.000Z']);
    assert.deepEqual(s.skipped.map((x) => [x.reason, new Date(x.first).toISOString()]).reverse(), [['overlap', '2026-01-01T02:00:00.000Z'], ['overlap', '2026-01-01T03:00:00.000Z']]);
    const b = w.get(buffer);
    // 01:00 runs until 03:30; 02:00 waits as the one buffered run and starts at 03:30; 03:00 finds one waiting: skipped.
    assert.deepEqual(b.firings.map((f) => [new Date(f.instant).toISOString(), f.status]).reverse(),
      [['2026-01-01T01:00:00.000Z', 'succeeded'], ['2026-01-01T02:00:00.000Z', 'running']]);
    assert.deepEqual(b.skipped.map((x) => [x.reason, new Date(x.first).toISOString()]), [['overlap', '2026-01-01T03:00:00.000Z']]);
    assert.equal(b.running, 1);
    const a = w.get(allow);
    assert.equal(a.firings.length, 3);
    assert.equal(a.running, 2, '02:00 and 03:00 still run');
    assert.deepEqual(a.skipped, []);
    assert.deepEqual(w.errors, []);
  } finally {
    await w.close();
  }
});

test('event trigger: a Forest node created with the tag fires once per node; other tags, other workspaces and replays do not', async () => {
  const w = await ContractWorld.open();
  try {
    w.save(QUICK);
    const id = w.set({ name: 'on urgent', ...quick, overlap: 'allow', trigger: { kind: 'event', type: 'forest.node_created', filter: { tags: 'urgent' } } });
    const other = createWorkspace(w.k, 'Other');
    const node = (tags: string[], workspaceId?: string) => (w.cmd('forest.node.create', { title: `n ${tags.join(' ')}`, body: '', tags, ...(workspaceId ? { workspaceId } : {}) }) as { nodeId: string }).nodeId;
    const a = node(['urgent']);
    node(['calm']);
    const b = node(['x', 'urgent']);
    node(['urgent'], other);
    await w.settle();
    let c = w.get(id);
    assert.equal(c.firings.length, 2);
    assert.ok(c.firings.every((f) => f.source === 'event' && f.status === 'succeeded'));
    const sessions = c.firings.map((f) => w.k.query('session.get', { sessionId: f.sessionId! }) as { id: string });
    assert.equal(sessions.length, 2);
    const envs = c.firings.map((f) => {
      const first = (w.k.systemQuery('session.events', { sessionId: f.sessionId!, limit: 1 }) as { payload: { env: { contract: { event: { payload: { nodeId: string } } } } } }[])[0]!;
      return first.payload.env.contract.event.payload.nodeId;
    });
    assert.deepEqual(envs.sort(), [a, b].sort(), 'the run reads the event that fired it');
    // A restarted scheduler looks again from the contract's set: nothing fires twice.
    w.scheduler.stop();
    w.startScheduler();
    await w.settle();
    c = w.get(id);
    assert.equal(c.firings.length, 2);
    node(['urgent']);
    await w.settle();
    assert.equal(w.get(id).firings.length, 3);
    assert.deepEqual(w.errors, []);
  } finally {
    await w.close();
  }
});
