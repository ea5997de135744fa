/**
 * Reading the log through upcasters (worker/kernel/log/event-store.ts), on a file-backed kernel
 * that is closed and reopened with a newer module version.
 *
 * Invariants checked:
 * 1. Events stored at v1 are read (events.list, events.get, subscriptions) as v2 payloads after a
 *    v2 module with a 1→2 upcaster is loaded; the stored bytes are untouched and verify passes.
 * 2. A projection of v2 sees upcast payloads when it is built or rebuilt from the log.
 * 3. A missing upcaster, or a stored version newer than the code, is `upcast_failed`.
 * 4. A subscriber that cannot read its backlog does not break the command that committed.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openKernel } from '../../../../worker/node/index.ts';
import { KernelError } from '../../../../worker/kernel/errors.ts';
import type { EventEnvelope } from '../../../../worker/kernel/log/envelope.ts';
import { catchErrorAsync, catchError, newKey, settle, tableSha, withTempDir, type Kernel } from '../../../helpers/kernel.ts';
import { THING_COMMAND, THING_EVENT, thingModule, thingsProjection, v1Module, v2Module } from '../../../helpers/thing-modules.ts';

const LABELS = ['a', 'bb', 'ccc'];

/** Create a file database with three v1 things; returns the raw stored rows of those events. */
async function seedV1(file: string): Promise<{ rows: Record<string, unknown>[] }> {
  const k = await openKernel({ storage: { file }, modules: [v1Module()] });
  try {
    for (const label of LABELS) k.command({ type: THING_COMMAND, payload: { label }, idempotencyKey: newKey() });
    const rows = k.sql.all('SELECT * FROM events WHERE type = ? ORDER BY seq', [THING_EVENT]);
    assert.deepEqual(rows.map((r) => r['v']), [1, 1, 1]);
    return { rows };
  } finally {
    await k.close();
  }
}

function thingsOf(k: Kernel): EventEnvelope[] {
  return (k.query('events.list', { types: [THING_EVENT], order: 'asc' }) as { events: EventEnvelope[] }).events;
}

describe('upcasters', () => {
  test('events stored at v1 are read through events.list as v2 payloads', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      await seedV1(file);
      const k = await openKernel({ storage: { file }, modules: [v2Module()] });
      try {
        const events = thingsOf(k);
        assert.deepEqual(events.map((e) => e.v), [2, 2, 2]);
        assert.deepEqual(events.map((e) => e.payload), LABELS.map((label) => ({ label, size: label.length })));
        const one = k.query('events.get', { seq: events[0]!.seq }) as EventEnvelope;
        assert.deepEqual(one.payload, { label: 'a', size: 1 });
        // The descending default order upcasts too.
        const desc = (k.query('events.list', { types: [THING_EVENT] }) as { events: EventEnvelope[] }).events;
        assert.deepEqual(desc.map((e) => e.v), [2, 2, 2]);
      } finally {
        await k.close();
      }
    }));

  test('subscriptions deliver v1 events as v2 payloads', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      await seedV1(file);
      const k = await openKernel({ storage: { file }, modules: [v2Module()] });
      try {
        const seen: EventEnvelope[] = [];
        k.subscribe((b) => void seen.push(...b), { fromSeq: 1, filter: { types: [THING_EVENT] } });
        await settle();
        k.command({ type: THING_COMMAND, payload: { label: 'dddd' }, idempotencyKey: newKey() });
        await settle();
        assert.deepEqual(seen.map((e) => e.payload), [...LABELS, 'dddd'].map((label) => ({ label, size: label.length })));
        assert.ok(seen.every((e) => e.v === 2));
      } finally {
        await k.close();
      }
    }));

  test('the stored bytes are not rewritten and verify still passes', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      const { rows } = await seedV1(file);
      const k = await openKernel({ storage: { file }, modules: [v2Module([thingsProjection()])] });
      try {
        thingsOf(k);
        k.rebuild();
        const after = k.sql.all('SELECT * FROM events WHERE type = ? ORDER BY seq', [THING_EVENT]);
        assert.deepEqual(after, rows, 'v, payload and hash of the stored v1 events are unchanged');
        const report = await k.verify();
        assert.equal(report.ok, true, JSON.stringify(report.broken));
      } finally {
        await k.close();
      }
    }));

  test('new events are stored at the current version', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      await seedV1(file);
      const k = await openKernel({ storage: { file }, modules: [v2Module()] });
      try {
        const r = k.command({ type: THING_COMMAND, payload: { label: 'zz' }, idempotencyKey: newKey() });
        const raw = k.sql.get('SELECT v, payload FROM events WHERE seq = ?', [r.events[0]!.seq])!;
        assert.equal(raw['v'], 2);
        assert.deepEqual(JSON.parse(String(raw['payload'])), { label: 'zz', size: 2 });
      } finally {
        await k.close();
      }
    }));

  test('a v2 projection added on reopen is built from upcast payloads', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      await seedV1(file);
      const k = await openKernel({ storage: { file }, modules: [v2Module([thingsProjection()])] });
      try {
        const rows = k.sql.all('SELECT label, size, v FROM test_things ORDER BY seq');
        assert.deepEqual(rows, LABELS.map((label) => ({ label, size: label.length, v: 2 })));
      } finally {
        await k.close();
      }
    }));

  test('rebuilding a v2 projection replays upcast payloads and yields identical tables', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      await seedV1(file);
      const k = await openKernel({ storage: { file }, modules: [v2Module([thingsProjection()])] });
      try {
        k.command({ type: THING_COMMAND, payload: { label: 'live' }, idempotencyKey: newKey() });
        const before = tableSha(k, 'test_things');
        const report = k.rebuild(['things']);
        assert.deepEqual(report.projections.map((p) => [p.name, p.identical]), [['things', true]]);
        assert.equal(tableSha(k, 'test_things'), before);
        const sizes = k.sql.all('SELECT size FROM test_things ORDER BY seq').map((r) => r['size']);
        assert.deepEqual(sizes, [1, 2, 3, 4]);
      } finally {
        await k.close();
      }
    }));

  test('reading a v1 event without an upcaster to v2 is refused with upcast_failed', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      await seedV1(file);
      const k = await openKernel({ storage: { file }, modules: [thingModule({ version: 2, upcasters: [] })] });
      try {
        const err = catchError(() => thingsOf(k));
        assert.ok(err instanceof KernelError);
        assert.equal(err.code, 'upcast_failed');
        assert.equal(err.details['type'], THING_EVENT);
        assert.equal(err.details['from'], 1);
      } finally {
        await k.close();
      }
    }));

  test('opening with a projection that must replay events it cannot upcast is refused with upcast_failed', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      await seedV1(file);
      const err = await catchErrorAsync(() =>
        openKernel({ storage: { file }, modules: [thingModule({ version: 2, upcasters: [], projections: [thingsProjection()] })] }));
      assert.ok(err instanceof KernelError);
      assert.equal(err.code, 'upcast_failed');
      // The refused open released the file: a correct module opens it again.
      const k = await openKernel({ storage: { file }, modules: [v2Module()] });
      await k.close();
    }));

  test('an event stored at a newer version than the code is refused with upcast_failed', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      const k2 = await openKernel({ storage: { file }, modules: [v2Module()] });
      k2.command({ type: THING_COMMAND, payload: { label: 'new' }, idempotencyKey: newKey() });
      await k2.close();
      const k1 = await openKernel({ storage: { file }, modules: [v1Module()] });
      try {
        const err = catchError(() => thingsOf(k1));
        assert.ok(err instanceof KernelError);
        assert.equal(err.code, 'upcast_failed');
        assert.equal(err.details['v'], 2);
      } finally {
        await k1.close();
      }
    }));

  test('a subscriber whose backlog cannot be upcast does not make a committed command throw', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      await seedV1(file);
      const k = await openKernel({ storage: { file }, modules: [thingModule({ version: 2, upcasters: [] })] });
      try {
        const head = k.status().headSeq;
        const healthy: number[] = [];
        k.subscribe((b) => void healthy.push(...b.map((e) => e.seq)));
        const broken = k.subscribe(() => {}, { fromSeq: 1 });
        let thrown: unknown;
        try {
          k.command({ type: THING_COMMAND, payload: { label: 'x' }, idempotencyKey: newKey() });
        } catch (err) {
          thrown = err;
          // With the bug present, close the broken subscription before its queued backlog read
          // runs, or that read would surface as an uncaught exception in this process.
          broken.close();
        }
        assert.equal(k.status().headSeq, head + 1, 'the command committed');
        assert.equal(thrown, undefined,
          `command() threw ${String((thrown as Error | undefined)?.message)} although its events committed: ` +
          'a subscriber failing to read its backlog must be closed and reported, not rethrown to the caller');
        await settle();
        assert.deepEqual(healthy, [head + 1], 'other subscribers still receive the event');
      } finally {
        await k.close();
      }
    }));
});
