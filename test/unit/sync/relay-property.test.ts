/**
 * The seeded merge property of merge-property.test.ts, now over the real sync protocol: each
 * device is a kernel + a SyncClient + its own Y.Doc, and a simulated relay holds its own Y.Doc
 * behind a network that drops, duplicates, reorders and delays the Yjs sync messages (step 1,
 * step 2, updates, as y-websocket sends them), with partitions, reconnects, app restarts (a fresh
 * doc and client over the same database) and relay restarts that rebuild the relay's doc from
 * its stored update log. In half the seeds a device is removed (test/helpers/sync-revocation.ts):
 * one device removes another at a random step, or two remove each other (or both the third) at
 * about the same time; the removed device writes on until it learns, then its commands are
 * `read_only`. After healing, every device not removed holds the same events that count in the
 * same merge order, with identical projections (equal to a kernel that never had the removed
 * device's later events), every such client says "up to date", the removed device is read-only,
 * and no chunk key was ever sealed to two different values.
 *
 * Seeds: 300 in CI (the issue asks for a few hundred); KINGDOM_NIGHTLY=1 runs 1,000 and KINGDOM_SEED=n replays one. The schedule,
 * clocks, Yjs client ids and the epoch key are drawn from the seed, and the world waits for every
 * client to go idle after each step, so a seed replays the same schedule; device ids (random
 * UUIDs) and the kernels' background checkpoint timers are not, so details of a replay may
 * differ. A failing seed names itself.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { mulberry32 } from '../../helpers/prng.ts';
import { memKernel, type Kernel } from '../../helpers/kernel.ts';
import { act } from '../../helpers/device-commands.ts';
import { World, totals } from '../../helpers/relay-world.ts';
import { Revocations, revocationTotals } from '../../helpers/sync-revocation.ts';
import { deriveRoom } from '../../../worker/sync/keys.ts';
import { parseChunkKey } from '../../../worker/sync/chunks.ts';
import { CHUNKS_MAP } from '../../../worker/sync/client.ts';

const SEEDS = process.env['KINGDOM_SEED'] ? [Number(process.env['KINGDOM_SEED'])] : Array.from({ length: process.env['KINGDOM_NIGHTLY'] ? 1000 : 300 }, (_, i) => i + 1);
const DEVICES = 3;

async function runSeed(seed: number): Promise<void> {
  const rnd = mulberry32(seed);
  const epoch = Uint8Array.from({ length: 32 }, () => Math.floor(rnd() * 256));
  const world = new World(rnd, await deriveRoom(epoch));
  const clock = { now: Date.UTC(2026, 0, 1) };
  const skew = rnd() < 0.5 ? 5000 : 20;
  for (let i = 0; i < DEVICES; i++) {
    const offset = Math.floor(rnd() * skew);
    const k = await memKernel({ clock: () => clock.now + offset + Math.floor(rnd() * 3), snapshotEvery: 2 + Math.floor(rnd() * 12), checkpointEvery: 2 + Math.floor(rnd() * 10) });
    const ingest = k.ingest.bind(k);
    k.ingest = async (input) => {
      const report = await ingest(input);
      totals.ingests++;
      if (report.reordered) totals.reordered++;
      if (report.parked > 0) totals.parked++;
      return report;
    };
    await world.startApp(i, k, offset);
    if (rnd() < 0.7) world.connect(i);
  }
  const where = `seed ${seed} (replay with KINGDOM_SEED=${seed})`;
  try {
    const steps = 50 + Math.floor(rnd() * 60);
    const revocations = new Revocations(seed, DEVICES, steps);
    for (let s = 0; s < steps; s++) {
      clock.now += 1 + Math.floor(rnd() * 5);
      revocations.step(s, world.devices.map((d) => d.k), where);
      const r = rnd();
      const i = Math.floor(rnd() * DEVICES);
      const d = world.devices[i]!;
      if (r < 0.45) act(rnd, d.k, s);
      else if (r < 0.8) for (let n = 1 + Math.floor(rnd() * 8); n > 0; n--) world.deliver(true);
      else if (r < 0.9) {
        if (d.conn === null) world.connect(i);
        else world.disconnect(i, true);
      } else if (r < 0.94) world.restartRelay();
      else if (r < 0.98) await world.startApp(i, d.k, d.offset);
      else await d.k.checkpoint();
      await world.quiesce();
    }
    // Heal: no more faults, everyone reconnects, messages flow in order until nothing moves.
    const heal = async () => {
      world.faults = false;
      for (const i of world.devices.keys()) {
        world.disconnect(i, true);
        world.connect(i);
      }
      for (let round = 0; ; round++) {
        assert.ok(round < 200, `${where}: the network never went quiet`);
        while (world.net.length > 0) world.deliver(false);
        await world.quiesce();
        if (world.net.length === 0) break;
      }
    };
    await heal();
    // A removal the devices could not make yet (they had not met): now, then heal again.
    while (revocations.finish(world.devices.map((d) => d.k), (k) => act(rnd, k, steps), where)) await heal();
    // A removed device is left out (its client says so; it takes nothing in once it knows).
    const kernels = world.devices.map((d) => d.k);
    const live = revocations.survivors(DEVICES).map((i) => world.devices[i]!);
    for (const d of live) {
      const s = d.client.status();
      assert.deepEqual(d.client.problems(), [], `${where}: problems on ${d.k.deviceId}`);
      assert.equal(s.state, 'up_to_date', `${where}: ${JSON.stringify(s)}`);
    }
    assert.deepEqual(world.conflicts, [], `${where}: a chunk key was sealed to two different values`);
    // The events that count (all but a removed device's after its removal), in one merge order.
    const order0 = revocations.applied(live[0]!.k, kernels);
    const digest0 = live[0]!.k.digest();
    for (const d of live.slice(1)) {
      assert.deepEqual(revocations.applied(d.k, kernels), order0, `${where}: merge order differs`);
      assert.deepEqual(d.k.digest(), digest0, `${where}: projections differ`);
    }
    await revocations.check(kernels, () => clock.now, where);
    // The relay's doc, rebuilt from its store, holds every device's whole chain.
    const rebuilt = new Y.Doc();
    Y.applyUpdate(rebuilt, Y.mergeUpdates(world.store));
    const keys = [...rebuilt.getMap(CHUNKS_MAP).keys()].map((key) => parseChunkKey(key)!);
    for (const d of world.devices) {
      const covered = new Set<number>();
      for (const key of keys) if (key.device === d.k.deviceId) for (let n = key.first; n <= key.last; n++) covered.add(n);
      assert.equal(covered.size, d.k.ownHead.deviceSeq, `${where}: the relay's store lacks part of ${d.k.deviceId}'s chain`);
    }
    // Every checkpoint travelled: each rides with the chunk of the event after it.
    const checkpointsOf = (k: Kernel, device: string) => k.checkpoints(0, 100_000).filter((c) => c.device === device && c.format === 2).map((c) => `${c.deviceSeq}:${c.signature}`).sort();
    for (const from of live) {
      const head = from.k.ownHead.deviceSeq;
      const expected = from.k.checkpoints(0, 100_000).filter((c) => c.device === from.k.deviceId && c.format === 2 && c.deviceSeq < head).map((c) => `${c.deviceSeq}:${c.signature}`).sort();
      for (const to of live) if (to !== from) assert.deepEqual(checkpointsOf(to.k, from.k.deviceId), expected, `${where}: checkpoints of ${from.k.deviceId} missing on ${to.k.deviceId}`);
    }
    // And equal to a fresh rebuild (which records an event of its own: last).
    for (const p of live[0]!.k.rebuild().projections) assert.equal(p.identical, true, `${where}: ${p.name} differs from a rebuild`);
    for (const d of world.devices) {
      const v = await d.k.verify();
      assert.equal(v.ok, true, `${where}: ${JSON.stringify(v.broken)}`);
    }
    totals.rewrites += world.rewrites;
    totals.events += order0.length;
    totals.chunks += keys.length;
    totals.relayRestarts += world.restarts.relay;
    totals.appRestarts += world.restarts.app;
  } finally {
    for (const d of world.devices) {
      await d.client.stop();
      await d.k.close();
    }
  }
}

describe('sync over a faulty relay (seeded property)', () => {
  test(`${SEEDS.length} seeds converge to one merge order and identical projections through the relay`, async (t) => {
    for (const seed of SEEDS) {
      try {
        await runSeed(seed);
      } catch (err) {
        // Whatever failed (an assertion names its seed already; a throw does not), name the seed.
        if (err instanceof Error && err.message.includes(`KINGDOM_SEED=${seed}`)) throw err;
        throw new Error(`seed ${seed} (replay with KINGDOM_SEED=${seed}) threw: ${err instanceof Error ? err.stack ?? err.message : String(err)}`, { cause: err });
      }
    }
    t.diagnostic(`across seeds: ${JSON.stringify(totals)}`);
    t.diagnostic(`removals: ${JSON.stringify(revocationTotals)}`);
    if (SEEDS.length > 1) {
      assert.ok(totals.relayRestarts > 0 && totals.appRestarts > 0, `restarts happened: ${JSON.stringify(totals)}`);
      assert.ok(revocationTotals.concurrent > 0 && revocationTotals.learned > 0 && revocationTotals.ignoredHeld > 0, `removals happened: ${JSON.stringify(revocationTotals)}`);
    }
  });
});
