/**
 * A session that ended while no summary could be written (the app closed or crashed right after
 * the session's last commit) gets its Forest summary when the engine next starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKernel } from '../../../worker/node/index.ts';
import { Engine } from '../../../worker/engine/engine.ts';
import { summaryNodeId } from '../../../worker/engine/learning.ts';

test('an ended session without a summary is summarised on the next engine start', async () => {
  const k = await openKernel();
  try {
    const source = 'name: quiet\nversion: 1.0.0\nsteps:\n  - { id: only, type: task, runner: transform, with: { value: 42 } }\n';
    const r = k.command({ type: 'session.start', payload: { source }, idempotencyKey: 'start' });
    const sessionId = (r.value as { sessionId: string }).sessionId;
    // The session runs to its end without an engine (as if the engine died before summarising).
    k.systemBatch([{
      type: 'session.record', expectedVersion: 1, idempotencyKey: 'rec', actor: 'engine',
      payload: { sessionId, events: [
        { type: 'step.scheduled', payload: { step: 'only' } },
        { type: 'step.started', payload: { step: 'only', attempt: 1, idempotencyKey: `${sessionId}/only/1`, runner: 'transform', input: { value: 42 } } },
        { type: 'step.succeeded', payload: { step: 'only', attempt: 1, output: 42, durationMs: 0 } },
        { type: 'session.succeeded', payload: { output: null } },
      ] },
    }]);
    assert.equal(k.query('forest.node.get', { id: summaryNodeId(sessionId) }), null, 'no summary yet');
    const engine = Engine.start(k);
    await engine.idle();
    const got = k.query('forest.node.get', { id: summaryNodeId(sessionId) }) as { node: { title: string; tags: string[] } } | null;
    assert.ok(got, 'the summary was written on start');
    assert.match(got.node.title, /quiet/);
    assert.ok(got.node.tags.includes('workflow:quiet'));
    engine.stop();
  } finally {
    await k.close();
  }
});
