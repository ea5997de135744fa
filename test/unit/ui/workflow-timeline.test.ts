/**
 * The session timeline (src/lib/workflows/timeline.ts): steps laid out on one time axis, the
 * duration labels, and the top-level step id of a nested step key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { duration, layout, topLevelId, type Timeline, type TimelineRow } from '../../../src/lib/workflows/timeline.ts';
import type { SessionState, StepState } from '../../../src/lib/workflows/types.ts';

const T0 = 1_700_000_000_000;

type StepInit = Partial<Omit<StepState, 'key'>>;

function step(key: string, init: StepInit = {}): StepState {
  return { key, status: 'pending', attempt: 0, attempts: 0, history: [], ...init };
}

function session(steps: readonly StepState[], init: { endedAt?: number; status?: SessionState['status'] } = {}): SessionState {
  return {
    id: 's1',
    workflow: { name: 'w', version: '1.0.0', hash: 'h' },
    source: '',
    inputs: {},
    env: {},
    status: init.status ?? (init.endedAt === undefined ? 'running' : 'succeeded'),
    paused: false,
    startedAt: T0,
    ...(init.endedAt === undefined ? {} : { endedAt: init.endedAt }),
    lastSeq: 1,
    steps: Object.fromEntries(steps.map((s) => [s.key, s])),
  };
}

/** A step that ran once from `from` to `to` (ms after T0). */
function done(key: string, from: number, to: number, status = 'succeeded'): StepState {
  return step(key, {
    status, attempt: 1, attempts: 1, scheduledAt: T0 + from, startedAt: T0 + from, endedAt: T0 + to,
    history: [{ attempt: 1, startedAt: T0 + from, endedAt: T0 + to, outcome: status }],
  });
}

function row(tl: Timeline, key: string): TimelineRow {
  const r = tl.rows.find((x) => x.key === key);
  assert.ok(r, `no row ${key}`);
  return r;
}

const close = (actual: number | null, expected: number, msg?: string): void => {
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${msg ?? ''} expected ${expected}, got ${actual}`);
};

function assertInBounds(tl: Timeline): void {
  const eps = 1e-9;
  assert.ok(tl.end >= tl.start + 1000, 'the axis spans at least a second');
  for (const r of tl.rows) {
    assert.ok(Number.isFinite(r.width) && r.width >= 0, `${r.key} width ${r.width}`);
    if (r.left === null) {
      assert.equal(r.width, 0, `${r.key}: no bar, no width`);
      assert.equal(r.durationMs, null);
    } else {
      assert.ok(r.left >= -eps && r.left + r.width <= 100 + eps, `${r.key} bar ${r.left}+${r.width} out of [0, 100]`);
      assert.ok(r.width >= 0.5 - eps, `${r.key}: a started step is visible`);
      assert.ok(r.durationMs !== null && r.durationMs >= 0, `${r.key} duration ${r.durationMs}`);
    }
    for (const m of r.attemptMarks) assert.ok(m >= -eps && m <= 100 + eps, `${r.key} mark ${m}`);
    if (r.due !== null) assert.ok(r.due >= -eps && r.due <= 100 + eps, `${r.key} due ${r.due}`);
    assert.equal(r.due === null, r.dueAt === null);
  }
  let last = -1;
  for (const t of tl.ticks) {
    assert.ok(t.at >= -eps && t.at <= 100 + eps, `tick at ${t.at}`);
    assert.ok(t.ms > last, 'ticks ascend');
    last = t.ms;
  }
  assert.equal(tl.ticks[0]?.ms, 0);
}

// ---- layout ------------------------------------------------------------------------------------

test('finished steps sit at their times on an axis from the session start to its end', () => {
  const tl = layout(session([done('a', 0, 2000), done('b', 2000, 6000), done('c', 6000, 10_000)], { endedAt: T0 + 10_000 }), T0 + 99_999);
  assert.equal(tl.start, T0);
  assert.equal(tl.end, T0 + 10_000, 'an ended session ignores now');
  assert.deepEqual(tl.rows.map((r) => r.key), ['a', 'b', 'c']);
  close(row(tl, 'a').left, 0); close(row(tl, 'a').width, 20);
  close(row(tl, 'b').left, 20); close(row(tl, 'b').width, 40);
  close(row(tl, 'c').left, 60); close(row(tl, 'c').width, 40);
  for (const r of tl.rows) {
    assert.equal(r.running, false);
    assert.equal(r.due, null);
    assert.deepEqual(r.attemptMarks, []);
    assert.equal(r.attempts, 1);
    assert.equal(r.status, 'succeeded');
  }
  assert.equal(row(tl, 'b').durationMs, 4000);
  assertInBounds(tl);
});

test('a running step ends at now, and the axis runs to now', () => {
  const running = step('slow', { status: 'running', attempt: 1, attempts: 1, startedAt: T0 + 1000 });
  const tl = layout(session([done('first', 0, 1000), running]), T0 + 5000);
  assert.equal(tl.end, T0 + 5000);
  const r = row(tl, 'slow');
  assert.equal(r.running, true);
  close(r.left, 20);
  close(r.width, 80);
  assert.equal(r.durationMs, 4000);
  const later = row(layout(session([done('first', 0, 1000), running]), T0 + 9000), 'slow');
  assert.equal(later.durationMs, 8000, 'the bar grows with now');
  assertInBounds(tl);
});

test('once the session has ended nothing is running, even a step left running', () => {
  const left = step('x', { status: 'running', attempt: 1, attempts: 1, startedAt: T0 + 1000 });
  const tl = layout(session([done('a', 0, 1000), left], { endedAt: T0 + 4000, status: 'cancelled' }), T0 + 50_000);
  const r = row(tl, 'x');
  assert.equal(r.running, false);
  assert.equal(tl.end, T0 + 4000);
  assert.equal(r.durationMs, 0, 'no end time: a zero-length (minimum-width) bar');
  close(r.width, 0.5);
  assertInBounds(tl);
});

test('a waiting step shows its wake-up mark, and the axis reaches it', () => {
  const wait = step('pause', { status: 'waiting', attempt: 1, attempts: 1, startedAt: T0 + 1000, dueAt: T0 + 4000 });
  const tl = layout(session([done('choose', 0, 1000), wait]), T0 + 2000);
  assert.equal(tl.end, T0 + 4000, 'the due time lies ahead of now');
  const r = row(tl, 'pause');
  assert.equal(r.running, true);
  close(r.left, 25);
  close(r.width, 25, 'bar to now');
  close(r.due, 100);
  assert.equal(r.dueAt, T0 + 4000);
  assertInBounds(tl);
});

test('a retrying step: its bar ends at the failure, earlier attempts are marked, the retry is due ahead', () => {
  const flaky = step('flaky', {
    status: 'retrying', attempt: 2, attempts: 2, scheduledAt: T0, startedAt: T0 + 3000, endedAt: T0 + 3500, dueAt: T0 + 6000,
    history: [
      { attempt: 1, startedAt: T0 + 1000, endedAt: T0 + 1500, outcome: 'failed' },
      { attempt: 2, startedAt: T0 + 3000, endedAt: T0 + 3500, outcome: 'failed' },
    ],
  });
  const tl = layout(session([flaky]), T0 + 4000);
  assert.equal(tl.end, T0 + 6000);
  const r = row(tl, 'flaky');
  assert.equal(r.running, true);
  assert.equal(r.attempts, 2);
  close(r.left, 1000 / 60);
  close(r.width, 2500 / 60);
  assert.equal(r.attemptMarks.length, 1);
  close(r.attemptMarks[0] ?? null, 50);
  close(r.due, 100);
  assert.equal(r.dueAt, T0 + 6000);
  assert.equal(r.durationMs, 2500, 'first start to the latest end');
  assertInBounds(tl);
});

test('the current attempt counts as an attempt mark when it is not in the history yet', () => {
  const s = step('s', {
    status: 'running', attempt: 3, attempts: 3, startedAt: T0 + 6000,
    history: [
      { attempt: 1, startedAt: T0, endedAt: T0 + 1000, outcome: 'failed' },
      { attempt: 2, startedAt: T0 + 3000, endedAt: T0 + 4000, outcome: 'failed' },
    ],
  });
  const r = row(layout(session([s]), T0 + 8000), 's');
  assert.deepEqual(r.attemptMarks.map((m) => Math.round(m * 1000) / 1000), [37.5, 75]);
  close(r.left, 0);
  close(r.width, 100);
  assert.equal(r.durationMs, 8000);
});

test('a due time is only shown while the step is still active', () => {
  const retried = step('r', { status: 'succeeded', attempt: 2, attempts: 2, startedAt: T0 + 2000, endedAt: T0 + 3000, dueAt: T0 + 9000 });
  const tl = layout(session([retried]), T0 + 3000);
  assert.equal(row(tl, 'r').due, null);
  assert.equal(row(tl, 'r').dueAt, null);
  assert.equal(tl.end, T0 + 3000, 'a stale due time does not stretch the axis');
  const ended = layout(session([step('w', { status: 'waiting', attempt: 1, attempts: 1, startedAt: T0, dueAt: T0 + 9000 })], { endedAt: T0 + 2000, status: 'cancelled' }), T0 + 2000);
  assert.equal(row(ended, 'w').due, null);
  assert.equal(ended.end, T0 + 2000);
});

test('steps that never started have no bar; session hooks (@…) are not rows', () => {
  const tl = layout(session([
    done('a', 0, 1000),
    step('skipped', { status: 'skipped', scheduledAt: T0 + 1000, endedAt: T0 + 1000 }),
    step('pending', { status: 'pending' }),
    step('@onComplete', { status: 'running', attempt: 1, attempts: 1, startedAt: T0 }),
  ]), T0 + 2000);
  assert.deepEqual(tl.rows.map((r) => r.key), ['a', 'skipped', 'pending']);
  for (const key of ['skipped', 'pending']) {
    const r = row(tl, key);
    assert.equal(r.left, null);
    assert.equal(r.width, 0);
    assert.equal(r.durationMs, null);
    assert.equal(r.running, false);
  }
  assertInBounds(tl);
});

test('rows are ordered by first start, then schedule time, never-scheduled last, ties by key', () => {
  const tl = layout(session([
    step('z-unscheduled'),
    step('a-unscheduled'),
    step('scheduled', { status: 'scheduled', scheduledAt: T0 + 500 }),
    done('late', 3000, 4000),
    done('b-tie', 1000, 2000),
    done('a-tie', 1000, 1500),
    step('retried', {
      status: 'running', attempt: 2, attempts: 2, startedAt: T0 + 5000,
      history: [{ attempt: 1, startedAt: T0 + 200, endedAt: T0 + 300, outcome: 'failed' }],
    }),
  ]), T0 + 6000);
  assert.deepEqual(tl.rows.map((r) => r.key), ['retried', 'scheduled', 'a-tie', 'b-tie', 'late', 'a-unscheduled', 'z-unscheduled']);
});

test('nested step keys are rows of their own', () => {
  const tl = layout(session([done('loop', 0, 3000), done('loop[0].inner', 100, 1000), done('loop[1].inner', 1000, 2000), done('deploy@onStart', 0, 10)]), T0 + 3000);
  assert.deepEqual(tl.rows.map((r) => r.key), ['deploy@onStart', 'loop', 'loop[0].inner', 'loop[1].inner']);
  assertInBounds(tl);
});

test('a very short session still gets a one-second axis; an empty one has no rows', () => {
  const tl = layout(session([done('a', 0, 10)], { endedAt: T0 + 10 }), T0 + 10);
  assert.equal(tl.end, T0 + 1000);
  close(row(tl, 'a').left, 0);
  close(row(tl, 'a').width, 1);
  const empty = layout(session([]), T0);
  assert.deepEqual(empty.rows, []);
  assert.equal(empty.end, T0 + 1000);
  assert.deepEqual(empty.ticks.map((t) => t.ms), [0, 250, 500, 750, 1000]);
  assertInBounds(empty);
});

test('a step that starts and ends at the very end of the axis stays inside it', () => {
  const tl = layout(session([done('a', 0, 5000), done('last', 5000, 5000)], { endedAt: T0 + 5000 }), T0 + 5000);
  const r = row(tl, 'last');
  close(r.width, 0.5);
  close(r.left, 99.5);
  assert.equal(r.durationMs, 0);
  assertInBounds(tl);
});

test('ticks use a round step and stay on the axis', () => {
  const cases: [number, number][] = [[1000, 250], [5000, 1000], [10_000, 2000], [60_000, 15_000], [3_600_000, 1_800_000], [30 * 86_400_000, 6 * 86_400_000]];
  for (const [span, expected] of cases) {
    const tl = layout(session([done('a', 0, span)], { endedAt: T0 + span }), T0 + span);
    const ticks = tl.ticks.map((t) => t.ms);
    assert.equal(ticks[1], expected, `span ${span}`);
    assert.ok(ticks.length >= 2 && ticks.length <= 6, `span ${span}: ${ticks.length} ticks`);
    for (const t of tl.ticks) close(t.at, (t.ms / span) * 100);
    assertInBounds(tl);
  }
});

test('a now that lags a step that just started (the ticker) gives a zero duration, not a negative one', () => {
  const s = step('s', { status: 'running', attempt: 1, attempts: 1, startedAt: T0 + 2500 });
  const tl = layout(session([done('a', 0, 2500), s]), T0 + 2200);
  assert.equal(row(tl, 's').durationMs, 0);
  assertInBounds(tl);
  const skewed = layout(session([s]), T0 - 5000);
  assert.equal(skewed.end, T0 + 1000);
  assert.equal(row(skewed, 's').durationMs, 0);
  assertInBounds(skewed);
});

test('property: every layout stays within the axis', () => {
  const statuses = ['pending', 'scheduled', 'running', 'waiting', 'retrying', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
  const t = fc.integer({ min: 0, max: 100_000 });
  const stepArb = fc.record({
    status: fc.constantFrom(...statuses),
    scheduledAt: fc.option(t, { nil: undefined }),
    startedAt: fc.option(t, { nil: undefined }),
    endedAt: fc.option(t, { nil: undefined }),
    dueAt: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
    history: fc.array(fc.tuple(t, fc.nat(10_000)), { maxLength: 4 }),
  });
  fc.assert(fc.property(
    fc.array(stepArb, { maxLength: 8 }),
    fc.option(t, { nil: undefined }),
    t,
    (specs, endedAt, now) => {
      const steps = specs.map((p, i): StepState => {
        const history = [...p.history].sort((a, b) => a[0] - b[0]).map(([from, len], n) => ({ attempt: n + 1, startedAt: T0 + from, endedAt: T0 + from + len, outcome: 'failed' }));
        const init: StepInit = { status: p.status, attempts: history.length, history };
        const abs = (v: number | undefined): number | undefined => (v === undefined ? undefined : T0 + v);
        return step(`s${i}`, {
          ...init,
          ...(p.scheduledAt === undefined ? {} : { scheduledAt: abs(p.scheduledAt)! }),
          ...(p.startedAt === undefined ? {} : { startedAt: abs(p.startedAt)! }),
          ...(p.endedAt === undefined ? {} : { endedAt: abs(p.endedAt)! }),
          ...(p.dueAt === undefined ? {} : { dueAt: abs(p.dueAt)! }),
        });
      });
      const tl = layout(session(steps, endedAt === undefined ? {} : { endedAt: T0 + endedAt }), T0 + now);
      assert.equal(tl.rows.length, steps.length);
      assertInBounds(tl);
    },
  ), { numRuns: 300 });
});

// ---- duration ----------------------------------------------------------------------------------

test('duration: ms, seconds, minutes and hours', () => {
  assert.equal(duration(0), '0 ms');
  assert.equal(duration(7), '7 ms');
  assert.equal(duration(999), '999 ms');
  assert.equal(duration(12.4), '12 ms');
  assert.equal(duration(1000), '1.0 s');
  assert.equal(duration(1234), '1.2 s');
  assert.equal(duration(9_949), '9.9 s');
  assert.equal(duration(10_000), '10 s');
  assert.equal(duration(42_400), '42 s');
  assert.equal(duration(60_000), '1 m 0 s');
  assert.equal(duration(75_000), '1 m 15 s');
  assert.equal(duration(59 * 60_000 + 59_000), '59 m 59 s');
  assert.equal(duration(3_600_000), '1 h 0 m');
  assert.equal(duration(3_600_000 + 25 * 60_000 + 59_000), '1 h 25 m');
  assert.equal(duration(50 * 3_600_000 + 5 * 60_000), '50 h 5 m');
});

test('duration: rounding never shows a unit at its limit ("1000 ms", "60 s", "1 m 60 s")', () => {
  assert.equal(duration(999.5), '1.0 s');
  assert.equal(duration(9_960), '10 s');
  assert.equal(duration(59_500), '1 m 0 s');
  assert.equal(duration(59_999), '1 m 0 s');
  assert.equal(duration(119_700), '2 m 0 s');
  assert.equal(duration(3_599_600), '1 h 0 m');
  for (let ms = 0; ms < 4_000_000; ms += 97) {
    const text = duration(ms);
    assert.doesNotMatch(text, /^1000 ms$|^60 s$|\b60 s$|^10\.0 s$|\b60 m$/, `${ms} → ${text}`);
  }
});

test('duration: missing or not finite is a dash', () => {
  assert.equal(duration(null), '—');
  assert.equal(duration(undefined), '—');
  assert.equal(duration(Number.NaN), '—');
  assert.equal(duration(Number.POSITIVE_INFINITY), '—');
});

test('an agent step: a dot per model turn and a tick per tool result, where they happened on the axis', () => {
  const agent = step('investigate', {
    ...done('investigate', 0, 10_000),
    journal: [
      { type: 'agent.turn', payload: { turn: 1, toolCalls: [{ id: 'c1', name: 'forest_search', input: {} }] }, at: T0 + 2000 },
      { type: 'agent.observation', payload: { turn: 1, tool: 'forest_search', ok: true }, at: T0 + 2500 },
      { type: 'agent.turn', payload: { turn: 2, toolCalls: [] }, at: T0 + 9000 },
    ],
  });
  const r = row(layout(session([agent], { endedAt: T0 + 10_000 }), T0 + 10_000), 'investigate');
  assert.deepEqual(r.agentMarks, [
    { at: 20, kind: 'turn', label: 'turn 1: the model answered with 1 tool call' },
    { at: 25, kind: 'tool', label: 'turn 1: forest_search returned' },
    { at: 90, kind: 'turn', label: 'turn 2: the model answered' },
  ]);
  assert.deepEqual(row(layout(session([done('plain', 0, 1000)], { endedAt: T0 + 1000 }), T0 + 1000), 'plain').agentMarks, []);
});

// ---- topLevelId --------------------------------------------------------------------------------

test('topLevelId: the step id a nested key belongs to', () => {
  assert.equal(topLevelId('fetch'), 'fetch');
  assert.equal(topLevelId('loop[2].inner'), 'loop');
  assert.equal(topLevelId('loop[0]'), 'loop');
  assert.equal(topLevelId('par.branch'), 'par');
  assert.equal(topLevelId('deploy@onStart'), 'deploy');
  assert.equal(topLevelId('x@onStart'), 'x');
  assert.equal(topLevelId('outer[1].mid[0].leaf@onError'), 'outer');
  assert.equal(topLevelId('my-step_2[10].b'), 'my-step_2');
  assert.equal(topLevelId('@onComplete'), '@onComplete', 'a session hook has no step id: the key is kept');
  assert.equal(topLevelId(''), '');
});
