/**
 * Where does one kernel command spend its time? Times each stage of `bench.item.add` in isolation
 * (same calls the kernel makes, same statements, on a kernel database of the same size) and the
 * whole command, in Node on memory. Informational; run with:
 *
 *   npx tsx test/bench/breakdown.ts [--n 5000]
 */
import '../../worker/kernel/zod-setup.ts';
import { openKernel } from '../../worker/node/index.ts';
import { commandEnvelopeSchema } from '../../worker/kernel/commands/envelope.ts';
import { canonicalJson } from '../../worker/kernel/log/canonical.ts';
import { sha256Hex } from '../../worker/kernel/log/hash.ts';
import { hashEventWithPayloadJson } from '../../worker/kernel/log/envelope.ts';
import { uuidv7 } from '../../worker/kernel/ids.ts';
import { benchCommands, benchModule } from './lib/workload.ts';
import { capiInserter, EVENT_COLUMNS, insertSql, oo1Inserter, type RawRow } from './lib/raw.ts';
import { median } from './lib/stats.ts';

const argN = process.argv.indexOf('--n');
const N = argN > 0 ? Number(process.argv[argN + 1]) : 5000;
const REPS = 5;

export interface Stage {
  readonly stage: string;
  readonly usPerCall: number;
}

/** Median over REPS of (time of fn(i) for i < n) / n, in µs. Each rep gets fresh indices. */
function timeIt(n: number, fn: (i: number) => void, setup?: () => void): number {
  const per: number[] = [];
  let base = 0;
  for (let r = 0; r < REPS + 1; r++) {
    setup?.();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn(base + i);
    const ms = performance.now() - t0;
    base += n;
    if (r > 0) per.push((ms * 1000) / n); // rep 0 is warm-up
  }
  return median(per);
}

export async function breakdown(n = N): Promise<Stage[]> {
  const k = await openKernel({ storage: 'memory', modules: [benchModule] });
  const sql = k.sql;
  const total = n * (REPS + 1);
  const cmds = benchCommands(total * 2);
  const def = benchModule.commands![0]!;
  const edef = benchModule.events![0]!;
  const out: Stage[] = [];
  const add = (stage: string, us: number) => out.push({ stage, usPerCall: Math.round(us * 100) / 100 });

  // Whole command, batched 100 per transaction (the figure the batch benchmark reports).
  {
    let next = 0;
    add('whole command (commandBatch of 100)', timeIt(n / 100, () => {
      k.commandBatch(cmds.slice(next, next + 100));
      next += 100;
    }) / 100);
  }
  const inTx = (label: string, fn: (i: number) => void) => {
    sql.exec('BEGIN IMMEDIATE');
    try {
      add(label, timeIt(n, fn));
    } finally {
      sql.exec('ROLLBACK');
    }
  };
  // Validation and hashing (pure JS).
  add('zod: command envelope', timeIt(n, (i) => commandEnvelopeSchema.safeParse(cmds[i % cmds.length])));
  add('zod: payload schema', timeIt(n, (i) => def.schema.safeParse(cmds[i % cmds.length]!.payload)));
  add('zod: event payload schema', timeIt(n, (i) => edef.schema.safeParse(cmds[i % cmds.length]!.payload)));
  add('requestHash: canonicalJson + sha256', timeIt(n, (i) => {
    const c = cmds[i % cmds.length]!;
    sha256Hex(canonicalJson({ type: c.type, payload: c.payload as never, expectedVersion: null }));
  }));
  add('uuidv7()', timeIt(n, () => uuidv7(Date.now())));
  add('new Date().toISOString()', timeIt(n, () => new Date(Date.now()).toISOString()));
  const body = {
    id: uuidv7(), deviceSeq: 1, hlc: '0190a8c400000000', stream: 'item:x', streamBase: 0, type: 'bench.item_added', v: 1,
    at: new Date().toISOString(), actor: 'user', device: 'dev-0190a8c4-0000-7000-8000-000000000000', prev: '0'.repeat(64),
  };
  add('event hash: canonical body + sha256', timeIt(n, (i) => {
    const payloadJson = canonicalJson(cmds[i % cmds.length]!.payload);
    hashEventWithPayloadJson({ ...body, deviceSeq: i + 1 }, payloadJson);
  }));
  // Statements, through the kernel's Sql wrapper (oo1 bind/step/reset), inside one transaction.
  const before = k.store.committedHead.seq;
  inTx('SQL: idempotency lookup (miss)', (i) => sql.get('SELECT command_type, request_hash, result FROM idempotency WHERE key = ?', [`nokey-${i}`]));
  inTx('SQL: stream version lookup (miss)', (i) => sql.value('SELECT COALESCE(MAX(stream_seq), 0) FROM events WHERE stream = ?', [`item:none-${i}`]));
  inTx('SQL: events INSERT (16 params)', (i) => sql.run(
    'INSERT INTO events (seq, id, device, device_seq, hlc, ord, stream, stream_seq, stream_base, type, v, at, actor, payload, prev, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)',
    [before + 1 + i, `id-${i}`, body.device, 100_000 + i, body.hlc, `ord-${i}`, `item:s-${i}`, 1, 0, 'bench.item_added', 1, body.at, 'user', `{"itemId":"it-${i}","value":"value ${i} of run: lorem ipsum dolor"}`, body.prev, `h-${i}`],
  ));
  inTx('SQL: projection INSERT (3 params)', (i) => sql.run('INSERT INTO bench_items (id, value, seq) VALUES (?, ?, ?)', [`b-${i}`, `value ${i} of run: lorem ipsum dolor`, i]));
  inTx('SQL: idempotency INSERT (5 params)', (i) => sql.run(
    'INSERT INTO idempotency (key, command_type, request_hash, result, at) VALUES (?,?,?,?,?)',
    [`k-${i}`, 'bench.item.add', body.prev, `{"type":"bench.item.add","value":{"itemId":"it-${i}"},"events":[],"streamVersion":1}`, body.at],
  ));
  // The same events INSERT through a bare oo1 statement and through the C API.
  const evRows: RawRow[] = [];
  for (let i = 0; i < total; i++) {
    evRows.push([before + 1 + i, `id-${i}`, body.device, 200_000 + i, body.hlc, `ord-${i}`, `item:s-${i}`, 1, 0, 'bench.item_added', 1, body.at, 'user',
      `{"itemId":"it-${i}","value":"value ${i} of run: lorem ipsum dolor"}`, body.prev, `h-${i}`]);
  }
  const sqlEv = insertSql('events', EVENT_COLUMNS);
  {
    const ins = oo1Inserter(sql.db, sqlEv);
    inTx('raw oo1: events INSERT (stmt.bind(arr).stepReset())', (i) => ins.one(evRows[i]!));
    ins.close();
  }
  {
    const opened = (k as unknown as { opened: { sqlite3: Parameters<typeof capiInserter>[0] } }).opened;
    const ins = capiInserter(opened.sqlite3, sql.db, sqlEv);
    inTx('raw C API: events INSERT', (i) => ins.one(evRows[i]!));
    ins.close();
  }
  await k.close();
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const stages = await breakdown();
  const w = Math.max(...stages.map((s) => s.stage.length));
  for (const s of stages) console.log(`${s.stage.padEnd(w)}  ${s.usPerCall.toFixed(2).padStart(8)} µs`);
}
