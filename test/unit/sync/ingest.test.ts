/**
 * kernel.ingest(): another device's chain, tried the way an attacker (or a broken relay) would.
 *
 * Invariants checked:
 * 1. An honest chain applies; sent again it is all duplicates; sent out of order it parks and
 *    applies when the gap fills.
 * 2. Forged (a changed field), reordered (a swapped pair), truncated-and-extended (a gap filled by
 *    a different event), replayed (an event copied to a new position) and rewritten (a different
 *    event at a position already here) chains are refused: the reason and position are named,
 *    the chain is quarantined (visible), nothing of it is applied now or later.
 * 3. Events claiming to be this device's and checkpoints with a bad signature are refused.
 * 4. A malformed batch is `invalid_events` and changes nothing.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { memKernel, newKey, createWorkspace, type Kernel } from '../../helpers/kernel.ts';
import { hashEvent, type WireEvent } from '../../../worker/kernel/log/envelope.ts';
import { KernelError } from '../../../worker/kernel/errors.ts';

async function pair(): Promise<{ a: Kernel; b: Kernel; chain: WireEvent[]; done(): Promise<void> }> {
  const a = await memKernel();
  const b = await memKernel();
  for (let i = 0; i < 6; i++) createWorkspace(a, `A${i}`);
  const chain = a.exportChain(a.deviceId).events;
  return { a, b, chain, done: async () => { await a.close(); await b.close(); } };
}

function reseal(e: WireEvent, changes: Partial<WireEvent>): WireEvent {
  const { hash: _h, ...rest } = { ...e, ...changes };
  return { ...rest, hash: hashEvent(rest) };
}

const nextHlc = (h: string) => (BigInt(`0x${h}`) + 1n).toString(16).padStart(16, '0');

const names = (k: Kernel) => (k.query('workspace.list', {}) as { name: string }[]).map((w) => w.name).sort();

describe('ingest', () => {
  test('an honest chain applies; again it is duplicates; shuffled it parks and fills in', async () => {
    const { a, b, chain, done } = await pair();
    try {
      const c = await memKernel();
      const later = chain.slice(3);
      const r1 = await c.ingest({ events: later });
      assert.equal(r1.applied, 0);
      assert.equal(r1.parked, later.length);
      const r2 = await c.ingest({ events: chain.slice(0, 3) });
      assert.equal(r2.applied, chain.length, 'the gap filled: parked events applied too');
      assert.deepEqual(names(c), names(a));
      await c.close();

      const r = await b.ingest({ events: chain });
      assert.equal(r.applied, chain.length);
      assert.deepEqual(names(b), names(a));
      const again = await b.ingest({ events: [...chain, ...chain] });
      assert.equal(again.applied, 0);
      assert.equal(again.duplicates, chain.length * 2);
      assert.equal((await b.verify()).ok, true);
    } finally {
      await done();
    }
  });

  const attacks: [string, (c: WireEvent[]) => WireEvent[], string][] = [
    ['a changed payload (hash kept)', (c) => c.map((e, i) => (i === 3 ? { ...e, payload: { ...(e.payload as object), name: 'Evil' } } : e)), 'hash_mismatch'],
    ['a changed payload, re-hashed', (c) => c.map((e, i) => (i === 3 ? reseal(e, { payload: { ...(e.payload as object), name: 'Evil' } }) : e)), 'prev_mismatch'],
    ['two events swapped (positions kept)', (c) => c.map((e, i) => (i === 3 ? { ...c[4]!, deviceSeq: e.deviceSeq } : i === 4 ? { ...c[3]!, deviceSeq: e.deviceSeq } : e)), 'hash_mismatch'],
    ['an event replayed at a new position, re-hashed', (c) => [...c, reseal(c[2]!, { deviceSeq: c.length + 1, prev: c[c.length - 1]!.hash, hlc: nextHlc(c[c.length - 1]!.hlc) })], 'duplicate_id'],
    ['a clock that runs backwards, re-hashed', (c) => c.map((e, i) => (i === 3 ? reseal(e, { hlc: c[1]!.hlc }) : e)), 'hlc_not_increasing'],
  ];
  for (const [what, tamper, reason] of attacks) {
    test(`a chain with ${what} is refused (${reason}) and quarantined; nothing of it applies`, async () => {
      const { a, b, chain, done } = await pair();
      try {
        const before = b.status().headSeq;
        const r = await b.ingest({ events: tamper(chain) });
        assert.equal(r.refused.length, 1, JSON.stringify(r));
        assert.equal(r.refused[0]!.code, 'chain_refused');
        assert.equal(r.refused[0]!.device, a.deviceId);
        assert.equal(r.refused[0]!.reason, reason, r.refused[0]!.message);
        assert.equal(r.applied, 0);
        assert.equal(b.status().headSeq, before);
        assert.equal(b.quarantined().length, 1);
        // Later, even the honest chain is refused: the device is quarantined.
        const again = await b.ingest({ events: chain });
        assert.equal(again.applied, 0);
        assert.equal(again.refused[0]!.reason, 'quarantined');
        assert.equal((await b.verify()).ok, true);
      } finally {
        await done();
      }
    });
  }

  test('a chain truncated and re-hashed to look whole is caught by the signed checkpoint', async () => {
    const { a, b, chain, done } = await pair();
    try {
      await a.checkpoint();
      const { checkpoints } = a.exportChain(a.deviceId);
      const out: WireEvent[] = [];
      for (const e of [...chain.slice(0, 3), ...chain.slice(4)]) {
        out.push(reseal(e, { deviceSeq: out.length + 1, prev: out.length ? out[out.length - 1]!.hash : e.prev }));
      }
      const forgedCheckpoint = { ...checkpoints[0]!, deviceSeq: out.length, headHash: out[out.length - 1]!.hash };
      // (Without any checkpoint a consistently re-hashed chain is indistinguishable from an honest
      // one to a device that never saw the original: the signature is what anchors it.)
      for (const cps of [[forgedCheckpoint]]) {
        const c = await memKernel();
        const r = await c.ingest({ events: out, checkpoints: cps });
        assert.equal(r.refused[0]?.reason, 'checkpoint_invalid', JSON.stringify(r));
        assert.equal(r.applied, 0);
        await c.close();
      }
      assert.ok(b);
    } finally {
      await done();
    }
  });

  test('an event cut out of the middle stops the chain there: what follows waits, nothing past the gap applies', async () => {
    const { b, chain, done } = await pair();
    try {
      const r = await b.ingest({ events: [...chain.slice(0, 3), ...chain.slice(4)] });
      assert.equal(r.applied, 3);
      assert.equal(r.parked, chain.length - 4);
      assert.equal(b.status().devices.find((d) => d.device === chain[0]!.device)?.deviceSeq, 3);
    } finally {
      await done();
    }
  });

  test('a rewritten history (a different event at a position already here) is refused as a fork', async () => {
    const { b, chain, done } = await pair();
    try {
      await b.ingest({ events: chain });
      const forged = reseal(chain[4]!, { payload: { ...(chain[4]!.payload as object), name: 'Rewritten' } });
      const r = await b.ingest({ events: [forged] });
      assert.equal(r.refused[0]!.reason, 'fork');
    } finally {
      await done();
    }
  });

  test("events claiming to be this device's are refused", async () => {
    const { a, chain, done } = await pair();
    try {
      const own = a.exportChain(a.deviceId).events;
      const r0 = await a.ingest({ events: own });
      assert.equal(r0.duplicates, own.length, 'its own events sent back are duplicates');
      const fake = reseal(chain[1]!, { payload: { ...(chain[1]!.payload as object), name: 'Impostor' } });
      const r = await a.ingest({ events: [fake] });
      assert.equal(r.refused[0]!.reason, 'own_device');
    } finally {
      await done();
    }
  });

  test('a checkpoint with a bad signature refuses the chain; a good one is stored', async () => {
    const { a, b, done } = await pair();
    try {
      await a.checkpoint();
      const { events, checkpoints } = a.exportChain(a.deviceId);
      assert.equal(checkpoints.length, 1);
      const bad = { ...checkpoints[0]!, signature: 'ab'.repeat(64) };
      const r = await b.ingest({ events, checkpoints: [bad] });
      assert.equal(r.refused[0]!.reason, 'checkpoint_invalid');
      assert.equal(r.applied, 0);
      const c = await memKernel();
      const ok = await c.ingest({ events, checkpoints });
      assert.equal(ok.checkpoints, 1);
      assert.equal((await c.verify()).ok, true);
      await c.close();
    } finally {
      await done();
    }
  });

  test('a malformed batch is invalid_events and changes nothing', async () => {
    const { b, chain, done } = await pair();
    try {
      const before = b.status().headSeq;
      for (const input of [null, { events: 'x' }, { events: [{ ...chain[0]!, extra: 1 }] }, { events: [{ ...chain[0]!, hlc: 'zz' }] }]) {
        await assert.rejects(b.ingest(input), (err: unknown) => err instanceof KernelError && err.code === 'invalid_events');
      }
      assert.equal(b.status().headSeq, before);
    } finally {
      await done();
    }
  });

  test('an event sorting before applied ones re-derives projections equal to a rebuild', async () => {
    const a = await memKernel({ clock: () => Date.UTC(2026, 0, 1) });
    const b = await memKernel({ clock: () => Date.UTC(2026, 0, 2) });
    try {
      const id = createWorkspace(b, 'Later');
      b.command({ type: 'workspace.rename', payload: { workspaceId: id, name: 'Later2' }, idempotencyKey: newKey() });
      createWorkspace(a, 'Earlier');
      const r = await b.ingest({ events: a.exportChain(a.deviceId).events });
      assert.equal(r.reordered, true);
      const digest = b.digest();
      for (const p of b.rebuild().projections) assert.equal(p.identical, true, p.name);
      assert.deepEqual(b.digest(), digest);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('two devices renaming one workspace concurrently: the later in merge order wins on both, and the conflict is recorded', async () => {
    const a = await memKernel({ clock: () => Date.UTC(2026, 0, 1, 10) });
    const b = await memKernel({ clock: () => Date.UTC(2026, 0, 1, 11) });
    try {
      const id = createWorkspace(a, 'Shared');
      await b.ingest(a.exportChain(a.deviceId));
      a.command({ type: 'workspace.rename', payload: { workspaceId: id, name: 'From A' }, idempotencyKey: newKey() });
      b.command({ type: 'workspace.rename', payload: { workspaceId: id, name: 'From B' }, idempotencyKey: newKey() });
      await a.ingest(b.exportChain(b.deviceId));
      await b.ingest(a.exportChain(a.deviceId));
      for (const k of [a, b]) {
        assert.deepEqual(names(k), ['Default', 'From B'], 'B wrote later (its clock is ahead): its rename wins everywhere');
        const conflicts = k.query('conflicts.list', {}) as { stream: string; type: string; device: string; unseen: number }[];
        assert.equal(conflicts.length, 1);
        assert.equal(conflicts[0]!.stream, `workspace:${id}`);
        assert.equal(conflicts[0]!.device, b.deviceId);
        assert.equal(conflicts[0]!.unseen, 1);
        assert.match((conflicts[0] as unknown as { resolution: string }).resolution, /later in merge order wins/);
      }
      assert.deepEqual(a.digest(), b.digest());
      // A rename that had seen the other one is no conflict.
      a.command({ type: 'workspace.rename', payload: { workspaceId: id, name: 'Settled' }, idempotencyKey: newKey() });
      await b.ingest(a.exportChain(a.deviceId));
      assert.equal((b.query('conflicts.list', {}) as unknown[]).length, 1);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
