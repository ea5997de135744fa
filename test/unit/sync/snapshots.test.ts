/**
 * Projection snapshots bound the cost of a late event: ingest re-derives from the newest snapshot
 * before it, not from the first event, and the result still equals a fresh rebuild.
 *
 * Invariants checked:
 * 1. A late event near the head replays the events after the snapshot before it (at most
 *    `snapshotEvery` more than those after the late event), not the whole log.
 * 2. A device that was away for long: its events land after its own chain head, and the snapshot
 *    kept at that "frontier" bounds the replay, although newer snapshots were taken meanwhile.
 * 3. After every re-derivation the projections' digests equal a rebuild's, and the Forest's search
 *    index (rebuilt, not copied, on restore) answers like a device that never re-derived.
 * 4. A rebuild drops every snapshot; a database that never ingests keeps none.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { memKernel, newKey, type Kernel } from '../../helpers/kernel.ts';
import type { WireEvent } from '../../../worker/kernel/log/envelope.ts';

const EVERY = 20;

/** Devices on one simulated wall clock (each with its own small offset). */
async function devices(n: number): Promise<{ ks: Kernel[]; tick(ms?: number): void; done(): Promise<void> }> {
  const world = { now: Date.UTC(2026, 5, 1) };
  const ks: Kernel[] = [];
  for (let i = 0; i < n; i++) ks.push(await memKernel({ clock: () => world.now + i * 3, snapshotEvery: EVERY }));
  return {
    ks,
    tick: (ms = 5) => void (world.now += ms),
    done: async () => { for (const k of ks) await k.close(); },
  };
}

let counter = 0;
/** A few Forest commands (create, update, link, tag), so every projection kind gets rows. */
function work(k: Kernel, n: number): void {
  for (let i = 0; i < n; i++) {
    const c = ++counter;
    const id = k.command({ type: 'forest.node.create', payload: { title: `note ${c}`, body: `body of ${c} with words`, tags: [`t${c % 3}`] }, idempotencyKey: newKey() }).value as { nodeId: string };
    if (c % 4 === 0) k.command({ type: 'forest.node.update', payload: { nodeId: id.nodeId, body: `changed ${c}` }, idempotencyKey: newKey() });
    if (c % 5 === 0) k.command({ type: 'workspace.create', payload: { name: `W${c}` }, idempotencyKey: newKey() });
  }
}

function everything(from: Kernel): WireEvent[] {
  return from.status().devices.flatMap((d) => from.exportChain(d.device).events);
}

function snapshots(k: Kernel): number[] {
  return k.sql.all('SELECT pos FROM projection_snapshots ORDER BY pos').map((r) => Number(r['pos']));
}

async function assertLikeRebuild(k: Kernel, other: Kernel): Promise<void> {
  const search = (x: Kernel) => JSON.stringify(x.query('forest.search', { query: 'words' }));
  assert.equal(search(k), search(other), 'Forest search answers alike');
  const digest = k.digest();
  const report = k.rebuild();
  for (const p of report.projections) assert.equal(p.identical, true, `${p.name} equals a rebuild`);
  assert.deepEqual(k.digest(), digest);
  assert.deepEqual(snapshots(k), [], 'a rebuild drops every snapshot');
}

describe('projection snapshots', () => {
  test('a database that never ingests keeps no snapshot', async () => {
    const { ks: [a], done } = await devices(1);
    try {
      work(a!, 60);
      assert.deepEqual(snapshots(a!), []);
    } finally {
      await done();
    }
  });

  test('a late event near the head replays only the tail after the snapshot before it', async () => {
    const { ks: [a, c], tick, done } = await devices(2);
    try {
      // a and c sync after every burst; a snapshots every EVERY events.
      for (let round = 0; round < 12; round++) {
        work(a!, 6);
        tick();
        work(c!, 2);
        tick();
        await a!.ingest({ events: everything(c!) });
        await c!.ingest({ events: everything(a!) });
      }
      const head = a!.status().headSeq;
      assert.ok(head > 5 * EVERY, `a long log (${head} events)`);
      assert.ok(snapshots(a!).length >= 1, `snapshots kept: ${snapshots(a!).join(', ')}`);
      // c writes, a writes (later in time) before hearing of it: c's events land just before a's.
      work(c!, 2);
      tick();
      work(a!, 3);
      const r = await a!.ingest({ events: everything(c!) });
      assert.equal(r.reordered, true, 'c\'s events sort before a\'s newest');
      assert.ok(r.replayed < r.headSeq / 4, `replayed ${r.replayed} of ${r.headSeq}: from a snapshot, not from the start`);
      assert.ok(r.replayed <= EVERY + 3 + r.applied + 8, `at most snapshotEvery more than the tail (replayed ${r.replayed})`);
      await c!.ingest({ events: everything(a!) });
      await assertLikeRebuild(a!, c!);
    } finally {
      await done();
    }
  });

  test('a device that was away long: the snapshot at its chain head bounds the replay', async () => {
    const { ks: [a, b, c], tick, done } = await devices(3);
    try {
      const syncAll = async () => {
        for (const to of [a!, b!, c!]) for (const from of [a!, b!, c!]) if (to !== from) await to.ingest({ events: everything(from) });
      };
      for (let round = 0; round < 3; round++) {
        work(a!, 10); work(b!, 10); work(c!, 10);
        tick();
        await syncAll();
      }
      // b goes away and writes offline; a keeps working and syncing with c (taking snapshots).
      const away = a!.status().headSeq;
      work(b!, 5);
      for (let round = 0; round < 10; round++) {
        tick();
        work(a!, 8);
        await a!.ingest({ events: everything(c!) });
        work(c!, 2);
        await a!.ingest({ events: everything(c!) });
      }
      const before = a!.status().headSeq;
      assert.ok(snapshots(a!).length >= 2, `snapshots: ${snapshots(a!).join(', ')}`);
      assert.ok(snapshots(a!)[0]! <= away, `the snapshot at or before b's head (${away}) is kept: ${snapshots(a!).join(', ')}`);
      // b returns: its offline events land right after its head as a knows it.
      const r = await a!.ingest({ events: everything(b!) });
      assert.equal(r.reordered, true, 'b\'s events sort before a\'s newest');
      assert.ok(r.replayed <= before - away + r.applied + EVERY, `replayed ${r.replayed}: back to b's head, not to the start (${r.headSeq})`);
      assert.ok(r.replayed < r.headSeq - away / 2, `replayed ${r.replayed} of ${r.headSeq}: not the events from before b left`);
      await syncAll();
      await assertLikeRebuild(a!, b!);
      assert.deepEqual(b!.digest(), c!.digest());
    } finally {
      await done();
    }
  });
});
