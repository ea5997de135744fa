/**
 * The Contracts screen's words (src/lib/contracts/words.ts): triggers, policies, skipped ranges
 * and instants in the contract's time zone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catchUpWords, cronWords, instantWords, overlapWords, skipWords, triggerWords } from '../../../src/lib/contracts/words.ts';

test('cron shapes in words; others shown as they are', () => {
  assert.equal(triggerWords({ kind: 'cron', cron: '30 2 * * *', timezone: 'Europe/Berlin' }), 'Every day at 02:30, Europe/Berlin');
  assert.equal(triggerWords({ kind: 'cron', cron: '0 * * * *' }), 'Every hour, UTC');
  assert.equal(cronWords('15 * * * *'), 'Every hour at :15');
  assert.equal(cronWords('*/5 * * * *'), 'Every 5 minutes');
  assert.equal(cronWords('0 9 * * 1-5'), 'Every weekday at 09:00');
  assert.equal(cronWords('0 9 * * 0'), 'Every Sunday at 09:00');
  assert.equal(cronWords('0 6 1 * *'), 'On day 1 of every month at 06:00');
  assert.equal(cronWords('0 0 1 1 *'), null);
  assert.equal(triggerWords({ kind: 'cron', cron: '0 0 1 1 *' }), 'On the schedule “0 0 1 1 *”, UTC');
  assert.equal(triggerWords({ kind: 'button' }), 'When someone presses Run now');
  assert.equal(triggerWords({ kind: 'event', type: 'forest.node_created', filter: { tags: 'urgent' } }), 'On each forest.node_created event with tags = "urgent"');
});

test('policies, skips and instants', () => {
  assert.equal(overlapWords('buffer_one'), 'one firing waits for the running run');
  assert.equal(catchUpWords({ mode: 'all', windowMs: 6 * 3_600_000, cap: 3 }), 'every missed instant within 6 hours runs (at most 3)');
  assert.equal(catchUpWords({ mode: 'latest', windowMs: 86_400_000 }), 'the latest missed instant within 1 day runs');
  const t = Date.UTC(2026, 2, 29, 1);
  assert.equal(instantWords(t, 'Europe/Berlin'), 'Sun, 29 Mar 2026, 03:00');
  assert.equal(skipWords({ reason: 'missed', count: 24, first: t, last: t + 23 * 3_600_000, at: '' }, 'UTC'), '24 instants, Sun, 29 Mar 2026, 01:00 – Mon, 30 Mar 2026, 00:00: missed while every device was closed');
  assert.equal(skipWords({ reason: 'overlap', count: 1, first: t, last: t, at: '' }, 'UTC'), '1 instant, Sun, 29 Mar 2026, 01:00: a run was still running');
});
