/**
 * The hand-written ingest pre-check (worker/kernel/log/wire-fast.ts) against zod's ingestSchema:
 * 1. Sound: on thousands of seeded mutations of real batches (a field removed, retyped, out of
 *    range, an extra key, odd payload values, odd prototypes), whenever the pre-check says valid,
 *    the schema agrees.
 * 2. Useful: every honest batch (as exported, and through JSON as a chunk carries it) passes it.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { memKernel, createWorkspace } from '../../../helpers/kernel.ts';
import { mulberry32 } from '../../../helpers/prng.ts';
import { surelyValid } from '../../../../worker/kernel/log/wire-fast.ts';
import { ingestSchema } from '../../../../worker/kernel/log/wire.ts';

const ODD: unknown[] = [
  undefined, null, 0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, '', 'x', 'x'.repeat(201), 'x'.repeat(2001), '0'.repeat(64), 'g'.repeat(64),
  '0'.repeat(16), 'A'.repeat(16), '0'.repeat(128), true, false, [], [1, undefined], {}, { a: undefined }, { a: NaN }, { a: [{ b: Infinity }] },
  Object.create(null) as unknown, Object.create({ inherited: 1 }) as unknown, new Date(0), new Map(), { [Symbol('s')]: 1 }, () => 1, 1n,
  { seq: 1, hash: '0'.repeat(64) }, { seq: 0, hash: '0'.repeat(64) }, { seq: 1, hash: '0'.repeat(64), x: 1 }, 2,
];

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

/** One random change somewhere in `batch` (mutated in place). */
function mutate(batch: Record<string, unknown>, rand: () => number): void {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const asList = (x: unknown) => (Array.isArray(x) ? x as Record<string, unknown>[] : []);
  const events = asList(batch['events']);
  const cps = asList(batch['checkpoints']);
  const r = rand();
  if (r < 0.05) { batch[pick(['events', 'checkpoints', 'extra'])] = pick(ODD); return; }
  const target: unknown = r < 0.75 || cps.length === 0 ? (events.length > 0 ? pick(events) : undefined) : pick(cps);
  if (typeof target !== 'object' || target === null || Array.isArray(target)) return;
  const t = target as Record<string, unknown>;
  const keys = Object.keys(target);
  if (keys.length === 0) return;
  const op = rand();
  if (op < 0.15) delete t[pick(keys)];
  else if (op < 0.25) t[pick(['extra', '__proto__', 'seq', 'streamSeq', 'constructor'])] = pick(ODD);
  else if (op < 0.45 && t['payload'] && typeof t['payload'] === 'object') {
    const p = t['payload'] as Record<string, unknown>;
    const inner = Object.keys(p);
    if (inner.length > 0 && rand() < 0.6) p[pick(inner)] = pick(ODD);
    else p[pick(['k', 'constructor', '__proto__', '0'])] = pick(ODD);
  } else t[pick(keys)] = pick(ODD);
}

describe('ingest pre-check', () => {
  test('never passes what the schema refuses; passes every honest batch', async () => {
    const a = await memKernel();
    try {
      for (let i = 0; i < 6; i++) createWorkspace(a, `W${i} ${'é'.repeat(i)}`);
      await a.checkpointsSettled();
      const exported = a.exportChain(a.deviceId);
      const honest = { events: exported.events, checkpoints: exported.checkpoints };
      assert.equal(ingestSchema.safeParse(honest).success, true);
      assert.equal(surelyValid(honest), true, 'as exported');
      assert.equal(surelyValid(clone(honest)), true, 'through JSON');
      assert.equal(surelyValid({ events: clone(honest.events) }), true, 'without checkpoints');

      const rand = mulberry32(Number(process.env['KINGDOM_WIRE_SEED'] ?? 20261207));
      let passed = 0;
      let refused = 0;
      for (let i = 0; i < 3000; i++) {
        const batch = clone(honest) as unknown as Record<string, unknown>;
        const n = 1 + Math.floor(rand() * 3);
        for (let j = 0; j < n; j++) mutate(batch, rand);
        const zod = ingestSchema.safeParse(batch).success;
        const fast = surelyValid(batch);
        if (fast) assert.equal(zod, true, `the pre-check passed a batch the schema refuses (case ${i})`);
        if (fast) passed++;
        if (!zod) refused++;
      }
      assert.ok(refused > 1000, `the mutations reach refusals (${refused})`);
      assert.ok(passed > 100, `some mutations stay valid and pass (${passed})`);
    } finally {
      await a.close();
    }
  });
});
