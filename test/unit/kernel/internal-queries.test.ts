/**
 * Internal queries (e.g. `secret.values`) answer the kernel's own code (`systemQuery`) and are
 * refused through the API; the query context lets a slice ask another slice's query.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKingdom, openKernel } from '../../../worker/node/index.ts';

test('an internal query is forbidden through the API and answers systemQuery', async () => {
  const k = await openKernel();
  try {
    k.command({ type: 'secret.set', payload: { name: 'TOKEN', value: 's3cret' }, idempotencyKey: 'a' });
    assert.throws(() => k.query('secret.values'), { code: 'forbidden' });
    assert.deepEqual(k.systemQuery('secret.values'), { TOKEN: 's3cret' });
    assert.ok(!/secret\.values/.test((() => { try { k.query('nope'); } catch (e) { return String((e as Error).message); } return ''; })()), 'unknown_query does not list internal queries');
  } finally {
    await k.close();
  }
});

test('through openKingdom the internal query fails with forbidden, and provider keySet comes from secret.list', async () => {
  const api = await openKingdom({ engine: false });
  try {
    const r = await api.query('secret.values', {});
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, 'forbidden');
    await api.command({ type: 'llm.provider.set', payload: { id: 'p', kind: 'openai', baseUrl: 'https://example.test/v1', models: ['m'], apiKeySecret: 'P_KEY' }, idempotencyKey: 'p' });
    const before = await api.query('llm.provider.list', {});
    assert.equal(before.ok && before.value[0]!.keySet, false);
    await api.command({ type: 'secret.set', payload: { name: 'P_KEY', value: 'k' }, idempotencyKey: 'k' });
    const after = await api.query('llm.provider.list', {});
    assert.equal(after.ok && after.value[0]!.keySet, true);
  } finally {
    await api.close();
  }
});
