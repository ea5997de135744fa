/**
 * Regression: a due time that passes between the plan and the arming of its timer must still fire.
 * A clock that ticks on every read makes time move inside every flush, so for some of the wait
 * durations below the wake time falls exactly between "planned" and "timer armed" (the engine once
 * dropped such a timer and the session waited forever).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKernel } from '../../../worker/node/index.ts';
import { Engine } from '../../../worker/engine/engine.ts';
import type { Clock } from '../../../worker/engine/clock.ts';

function tickingClock(): Clock {
  let t = Date.UTC(2026, 0, 1);
  return {
    now: () => ++t,
    setTimer: (fn, delayMs) => setTimeout(() => { t += delayMs; fn(); }, 0),
    clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  };
}

test('waits whose due time passes while a flush runs still fire', async () => {
  for (let ms = 1; ms <= 12; ms++) {
    const clock = tickingClock();
    const k = await openKernel({ storage: 'memory', clock: clock.now });
    const engine = Engine.start(k, { clock, onError: (err) => { throw err; } });
    try {
      const source = `name: tick\nversion: 1.0.0\nsteps:\n  - { id: w, type: wait, duration: ${ms} }\n  - { id: after, type: task, runner: transform, dependsOn: [w], with: { value: ${ms} } }\n`;
      const r = k.command({ type: 'session.start', payload: { source }, idempotencyKey: `t${ms}` });
      const id = (r.value as { sessionId: string }).sessionId;
      let status = 'running';
      for (let i = 0; i < 200 && status === 'running'; i++) {
        await new Promise((res) => setTimeout(res, 2));
        status = (k.query('session.get', { sessionId: id }) as { status: string }).status;
      }
      assert.equal(status, 'succeeded', `wait of ${ms} ms`);
    } finally {
      engine.stop();
      await k.close();
    }
  }
});
