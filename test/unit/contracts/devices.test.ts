/**
 * Two devices and one contract: both were closed, both open offline and catch up the same
 * instants, then merge their logs. Each instant ends with ONE firing — the same one, with the same
 * session, on both devices (the first in merge order) — the other device's run of it is recorded as
 * a duplicate and cancelled by its own device while it still runs; the projections are identical
 * on both. And a device that has seen another's firing of a key never fires that key again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../worker/engine/clock.ts';
import { ContractWorld, SLOW } from './harness.ts';
import type { Kernel } from '../../helpers/kernel.ts';

const HOUR = 3_600_000;
const T = (s: string): number => Date.parse(s);

async function send(from: Kernel, to: Kernel): Promise<void> {
  const { events, checkpoints } = from.exportChain(from.deviceId);
  const r = await to.ingest({ events, checkpoints });
  assert.deepEqual(r.refused, []);
}

test('two devices catch up the same instants offline; merged, each instant has one run', async () => {
  const clock = new ManualClock(T('2026-05-01T06:30:00Z'));
  const a = await ContractWorld.open({ clock, scheduler: false });
  const b = await ContractWorld.open({ clock, scheduler: false });
  try {
    a.save(SLOW);
    // Each run takes 10 hours: the duplicates still run when the logs merge.
    const id = a.set({ name: 'hourly', workflow: 'slow', inputs: { ms: 10 * HOUR }, trigger: { kind: 'cron', cron: '0 * * * *' }, overlap: 'allow', catchUp: { mode: 'all', windowMs: 12 * HOUR, cap: 24 } });
    await send(a.k, b.k); // B knows the workflow and the contract, then both devices close
    clock.advance(5 * HOUR); // 11:30: 07:00 … 11:00 were missed by every device
    a.startScheduler();
    b.startScheduler();
    await a.settle();
    await b.settle();
    const keys = (w: ContractWorld) => w.get(id).firings.map((f) => f.key).sort();
    assert.equal(a.get(id).firings.length, 5);
    assert.deepEqual(keys(a), keys(b), 'both fired the same five instants, under the same keys');
    const ownA = a.get(id).firings.map((f) => f.sessionId);
    const ownB = b.get(id).firings.map((f) => f.sessionId);
    assert.equal(new Set([...ownA, ...ownB]).size, 10, 'offline, each device started its own runs');

    await send(a.k, b.k);
    await send(b.k, a.k);
    await a.settle();
    await b.settle();
    for (const w of [a, b]) {
      const c = w.get(id);
      assert.equal(c.firings.length, 5, 'one firing per instant');
      assert.equal(c.duplicates.length, 5, 'the other device\'s runs are recorded as duplicates');
    }
    assert.deepEqual(a.get(id).firings.map((f) => [f.key, f.sessionId]), b.get(id).firings.map((f) => [f.key, f.sessionId]), 'the same run of each instant on both devices');
    const winners = new Set(a.get(id).firings.map((f) => f.device));
    assert.equal(winners.size, 1, 'the first in merge order: one device\'s firings win every instant here');
    const loser = winners.has(a.k.deviceId) ? b : a;
    const winner = loser === a ? b : a;
    // The losing device cancelled its duplicate runs; the winner's runs go on.
    for (const d of loser.get(id).duplicates) assert.equal(loser.sessionStatus(d.sessionId), 'cancelled', d.sessionId);
    for (const f of winner.get(id).firings) assert.equal(winner.sessionStatus(f.sessionId!), 'running');
    await send(loser.k, winner.k);
    await winner.settle();
    assert.deepEqual(a.k.digest(['contracts']), b.k.digest(['contracts']), 'identical contract projections on both devices');
    assert.equal(winner.get(id).running, 5);

    // A device that has the other's firing of a key never fires it again (the next hour: B lags, A fires).
    const home = a; // A set the contract: it fires on time; B looks 90 s later
    await a.advance(30 * 60_000);
    await b.settle();
    await send(a.k, b.k);
    await b.advance(5 * 60_000);
    const at12 = (w: ContractWorld) => w.get(id).firings.filter((f) => f.instant === T('2026-05-01T12:00:00Z'));
    assert.equal(at12(home).length, 1);
    assert.deepEqual(at12(b).map((f) => f.sessionId), at12(a).map((f) => f.sessionId), 'B took A\'s firing of 12:00 as the run');
    assert.equal(b.get(id).duplicates.length, 5, 'and started no run of its own');
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
  } finally {
    await a.close();
    await b.close();
  }
});
