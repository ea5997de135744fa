/**
 * A device that joins by sync takes in the older history of the others without re-deriving its
 * projections: it has no event of its own until it writes (its signing key is registered with its
 * first write, decision 31), so nothing of its own sorts after what it ingests.
 *
 * Invariants checked:
 * 1. A fresh kernel that ingests another device's 5,000 events in calls of 500, in merge order,
 *    never re-derives (replayed 0, reordered false for every call), and writes nothing of its own.
 * 2. Its first own command registers its key first, in the same transaction (one chain position
 *    before the command's event, one audit entry each); a second command registers nothing.
 * 3. After the two devices exchange their chains both ways (with signed checkpoints), verify() is
 *    ok on both and their projections are identical.
 * 4. A database opened and closed without a write holds no event, no audit entry, no checkpoint.
 * 5. device.list lists the newcomer itself before it writes (so it can be named).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { eventCount, memKernel, newKey, withTempDir, type Kernel } from '../../helpers/kernel.ts';
import { openKernel } from '../../../worker/node/index.ts';
import type { IngestReport } from '../../../worker/kernel/kernel.ts';
import type { DeviceRow } from '../../../worker/kernel/devices.ts';

const T0 = Date.UTC(2026, 2, 1);
const EVENTS = 5_000;
const CALL = 500;

/** `k`'s own chain after `after`, as a relay hands it over in calls of `size` events. */
function chainCalls(k: Kernel, size: number, after = 0): ReturnType<Kernel['exportChain']>[] {
  const out: ReturnType<Kernel['exportChain']>[] = [];
  for (;;) {
    const x = k.exportChain(k.deviceId, after, size);
    if (x.events.length === 0) return out;
    out.push(x);
    after = x.events[x.events.length - 1]!.deviceSeq;
  }
}

function keyEvents(k: Kernel, device: string) {
  return k.readEvents(0, 10_000, { types: ['device.key_registered'] }).filter((e) => e.device === device);
}

describe('a newcomer joining by sync', () => {
  test("ingests another device's history in merge order without re-deriving, then registers its key with its first write", async () => {
    const clock = { src: T0, dst: T0 + 60_000 };
    const src = await memKernel({ clock: () => clock.src });
    const dst = await memKernel({ clock: () => clock.dst });
    try {
      // The older device's history: EVENTS events (its key registration and workspaces).
      const cmds = Array.from({ length: EVENTS - 1 }, (_, i) => ({ type: 'workspace.create', payload: { name: `W${i}` }, idempotencyKey: newKey() }));
      for (let i = 0; i < cmds.length; i += 1000) src.commandBatch(cmds.slice(i, i + 1000));
      await src.checkpoint();
      assert.equal(src.status().deviceSeq, EVENTS);

      const calls = chainCalls(src, CALL);
      assert.equal(calls.length, EVENTS / CALL);
      const reports: IngestReport[] = [];
      for (const c of calls) reports.push(await dst.ingest(c));
      for (const [i, r] of reports.entries()) {
        assert.deepEqual({ call: i, applied: r.applied, refused: r.refused.length, reordered: r.reordered, replayed: r.replayed },
          { call: i, applied: CALL, refused: 0, reordered: false, replayed: 0 });
      }
      assert.equal(eventCount(dst), EVENTS);
      assert.equal(dst.status().deviceSeq, 0, 'the newcomer wrote nothing of its own');
      assert.equal(dst.auditEntries().length, 0);
      assert.deepEqual(dst.digest(), src.digest());
      const self = (dst.query('device.list', {}) as DeviceRow[]).find((d) => d.self);
      assert.deepEqual(self && [self.device, self.deviceSeq, self.keyId], [dst.deviceId, 0, null], 'listed (to be named) before it writes');

      // Its first own command: the key registration first, then the command, one transaction.
      const audit = dst.auditEntries().length;
      const r = dst.command({ type: 'workspace.create', payload: { name: 'from the newcomer' }, idempotencyKey: newKey() });
      assert.equal(r.events.length, 1, 'the result is the command\'s own');
      const own = dst.exportChain(dst.deviceId).events;
      assert.deepEqual(own.map((e) => [e.deviceSeq, e.type]), [[1, 'device.key_registered'], [2, 'workspace.created']]);
      assert.equal((own[0]!.payload as { keyId: string }).keyId, dst.status().keyId);
      assert.equal(dst.auditEntries().length, audit + 1, 'the registration is audited (workspace.create is not)');
      dst.command({ type: 'workspace.create', payload: { name: 'again' }, idempotencyKey: newKey() });
      assert.equal(keyEvents(dst, dst.deviceId).length, 1, 'registered once');
      await dst.checkpoint();

      // Both ways, with signed checkpoints; the older device's clock has moved on too.
      clock.src = clock.dst + 1_000;
      for (const c of chainCalls(dst, CALL)) {
        const rep = await src.ingest(c);
        assert.deepEqual(rep.refused, []);
        assert.ok(rep.checkpoints >= 1, 'the newcomer\'s checkpoint travels and verifies');
      }
      src.command({ type: 'workspace.create', payload: { name: 'after the exchange' }, idempotencyKey: newKey() });
      for (const c of chainCalls(src, CALL, EVENTS)) assert.deepEqual((await dst.ingest(c)).refused, []);
      assert.equal(keyEvents(src, dst.deviceId).length, 1);
      assert.equal((src.query('device.list', {}) as DeviceRow[]).find((d) => d.device === dst.deviceId)?.keyId, dst.status().keyId);
      for (const k of [src, dst]) {
        const v = await k.verify();
        assert.equal(v.ok, true, JSON.stringify(v.broken));
      }
      assert.deepEqual(dst.digest(), src.digest());
    } finally {
      await src.close();
      await dst.close();
    }
  });

  test('a database opened, pinged and closed without a write holds nothing, also after reopening', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'k.sqlite');
      for (let open = 0; open < 2; open++) {
        const k = await openKernel({ storage: { file } });
        try {
          k.command({ type: 'kernel.ping', payload: {} });
          assert.equal(eventCount(k), 0, 'a command that appends nothing registers nothing');
          assert.equal(k.status().deviceSeq, 0);
        } finally {
          await k.close();
        }
      }
      const k = await openKernel({ storage: { file } });
      try {
        assert.deepEqual([eventCount(k), k.auditEntries().length, k.checkpoints().length], [0, 0, 0]);
        assert.equal((await k.verify()).ok, true);
      } finally {
        await k.close();
      }
    });
  });
});
