/**
 * The timeline's axis labels on narrow screens (src/lib/workflows/timeline.ts `tickBudget`):
 * the number of labels follows the axis width, and with each label shifted by its own position
 * (SessionTimeline.svelte: left = at %, translateX(-at %)) no two labels overlap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { duration, layout, MIN_TICK_PX, tickBudget } from '../../../src/lib/workflows/timeline.ts';
import type { SessionState } from '../../../src/lib/workflows/types.ts';

const T0 = 1_700_000_000_000;
/** Widest label at the axis font ("59 m 59 s", 0.72rem) with room to spare. */
const LABEL_PX = 60;

function ended(spanMs: number): SessionState {
  return {
    id: 's1', workflow: { name: 'w', version: '1.0.0', hash: 'h' }, source: '', inputs: {}, env: {},
    status: 'succeeded', paused: false, startedAt: T0, endedAt: T0 + spanMs, lastSeq: 1, steps: {},
  } as unknown as SessionState;
}

test('tickBudget: 5 before the width is known, then one label per MIN_TICK_PX (1..8)', () => {
  assert.equal(tickBudget(0), 5);
  assert.equal(tickBudget(Number.NaN), 5);
  assert.equal(tickBudget(50), 1);
  assert.equal(tickBudget(MIN_TICK_PX * 3 + 1), 3);
  assert.equal(tickBudget(5000), 8);
});

test('layout: the default keeps at most 6 labels', () => {
  assert.ok(layout(ended(10_000), T0).ticks.length <= 6);
});

test('labels never overlap at any axis width from a phone to a desktop', () => {
  fc.assert(fc.property(fc.integer({ min: 1000, max: 3 * 86_400_000 }), fc.integer({ min: 2 * MIN_TICK_PX, max: 1400 }), (span, width) => {
    const budget = tickBudget(width);
    const { ticks } = layout(ended(span), T0 + span, budget);
    assert.ok(ticks.length >= 1 && ticks.length <= budget + 1, `${ticks.length} labels for a budget of ${budget}`);
    const lefts = ticks.map((t) => (t.at / 100) * (width - LABEL_PX));
    for (let i = 1; i < lefts.length; i++) {
      assert.ok(lefts[i]! - lefts[i - 1]! >= LABEL_PX, `labels ${duration(ticks[i - 1]!.ms)} and ${duration(ticks[i]!.ms)} overlap at ${width} px`);
    }
  }), { numRuns: 300 });
});
