import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, MAX_DURATION_MS, parseDuration, parseInstant } from '../../../worker/workflow/duration.ts';

function ms(v: unknown): number {
  const r = parseDuration(v);
  if (!r.ok) assert.fail(r.message);
  return r.ms;
}

function refusal(v: unknown): string {
  const r = parseDuration(v);
  assert.equal(r.ok, false, `expected ${JSON.stringify(v)} to be refused`);
  return r.ok ? '' : r.message;
}

test('compact durations combine units from largest to smallest', () => {
  assert.equal(ms('500ms'), 500);
  assert.equal(ms('30s'), 30_000);
  assert.equal(ms('5m'), 300_000);
  assert.equal(ms('1h30m'), 5_400_000);
  assert.equal(ms('2d'), 172_800_000);
  assert.equal(ms('1w'), 604_800_000);
  assert.equal(ms('1.5h'), 5_400_000);
  assert.equal(ms('1m0s250ms'), 60_250);
});

test('ISO-8601 durations with weeks, days, hours, minutes and fractional seconds', () => {
  assert.equal(ms('PT5M'), 300_000);
  assert.equal(ms('P1DT2H'), 93_600_000);
  assert.equal(ms('PT0.5S'), 500);
  assert.equal(ms('P2W'), 1_209_600_000);
  assert.equal(ms('pt1h'), 3_600_000);
});

test('a whole non-negative number is milliseconds', () => {
  assert.equal(ms(0), 0);
  assert.equal(ms(600000), 600_000);
});

test('refusals say what is wrong and show the accepted forms', () => {
  assert.match(refusal('5 minutes'), /unknown unit " minutes" after 5/);
  assert.match(refusal('5000'), /has no unit; write 5000ms/);
  assert.match(refusal('30m1h'), /largest to smallest/);
  assert.match(refusal('1h1h'), /repeats a unit/);
  assert.match(refusal('P1M'), /years or months/);
  assert.match(refusal('P1Y'), /years or months/);
  assert.match(refusal('PT'), /no amount/);
  assert.match(refusal('P'), /no amount/);
  assert.match(refusal(-1), /whole number ≥ 0/);
  assert.match(refusal(1.5), /whole number ≥ 0/);
  assert.match(refusal(Infinity), /whole number ≥ 0/);
  assert.match(refusal('0.0001s'), /whole number of milliseconds/);
  assert.match(refusal(''), /empty/);
  assert.match(refusal(true), /expected a duration/);
  assert.match(refusal('x'.repeat(100)), /100-character/);
});

test('durations above 365 days are refused', () => {
  assert.equal(ms('365d'), MAX_DURATION_MS);
  assert.match(refusal('366d'), /maximum of 365d/);
  assert.match(refusal(MAX_DURATION_MS + 1), /maximum of 365d/);
});

test('formatDuration gives the shortest compact form', () => {
  assert.equal(formatDuration(0), '0ms');
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(1_500), '1s500ms');
  assert.equal(formatDuration(691_200_000), '1w1d');
});

test('parseInstant normalises zoned ISO times to UTC and refuses zone-less or impossible ones', () => {
  assert.deepEqual(parseInstant('2026-03-01T09:00:00+01:00'), { ok: true, iso: '2026-03-01T08:00:00.000Z' });
  assert.deepEqual(parseInstant('2026-03-01T09:00Z'), { ok: true, iso: '2026-03-01T09:00:00.000Z' });
  assert.deepEqual(parseInstant('2026-03-01T09:00:00.5Z'), { ok: true, iso: '2026-03-01T09:00:00.500Z' });
  const noZone = parseInstant('2026-03-01T09:00:00');
  assert.equal(noZone.ok, false);
  assert.match(noZone.ok ? '' : noZone.message, /no time zone; add Z/);
  const feb30 = parseInstant('2026-02-30T09:00:00Z');
  assert.match(feb30.ok ? '' : feb30.message, /not a real date/);
  const garbage = parseInstant('tomorrow');
  assert.match(garbage.ok ? '' : garbage.message, /ISO-8601 date-time with a time zone/);
});
