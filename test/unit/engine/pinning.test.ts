/**
 * session.start pins the exact definition (source and SHA-256) and the validated inputs: saving a
 * new revision of the workflow while a session runs changes nothing for that session, and the
 * library lists both revisions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKernel } from '../../../worker/node/index.ts';
import { Engine } from '../../../worker/engine/engine.ts';
import { ManualClock } from '../../../worker/engine/clock.ts';
import { parseWorkflow } from '../../../worker/workflow/index.ts';

const V1 = 'name: pin\nversion: 1.0.0\ninputs:\n  n: { type: number, default: 2 }\nsteps:\n  - { id: nap, type: wait, duration: 1m }\n  - { id: out, type: task, runner: transform, dependsOn: [nap], with: { value: "v1:{{ inputs.n }}" } }\noutputs:\n  result: "{{ steps.out.output }}"\n';
const V2 = V1.replace('version: 1.0.0', 'version: 2.0.0').replace('"v1:', '"v2:');

test('a running session keeps the definition and inputs it started with', async () => {
  const clock = new ManualClock();
  const k = await openKernel({ storage: 'memory', clock: clock.now });
  const engine = Engine.start(k, { clock, onError: (err) => { throw err; } });
  try {
    k.command({ type: 'workflow.save', payload: { source: V1 }, idempotencyKey: 'save-1' });
    const r = k.command({ type: 'session.start', payload: { workflow: 'pin' }, idempotencyKey: 'start' });
    const sessionId = (r.value as { sessionId: string }).sessionId;
    await engine.idle();
    k.command({ type: 'workflow.save', payload: { source: V2 }, idempotencyKey: 'save-2' });
    const started = JSON.parse(String(k.sql.value("SELECT payload FROM events WHERE stream = ? AND type = 'session.started'", [`session:${sessionId}`]))) as {
      source: string; inputs: { n: number }; workflow: { version: string; hash: string };
    };
    const v1 = parseWorkflow(V1);
    assert.ok(v1.ok);
    assert.equal(started.source, V1, 'the exact source text is pinned');
    assert.equal(started.workflow.hash, v1.hash, 'with the SHA-256 of its canonical form');
    assert.equal(started.workflow.version, '1.0.0');
    assert.deepEqual(started.inputs, { n: 2 }, 'validated inputs, defaults applied');
    clock.advance(60_000);
    for (let i = 0; i < 50 && (k.query('session.get', { sessionId }) as { status: string }).status === 'running'; i++) await engine.idle();
    const s = k.query('session.get', { sessionId }) as { status: string; output: unknown };
    assert.equal(s.status, 'succeeded');
    assert.deepEqual(s.output, { result: 'v1:2' }, 'the session ran the pinned revision, not the newer one');
    const revisions = k.query('workflow.revisions', { name: 'pin' }) as { revision: number; version: string }[];
    assert.deepEqual(revisions.map((x) => [x.revision, x.version]), [[2, '2.0.0'], [1, '1.0.0']]);
    const again = k.command({ type: 'session.start', payload: { workflow: 'pin' }, idempotencyKey: 'start-2' });
    const latest = JSON.parse(String(k.sql.value("SELECT payload FROM events WHERE stream = ? AND type = 'session.started'", [`session:${(again.value as { sessionId: string }).sessionId}`]))) as { workflow: { version: string } };
    assert.equal(latest.workflow.version, '2.0.0', 'a new session takes the latest revision');
  } finally {
    engine.stop();
    await k.close();
  }
});
