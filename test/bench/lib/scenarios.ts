/**
 * The measurements, written once against an `Env` (how to open a kernel / a raw database on one
 * kind of storage) so Node (memory, file VFS) and Chromium (OPFS sahpool) run identical code.
 *
 * Every figure is the median of several repetitions and is compared with a baseline measured in
 * the same run on the same storage. Browser-safe: no node: imports.
 */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import type { Kernel } from '../../../worker/kernel/kernel.ts';
import type { CommandInput } from '../../../worker/kernel/commands/envelope.ts';
import { BENCH_COMMAND, benchCommands, benchModule, createWorkspaces, projectCommands } from './workload.ts';
import { capiInserter, createKernelSchema, EVENT_COLUMNS, insertSql, oo1Inserter, readRows, syntheticEventRow, type Inserter, type RawRow } from './raw.ts';
import { median, now, percentile, round, yieldToLoop } from './stats.ts';

export interface RawDb {
  readonly sqlite3: Sqlite3Static;
  readonly db: Database;
  close(): Promise<void>;
}

export interface Env {
  /** `node-memory`, `node-file`, `chromium-opfs`. */
  readonly storage: string;
  readonly durable: boolean;
  /**
   * Open (creating) the kernel store called `name`; the same name reopens the same store. `clock`
   * (epoch ms) replaces the wall clock where a scenario needs a deterministic hlc order (ingest).
   */
  openKernel(name: string, clock?: () => number): Promise<Kernel>;
  /** Open (creating) a plain database called `name` on the same storage, with the same pragmas. */
  openRaw(name: string): Promise<RawDb>;
  /** Delete a closed store (kernel or raw). */
  remove(name: string): Promise<void>;
  log(message: string): void;
  /** Collect garbage left by the previous variant before timing the next one (when possible). */
  settle(): void;
}

export interface Target {
  /** Which number the target applies to. */
  readonly on: 'ratio' | 'kernel';
  readonly op: '>=' | '<=';
  readonly value: number;
}

export interface Figure {
  readonly id: string;
  readonly storage: string;
  readonly title: string;
  readonly unit: string;
  readonly kernel: number;
  readonly baseline: number;
  readonly baselineName: string;
  /** kernel / baseline. */
  readonly ratio: number;
  readonly target: Target | null;
  /** null: informational figure. */
  readonly pass: boolean | null;
  readonly samples: { readonly kernel: readonly number[]; readonly baseline: readonly number[] };
  readonly extra?: Record<string, unknown>;
}

export function figure(f: Omit<Figure, 'ratio' | 'pass'>): Figure {
  const ratio = f.kernel / f.baseline;
  let pass: boolean | null = null;
  if (f.target) {
    const x = f.target.on === 'ratio' ? ratio : f.kernel;
    pass = f.target.op === '>=' ? x >= f.target.value : x <= f.target.value;
  }
  return {
    ...f,
    kernel: round(f.kernel, 4),
    baseline: round(f.baseline, 4),
    ratio: round(ratio, 4),
    pass,
    samples: { kernel: f.samples.kernel.map((x) => round(x, 3)), baseline: f.samples.baseline.map((x) => round(x, 3)) },
  };
}

export const BENCH_MODULES = [benchModule];

const EVENTS_INSERT = insertSql('events', EVENT_COLUMNS);
// The device's key registration rides in its first write (decision 31): not one of the commands' rows.
const EVENTS_SELECT = `SELECT ${EVENT_COLUMNS.join(', ')} FROM events WHERE seq > ? AND type != 'device.key_registered' ORDER BY seq`;

function chunk<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

// ---- 1. Batched appends ---------------------------------------------------------------------

export interface BatchOptions {
  readonly batches: number;
  readonly batchSize: number;
  readonly reps: number;
  /** `bench`: the one-row bench module; `project`: the workspace slice's project.create. */
  readonly workload: 'bench' | 'project';
  /** Size of the untimed warm-up round (batches). */
  readonly warmupBatches: number;
  /** Attach the ≥ 0.8× target (the brief's figures); otherwise informational. */
  readonly withTarget?: boolean;
}

interface KernelBatchRun {
  readonly rate: number;
  readonly rows: RawRow[];
  /** For the bench workload: every row one command wrote (event, projection row, idempotency row). */
  readonly allRows: { readonly bench: RawRow[]; readonly idem: RawRow[] } | null;
}

const BENCH_COLUMNS = ['id', 'value', 'seq'] as const;
const IDEM_COLUMNS = ['key', 'command_type', 'request_hash', 'result', 'at'] as const;

async function kernelBatchRun(env: Env, name: string, workload: BatchOptions['workload'], batches: number, batchSize: number): Promise<KernelBatchRun> {
  await env.remove(name);
  const k = await env.openKernel(name);
  try {
    let cmds: CommandInput[];
    if (workload === 'project') {
      const ws = createWorkspaces(k, 10);
      cmds = projectCommands(batches * batchSize, ws);
    } else {
      cmds = benchCommands(batches * batchSize);
    }
    const groups = chunk(cmds, batchSize);
    const before = k.store.committedHead.seq;
    env.settle();
    const t0 = now();
    for (const g of groups) k.commandBatch(g);
    const ms = now() - t0;
    const rows = readRows(k.sql.db, EVENTS_SELECT, [before]);
    if (rows.length !== cmds.length) throw new Error(`kernel wrote ${rows.length} events for ${cmds.length} commands`);
    let allRows: KernelBatchRun['allRows'] = null;
    if (workload === 'bench') {
      const bench = readRows(k.sql.db, `SELECT ${BENCH_COLUMNS.join(', ')} FROM bench_items WHERE seq > ? ORDER BY seq`, [before]);
      const idem = readRows(k.sql.db, `SELECT ${IDEM_COLUMNS.join(', ')} FROM idempotency WHERE command_type = ? ORDER BY rowid`, [BENCH_COMMAND]);
      if (bench.length !== cmds.length || idem.length !== cmds.length) throw new Error('kernel rows do not match its commands');
      allRows = { bench, idem };
    }
    return { rate: (cmds.length / ms) * 1000, rows, allRows };
  } finally {
    await k.close();
    await env.remove(name);
  }
}

async function rawBatchRun(env: Env, name: string, rows: readonly RawRow[], batchSize: number, binding: 'oo1' | 'capi'): Promise<number> {
  await env.remove(name);
  const raw = await env.openRaw(name);
  let ins: Inserter | null = null;
  try {
    createKernelSchema(raw.db);
    ins = binding === 'oo1' ? oo1Inserter(raw.db, EVENTS_INSERT) : capiInserter(raw.sqlite3, raw.db, EVENTS_INSERT);
    env.settle();
    const t0 = now();
    for (let i = 0; i < rows.length; i += batchSize) ins.batch(rows, i, Math.min(rows.length, i + batchSize));
    const ms = now() - t0;
    const n = Number(raw.db.selectValue('SELECT COUNT(*) FROM events'));
    if (n !== rows.length) throw new Error(`raw ${binding} wrote ${n} of ${rows.length} rows`);
    return (rows.length / ms) * 1000;
  } finally {
    ins?.close();
    await raw.close();
    await env.remove(name);
  }
}

/**
 * Raw oo1 inserts of ALL the rows the kernel wrote per command (event + projection row +
 * idempotency row), `batchSize` commands per transaction: what the kernel's data model costs in
 * SQLite alone, without validation, hashing or the binding layer's per-call overhead.
 */
async function rawAllRowsRun(env: Env, name: string, run: KernelBatchRun, batchSize: number): Promise<number> {
  const all = run.allRows!;
  await env.remove(name);
  const raw = await env.openRaw(name);
  const ins: Inserter[] = [];
  try {
    createKernelSchema(raw.db);
    for (const p of benchModule.projections ?? []) raw.db.exec(p.createSql);
    ins.push(oo1Inserter(raw.db, EVENTS_INSERT), oo1Inserter(raw.db, insertSql('bench_items', BENCH_COLUMNS)), oo1Inserter(raw.db, insertSql('idempotency', IDEM_COLUMNS)));
    const [ev, bi, id] = ins as [Inserter, Inserter, Inserter];
    const n = run.rows.length;
    env.settle();
    const t0 = now();
    for (let i = 0; i < n; i += batchSize) {
      raw.db.exec('BEGIN IMMEDIATE');
      for (let j = i; j < Math.min(n, i + batchSize); j++) {
        ev.one(run.rows[j]!);
        bi.one(all.bench[j]!);
        id.one(all.idem[j]!);
      }
      raw.db.exec('COMMIT');
    }
    const ms = now() - t0;
    return (n / ms) * 1000;
  } finally {
    for (const x of ins) x.close();
    await raw.close();
    await env.remove(name);
  }
}

export async function benchBatched(env: Env, o: BatchOptions): Promise<Figure[]> {
  const tag = o.workload;
  const n = o.batches * o.batchSize;
  env.log(`batched appends (${tag}) on ${env.storage}: warm-up`);
  // Warm-up, and the source of the raw baselines' rows: a kernel run of the same size. The raw
  // variants insert exactly these rows (same columns, values and sizes as the timed kernel writes).
  const src = await kernelBatchRun(env, `batch-${tag}-src`, o.workload, Math.max(o.warmupBatches, o.batches), o.batchSize);
  await rawBatchRun(env, `batch-${tag}-oo1-warm`, src.rows, o.batchSize, 'oo1');
  await rawBatchRun(env, `batch-${tag}-capi-warm`, src.rows, o.batchSize, 'capi');
  if (src.allRows) await rawAllRowsRun(env, `batch-${tag}-all-warm`, src, o.batchSize);
  const k: number[] = [];
  const oo1: number[] = [];
  const capi: number[] = [];
  const allRows: number[] = [];
  for (let r = 0; r < o.reps; r++) {
    // All variants open side by side on the same storage and take turns batch by batch (rotating
    // who goes first), so they see the same I/O and CPU conditions (other jobs, flush latency).
    const names = [`batch-${tag}-k-${r}`, `batch-${tag}-oo1-${r}`, `batch-${tag}-capi-${r}`, `batch-${tag}-all-${r}`] as const;
    for (const nm of names) await env.remove(nm);
    const kern = await env.openKernel(names[0]);
    const raws: RawDb[] = [];
    const inserters: Inserter[] = [];
    try {
      const open = async (name: string): Promise<RawDb> => {
        const raw = await env.openRaw(name);
        raws.push(raw);
        createKernelSchema(raw.db);
        return raw;
      };
      const rO = await open(names[1]);
      const insO = oo1Inserter(rO.db, EVENTS_INSERT);
      inserters.push(insO);
      const rC = await open(names[2]);
      const insC = capiInserter(rC.sqlite3, rC.db, EVENTS_INSERT);
      inserters.push(insC);
      const cmds = o.workload === 'project' ? projectCommands(n, createWorkspaces(kern, 10)) : benchCommands(n);
      const groups = chunk(cmds, o.batchSize);
      const before = kern.store.committedHead.seq;
      const steps: { key: 'k' | 'oo1' | 'capi' | 'all'; run: (b: number) => void }[] = [
        { key: 'k', run: (b) => void kern.commandBatch(groups[b]!) },
        { key: 'oo1', run: (b) => insO.batch(src.rows, b * o.batchSize, Math.min(n, (b + 1) * o.batchSize)) },
        { key: 'capi', run: (b) => insC.batch(src.rows, b * o.batchSize, Math.min(n, (b + 1) * o.batchSize)) },
      ];
      if (src.allRows) {
        const all = src.allRows;
        const rA = await open(names[3]);
        for (const p of benchModule.projections ?? []) rA.db.exec(p.createSql);
        const ev = oo1Inserter(rA.db, EVENTS_INSERT);
        const bi = oo1Inserter(rA.db, insertSql('bench_items', BENCH_COLUMNS));
        const id = oo1Inserter(rA.db, insertSql('idempotency', IDEM_COLUMNS));
        inserters.push(ev, bi, id);
        steps.push({
          key: 'all',
          run: (b) => {
            rA.db.exec('BEGIN IMMEDIATE');
            for (let j = b * o.batchSize; j < Math.min(n, (b + 1) * o.batchSize); j++) {
              ev.one(src.rows[j]!);
              bi.one(all.bench[j]!);
              id.one(all.idem[j]!);
            }
            rA.db.exec('COMMIT');
          },
        });
      }
      const ms = { k: 0, oo1: 0, capi: 0, all: 0 };
      env.settle();
      for (let b = 0; b < groups.length; b++) {
        for (let j = 0; j < steps.length; j++) {
          const step = steps[(b + j) % steps.length]!;
          const t0 = now();
          step.run(b);
          ms[step.key] += now() - t0;
        }
      }
      const wrote = Number(kern.sql.value("SELECT COUNT(*) FROM events WHERE seq > ? AND type != 'device.key_registered'", [before]));
      if (wrote !== n) throw new Error(`kernel wrote ${wrote} events for ${n} commands`);
      for (const raw of raws.slice(0, 2)) {
        const got = Number(raw.db.selectValue('SELECT COUNT(*) FROM events'));
        if (got !== n) throw new Error(`raw baseline wrote ${got} of ${n} rows`);
      }
      const rate = (t: number) => (n / t) * 1000;
      k.push(rate(ms.k));
      oo1.push(rate(ms.oo1));
      capi.push(rate(ms.capi));
      if (src.allRows) allRows.push(rate(ms.all));
      env.log(`  rep ${r + 1}/${o.reps}: kernel ${Math.round(rate(ms.k))} rows/s, raw oo1 ${Math.round(rate(ms.oo1))}, raw C API ${Math.round(rate(ms.capi))}` +
        (src.allRows ? `, raw oo1 of all 3 rows/command ${Math.round(rate(ms.all))} commands/s` : ''));
    } finally {
      for (const ins of inserters) ins.close();
      for (const raw of raws.reverse()) await raw.close(); // before the kernel: closing it pauses the OPFS pool
      await kern.close();
      for (const nm of names) await env.remove(nm);
    }
    await yieldToLoop();
  }
  const what = o.workload === 'bench' ? 'bench.item.add (1 event + 1 projection row)' : 'project.create';
  const base = { storage: env.storage, unit: 'rows/s', extra: { commands: n, batchSize: o.batchSize, reps: o.reps } };
  return [
    figure({
      ...base,
      id: `batch.${tag}.oo1`,
      title: `batched ${o.batchSize}/txn: ${what} vs raw oo1 INSERT`,
      kernel: median(k), baseline: median(oo1), baselineName: 'raw oo1 prepared INSERT',
      // Information: one raw row per command against the kernel's three (see docs/benchmarks.md).
      target: null,
      samples: { kernel: k, baseline: oo1 },
    }),
    figure({
      ...base,
      id: `batch.${tag}.capi`,
      title: `batched ${o.batchSize}/txn: ${what} vs raw C-API INSERT`,
      kernel: median(k), baseline: median(capi), baselineName: 'raw C-API prepared INSERT',
      target: null,
      samples: { kernel: k, baseline: capi },
    }),
    ...(allRows.length > 0
      ? [figure({
          ...base,
          unit: 'cmds/s',
          id: `batch.${tag}.allrows`,
          title: `batched ${o.batchSize}/txn: ${what} vs raw oo1 INSERT of all 3 rows it writes (event, projection, idempotency)`,
          kernel: median(k), baseline: median(allRows), baselineName: 'raw oo1: event + projection + idempotency rows',
          // The brief's "≥ 0.8× raw sqlite-wasm inserts of the same rows": the same rows the kernel writes.
          target: o.workload === 'bench' && o.withTarget !== false ? { on: 'ratio', op: '>=', value: 0.8 } : null,
          samples: { kernel: k, baseline: allRows },
        })]
      : []),
  ];
}

// ---- 2. Single durable command ---------------------------------------------------------------

export interface SingleOptions {
  readonly warmup: number;
  readonly count: number;
}

/** Rows shaped like bench events (same columns, similar sizes) for the raw single-row baseline. */
function syntheticEventRows(n: number): RawRow[] {
  const tag = Math.floor(Math.random() * 1e9).toString(36);
  return Array.from({ length: n }, (_, i) => {
    const itemId = `it-${tag}-${i}`;
    return syntheticEventRow(i, { stream: `item:${itemId}`, type: 'bench.item_added', actor: 'user', payload: JSON.stringify({ itemId, value: `value ${i} of run ${tag}: lorem ipsum dolor` }) });
  });
}

export async function benchSingle(env: Env, o: SingleOptions): Promise<Figure[]> {
  env.log(`single durable command on ${env.storage}: ${o.warmup} warm-up + ${o.count} timed, interleaved with raw`);
  await env.remove('single-k');
  await env.remove('single-raw');
  const k = await env.openKernel('single-k');
  const raw = await env.openRaw('single-raw');
  createKernelSchema(raw.db);
  const ins = oo1Inserter(raw.db, EVENTS_INSERT);
  const total = o.warmup + o.count;
  const cmds = benchCommands(total);
  const rows = syntheticEventRows(total);
  const kt: number[] = [];
  const rt: number[] = [];
  try {
    for (let i = 0; i < total; i++) {
      // Alternate which one goes first, so neither always follows the other's fsync.
      const kernelFirst = i % 2 === 0;
      let a = 0;
      let b = 0;
      if (kernelFirst) {
        const t0 = now();
        k.command(cmds[i]!);
        a = now() - t0;
        const t1 = now();
        ins.one(rows[i]!);
        b = now() - t1;
      } else {
        const t1 = now();
        ins.one(rows[i]!);
        b = now() - t1;
        const t0 = now();
        k.command(cmds[i]!);
        a = now() - t0;
      }
      if (i >= o.warmup) {
        kt.push(a);
        rt.push(b);
      }
      await yieldToLoop(); // Let the kernel's async checkpoint signing run, as between real commands.
    }
  } finally {
    ins.close();
    await raw.close();
    await k.close();
    await env.remove('single-k');
    await env.remove('single-raw');
  }
  return [
    figure({
      id: 'single.p50',
      storage: env.storage,
      title: 'single durable command p50 vs raw 1-row INSERT commit',
      unit: 'ms',
      kernel: median(kt),
      baseline: median(rt),
      baselineName: 'raw oo1 INSERT (autocommit)',
      target: { on: 'ratio', op: '<=', value: 1.5 },
      samples: { kernel: [], baseline: [] },
      extra: {
        count: o.count,
        kernelP90: round(percentile(kt, 90), 4),
        rawP90: round(percentile(rt, 90), 4),
        kernelP99: round(percentile(kt, 99), 4),
        rawP99: round(percentile(rt, 99), 4),
      },
    }),
  ];
}

// ---- 3. Boot ----------------------------------------------------------------------------------

export interface BootOptions {
  readonly events: number;
  readonly reps: number;
  /** Keep the big store afterwards (rebuild reuses it). */
  readonly keep: boolean;
}

export const BOOT_BIG = 'boot-big';
const BOOT_EMPTY = 'boot-empty';

/**
 * Fill a store with `events` events: 10 workspaces, up to 990 projects, the rest bench items. The
 * projects make `workspace.list` (the boot query) do real work: it counts each workspace's active
 * projects, so its cost follows the number of projects, not the length of the log.
 */
export async function generateLog(env: Env, name: string, events: number): Promise<{ ms: number; events: number }> {
  await env.remove(name);
  const k = await env.openKernel(name);
  const t0 = now();
  try {
    const ws = createWorkspaces(k, 10);
    const projects = Math.min(990, Math.max(0, events - k.store.committedHead.seq));
    for (const g of chunk(projectCommands(projects, ws), 500)) k.commandBatch(g);
    const rest = Math.max(0, events - k.store.committedHead.seq);
    const all = benchCommands(rest);
    for (let i = 0; i < all.length; i += 1000) {
      k.commandBatch(all.slice(i, i + 1000));
      if ((i / 1000) % 20 === 19) await yieldToLoop();
    }
    return { ms: now() - t0, events: k.store.committedHead.seq };
  } finally {
    await k.close();
  }
}

async function timeBoot(env: Env, name: string): Promise<{ total: number; open: number; query: number; bootMs: number; rows: number }> {
  env.settle();
  const t0 = now();
  const k = await env.openKernel(name);
  const t1 = now();
  const list = k.query('workspace.list') as unknown[];
  const t2 = now();
  const bootMs = k.status().bootMs;
  await k.close();
  return { total: t2 - t0, open: t1 - t0, query: t2 - t1, bootMs, rows: list.length };
}

export async function benchBoot(env: Env, o: BootOptions): Promise<Figure[]> {
  env.log(`boot on ${env.storage}: generating ${o.events} events`);
  const gen = await generateLog(env, BOOT_BIG, o.events);
  env.log(`  generated ${gen.events} events in ${Math.round(gen.ms)} ms (${Math.round((gen.events / gen.ms) * 1000)} events/s through commandBatch(1000))`);
  await env.remove(BOOT_EMPTY);
  await (await env.openKernel(BOOT_EMPTY)).close();
  // Warm-up: one open of each.
  await timeBoot(env, BOOT_EMPTY);
  await timeBoot(env, BOOT_BIG);
  const big: Awaited<ReturnType<typeof timeBoot>>[] = [];
  const empty: Awaited<ReturnType<typeof timeBoot>>[] = [];
  for (let r = 0; r < o.reps; r++) {
    if (r % 2 === 0) {
      empty.push(await timeBoot(env, BOOT_EMPTY));
      big.push(await timeBoot(env, BOOT_BIG));
    } else {
      big.push(await timeBoot(env, BOOT_BIG));
      empty.push(await timeBoot(env, BOOT_EMPTY));
    }
    await yieldToLoop();
  }
  await env.remove(BOOT_EMPTY);
  if (!o.keep) await env.remove(BOOT_BIG);
  const m = (xs: typeof big, f: (x: (typeof big)[number]) => number) => round(median(xs.map(f)), 3);
  env.log(`  boot: ${o.events} events ${m(big, (x) => x.total)} ms, empty ${m(empty, (x) => x.total)} ms`);
  return [
    figure({
      id: 'boot.ratio',
      storage: env.storage,
      title: `boot: open + workspace.list, ${gen.events} events vs empty log`,
      unit: 'ms',
      kernel: median(big.map((x) => x.total)),
      baseline: median(empty.map((x) => x.total)),
      baselineName: 'same, empty log',
      target: { on: 'ratio', op: '<=', value: 1.2 },
      samples: { kernel: big.map((x) => x.total), baseline: empty.map((x) => x.total) },
      extra: {
        events: gen.events,
        generateMs: round(gen.ms, 1),
        generateEventsPerSec: Math.round((gen.events / gen.ms) * 1000),
        bigOpenMs: m(big, (x) => x.open),
        bigQueryMs: m(big, (x) => x.query),
        bigKernelBootMs: m(big, (x) => x.bootMs),
        emptyOpenMs: m(empty, (x) => x.open),
        emptyQueryMs: m(empty, (x) => x.query),
        emptyKernelBootMs: m(empty, (x) => x.bootMs),
        workspacesListed: big[0]?.rows ?? 0,
        // Boot times have heavy I/O-driven tails on a shared disk; the minima show the inherent cost.
        bigMinMs: round(Math.min(...big.map((x) => x.total)), 3),
        emptyMinMs: round(Math.min(...empty.map((x) => x.total)), 3),
      },
    }),
    figure({
      id: 'boot.open',
      storage: env.storage,
      title: `boot: open only (no query), ${gen.events} events vs empty log`,
      unit: 'ms',
      kernel: median(big.map((x) => x.open)),
      baseline: median(empty.map((x) => x.open)),
      baselineName: 'same, empty log',
      target: null,
      samples: { kernel: big.map((x) => x.open), baseline: empty.map((x) => x.open) },
    }),
  ];
}

// ---- 4. Projection rebuild ----------------------------------------------------------------------

export interface RebuildOptions {
  readonly reps: number;
  /** A store generated by `generateLog` (kept by benchBoot). */
  readonly name: string;
}

const PROJECTION_TABLES = ['workspaces', 'projects', 'bench_items'] as const;

export async function benchRebuild(env: Env, o: RebuildOptions): Promise<Figure[]> {
  env.log(`projection rebuild on ${env.storage}`);
  const k = await env.openKernel(o.name);
  const total: number[] = [];
  const replay: number[] = [];
  const digest: number[] = [];
  let events = 0;
  const tables: { name: string; createSql: string; columns: string[]; rows: RawRow[] }[] = [];
  try {
    for (let r = 0; r < o.reps; r++) {
      env.settle();
      const t0 = now();
      const rep = k.rebuild();
      total.push(now() - t0);
      events = rep.events;
      if (!rep.projections.every((p) => p.identical)) throw new Error('rebuild changed a projection digest');
      env.log(`  rep ${r + 1}/${o.reps}: rebuild ${Math.round(total[r]!)} ms for ${events} events`);
      await yieldToLoop();
    }
    // Its parts, once: the replay alone (drop, create, re-apply every event) and one digest pass
    // (rebuild() digests twice: before and after).
    env.settle();
    const t1 = now();
    k.projections.rebuild(k.store);
    replay.push(now() - t1);
    const t2 = now();
    k.digest();
    digest.push(now() - t2);
    env.log(`  replay alone ${Math.round(replay[0]!)} ms, one digest pass ${Math.round(digest[0]!)} ms`);
    for (const t of PROJECTION_TABLES) {
      const createSql = String(k.sql.db.selectValue("SELECT group_concat(sql, ';\n') FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL", [t]));
      const columns = (k.sql.db.selectValues(`SELECT name FROM pragma_table_info('${t}')`) as string[]);
      const rows = readRows(k.sql.db, `SELECT ${columns.join(', ')} FROM ${t}`);
      tables.push({ name: t, createSql, columns, rows });
    }
  } finally {
    await k.close();
  }
  const rowCount = tables.reduce((n, t) => n + t.rows.length, 0);
  const rawRun = async (binding: 'oo1' | 'capi', r: number): Promise<number> => {
    const name = `rebuild-raw-${binding}-${r}`;
    await env.remove(name);
    const raw = await env.openRaw(name);
    try {
      for (const t of tables) raw.db.exec(t.createSql);
      const inserters = tables.map((t) => {
        const sql = insertSql(t.name, t.columns);
        return binding === 'oo1' ? oo1Inserter(raw.db, sql) : capiInserter(raw.sqlite3, raw.db, sql);
      });
      env.settle();
      const t0 = now();
      raw.db.exec('BEGIN IMMEDIATE');
      // One transaction, like the rebuild; `one()` is a plain step inside it.
      tables.forEach((t, i) => {
        for (const row of t.rows) inserters[i]!.one(row);
      });
      raw.db.exec('COMMIT');
      const ms = now() - t0;
      for (const ins of inserters) ins.close();
      return (rowCount / ms) * 1000;
    } finally {
      await raw.close();
      await env.remove(name);
    }
  };
  const oo1: number[] = [];
  const capi: number[] = [];
  await rawRun('oo1', -1);
  for (let r = 0; r < o.reps; r++) {
    oo1.push(await rawRun('oo1', r));
    capi.push(await rawRun('capi', r));
  }
  const rates = total.map((ms) => (events / ms) * 1000);
  const replayRates = replay.map((ms) => (events / ms) * 1000);
  const extra = {
    events,
    projectionRows: rowCount,
    rebuildMs: round(median(total), 1),
    replayOnlyMs: round(median(replay), 1),
    oneDigestMs: round(median(digest), 1),
    replayOnlyEventsPerSec: Math.round(median(replayRates)),
  };
  env.log(`  rebuild ${Math.round(median(rates))} events/s; raw oo1 insert of the ${rowCount} projection rows ${Math.round(median(oo1))} rows/s`);
  return [
    figure({
      id: 'rebuild.rate',
      storage: env.storage,
      title: `rebuild(): events/s over ${events} events (target ≥ 20000/s)`,
      unit: 'events/s',
      kernel: median(rates),
      baseline: median(oo1),
      baselineName: 'raw oo1 INSERT of the projection rows (1 txn)',
      target: { on: 'kernel', op: '>=', value: 20_000 },
      samples: { kernel: rates, baseline: oo1 },
      extra,
    }),
    figure({
      id: 'rebuild.capi',
      storage: env.storage,
      title: 'rebuild(): events/s vs raw C-API insert of the projection rows',
      unit: 'events/s',
      kernel: median(rates),
      baseline: median(capi),
      baselineName: 'raw C-API INSERT of the projection rows (1 txn)',
      target: null,
      samples: { kernel: rates, baseline: capi },
    }),
  ];
}
