import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKingdom } from '../../../../worker/node/index.ts';

test('workspace.list and project.list as commands answer like the queries and append nothing', async () => {
  const k = await openKingdom();
  try {
    const created = await k.command({ type: 'workspace.create', payload: { name: 'Acme' }, idempotencyKey: 'w1' });
    assert.ok(created.ok);
    const workspaceId = (created.value.value as { workspaceId: string }).workspaceId;
    await k.command({ type: 'project.create', payload: { workspaceId, name: 'Launch' }, idempotencyKey: 'p1' });
    const before = await k.status();
    assert.ok(before.ok);

    const viaCommand = await k.command({ type: 'workspace.list' });
    const viaQuery = await k.query('workspace.list');
    assert.ok(viaCommand.ok && viaQuery.ok);
    assert.deepEqual(viaCommand.value.value, viaQuery.value);
    assert.deepEqual(viaCommand.value.events, []);

    const projects = await k.command({ type: 'project.list', payload: { workspaceId } });
    assert.ok(projects.ok);
    assert.deepEqual((projects.value.value as { name: string }[]).map((p) => p.name), ['Launch']);

    const bad = await k.command({ type: 'project.list', payload: { workspaceId, extra: 1 } });
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.equal(bad.error.code, 'invalid_payload');

    const after = await k.status();
    assert.ok(after.ok);
    assert.equal(after.value.headSeq, before.value.headSeq, 'reads append nothing');
  } finally {
    await k.close();
  }
});
