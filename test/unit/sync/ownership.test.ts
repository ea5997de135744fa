/**
 * A workflow session belongs to the device that started it: only the owner's engine runs its
 * steps. On another device a person's cancel or approval becomes a `session.requested` event the
 * owner applies when it receives it (here: kernels exchanging their chains by ingest, engines on).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { openKernel } from '../../../worker/node/index.ts';
import { Engine } from '../../../worker/engine/engine.ts';
import type { Kernel } from '../../../worker/kernel/kernel.ts';
import { newKey } from '../../helpers/kernel.ts';

const WAITING = `name: release
version: 1.0.0
steps:
  - id: sign_off
    type: approval
    prompt: "Ship it?"
  - id: done
    type: task
    runner: noop
    dependsOn: [sign_off]
`;

interface Device { k: Kernel; engine: Engine }

async function device(): Promise<Device> {
  const k = await openKernel({ storage: 'memory' });
  return { k, engine: Engine.start(k) };
}

async function sync(from: Device, to: Device): Promise<void> {
  for (const d of from.k.status().devices) await to.k.ingest(from.k.exportChain(d.device));
  await to.engine.idle();
}

const session = (d: Device, id: string) => d.k.query('session.get', { sessionId: id }) as { status: string; steps?: { key: string; status: string }[] } | null;

async function settle(...ds: Device[]): Promise<void> {
  for (let i = 0; i < 3; i++) for (const d of ds) await d.engine.idle();
}

/** On `d`: save the release workflow and start a session that waits for its approval. */
async function startWaiting(d: Device): Promise<string> {
  d.k.command({ type: 'workflow.save', payload: { source: WAITING }, idempotencyKey: newKey() });
  const id = (d.k.command({ type: 'session.start', payload: { workflow: 'release', inputs: {} }, idempotencyKey: newKey() }).value as { sessionId: string }).sessionId;
  await settle(d);
  return id;
}

describe('sessions across devices', () => {
  test("another device's session is never run here; its cancel becomes a request the owner applies", async () => {
    const a = await device();
    const b = await device();
    try {
      const id = await startWaiting(a);
      assert.equal(session(a, id)?.status, 'running');
      await sync(a, b);
      const bOwn = b.k.status().deviceSeq;
      await settle(b);
      assert.equal(b.k.status().deviceSeq, bOwn, "B's engine wrote nothing for A's session");

      const r = b.k.command({ type: 'session.cancel', payload: { sessionId: id, reason: 'from the tablet' }, idempotencyKey: newKey() });
      assert.deepEqual(r.value, { sessionId: id, requested: true, owner: a.k.deviceId });
      assert.equal((b.k.query('session.state', { sessionId: id }) as { owner: string }).owner, a.k.deviceId, 'the session page names the device that runs it');
      assert.equal(session(b, id)?.status, 'running', 'nothing changes until the owner applies it');
      await sync(b, a);
      await settle(a);
      assert.equal(session(a, id)?.status, 'cancelled');
      await sync(a, b);
      assert.equal(session(b, id)?.status, 'cancelled');
      // Sent again (a relay repeats itself): applied once.
      await sync(b, a);
      assert.equal(a.k.readEvents(0, 10_000, { types: ['session.cancelled'] }).length, 1);
      assert.deepEqual(a.k.digest(), b.k.digest());
    } finally {
      await a.k.close();
      await b.k.close();
    }
  });

  test('an approval given on another device lets the owner run the session to its end', async () => {
    const a = await device();
    const b = await device();
    try {
      const id = await startWaiting(a);
      await sync(a, b);
      const r = b.k.command({ type: 'session.approve', payload: { sessionId: id, step: 'sign_off', comment: 'go' }, idempotencyKey: newKey() });
      assert.equal((r.value as { requested: boolean }).requested, true);
      await sync(b, a);
      await settle(a);
      assert.equal(session(a, id)?.status, 'succeeded');
      await sync(a, b);
      assert.equal(session(b, id)?.status, 'succeeded');
      // The summary is written once, by the owner's engine, and reaches B by sync: B gets the
      // session's end before the summary and must not write one of its own.
      const withoutSummary = a.k.exportChain(a.k.deviceId).events.filter((e) => !e.type.startsWith('forest.'));
      await b.k.ingest({ events: withoutSummary });
      await settle(a, b);
      await new Promise((r) => setTimeout(r, 50));
      await settle(a, b);
      await sync(b, a);
      await sync(a, b);
      const created = b.k.readEvents(0, 10_000, { types: ['forest.node_created'] });
      assert.equal(created.length, 1, JSON.stringify(created.map((e) => e.device)));
      assert.equal(created[0]!.device, a.k.deviceId);
      assert.deepEqual(a.k.digest(), b.k.digest());
    } finally {
      await a.k.close();
      await b.k.close();
    }
  });

  test('a request that arrives while the owner\'s engine is stopped is applied when it starts', async () => {
    const a = await device();
    const b = await device();
    try {
      const id = await startWaiting(a);
      await sync(a, b);
      b.k.command({ type: 'session.approve', payload: { sessionId: id, step: 'sign_off', comment: 'later' }, idempotencyKey: newKey() });
      a.engine.stop();
      for (const d of b.k.status().devices) await a.k.ingest(b.k.exportChain(d.device));
      assert.equal(session(a, id)?.status, 'running', 'nothing applies it while the engine is stopped');
      a.engine = Engine.start(a.k);
      await settle(a);
      assert.equal(session(a, id)?.status, 'succeeded');
    } finally {
      await a.k.close();
      await b.k.close();
    }
  });

  test('migrate is refused on a device that does not own the session', async () => {
    const a = await device();
    const b = await device();
    try {
      const id = await startWaiting(a);
      await sync(a, b);
      assert.throws(() => b.k.command({ type: 'session.migrate', payload: { sessionId: id, source: WAITING.replace('1.0.0', '1.1.0'), reason: 'x' }, idempotencyKey: newKey() }),
        (e: unknown) => (e as { code?: string }).code === 'invalid_state');
    } finally {
      await a.k.close();
      await b.k.close();
    }
  });
});
