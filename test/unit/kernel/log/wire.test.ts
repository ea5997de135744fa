/**
 * The ingest batch schema, checked once (worker/kernel/log/wire.ts):
 * 1. `checkIngest` accepts and refuses exactly what `ingestSchema` does, with its issues.
 * 2. `parseIngest` takes a batch of objects `checkIngest` returned as they are (no second check),
 *    and anything else through the full schema: one unchecked malformed event, another key or a
 *    wrapper that is not a plain object is still `invalid_events`, with the same message.
 * 3. A chain opened with `checkIngest` applies through `kernel.ingest` like the raw one.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { memKernel, createWorkspace } from '../../../helpers/kernel.ts';
import { checkIngest, ingestSchema, parseIngest } from '../../../../worker/kernel/log/wire.ts';
import { KernelError } from '../../../../worker/kernel/errors.ts';

async function chain() {
  const a = await memKernel();
  for (let i = 0; i < 4; i++) createWorkspace(a, `A${i}`);
  const exported = a.exportChain(a.deviceId);
  // Through JSON, as a chunk carries them: fresh objects.
  return { a, events: JSON.parse(JSON.stringify(exported.events)) as unknown[], checkpoints: JSON.parse(JSON.stringify(exported.checkpoints)) as unknown[] };
}

function invalidMessage(input: unknown): string {
  try {
    parseIngest(input);
  } catch (err) {
    assert.ok(err instanceof KernelError && err.code === 'invalid_events', String(err));
    return err.message;
  }
  assert.fail('parseIngest accepted a malformed batch');
}

describe('ingest wire schema', () => {
  test('checkIngest agrees with the schema on valid and malformed batches', async () => {
    const { a, events, checkpoints } = await chain();
    try {
      const first = events[0] as Record<string, unknown>;
      const cases: unknown[] = [
        { events, checkpoints }, { events }, null, 'x', { events: 'x' }, { events, extra: 1 },
        { events: [{ ...first, extra: true }] }, { events: [{ ...first, hlc: 'zz' }] }, { events: [{ ...first, payload: { f: () => 1 } }] },
        { events: [{ ...first, seq: 4, streamSeq: 2 }] }, { events, checkpoints: [{ ...(checkpoints[0] as object), format: 1 }] },
      ];
      for (const input of cases) {
        const schema = ingestSchema.safeParse(input);
        const ours = checkIngest(input);
        assert.equal(ours.ok, schema.success, JSON.stringify(input)?.slice(0, 80));
        if (!ours.ok && !schema.success) {
          assert.deepEqual(ours.issues, schema.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
        }
      }
      const withPositions = checkIngest({ events: [{ ...first, seq: 4, streamSeq: 2 }] });
      assert.ok(withPositions.ok);
      assert.equal('seq' in withPositions.events[0]!, false);
      assert.equal('streamSeq' in withPositions.events[0]!, false);
    } finally {
      await a.close();
    }
  });

  test('parseIngest takes checked objects as they are, and checks anything else in full', async () => {
    const { a, events, checkpoints } = await chain();
    try {
      const checked = checkIngest({ events, checkpoints });
      assert.ok(checked.ok);
      const parsed = parseIngest({ events: checked.events, checkpoints: checked.checkpoints });
      assert.ok(parsed.events.every((e, i) => e === checked.events[i]), 'the same objects, not copies');
      assert.ok(parsed.checkpoints.every((c, i) => c === checked.checkpoints[i]));

      const bad = { ...(events[1] as object), hlc: 'zz' };
      // One unchecked malformed event among checked ones: the full schema, the same refusal.
      const mixed = [checked.events[0], bad, ...checked.events.slice(2)];
      assert.equal(invalidMessage({ events: mixed }), invalidMessage({ events: [events[0], bad, ...events.slice(2)] }));
      assert.match(invalidMessage({ events: checked.events, extra: 1 }), /invalid|not a list/);
      assert.match(invalidMessage({ events: checked.events, checkpoints: 'x' }), /checkpoints/);
      const wrapper = Object.assign(Object.create({ inherited: true }) as object, { events: checked.events });
      assert.equal(invalidMessage(wrapper), invalidMessage(Object.assign(Object.create({ inherited: true }) as object, { events })));
      // An unchecked copy of a checked event is checked again (and passes).
      assert.equal(parseIngest({ events: checked.events.map((e) => ({ ...e })) }).events.length, events.length);
    } finally {
      await a.close();
    }
  });

  test('a chain opened with checkIngest applies through kernel.ingest like the raw one', async () => {
    const { a, events, checkpoints } = await chain();
    const b = await memKernel();
    const c = await memKernel();
    try {
      const checked = checkIngest({ events, checkpoints });
      assert.ok(checked.ok);
      const viaChecked = await b.ingest({ events: checked.events, checkpoints: checked.checkpoints });
      const viaRaw = await c.ingest({ events, checkpoints });
      assert.equal(viaChecked.applied, events.length);
      assert.equal(viaChecked.checkpoints, viaRaw.checkpoints);
      assert.deepEqual(b.digest(), c.digest());
      const names = (k: typeof a) => (k.query('workspace.list', {}) as { name: string }[]).map((w) => w.name).sort();
      assert.deepEqual(names(b), names(a));
    } finally {
      await a.close();
      await b.close();
      await c.close();
    }
  });
});
