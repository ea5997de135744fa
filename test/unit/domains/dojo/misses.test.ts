/**
 * The Dojo's record of unmet requests (worker/domains/dojo): a report is one `capability.missing`
 * event listed as open; resolving it once closes it (one event), a second time or an unknown id is
 * refused and appends nothing; rebuilding the projection gives the same rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKingdom } from '../../../../worker/node/index.ts';

type Miss = { id: string; request: string; source: string; explanation: string | null; resolved: { how: string; ref: string | null } | null };

test('a miss is recorded, listed while open, closed once, and survives a rebuild', async () => {
  const k = await openKingdom();
  try {
    const r = await k.command({ type: 'capability.report', payload: { request: '  track my subscriptions ', explanation: 'No workflow reads mail.' }, idempotencyKey: 'r1' });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.value.events.length, 1);
    assert.equal(r.value.events[0]!.type, 'capability.missing');
    const id = (r.value.value as { id: string }).id;
    await k.command({ type: 'capability.report', payload: { request: 'deploy to staging', source: 'dojo' }, idempotencyKey: 'r2' });

    const open = await k.query('capability.missing.list', {});
    assert.ok(open.ok);
    assert.deepEqual(open.value.map((m: Miss) => m.request).sort(), ['deploy to staging', 'track my subscriptions'], 'trimmed, both open');
    assert.equal(open.value.find((m: Miss) => m.id === id)?.explanation, 'No workflow reads mail.');

    const closed = await k.command({ type: 'capability.resolve', payload: { id, how: 'installed', ref: 'team/finance.subscriptions@1.0.0' }, idempotencyKey: 'c1' });
    assert.ok(closed.ok && closed.value.events.length === 1);
    const again = await k.command({ type: 'capability.resolve', payload: { id, how: 'dismissed' }, idempotencyKey: 'c2' });
    assert.ok(!again.ok && again.error.code === 'invalid_state', 'a closed miss cannot be closed again');
    const unknown = await k.command({ type: 'capability.resolve', payload: { id: '00000000-0000-4000-8000-0000000000aa', how: 'dismissed' }, idempotencyKey: 'c3' });
    assert.ok(!unknown.ok && unknown.error.code === 'not_found');
    const empty = await k.command({ type: 'capability.report', payload: { request: '   ' }, idempotencyKey: 'r3' });
    assert.ok(!empty.ok && empty.error.code === 'invalid_payload', 'an empty request is refused');

    const stillOpen = await k.query('capability.missing.list', {});
    assert.ok(stillOpen.ok);
    assert.deepEqual(stillOpen.value.map((m: Miss) => m.request), ['deploy to staging']);
    const all = await k.query('capability.missing.list', { open: false });
    assert.ok(all.ok);
    assert.deepEqual(all.value.find((m: Miss) => m.id === id)?.resolved?.ref, 'team/finance.subscriptions@1.0.0');

    const rebuilt = await k.rebuild(['capability_misses']);
    assert.ok(rebuilt.ok, JSON.stringify(rebuilt));
    const after = await k.query('capability.missing.list', { open: false });
    assert.ok(after.ok);
    assert.deepEqual(after.value, all.value, 'rebuilt from the log, identical');
  } finally {
    await k.close();
  }
});
