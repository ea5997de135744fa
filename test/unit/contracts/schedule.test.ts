/**
 * Cron contracts' schedule (worker/contracts/schedule.ts) under a controllable clock: daylight
 * saving gaps and repeats in Europe/Berlin, catch-up after the app was closed for a day with each
 * policy, window and cap, bounded work for dense schedules, overlap decisions, and the firing key
 * two devices share.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTrigger, dueAt, firingKey, instantsBetween, MAX_SCAN, overlapDecision, type Due } from '../../../worker/contracts/schedule.ts';

const T = (iso: string): number => Date.parse(iso);
const isos = (xs: readonly number[]): string[] => xs.map((x) => new Date(x).toISOString());
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const berlin = (cron: string) => ({ cron, timezone: 'Europe/Berlin' });
const total = (d: Due): number => d.fire.length + d.skipped.reduce((n, s) => n + (s.count ?? 0), 0);

test('DST in Europe/Berlin: the missing 02:30 fires at 03:00 CEST; the repeated 02:30 fires once', () => {
  const spring = instantsBetween(berlin('30 2 * * *'), T('2026-03-28T00:00:00Z'), T('2026-03-31T00:00:00Z')).instants;
  assert.deepEqual(isos(spring), ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  const autumn = instantsBetween(berlin('30 2 * * *'), T('2026-10-24T00:00:00Z'), T('2026-10-27T00:00:00Z')).instants;
  assert.deepEqual(isos(autumn), ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'], 'once on the 25th, at the first 02:30 (CEST)');
  const hourly = instantsBetween(berlin('0 * * * *'), T('2026-10-24T22:30:00Z'), T('2026-10-25T02:30:00Z')).instants;
  assert.equal(hourly.length, 4, 'an hourly schedule still fires every real hour across the repeat');
});

test('on time: an instant that just passed fires; nothing is fired twice', () => {
  const trigger = { cron: '*/5 * * * *' };
  const d = dueAt(trigger, T('2026-12-01T10:00:00Z'), T('2026-12-01T10:05:10Z'), { mode: 'skip' });
  assert.deepEqual(isos(d.fire), ['2026-12-01T10:05:00.000Z']);
  assert.deepEqual(d.skipped, []);
  assert.equal(d.next, T('2026-12-01T10:10:00Z'));
  const again = dueAt(trigger, d.considered, T('2026-12-01T10:06:00Z'), { mode: 'skip' });
  assert.deepEqual(again.fire, [], 'the next tick fires nothing new');
});

test('catch-up after a day closed: skip, latest, all with a window and a cap; every instant accounted for', () => {
  const trigger = { cron: '0 * * * *' };
  const closed = T('2026-12-01T09:30:00Z');
  const reopened = closed + DAY;
  const skip = dueAt(trigger, closed, reopened, { mode: 'skip' });
  assert.deepEqual([skip.fire.length, total(skip)], [0, 24]);
  assert.ok(skip.skipped.every((s) => s.reason === 'missed'));

  const latest = dueAt(trigger, closed, reopened, { mode: 'latest', windowMs: 6 * HOUR });
  assert.deepEqual(isos(latest.fire), ['2026-12-02T09:00:00.000Z'], 'only the most recent missed instant');
  assert.equal(total(latest), 24);

  const all = dueAt(trigger, closed, reopened, { mode: 'all', windowMs: 6 * HOUR, cap: 3 });
  assert.deepEqual(isos(all.fire), ['2026-12-02T07:00:00.000Z', '2026-12-02T08:00:00.000Z', '2026-12-02T09:00:00.000Z']);
  assert.deepEqual(all.skipped.map((s) => [s.reason, s.count]), [['outside_window', 18], ['over_cap', 3]]);
  assert.equal(total(all), 24);

  const wide = dueAt(trigger, closed, reopened, { mode: 'all', windowMs: 2 * DAY, cap: 100 });
  assert.equal(wide.fire.length, 24, 'inside the window and under the cap: all of them');
  for (const d of [skip, latest, all, wide]) {
    assert.ok(d.fire.every((t, i) => t > closed && t <= reopened && (i === 0 || t > d.fire[i - 1]!)));
    assert.equal(d.considered, reopened);
  }
});

test('a dense schedule over a long time is bounded work and one skipped range', () => {
  const trigger = { cron: '* * * * * *' }; // every second
  const d = dueAt(trigger, T('2026-01-01T00:00:00Z'), T('2026-12-01T00:00:00Z'), { mode: 'all', windowMs: 30_000, cap: 5 });
  assert.ok(d.fire.length <= 6 && d.fire.length >= 1);
  const tooMany = d.skipped.find((s) => s.reason === 'too_many');
  assert.ok(tooMany && tooMany.count === null, 'the uncounted rest is one range');
  assert.ok(instantsBetween(trigger, 0, Date.now(), 10).more);
  assert.equal(instantsBetween(trigger, 0, 1e15).instants.length, MAX_SCAN);
});

test('two devices catching up the same instants derive the same firing keys', () => {
  const trigger = berlin('0 8 * * 1-5');
  const a = dueAt(trigger, T('2026-11-27T00:00:00Z'), T('2026-12-01T12:00:00Z'), { mode: 'all', windowMs: 7 * DAY, cap: 10 });
  const b = dueAt(trigger, T('2026-11-28T00:00:00Z'), T('2026-12-01T12:00:30Z'), { mode: 'all', windowMs: 7 * DAY, cap: 10 });
  const keys = (d: Due): string[] => d.fire.map((t) => firingKey('c1', t));
  assert.deepEqual(keys(a).slice(-2), keys(b).slice(-2), 'Monday and Tuesday 08:00 have one key each, whoever fires them');
  assert.equal(firingKey('c1', T('2026-12-01T07:00:00Z')), 'contract/c1/2026-12-01T07:00:00.000Z');
});

test('overlap policies and trigger checks', () => {
  assert.equal(overlapDecision('skip', 0, 0), 'start');
  assert.equal(overlapDecision('skip', 1, 0), 'skip');
  assert.equal(overlapDecision('buffer_one', 1, 0), 'buffer');
  assert.equal(overlapDecision('buffer_one', 1, 1), 'skip');
  assert.equal(overlapDecision('allow', 3, 0), 'start');
  assert.deepEqual(checkTrigger(berlin('30 2 * * *')), { ok: true });
  for (const bad of [{ cron: 'every day' }, { cron: '61 * * * *' }, { cron: '0 0 31 2 *' }, { cron: '* * * * *', timezone: 'Mars/Olympus' }]) {
    const r = checkTrigger(bad);
    assert.equal(r.ok, false, JSON.stringify(bad));
    if (!r.ok) assert.match(r.message, /^".*"/);
  }
});
