/**
 * Ingest benchmarks: other devices' events taken in through `Kernel.ingest` (chains verified,
 * events inserted, projections applied in merge order), each figure against a baseline measured in
 * the same run on the same storage.
 *
 *  - `ingest.inorder`: another device's chain (the `bench.item.add` workload, generated on a source
 *    kernel and exported with `exportChain`) ingested in order, 100 events per call, events/s,
 *    vs the LOCAL batched append rate (commandBatch of 100 of the same commands, fresh kernel).
 *  - `ingest.before`: a kernel holding `base` events of its own; a third device's `late` events,
 *    whose hlc sort BEFORE all of them, ingested in one call (reordered: the projections are
 *    re-derived in merge order): time, vs `kernel.rebuild()` of the same final store.
 *  - `ingest.newcomer`: a device that joins by sync (opened after the history was written) takes
 *    in another device's older chain in calls of 500, events/s and events replayed, vs the same
 *    chain into a fresh kernel whose clock is behind the source's (nothing of its own can sort
 *    after what it takes in). Before decision 31 the newcomer's key registration, written at
 *    open, sorted after every call and each call re-derived the whole log.
 *  - `ingest.before.tail`: the same, but the kernel syncs (it took in a peer's few events after its
 *    first `base - late`, which leaves a projection snapshot there) and the late events sort just
 *    before its LAST `late` events: the rewind restores the snapshot and re-applies about
 *    2 × late events, not the whole log.
 *
 * Hybrid logical clocks are made deterministic with injected epoch-ms clocks (fixed values set per
 * phase): the order of every device's events is decided by the bench, not by the wall clock.
 * Browser-safe (no node: imports), but only the Node environments run it.
 */
import type { Kernel } from '../../../worker/kernel/kernel.ts';
import { SNAPSHOT_EVERY } from '../../../worker/kernel/projections/registry.ts';
import { figure, type Env, type Figure } from './scenarios.ts';
import { benchCommands } from './workload.ts';
import { median, now, round, yieldToLoop } from './stats.ts';

export interface IngestSizes {
  /** ingest.inorder: events per repetition (in calls of `batchSize`). */
  readonly inorderEvents: number;
  readonly batchSize: number;
  readonly inorderReps: number;
  /** ingest.newcomer: events per call (the history is `inorderEvents`). */
  readonly newcomerBatch: number;
  /** ingest.before(.tail): events already applied, and the late device's events. */
  readonly base: number;
  readonly late: number;
  readonly beforeReps: number;
}

export function ingestSizes(quick: boolean): IngestSizes {
  return quick
    ? { inorderEvents: 2_000, batchSize: 100, inorderReps: 3, newcomerBatch: 500, base: 2_000, late: 200, beforeReps: 2 }
    : { inorderEvents: 10_000, batchSize: 100, inorderReps: 5, newcomerBatch: 500, base: 10_000, late: 1_000, beforeReps: 3 };
}

/** A fixed epoch (2026-01-01): every clock in this file is an offset from it. */
const T0 = Date.UTC(2026, 0, 1);

/** An epoch-ms clock that returns whatever `t` is set to (the HLC counter orders same-ms events). */
class FixedClock {
  constructor(public t: number) {}
  readonly fn = (): number => this.t;
}

/** One `ingest` call's input, as `exportChain` hands it over. */
type Batch = ReturnType<Kernel['exportChain']>;

/** Append `n` bench commands through commandBatch(`size`), untimed. */
function appendBench(k: Kernel, n: number, size: number): void {
  const cmds = benchCommands(n);
  for (let i = 0; i < n; i += size) k.commandBatch(cmds.slice(i, i + size));
}

/** The device's whole chain as it travels, cut in calls of `size` events (with their checkpoints). */
function exportBatches(k: Kernel, size: number): Batch[] {
  const out: Batch[] = [];
  let after = 0;
  for (;;) {
    const x = k.exportChain(k.deviceId, after, size);
    if (x.events.length === 0) break;
    out.push({ events: x.events, checkpoints: x.checkpoints });
    after = x.events[x.events.length - 1]!.deviceSeq;
  }
  return out;
}

/** Generate `n` bench events on a fresh kernel `name` (clock at `t`) and export its chain. */
async function sourceChain(env: Env, name: string, t: number, n: number, size: number): Promise<Batch[]> {
  await env.remove(name);
  const src = await env.openKernel(name, new FixedClock(t).fn);
  try {
    appendBench(src, n, 1000);
    await src.checkpoint(); // sign the tail, so the export carries the checkpoints a relay would
    return exportBatches(src, size);
  } finally {
    await src.close();
    await env.remove(name);
  }
}

function countEvents(batches: readonly Batch[]): number {
  return batches.reduce((n, b) => n + b.events.length, 0);
}

// ---- ingest.inorder --------------------------------------------------------------------------------

export async function benchIngestInOrder(env: Env, s: IngestSizes): Promise<Figure[]> {
  env.log(`ingest in order on ${env.storage}: ${s.inorderEvents} events of another device in calls of ${s.batchSize}, vs local commandBatch(${s.batchSize})`);
  const ing: number[] = [];
  const loc: number[] = [];
  const run = async (r: number, n: number, timed: boolean): Promise<void> => {
    // The source device's clock runs 1 s ahead of the target's: its events sort after the target's
    // own (its key registration), so every call appends in merge order (reordered: false).
    const batches = await sourceChain(env, `ingest-src-${r}`, T0 + 1_000, n, s.batchSize);
    const events = countEvents(batches);
    const ingestRun = async (): Promise<number> => {
      await env.remove('ingest-dst');
      const k = await env.openKernel('ingest-dst', new FixedClock(T0).fn);
      try {
        env.settle();
        let applied = 0;
        const t0 = now();
        for (const b of batches) {
          const rep = await k.ingest(b);
          if (rep.reordered || rep.refused.length > 0) throw new Error(`ingest in order: reordered=${rep.reordered}, refused ${JSON.stringify(rep.refused)}`);
          applied += rep.applied;
        }
        const ms = now() - t0;
        if (applied !== events) throw new Error(`ingest applied ${applied} of ${events} events`);
        return (events / ms) * 1000;
      } finally {
        await k.close();
        await env.remove('ingest-dst');
      }
    };
    const localRun = async (): Promise<number> => {
      await env.remove('ingest-local');
      const k = await env.openKernel('ingest-local', new FixedClock(T0).fn);
      try {
        const cmds = benchCommands(n);
        env.settle();
        const t0 = now();
        for (let i = 0; i < n; i += s.batchSize) k.commandBatch(cmds.slice(i, i + s.batchSize));
        const ms = now() - t0;
        return (n / ms) * 1000;
      } finally {
        await k.close();
        await env.remove('ingest-local');
      }
    };
    // Alternate which goes first.
    let a: number;
    let b: number;
    if (r % 2 === 0) {
      a = await ingestRun();
      b = await localRun();
    } else {
      b = await localRun();
      a = await ingestRun();
    }
    if (timed) {
      ing.push(a);
      loc.push(b);
      env.log(`  rep ${r + 1}/${s.inorderReps}: ingest ${Math.round(a)} events/s (${events} events incl. the key registration), local commandBatch ${Math.round(b)} events/s`);
    }
    await yieldToLoop();
  };
  await run(-1, Math.min(500, s.inorderEvents), false); // warm-up
  for (let r = 0; r < s.inorderReps; r++) await run(r, s.inorderEvents, true);
  return [
    figure({
      id: 'ingest.inorder',
      storage: env.storage,
      title: `ingest: another device's ${s.inorderEvents} bench events in order, ${s.batchSize} per call, vs local commandBatch(${s.batchSize})`,
      unit: 'events/s',
      kernel: median(ing),
      baseline: median(loc),
      baselineName: `local commandBatch of ${s.batchSize}`,
      target: { on: 'ratio', op: '>=', value: 0.5 },
      samples: { kernel: ing, baseline: loc },
      extra: { events: s.inorderEvents, batchSize: s.batchSize, reps: s.inorderReps },
    }),
  ];
}

// ---- ingest.newcomer ------------------------------------------------------------------------------

export async function benchIngestNewcomer(env: Env, s: IngestSizes): Promise<Figure[]> {
  env.log(`ingest by a newcomer on ${env.storage}: another device's older ${s.inorderEvents} events in calls of ${s.newcomerBatch}, vs a kernel whose clock is behind them`);
  const late: number[] = [];
  const behind: number[] = [];
  let replayed = 0;
  /** Ingest `batches` into a fresh kernel on clock `t`: events/s and events replayed. */
  const into = async (batches: readonly Batch[], t: number): Promise<{ rate: number; replayed: number }> => {
    await env.remove('ingest-newcomer');
    const k = await env.openKernel('ingest-newcomer', new FixedClock(t).fn);
    try {
      const events = countEvents(batches);
      env.settle();
      let applied = 0;
      let rep = 0;
      const t0 = now();
      for (const b of batches) {
        const x = await k.ingest(b);
        if (x.refused.length > 0) throw new Error(`ingest by a newcomer: refused ${JSON.stringify(x.refused)}`);
        applied += x.applied;
        rep += x.replayed;
      }
      const ms = now() - t0;
      if (applied !== events) throw new Error(`ingest applied ${applied} of ${events} events`);
      return { rate: (events / ms) * 1000, replayed: rep };
    } finally {
      await k.close();
      await env.remove('ingest-newcomer');
    }
  };
  const run = async (r: number, n: number, timed: boolean): Promise<void> => {
    const batches = await sourceChain(env, `ingest-old-${r}`, T0 + 1_000, n, s.newcomerBatch);
    // The newcomer opens a minute after the history was written; the baseline 1 s before it.
    const a = r % 2 === 0 ? await into(batches, T0 + 61_000) : null;
    const b = await into(batches, T0);
    const x = a ?? await into(batches, T0 + 61_000);
    if (b.replayed !== 0) throw new Error(`ingest behind the source replayed ${b.replayed} events`);
    if (timed) {
      late.push(x.rate);
      behind.push(b.rate);
      replayed = x.replayed;
      env.log(`  rep ${r + 1}/${s.inorderReps}: newcomer ${Math.round(x.rate)} events/s (replayed ${x.replayed}), clock behind ${Math.round(b.rate)} events/s, ${countEvents(batches)} events`);
    }
    await yieldToLoop();
  };
  await run(-1, Math.min(1_000, s.inorderEvents), false); // warm-up
  for (let r = 0; r < s.inorderReps; r++) await run(r, s.inorderEvents, true);
  return [
    figure({
      id: 'ingest.newcomer',
      storage: env.storage,
      title: `ingest: a newcomer takes in another device's older ${s.inorderEvents} events, ${s.newcomerBatch} per call, vs a kernel whose clock is behind them`,
      unit: 'events/s',
      kernel: median(late),
      baseline: median(behind),
      baselineName: 'same chain, fresh kernel with its clock behind the source',
      target: null,
      samples: { kernel: late, baseline: behind },
      extra: { events: s.inorderEvents, batchSize: s.newcomerBatch, reps: s.inorderReps, replayed },
    }),
  ];
}

// ---- ingest.before / ingest.before.tail ---------------------------------------------------------------

/**
 * The target kernel's own `base` events: the first `base - late` at T0 + 1 s, the last `late` at
 * T0 + 3 s. A late device at T0 ('before': sorts before all of them) or T0 + 2 s ('tail': sorts
 * between, just before the last `late`).
 */
async function beforeRun(env: Env, s: IngestSizes, where: 'all' | 'tail', r: number): Promise<{ ingestMs: number; rebuildMs: number; replayMs: number; events: number; replayed: number }> {
  const late = await sourceChain(env, `ingest-late-${r}`, where === 'all' ? T0 : T0 + 2_000, s.late, 100_000);
  if (late.length !== 1) throw new Error('the late chain should travel in one call');
  const peer = where === 'tail' ? await sourceChain(env, `ingest-peer-${r}`, T0 + 1_500, 10, 100_000) : [];
  await env.remove('ingest-before');
  const clock = new FixedClock(T0 + 1_000);
  const k = await env.openKernel('ingest-before', clock.fn);
  try {
    appendBench(k, s.base - s.late, 1000);
    // A syncing kernel: the peer's events (untimed) leave a projection snapshot after them.
    for (const b of peer) await k.ingest(b);
    if (where === 'tail' && s.base - s.late >= SNAPSHOT_EVERY && Number(k.sql.value('SELECT count(*) FROM projection_snapshots')) !== 1) throw new Error('ingest.before.tail: the peer ingest took no snapshot');
    clock.t = T0 + 3_000;
    appendBench(k, s.late, 1000);
    await k.checkpoint();
    // Sanity: where the late events land in the merge order.
    const lateFirst = late[0]!.events[0]!.hlc;
    const after = Number(k.sql.value('SELECT COUNT(*) FROM events WHERE hlc > ?', [lateFirst]));
    const expectAfter = where === 'all' ? k.store.committedHead.seq : s.late;
    if (after !== expectAfter) throw new Error(`ingest.before (${where}): ${after} events sort after the late chain, expected ${expectAfter}`);
    env.settle();
    const t0 = now();
    const rep = await k.ingest(late[0]!);
    const ingestMs = now() - t0;
    if (!rep.reordered || rep.applied !== late[0]!.events.length) throw new Error(`ingest.before (${where}): reordered=${rep.reordered}, applied ${rep.applied}, refused ${JSON.stringify(rep.refused)}`);
    await yieldToLoop();
    env.settle();
    const t1 = now();
    const rb = k.rebuild();
    const rebuildMs = now() - t1;
    if (!rb.projections.every((p) => p.identical)) throw new Error('rebuild after a reordered ingest changed a projection digest');
    env.settle();
    const t2 = now();
    k.projections.rebuild(k.store);
    const replayMs = now() - t2;
    return { ingestMs, rebuildMs, replayMs, events: rb.events, replayed: rep.replayed };
  } finally {
    await k.close();
    await env.remove('ingest-before');
  }
}

export async function benchIngestBefore(env: Env, s: IngestSizes): Promise<Figure[]> {
  const out: Figure[] = [];
  for (const where of ['all', 'tail'] as const) {
    env.log(`ingest before ${where === 'all' ? 'everything' : `the last ${s.late}`} on ${env.storage}: ${s.late} late events into ${s.base}, vs kernel.rebuild()`);
    const ing: number[] = [];
    const reb: number[] = [];
    const rep: number[] = [];
    let events = 0;
    let replayed = 0;
    await beforeRun(env, { ...s, base: Math.min(s.base, 1_000), late: Math.min(s.late, 100) }, where, -1); // warm-up
    for (let r = 0; r < s.beforeReps; r++) {
      const x = await beforeRun(env, s, where, r);
      ing.push(x.ingestMs);
      reb.push(x.rebuildMs);
      rep.push(x.replayMs);
      events = x.events;
      replayed = x.replayed;
      env.log(`  rep ${r + 1}/${s.beforeReps}: ingest ${Math.round(x.ingestMs)} ms (replayed ${x.replayed} events), kernel.rebuild() ${Math.round(x.rebuildMs)} ms (replay alone ${Math.round(x.replayMs)} ms) over ${x.events} events`);
    }
    out.push(figure({
      id: where === 'all' ? 'ingest.before' : 'ingest.before.tail',
      storage: env.storage,
      title: where === 'all'
        ? `ingest: ${s.late} events sorting before all ${s.base} applied, one call (reordered) vs kernel.rebuild() of the final store`
        : `ingest: ${s.late} events sorting before the last ${s.late} of ${s.base} applied (a syncing kernel, with a snapshot), one call (reordered) vs kernel.rebuild()`,
      unit: 'ms',
      kernel: median(ing),
      baseline: median(reb),
      baselineName: 'kernel.rebuild(), same final store',
      target: null,
      samples: { kernel: ing, baseline: reb },
      extra: {
        base: s.base, late: s.late, eventsAfter: events, replayed, reps: s.beforeReps,
        replayOnlyMs: round(median(rep), 3),
        ratioToReplayOnly: round(median(ing) / median(rep), 4),
      },
    }));
  }
  return out;
}
