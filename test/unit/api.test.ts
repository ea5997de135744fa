/**
 * The public API (worker/api.ts via worker/node/index.ts `openKingdom()`).
 *
 * Invariants checked:
 * 1. Every method resolves with a plain-data Result; failures carry a catalogued code and survive
 *    structuredClone; nothing rejects.
 * 2. Subscriptions through the API deliver batches in order and stop after `unsubscribe`.
 * 3. After `close()`, calls resolve with `kernel_closed`.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { openKingdom, ERROR_CODES, type EventEnvelope } from '../../worker/node/index.ts';
import { newKey, settle } from '../helpers/kernel.ts';

describe('openKingdom', () => {
  test('a command resolves with ok and the result; a bad one with ok:false and a catalogued code', async () => {
    const k = await openKingdom();
    try {
      const good = await k.command({ type: 'workspace.create', payload: { name: 'Acme' }, idempotencyKey: newKey() });
      assert.equal(good.ok, true);
      const bad = await k.command({ type: 'workspace.create', payload: { name: 'acme' }, idempotencyKey: newKey() });
      assert.equal(bad.ok, false);
      if (!bad.ok) {
        assert.equal(bad.error.code, 'already_exists');
        assert.equal(bad.error.name, 'KernelError');
        assert.ok(bad.error.code in ERROR_CODES);
        assert.deepEqual(structuredClone(bad), bad);
      }
    } finally {
      await k.close();
    }
  });

  test('queries, status and verify resolve with plain data', async () => {
    const k = await openKingdom();
    try {
      await k.command({ type: 'workspace.create', payload: { name: 'Acme' }, idempotencyKey: newKey() });
      const list = await k.query<{ name: string }[]>('workspace.list', {});
      assert.ok(list.ok);
      assert.deepEqual(list.value.map((w) => w.name), ['Default', 'Acme']);
      const status = await k.status();
      assert.ok(status.ok);
      assert.equal(status.value.storage.kind, 'memory');
      const verify = await k.verify();
      assert.ok(verify.ok && verify.value.ok);
      assert.deepEqual(structuredClone(status.value), status.value);
      const info = await k.info();
      assert.equal(info.storage, 'memory');
    } finally {
      await k.close();
    }
  });

  test('subscribe delivers batches in order and unsubscribe stops delivery', async () => {
    const k = await openKingdom();
    try {
      const seen: number[] = [];
      const sub = await k.subscribe((b: EventEnvelope[]) => void seen.push(...b.map((e) => e.seq)), { fromSeq: 1 });
      assert.ok(sub.ok);
      await k.command({ type: 'workspace.create', payload: { name: 'A' }, idempotencyKey: newKey() });
      await settle();
      assert.deepEqual(seen, [1, 2]);
      await k.unsubscribe(sub.value);
      await k.command({ type: 'workspace.create', payload: { name: 'B' }, idempotencyKey: newKey() });
      await settle();
      assert.deepEqual(seen, [1, 2]);
    } finally {
      await k.close();
    }
  });

  test('after close every call resolves with kernel_closed', async () => {
    const k = await openKingdom();
    await k.close();
    await k.close(); // idempotent
    const r = await k.command({ type: 'kernel.ping', payload: {} });
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, 'kernel_closed');
    const q = await k.query('workspace.list', {});
    assert.equal(q.ok, false);
    const s = await k.status();
    assert.equal(s.ok, false);
  });
});
