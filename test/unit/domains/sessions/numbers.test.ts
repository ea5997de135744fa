/**
 * Run numbers ("deploy #12") are assigned by the `session_numbers` projection in merge order, so
 * two devices that start runs of one workflow concurrently agree on the numbers after they sync.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { memKernel, newKey, type Kernel } from '../../../helpers/kernel.ts';

const DEPLOY = `name: deploy
version: 1.0.0
steps:
  - id: go
    type: task
    runner: noop
`;

function start(k: Kernel, workflow = 'deploy'): string {
  return (k.command({ type: 'session.start', payload: { workflow, inputs: {} }, idempotencyKey: newKey() }).value as { sessionId: string }).sessionId;
}

function names(k: Kernel): Map<string, string> {
  const rows = k.query('session.list', { workflow: 'deploy' }) as { id: string; name: string; number: number | null }[];
  return new Map(rows.map((r) => [r.id, r.name]));
}

async function syncBoth(a: Kernel, b: Kernel): Promise<void> {
  for (const d of a.status().devices) await b.ingest(a.exportChain(d.device));
  for (const d of b.status().devices) await a.ingest(b.exportChain(d.device));
}

describe('session run numbers', () => {
  test('numbers count up per workflow on one device, and name the session', async () => {
    const k = await memKernel();
    try {
      k.command({ type: 'workflow.save', payload: { source: DEPLOY }, idempotencyKey: newKey() });
      k.command({ type: 'workflow.save', payload: { source: DEPLOY.replace('name: deploy', 'name: build') }, idempotencyKey: newKey() });
      const d1 = start(k);
      const b1 = start(k, 'build');
      const d2 = start(k);
      const byId = (id: string) => (k.query('session.get', { sessionId: id }) as { name: string; number: number }).name;
      assert.equal(byId(d1), 'deploy #1');
      assert.equal(byId(b1), 'build #1');
      assert.equal(byId(d2), 'deploy #2');
      const byName = (rows: unknown) => [...(rows as { id: string }[])].sort((x, y) => (x.id < y.id ? -1 : 1));
      assert.deepEqual(byName(k.query('session.names', { ids: [d2, 'nope', b1] })), byName([
        { id: b1, workflow: 'build', number: 1, name: 'build #1' },
        { id: d2, workflow: 'deploy', number: 2, name: 'deploy #2' },
      ]));
      // Text search on the name.
      assert.deepEqual((k.query('session.list', { text: 'deploy #2' }) as { id: string }[]).map((x) => x.id), [d2]);
      assert.deepEqual((k.query('session.list', { text: 'BUILD' }) as { id: string }[]).map((x) => x.id), [b1]);
      assert.deepEqual((k.query('session.list', { text: d1 }) as { id: string }[]).map((x) => x.id), [d1]);
    } finally {
      await k.close();
    }
  });

  test('two devices starting runs of one workflow concurrently get the same numbers on both after merge', async () => {
    const a = await memKernel();
    const b = await memKernel();
    try {
      a.command({ type: 'workflow.save', payload: { source: DEPLOY }, idempotencyKey: newKey() });
      b.command({ type: 'workflow.save', payload: { source: DEPLOY }, idempotencyKey: newKey() });
      // Interleaved, without syncing: each device numbers its own runs #1, #2.
      const ids = [start(a), start(b), start(a), start(b), start(b)];
      assert.deepEqual([...names(a).values()].sort(), ['deploy #1', 'deploy #2']);
      assert.deepEqual([...names(b).values()].sort(), ['deploy #1', 'deploy #2', 'deploy #3']);

      await syncBoth(a, b);
      const onA = names(a);
      const onB = names(b);
      assert.equal(onA.size, 5);
      assert.deepEqual(onA, onB, 'both devices name every session alike');
      assert.deepEqual([...onA.values()].sort(), ['deploy #1', 'deploy #2', 'deploy #3', 'deploy #4', 'deploy #5'], 'unique, no gaps');
      for (const id of ids) assert.ok(onA.has(id));
      // The numbers follow the merge order: the earlier start (hlc, device) has the smaller number.
      const order = a.sql.all(`SELECT stream FROM events WHERE type = 'session.started' ORDER BY hlc, device`).map((r) => String(r['stream']).slice('session:'.length));
      assert.deepEqual(order.map((id) => onA.get(id)), ['deploy #1', 'deploy #2', 'deploy #3', 'deploy #4', 'deploy #5']);
      assert.deepEqual(a.digest(['session_numbers']), b.digest(['session_numbers']));
      // A rebuild from the log derives the same numbers.
      for (const p of a.rebuild(['session_numbers']).projections) assert.equal(p.identical, true, p.name);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
