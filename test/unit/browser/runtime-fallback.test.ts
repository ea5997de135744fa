/**
 * The browser runtime where the platform has no OPFS and no Web Locks (Node 20 has neither
 * `navigator.storage` nor `navigator.locks`): it must fall back to an in-memory kernel, say why,
 * and still work — never hang and never throw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrowserRuntime } from '../../../worker/browser/runtime.ts';
import { opfsAvailable } from '../../../worker/browser/opfs-adapter.ts';

test('without OPFS the runtime runs in memory, reports why, and accepts commands', async () => {
  const reason = opfsAvailable();
  assert.ok(reason, 'this Node has no OPFS');
  const rt = new BrowserRuntime();
  await rt.start();
  try {
    const info = await rt.api.info();
    assert.equal(info.storage, 'memory');
    assert.equal(info.role, 'standalone');
    assert.match(info.fallbackReason ?? '', /OPFS|Origin Private File System/);
    assert.equal(info.startupError, null);
    const r = await rt.api.command({ type: 'workspace.create', payload: { name: 'Offline' }, idempotencyKey: 'k' });
    assert.ok(r.ok, JSON.stringify(r));
    const seen: number[] = [];
    const sub = await rt.api.subscribe((events) => void seen.push(...events.map((e) => e.seq)), { fromSeq: 1 });
    assert.ok(sub.ok);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(seen, [1, 2]);
    const v = await rt.api.verify();
    assert.ok(v.ok && v.value.ok);
  } finally {
    await rt.close();
  }
});

test('a closed runtime answers kernel_closed instead of hanging', async () => {
  const rt = new BrowserRuntime();
  await rt.start();
  await rt.close();
  const r = await rt.api.command({ type: 'kernel.ping' });
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.error.code, 'kernel_closed');
});
