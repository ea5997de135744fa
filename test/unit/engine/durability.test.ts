/**
 * Durability: kill the kernel at every commit boundary of a multi-step workflow, reopen the same
 * database file, and let the session finish. Side effects are counted on a real HTTP server on
 * 127.0.0.1 that deduplicates by Idempotency-Key: each finished step's effect happens exactly once
 * and an in-flight step re-runs with the same key.
 *
 * A "kill" stops the engine synchronously inside the subscription callback of the k-th commit, so
 * nothing after that commit reaches the database (events of one transaction are atomic: the
 * boundaries between them cannot be observed, by design). The SIGKILL crash tests of the kernel
 * (test/unit/kernel/crash.test.ts) show a committed transaction survives a real process kill.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openKernel } from '../../../worker/node/index.ts';
import { Engine } from '../../../worker/engine/engine.ts';
import type { Kernel } from '../../../worker/kernel/kernel.ts';
import { startEffectServer, type EffectServer } from '../../helpers/effect-server.ts';
import { withTempDir } from '../../helpers/kernel.ts';

const WORKFLOW = `
name: durable_pipeline
version: 1.0.0
steps:
  - id: charge
    type: task
    runner: http
    with: { url: "{{ env.base }}/effect/charge", method: POST, body: { amount: 42 } }
  - id: ship
    type: task
    runner: http
    dependsOn: [charge]
    with: { url: "{{ env.base }}/effect/ship", method: POST, body: { charge: "{{ steps.charge.output.body.key }}" } }
  - id: notify
    type: task
    runner: http
    dependsOn: [charge]
    with: { url: "{{ env.base }}/effect/notify", method: POST }
  - id: settle
    type: wait
    duration: 20ms
    dependsOn: [ship, notify]
  - id: receipt
    type: task
    runner: http
    dependsOn: [settle]
    retry: { maxAttempts: 3, initialDelay: 10ms }
    with: { url: "{{ env.base }}/effect/receipt", method: POST }
outputs:
  charged: "{{ steps.charge.output.body.count }}"
  receipt: "{{ steps.receipt.output.status }}"
`;

const EFFECTS = ['charge', 'ship', 'notify', 'receipt'];

let server: EffectServer;
before(async () => { server = await startEffectServer(); });
after(async () => { await server.close(); });

async function waitForEnd(k: Kernel, id: string): Promise<{ status: string; output: unknown }> {
  for (let i = 0; i < 2000; i++) {
    const s = k.query('session.get', { sessionId: id }) as { status: string; output: unknown };
    if (s.status === 'succeeded' || s.status === 'failed' || s.status === 'cancelled') return s;
    await new Promise((r) => setTimeout(r, 10));
  }
  const st = k.query('session.state', { sessionId: id }) as { events: { type: string; step: string | null }[] };
  throw new Error(`session ${id} did not finish within 20 s; events: ${st.events.map((e) => `${e.type} ${e.step ?? ''}`).join(', ')}`);
}

/** Run the workflow; stop everything right after commit number `killAt` (undefined: never). */
async function runUntil(file: string, killAt: number | undefined): Promise<{ sessionId: string; commits: number; killed: boolean }> {
  const k = await openKernel({ storage: { file } });
  const engine = Engine.start(k, { onError: (err) => { throw err; } });
  let commits = 0;
  let killed = false;
  let killedNow!: () => void;
  const whenKilled = new Promise<void>((r) => { killedNow = r; });
  k.subscribe((events) => {
    if (killed || !events.some((e) => e.stream.startsWith('session:'))) return;
    commits++;
    if (commits === killAt) {
      engine.stop(); // nothing else is written after this commit
      killed = true;
      killedNow();
    }
  });
  const started = k.command({ type: 'session.start', payload: { source: WORKFLOW, env: { base: server.url } }, idempotencyKey: 'start-1' });
  const sessionId = (started.value as { sessionId: string }).sessionId;
  if (killAt !== undefined) {
    await Promise.race([whenKilled, waitForEnd(k, sessionId)]);
  } else {
    await waitForEnd(k, sessionId);
  }
  await k.close();
  return { sessionId, commits, killed };
}

describe('durability: kill at every commit boundary', () => {
  test('a run without a kill finishes with each effect once (and tells how many commits there are)', () =>
    withTempDir(async (dir) => {
      server.reset();
      const { commits, sessionId } = await runUntil(join(dir, 'k.db'), undefined);
      assert.ok(commits >= 6, `expected several commits, got ${commits}`);
      for (const name of EFFECTS) assert.equal(server.counts().get(name), 1, name);
      const k = await openKernel({ storage: { file: join(dir, 'k.db') } });
      try {
        const s = k.query('session.get', { sessionId }) as { status: string; output: { charged: number; receipt: number } };
        assert.equal(s.status, 'succeeded');
        assert.deepEqual(s.output, { charged: 1, receipt: 200 });
      } finally {
        await k.close();
      }
    }));

  test('killed after commit k for every k, the reopened kernel finishes the session with every effect exactly once', async () => {
    const total = await withTempDir(async (dir) => {
      server.reset();
      return (await runUntil(join(dir, 'k.db'), undefined)).commits;
    });
    let killedRuns = 0;
    for (let killAt = 1; killAt <= total; killAt++) {
      await withTempDir(async (dir) => {
        server.reset();
        const file = join(dir, 'k.db');
        const first = await runUntil(file, killAt);
        if (first.killed) killedRuns++;
        const k = await openKernel({ storage: { file } });
        const engine = Engine.start(k, { onError: (err) => { throw err; } });
        try {
          const s = await waitForEnd(k, first.sessionId).catch((err: Error) => { throw new Error(`kill at commit ${killAt}: ${err.message}`); });
          assert.equal(s.status, 'succeeded', `kill at commit ${killAt}: ${JSON.stringify(s)}`);
          for (const name of EFFECTS) {
            assert.equal(server.counts().get(name), 1, `kill at commit ${killAt}: effect ${name} counted ${server.counts().get(name)} times`);
          }
          // Finished steps never ran again: a step has one attempt unless it was in flight at the kill.
          const state = k.query('session.state', { sessionId: first.sessionId }) as { events: { type: string; step: string | null }[] };
          const succeeded = state.events.filter((e) => e.type === 'step.succeeded').map((e) => e.step);
          assert.deepEqual([...succeeded].sort(), ['charge', 'notify', 'receipt', 'settle', 'ship'], `each step succeeded once (kill at ${killAt})`);
          const report = await k.verify();
          assert.equal(report.ok, true, 'the log verifies after the crash and resume');
        } finally {
          engine.stop();
          await k.close();
        }
      });
    }
    assert.equal(killedRuns, total, 'every kill point was reached');
  });
});
