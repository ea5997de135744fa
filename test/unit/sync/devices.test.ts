/**
 * The devices of a log: named, added, removed. A removal takes effect at its place in the merge
 * order, on every device, whatever order the events arrive in.
 *
 * Invariants checked:
 * 1. device.list shows every device with its name, chain head, who added it, whether it is this
 *    one; names travel by sync.
 * 2. After A removes B, what B wrote later (in merge order) is refused by ingest on A and never
 *    applied anywhere; what B wrote before stays. A third device that got B's later events
 *    first drops them from its projections when the removal arrives; all end with identical
 *    digests, equal to a rebuild. A later event that arrives ahead of a gap in B's chain waits
 *    (parked) like any other: the events before the removal in the gap still apply when they come.
 *    Holding B's later events or not makes no difference to what is written afterwards either:
 *    merge positions and stream versions count only the events that count.
 *    Two devices that remove each other at once: the earlier removal in merge order counts on
 *    every device, also on one that got the later one first (it refuses nothing of the other).
 * 3. The removed device, once it knows, can change nothing (`read_only`, a sentence saying why).
 * 4. A device cannot remove itself; an unknown device is `not_found`; removing twice is
 *    `invalid_state`.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { memKernel, newKey, createWorkspace, type Kernel } from '../../helpers/kernel.ts';
import type { DeviceRow } from '../../../worker/kernel/devices.ts';
import { KernelError } from '../../../worker/kernel/errors.ts';

/** Three devices on one simulated wall clock. */
async function trio(): Promise<{ a: Kernel; b: Kernel; c: Kernel; tick(): void; done(): Promise<void> }> {
  const world = { now: Date.UTC(2026, 5, 1) };
  const ks = await Promise.all([0, 1, 2].map((i) => memKernel({ clock: () => world.now + i })));
  return { a: ks[0]!, b: ks[1]!, c: ks[2]!, tick: () => void (world.now += 10), done: async () => { for (const k of ks) await k.close(); } };
}

async function send(from: Kernel, to: Kernel, only?: (e: { device: string }) => boolean): Promise<void> {
  for (const d of from.status().devices) {
    const chain = from.exportChain(d.device);
    if (!only) await to.ingest(chain);
    else if (chain.events.some(only)) await to.ingest({ events: chain.events.filter(only), checkpoints: [] });
  }
}

const note = (k: Kernel) => k.command({ type: 'forest.node.create', payload: { title: 'n', body: '', tags: [] }, idempotencyKey: newKey() });
const devices = (k: Kernel) => k.query('device.list', {}) as DeviceRow[];
const names = (k: Kernel) => (k.query('workspace.list', {}) as { name: string }[]).map((w) => w.name).sort();
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof KernelError ? err.code : String(err);
  }
  return 'no error';
};

describe('devices', () => {
  test('device.list shows each device, this one marked, names and who added whom travelling by sync', async () => {
    const { a, b, done } = await trio();
    try {
      a.command({ type: 'device.name', payload: { name: 'Laptop' }, idempotencyKey: newKey() });
      a.command({ type: 'device.add', payload: { device: b.deviceId, name: 'Tablet' }, idempotencyKey: newKey() });
      await send(a, b);
      const seen = devices(b);
      const la = seen.find((d) => d.device === a.deviceId)!;
      const tb = seen.find((d) => d.device === b.deviceId)!;
      assert.equal(la.name, 'Laptop');
      assert.equal(la.self, false);
      assert.ok(la.deviceSeq >= 3 && la.headHash && la.lastSeenAt && la.keyId);
      assert.equal(tb.self, true);
      assert.equal(tb.name, 'Tablet');
      assert.equal(tb.addedBy, a.deviceId);
      assert.equal(code(() => a.command({ type: 'device.add', payload: { device: a.deviceId, name: 'x' }, idempotencyKey: newKey() })), 'invalid_state');
      assert.equal(code(() => a.command({ type: 'device.name', payload: { device: 'dev-nobody', name: 'x' }, idempotencyKey: newKey() })), 'not_found');
    } finally {
      await done();
    }
  });

  test('a removed device: its later events are refused and never applied, on every device, whatever the order', async () => {
    const { a, b, c, tick, done } = await trio();
    try {
      createWorkspace(b, 'B before');
      await send(b, a);
      await send(b, c);
      tick();
      a.command({ type: 'device.revoke', payload: { device: b.deviceId, reason: 'tablet lost' }, idempotencyKey: newKey() });
      tick();
      createWorkspace(b, 'B after'); // B has not heard of its removal yet
      // C gets B's later event first, A's removal after it (the removal sorts before it).
      await send(b, c);
      assert.ok(names(c).includes('B after'), 'applied while C did not know');
      await send(a, c, (e) => e.device === a.deviceId);
      assert.ok(!names(c).includes('B after'), 'dropped once the removal arrived');
      assert.ok(names(c).includes('B before'), 'what B did before stays');
      // A refuses it outright.
      const r = await a.ingest(b.exportChain(b.deviceId));
      assert.equal(r.refused[0]?.reason, 'device_revoked', JSON.stringify(r.refused));
      assert.ok(!names(a).includes('B after'));
      // Once A and C hold each other's chains, they derive the same (C keeps B's later event in
      // its log, unapplied; A never took it in).
      await send(c, a, (e) => e.device === c.deviceId);
      await send(a, c, (e) => e.device === a.deviceId);
      assert.deepEqual(a.digest(), c.digest());
      for (const k of [a, c]) for (const p of k.rebuild().projections) assert.equal(p.identical, true, p.name);
      const row = devices(c).find((d) => d.device === b.deviceId)!;
      assert.equal(row.revoked?.by, a.deviceId);
      assert.equal(row.revoked?.reason, 'tablet lost');
      assert.equal(row.ignoredEvents, 1);
      // B, once it knows, can change nothing, and says why.
      await send(a, b, (e) => e.device === a.deviceId);
      let message = '';
      try {
        createWorkspace(b, 'B later still');
      } catch (err) {
        assert.ok(err instanceof KernelError && err.code === 'read_only');
        message = err.message;
      }
      assert.match(message, /removed from the workspace/);
    } finally {
      await done();
    }
  });

  test('a removed device\'s later event that arrives ahead of a gap waits: the earlier events still apply when they come', async () => {
    const { a, b, tick, done } = await trio();
    try {
      createWorkspace(b, 'B1');
      await send(b, a);
      tick();
      createWorkspace(b, 'B2'); // before the removal, not sent yet
      tick();
      a.command({ type: 'device.revoke', payload: { device: b.deviceId }, idempotencyKey: newKey() });
      tick();
      createWorkspace(b, 'B3'); // after it
      const chain = b.exportChain(b.deviceId).events;
      // B3 alone first (a relay's chunks can arrive in any order): B2 is missing, so B3 waits.
      const early = await a.ingest({ events: chain.slice(-1), checkpoints: [] });
      assert.deepEqual(early.refused, []);
      assert.equal(early.parked, 1);
      const r = await a.ingest(b.exportChain(b.deviceId));
      assert.deepEqual(r.refused.map((x) => [x.reason, x.deviceSeq]), [['device_revoked', chain.at(-1)!.deviceSeq]]);
      assert.ok(names(a).includes('B2'), 'what B wrote before its removal applies');
      assert.ok(!names(a).includes('B3'), 'what it wrote after does not');
    } finally {
      await done();
    }
  });

  test('a device that held a removed device\'s later events derives the same positions and versions as one that never took them in', async () => {
    const { a, b, c, tick, done } = await trio();
    try {
      const w = createWorkspace(b, 'W');
      await send(b, a);
      await send(b, c);
      tick();
      a.command({ type: 'device.revoke', payload: { device: b.deviceId }, idempotencyKey: newKey() });
      tick();
      b.command({ type: 'workspace.rename', payload: { workspaceId: w, name: 'B after' }, idempotencyKey: newKey() });
      await send(b, c); // C holds B's later rename (in W's stream), A never will
      await send(a, c, (e) => e.device === a.deviceId);
      tick();
      a.command({ type: 'workspace.rename', payload: { workspaceId: w, name: 'A later' }, idempotencyKey: newKey() });
      note(a);
      await send(a, c, (e) => e.device === a.deviceId);
      assert.deepEqual(c.digest(), a.digest(), 'versions (stream positions) and node ids (positions) agree');
      for (const p of c.rebuild().projections) assert.equal(p.identical, true, p.name);
      // The version C shows is the one its expectedVersion checks against.
      const version = (k: Kernel) => (k.query('workspace.list', {}) as { id: string; version: number }[]).find((x) => x.id === w)!.version;
      c.command({ type: 'workspace.rename', payload: { workspaceId: w, name: 'C' }, expectedVersion: version(c), idempotencyKey: newKey() });
      note(c);
      await send(c, a, (e) => e.device === c.deviceId);
      assert.deepEqual(c.digest(), a.digest());
    } finally {
      await done();
    }
  });

  test('two devices remove each other at once: the earlier removal counts everywhere, whichever arrives first', async () => {
    const { a, b, c, tick, done } = await trio();
    try {
      createWorkspace(a, 'A');
      createWorkspace(b, 'B');
      for (const [from, to] of [[a, b], [b, a], [a, c], [b, c]] as const) await send(from, to);
      tick();
      a.command({ type: 'device.revoke', payload: { device: b.deviceId }, idempotencyKey: newKey() }); // earlier: counts
      tick();
      b.command({ type: 'device.revoke', payload: { device: a.deviceId }, idempotencyKey: newKey() }); // B did not know yet
      tick();
      createWorkspace(a, 'A later');
      // C gets B's removal of A first, then A's chain: its removal of B (earlier) voids B's, so
      // nothing of A is refused.
      await send(b, c, (e) => e.device === b.deviceId);
      const r = await c.ingest(a.exportChain(a.deviceId));
      assert.deepEqual(r.refused, []);
      assert.ok(names(c).includes('A later'));
      assert.deepEqual(devices(c).filter((d) => d.revoked).map((d) => [d.device, d.revoked!.by]), [[b.deviceId, a.deviceId]]);
      await send(b, a, (e) => e.device === b.deviceId); // refused on A: B's removal of A came after B's own
      assert.deepEqual(a.digest(), c.digest());
      await send(a, b, (e) => e.device === a.deviceId);
      assert.equal(code(() => createWorkspace(b, 'B later')), 'read_only');
    } finally {
      await done();
    }
  });

  test('a device cannot remove itself, nor an unknown one, nor one twice', async () => {
    const { a, b, done } = await trio();
    try {
      createWorkspace(b, 'B'); // known to A by its chain (a device that never wrote has none)
      await send(b, a);
      const revoke = (device: string) => a.command({ type: 'device.revoke', payload: { device }, idempotencyKey: newKey() });
      assert.equal(code(() => revoke(a.deviceId)), 'invalid_state');
      assert.equal(code(() => revoke('dev-unknown')), 'not_found');
      revoke(b.deviceId);
      assert.equal(code(() => revoke(b.deviceId)), 'invalid_state');
    } finally {
      await done();
    }
  });
});
