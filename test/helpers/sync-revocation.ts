/**
 * Device removal in the relay property (test/unit/sync/relay-property.test.ts), by the rules of
 * docs/devices.md ("Devices: named, added, removed"). In some seeds one device removes another
 * (`device.revoke` through its kernel) at a random step, in others two devices remove each other,
 * or both the other one, at the same step or a few apart (concurrently when neither had the
 * other's removal yet: then both commands succeed). The removed device writes on until it learns of its removal; from then
 * on its commands are `read_only`, which the simulator expects.
 *
 * Invariants checked once everything was delivered (`check`):
 * 1. The earliest removal in merge order counts: its target is removed on every other device,
 *    nothing else is.
 * 2. The devices that were not removed hold the same applied events in the same merge order, and
 *    their projections equal those of a fresh kernel that took in only the events that count
 *    (none of the removed device's events that sort after its removal), so such events reach no
 *    projection wherever they arrived first; `device.list` counts the ones held as ignored.
 * 3. The removed device's events that sort before its removal are kept everywhere; the only chain
 *    refused on the other devices is the removed one's, as `device_revoked`.
 * 4. The removed device received its removal (one of them, when removed twice) and is read-only.
 */
import assert from 'node:assert/strict';
import { memKernel, newKey, type Kernel } from './kernel.ts';
import { mulberry32 } from './prng.ts';
import { KernelError } from '../../worker/kernel/errors.ts';
import { mergeKey } from '../../worker/kernel/log/envelope.ts';
import type { DeviceRow } from '../../worker/kernel/devices.ts';

interface Attempt { readonly by: number; readonly target: number; readonly from: number }
interface Done { readonly by: number; readonly target: number; readonly hash: string; readonly ord: string }
interface Stored { readonly hash: string; readonly device: string; readonly deviceSeq: number; readonly ord: string }

/** Counts across seeds (the test prints them). */
export const revocationTotals = { seeds: 0, one: 0, mutual: 0, twice: 0, concurrent: 0, notKnownYet: 0, learned: 0, readOnlyRefusals: 0, ignoredHeld: 0, keptBefore: 0, late: 0, never: 0 };

const devices = (k: Kernel) => k.query('device.list', {}) as DeviceRow[];
const stored = (k: Kernel): Stored[] => k.sql.all("SELECT hash, device, device_seq, hlc FROM events ORDER BY (hlc || '|' || device)")
  .map((r) => ({ hash: String(r['hash']), device: String(r['device']), deviceSeq: Number(r['device_seq']), ord: mergeKey(String(r['hlc']), String(r['device'])) }));

/** A command `k` must refuse with `read_only` (it knows it was removed). */
function assertReadOnly(k: Kernel, where: string): void {
  try {
    k.command({ type: 'device.name', payload: { name: 'still here?' }, idempotencyKey: newKey() });
  } catch (err) {
    assert.ok(err instanceof KernelError && err.code === 'read_only', `${where}: a removed device's command failed otherwise: ${String(err)}`);
    revocationTotals.readOnlyRefusals++;
    return;
  }
  assert.fail(`${where}: a device that knows it was removed accepted a command`);
}

export class Revocations {
  readonly kind: 'none' | 'one' | 'mutual' | 'twice';
  private readonly pending: Attempt[] = [];
  private readonly done: Done[] = [];
  private readonly learned = new Set<number>();

  /** Draws from its own PRNG, so the seeds without a removal keep the schedule they had. */
  constructor(seed: number, devices: number, steps: number) {
    const rnd = mulberry32(seed * 7919 + 17);
    const r = rnd();
    this.kind = r < 0.5 ? 'none' : r < 0.75 ? 'one' : r < 0.9 ? 'mutual' : 'twice';
    if (this.kind === 'none') return;
    revocationTotals.seeds++;
    revocationTotals[this.kind]++;
    const by = Math.floor(rnd() * devices);
    const target = (by + 1 + Math.floor(rnd() * (devices - 1))) % devices;
    const from = 5 + Math.floor(rnd() * (steps - 15));
    this.pending.push({ by, target, from });
    const later = from + [0, 0, 1, 3][Math.floor(rnd() * 4)]!;
    if (this.kind === 'mutual') this.pending.push({ by: target, target: by, from: later });
    // The third device removes the same one (devices = 3).
    if (this.kind === 'twice') this.pending.push({ by: 3 - by - target, target, from: later });
  }

  /**
   * Step `s`: make the removals that are due (a device the remover has not heard of yet is
   * `not_found`: tried again next step; a remover that knows it was removed itself is `read_only`:
   * dropped), and check that a removed device that knows it accepts no command.
   */
  step(s: number, kernels: readonly Kernel[], where: string): void {
    for (const a of [...this.pending]) {
      if (a.from > s) continue;
      const k = kernels[a.by]!;
      try {
        k.command({ type: 'device.revoke', payload: { device: kernels[a.target]!.deviceId, reason: `simulated at step ${s}` }, idempotencyKey: newKey() });
      } catch (err) {
        if (!(err instanceof KernelError)) throw err;
        if (err.code === 'not_found') {
          revocationTotals.notKnownYet++;
          continue;
        }
        // The remover knows it was removed, or that the target was removed already.
        const expected = (err.code === 'read_only' && this.done.some((d) => d.target === a.by)) || (err.code === 'invalid_state' && this.done.some((d) => d.target === a.target));
        assert.ok(expected, `${where}: device.revoke failed: ${err.code} ${err.message}`);
        this.pending.splice(this.pending.indexOf(a), 1);
        continue;
      }
      this.pending.splice(this.pending.indexOf(a), 1);
      const row = k.sql.get("SELECT hash, hlc FROM events WHERE device = ? AND type = 'device.revoked' ORDER BY device_seq DESC LIMIT 1", [k.deviceId])!;
      this.done.push({ by: a.by, target: a.target, hash: String(row['hash']), ord: mergeKey(String(row['hlc']), k.deviceId) });
      if (this.done.length === 2) revocationTotals.concurrent++;
    }
    for (const t of new Set(this.done.map((d) => d.target))) {
      const k = kernels[t]!;
      if (!devices(k).find((d) => d.self)?.revoked) continue;
      if (!this.learned.has(t)) revocationTotals.learned++;
      this.learned.add(t);
      assertReadOnly(k, where);
    }
  }

  /**
   * After healing (every device knows every other): make the removals still due, the target
   * writing on meanwhile as it does not know yet (`act`). Returns whether one was made (then heal
   * again; a target that never wrote writes first, and the removal comes after the next heal).
   * Seeds whose devices never met during the steps get their removal here.
   */
  finish(kernels: readonly Kernel[], act: (k: Kernel) => void, where: string): boolean {
    if (this.pending.length === 0) return false;
    const targets = this.pending.map((a) => a.target);
    // A device that never wrote is known to no other (its chain starts with its first write).
    const silent = targets.filter((t) => kernels[t]!.ownHead.deviceSeq === 0);
    for (const t of silent) kernels[t]!.command({ type: 'device.name', payload: { name: 'late' }, idempotencyKey: newKey() });
    if (silent.length > 0) return true;
    this.step(Number.MAX_SAFE_INTEGER, kernels, where);
    assert.deepEqual(this.pending, [], `${where}: a removal could not be made after healing`);
    revocationTotals.late++;
    for (const t of targets) for (let n = 0; n < 3; n++) act(kernels[t]!);
    return true;
  }

  /** The removal that counts (the earliest in merge order), or null when none was made. */
  get counting(): Done | null {
    return [...this.done].sort((x, y) => (x.ord < y.ord ? -1 : 1))[0] ?? null;
  }

  /** The devices not removed (all when none was). */
  survivors(n: number): number[] {
    const c = this.counting;
    if (this.kind !== 'none' && !c) revocationTotals.never++;
    return Array.from({ length: n }, (_, i) => i).filter((i) => i !== c?.target);
  }

  /** `k`'s events that count (reach the projections), in merge order. */
  applied(k: Kernel, kernels: readonly Kernel[]): string[] {
    const c = this.counting;
    const removed = c ? kernels[c.target]!.deviceId : null;
    return stored(k).filter((e) => e.device !== removed || e.ord < c!.ord).map((e) => e.hash);
  }

  /** Invariants 1-4 on `kernels` after healing; `clock`: the world's wall clock (for the fresh kernel). */
  async check(kernels: readonly Kernel[], clock: () => number, where: string): Promise<void> {
    const c = this.counting;
    if (!c) {
      for (const k of kernels) assert.deepEqual(k.quarantined(), [], `${where}: an honest chain was refused`);
      return;
    }
    const removed = kernels[c.target]!;
    const by = kernels[c.by]!.deviceId;
    const own = stored(removed).filter((e) => e.device === removed.deviceId);
    const before = own.filter((e) => e.ord < c.ord).map((e) => e.hash);
    const after = new Set(own.filter((e) => e.ord > c.ord).map((e) => e.hash));
    const survivors = kernels.filter((k) => k !== removed);
    for (const k of survivors) {
      const here = `${where}: on ${k.deviceId}`;
      const rows = devices(k);
      assert.deepEqual(rows.filter((d) => d.revoked).map((d) => [d.device, d.revoked!.by]), [[removed.deviceId, by]], `${here}: the earliest removal counts, and only it`);
      const held = stored(k).filter((e) => e.device === removed.deviceId);
      assert.deepEqual(held.filter((e) => e.ord < c.ord).map((e) => e.hash), before, `${here}: the removed device's events before its removal are kept`);
      const ignored: Stored[] = held.filter((e) => e.ord > c.ord);
      assert.ok(ignored.every((e) => after.has(e.hash)), `${here}: it holds events the removed device never wrote`);
      assert.equal(rows.find((d) => d.device === removed.deviceId)!.ignoredEvents, ignored.length, `${here}: device.list counts the ignored events`);
      revocationTotals.ignoredHeld += ignored.length;
      for (const q of k.quarantined()) {
        assert.ok(q.device === removed.deviceId && q.reason === 'device_revoked', `${here}: a chain was refused other than the removed one's, or not as removed: ${JSON.stringify(q)}`);
      }
    }
    revocationTotals.keptBefore += before.length;
    // A kernel that never saw the ignored events derives what every survivor shows.
    const fresh = await memKernel({ clock });
    try {
      const from = survivors[0]!;
      for (const d of from.status().devices) {
        const chain = from.exportChain(d.device);
        await fresh.ingest({ events: chain.events.filter((e) => !after.has(e.hash)), checkpoints: d.device === removed.deviceId ? [] : chain.checkpoints });
      }
      assert.deepEqual(fresh.quarantined(), [], `${where}: the events that count do not ingest cleanly`);
      for (const k of survivors) assert.deepEqual(k.digest(), fresh.digest(), `${where}: ${k.deviceId}'s projections differ from a kernel that never had the ignored events`);
    } finally {
      await fresh.close();
    }
    // The removed device got a removal of itself (everything was delivered; removed twice, it
    // takes nothing in after the first to arrive) and changes nothing more.
    const ofIt = new Set(this.done.filter((d) => d.target === c.target).map((d) => d.hash));
    assert.ok(stored(removed).some((e) => ofIt.has(e.hash)), `${where}: the removed device never received its removal`);
    assert.ok(devices(removed).find((d) => d.self)?.revoked, `${where}: the removed device does not know it was removed`);
    assertReadOnly(removed, where);
  }
}
