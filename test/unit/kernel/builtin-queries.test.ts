/**
 * The kernel's own queries (worker/kernel/builtin-queries.ts) and query validation.
 *
 * Invariants checked:
 * 1. `events.list` pages the log newest-first by default (or oldest-first), with and without
 *    filters, and reports the filtered total and the head.
 * 2. Unknown queries are `unknown_query`; bad params are `invalid_query` naming the field.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { KernelError } from '../../../worker/kernel/errors.ts';
import type { EventEnvelope } from '../../../worker/kernel/log/envelope.ts';
import { catchError, createProject, createWorkspace, memKernel, type Kernel } from '../../helpers/kernel.ts';

type Page = { events: EventEnvelope[]; total: number; headSeq: number };

async function withLog<T>(fn: (k: Kernel, head: number) => T | Promise<T>): Promise<T> {
  const k = await memKernel();
  try {
    const w = createWorkspace(k, 'W');
    createProject(k, w, 'P1');
    createProject(k, w, 'P2');
    createWorkspace(k, 'X');
    return await fn(k, k.status().headSeq);
  } finally {
    await k.close();
  }
}

describe('events.list', () => {
  test('without parameters it returns the newest events first with total and head', () =>
    withLog((k, head) => {
      const page = k.query('events.list', {}) as Page;
      assert.deepEqual(page.events.map((e) => e.seq), Array.from({ length: head }, (_, i) => head - i));
      assert.equal(page.total, head);
      assert.equal(page.headSeq, head);
    }));

  test('with order asc it pages forward from afterSeq', () =>
    withLog((k) => {
      const page = k.query('events.list', { order: 'asc', afterSeq: 1, limit: 2 }) as Page;
      assert.deepEqual(page.events.map((e) => e.seq), [2, 3]);
    }));

  test('with beforeSeq it pages backwards', () =>
    withLog((k) => {
      const page = k.query('events.list', { beforeSeq: 4, limit: 2 }) as Page;
      assert.deepEqual(page.events.map((e) => e.seq), [3, 2]);
    }));

  test('a type filter narrows events and total', () =>
    withLog((k) => {
      const page = k.query('events.list', { types: ['project.created'] }) as Page;
      assert.equal(page.events.length, 2);
      assert.equal(page.total, 2);
      assert.ok(page.events.every((e) => e.type === 'project.created'));
    }));

  test('an empty type list means no type filter', () =>
    withLog((k, head) => {
      const page = k.query('events.list', { types: [] }) as Page;
      assert.equal(page.total, head);
    }));

  test('unknown parameters are refused with invalid_query naming them', () =>
    withLog((k) => {
      const err = catchError(() => k.query('events.list', { colour: 'red' }));
      assert.ok(err instanceof KernelError);
      assert.equal(err.code, 'invalid_query');
      assert.match(err.message, /colour/);
    }));

  test('an out-of-range limit is refused with invalid_query', () =>
    withLog((k) => {
      const err = catchError(() => k.query('events.list', { limit: 0 }));
      assert.equal(err.code, 'invalid_query');
      assert.match(err.message, /params\.limit/);
    }));
});

describe('other built-in queries', () => {
  test('events.get returns one event by seq, or null', () =>
    withLog((k, head) => {
      const e = k.query('events.get', { seq: 2 }) as EventEnvelope;
      assert.equal(e.seq, 2);
      assert.deepEqual(e, k.readEvents(1, 1)[0]);
      assert.equal(k.query('events.get', { seq: head + 1 }), null);
    }));

  test('events.types counts events per type', () =>
    withLog((k) => {
      const r = k.query('events.types', {}) as { types: { type: string; count: number }[] };
      assert.deepEqual(r.types, [
        { type: 'device.key_registered', count: 1 },
        { type: 'project.created', count: 2 },
        { type: 'workspace.created', count: 2 },
      ]);
    }));

  test('an unknown query is refused with unknown_query listing the known ones', () =>
    withLog((k) => {
      const err = catchError(() => k.query('events.delete', {}));
      assert.ok(err instanceof KernelError);
      assert.equal(err.code, 'unknown_query');
      assert.match(err.message, /events\.list/);
    }));
});
