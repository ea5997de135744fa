/**
 * Property test of the engine over random workflows: random DAGs of transform, flaky, failing,
 * decision, wait, parallel and loop steps with random retry policies, run under a manual clock.
 *
 * For every generated workflow:
 * 1. the session ends (succeeded or failed) once time has moved far enough;
 * 2. no step succeeds twice, and an attempt number is never started twice for one step;
 * 3. the read model (session.get) agrees with the fold of the events (time travel at the head);
 * 4. a step starts only after every dependency finished;
 * 5. rebuilding the projections gives identical tables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKernel } from '../../../worker/node/index.ts';
import { Engine } from '../../../worker/engine/engine.ts';
import { ManualClock } from '../../../worker/engine/clock.ts';
import { mulberry32 } from '../../helpers/prng.ts';

function randomWorkflow(seed: number): { yaml: string; deps: Map<string, string[]> } {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const n = 2 + Math.floor(rnd() * 7);
  const lines = [`name: prop_${seed}`, 'version: 1.0.0', 'steps:'];
  const deps = new Map<string, string[]>();
  for (let i = 0; i < n; i++) {
    const id = `s${i}`;
    const d = i === 0 ? [] : [...new Set(Array.from({ length: Math.floor(rnd() * 3) }, () => `s${Math.floor(rnd() * i)}`))];
    deps.set(id, d);
    const dep = d.length ? `\n    dependsOn: [${d.join(', ')}]` : '';
    const retry = rnd() < 0.5 ? `\n    retry: { maxAttempts: ${1 + Math.floor(rnd() * 4)}, backoff: ${pick(['exponential', 'linear', 'fixed'])}, initialDelay: ${1 + Math.floor(rnd() * 5)}s }` : '';
    const kind = pick(['transform', 'transform', 'flaky', 'fail', 'wait', 'parallel', 'loop', 'sleep']);
    switch (kind) {
      case 'transform':
        lines.push(`  - id: ${id}\n    type: task\n    runner: transform${dep}${retry}\n    with: { value: "${id}" }`);
        break;
      case 'flaky':
        lines.push(`  - id: ${id}\n    type: task\n    runner: demo.flaky${dep}${retry}\n    with: { failTimes: ${Math.floor(rnd() * 3)} }`);
        break;
      case 'fail':
        lines.push(`  - id: ${id}\n    type: task\n    runner: demo.fail${dep}${retry}\n    with: { retryable: ${rnd() < 0.5} }`);
        break;
      case 'sleep':
        lines.push(`  - id: ${id}\n    type: task\n    runner: demo.sleep${dep}${retry}\n    timeout: ${1 + Math.floor(rnd() * 3)}s\n    with: { ms: ${Math.floor(rnd() * 3000)} }`);
        break;
      case 'wait':
        lines.push(`  - id: ${id}\n    type: wait${dep}\n    duration: ${1 + Math.floor(rnd() * 60)}s`);
        break;
      case 'parallel':
        lines.push(`  - id: ${id}\n    type: parallel${dep}\n    branches:\n      - - { id: ${id}a, type: task, runner: transform, with: { value: 1 } }\n      - - { id: ${id}b, type: task, runner: demo.flaky, with: { failTimes: 1 }, retry: { maxAttempts: 2, initialDelay: 1s } }`);
        break;
      case 'loop':
        lines.push(`  - id: ${id}\n    type: loop${dep}\n    over: "[1, 2, 3]"\n    concurrency: ${1 + Math.floor(rnd() * 3)}\n    steps:\n      - { id: ${id}x, type: task, runner: transform, with: { value: "{{ item * 2 }}" } }`);
        break;
    }
  }
  return { yaml: `${lines.join('\n')}\n`, deps };
}

/** Let real promises (runner results) and the manual clock move until the engine is quiet. */
async function settle(engine: Engine, clock: ManualClock, done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) {
    await engine.idle();
    await new Promise((r) => setImmediate(r));
    const next = clock.nextTimer();
    if (next !== undefined) clock.advance(Math.max(0, next - clock.now()));
    else if (!done()) await new Promise((r) => setTimeout(r, 1));
  }
}

for (let seed = 1; seed <= 40; seed++) {
  test(`random workflow #${seed} runs to an end consistent with its log`, async () => {
    const { yaml, deps } = randomWorkflow(seed);
    const clock = new ManualClock();
    const k = await openKernel({ storage: 'memory', clock: clock.now });
    const engine = Engine.start(k, { clock, onError: (err) => { throw err; } });
    try {
      const r = k.command({ type: 'session.start', payload: { source: yaml }, idempotencyKey: `p${seed}` });
      const id = (r.value as { sessionId: string }).sessionId;
      const status = (): string => (k.query('session.get', { sessionId: id }) as { status: string }).status;
      await settle(engine, clock, () => ['succeeded', 'failed'].includes(status()));
      assert.ok(['succeeded', 'failed'].includes(status()), `seed ${seed}: ended ${status()}\n${yaml}`);

      const travel = k.query('session.state', { sessionId: id }) as { state: { status: string; steps: Record<string, { status: string }> }; events: { type: string; step: string | null; seq: number }[] };
      const got = k.query('session.get', { sessionId: id }) as { status: string; steps: { key: string; status: string }[] };
      assert.equal(travel.state.status, got.status, `seed ${seed}: fold and read model agree on the session status`);
      for (const s of got.steps) assert.equal(travel.state.steps[s.key]?.status, s.status, `seed ${seed}: step ${s.key}`);

      const rows = k.sql.all("SELECT type, payload FROM events WHERE stream = ? ORDER BY stream_seq", [`session:${id}`]).map((x) => ({ type: String(x['type']), p: JSON.parse(String(x['payload'])) as { step?: string; attempt?: number } }));
      const succeeded = new Set<string>();
      const startedAttempts = new Set<string>();
      const finished = new Set<string>();
      for (const e of rows) {
        if (e.type === 'step.succeeded') {
          assert.ok(!succeeded.has(e.p.step!), `seed ${seed}: ${e.p.step} succeeded twice`);
          succeeded.add(e.p.step!);
        }
        if (e.type === 'step.succeeded' || e.type === 'step.skipped' || (e.type === 'step.failed' && !(e.p as { willRetry?: boolean }).willRetry)) finished.add(e.p.step!);
        if (e.type === 'step.started') {
          const key = `${e.p.step}#${e.p.attempt}`;
          assert.ok(!startedAttempts.has(key), `seed ${seed}: attempt ${key} started twice`);
          startedAttempts.add(key);
          for (const d of deps.get(e.p.step!) ?? []) assert.ok(finished.has(d), `seed ${seed}: ${e.p.step} started before its dependency ${d} finished`);
        }
      }
      const dump = (): string[] => ['sessions', 'session_steps'].map((t) => JSON.stringify(k.sql.all(`SELECT * FROM ${t} ORDER BY 1, 2`)));
      const before = dump();
      const report = k.rebuild();
      assert.deepEqual(dump(), before, `seed ${seed}: rebuilt rows equal the live rows`);
      for (const p of report.projections) assert.ok(p.identical, `seed ${seed}: projection ${p.name} rebuilds identically`);
    } finally {
      engine.stop();
      await k.close();
    }
  });
}
