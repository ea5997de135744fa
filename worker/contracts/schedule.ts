/**
 * When a cron contract fires (docs/contracts.md): croner used as a calculator only — the kernel
 * owns the timers — plus the catch-up and overlap policies, as pure functions of a clock reading.
 *
 * - `dueAt(trigger, lastConsidered, now, catchUp)`: every scheduled instant in (lastConsidered,
 *   now] is either fired or skipped, never forgotten. Instants within `ON_TIME_MS` of now are on
 *   time and fire; older ones were missed (every device was closed) and follow the catch-up
 *   policy: `skip` none, `latest` the most recent one within the window, `all` every one within
 *   the window (the most recent `cap`). Skipped instants come back as counted ranges with a
 *   reason, so a day of a per-minute schedule is one record, not 1,440.
 * - `firingKey(contract, instant)`: the idempotency key of a firing, the same on every device, so
 *   two devices catching up the same instant start one run.
 *
 * Daylight saving (croner, with the time zone through Intl): a local time that does not exist
 * (02:30 on the spring-forward day in Europe/Berlin) fires at the first instant after the gap
 * (03:00 local); a local time that happens twice (the autumn repeat) fires once, at the first.
 *
 * Invariants:
 * 1. Pure: no timers, no clock of its own; the same inputs give the same answer.
 * 2. Bounded: at most `MAX_SCAN` instants are enumerated per call; beyond that the rest of the
 *    range is one skipped range (`reason: 'too_many'`), so a schedule every second over a year
 *    costs the same as over a minute.
 * 3. `fire` is in increasing order, every instant is > lastConsidered and ≤ now, and
 *    `considered` (the new lastConsidered) is ≥ every instant returned. A new contract's
 *    lastConsidered is the time it was made (never 0: that would be a catch-up since 1970).
 */
import { Cron } from 'croner';

export interface CronTrigger {
  readonly cron: string;
  /** An IANA time zone, e.g. Europe/Berlin; UTC when absent. */
  readonly timezone?: string;
}

export type CatchUp =
  | { readonly mode: 'skip' }
  | { readonly mode: 'latest'; readonly windowMs: number }
  | { readonly mode: 'all'; readonly windowMs: number; readonly cap: number };

export type Overlap = 'skip' | 'buffer_one' | 'allow';

export type SkipReason = 'missed' | 'outside_window' | 'over_cap' | 'too_many';

export interface SkippedRange {
  readonly reason: SkipReason;
  /** How many instants; null when there were more than MAX_SCAN (not counted). */
  readonly count: number | null;
  readonly first: number;
  readonly last: number;
}

export interface Due {
  readonly fire: readonly number[];
  readonly skipped: readonly SkippedRange[];
  /** The new "last considered" instant: store it with the firing records. */
  readonly considered: number;
  /** The next scheduled instant after now, or null when the schedule has no more. */
  readonly next: number | null;
}

/** An instant this close to now is on time, not missed (a tick may come a little late). */
export const ON_TIME_MS = 60_000;
export const MAX_SCAN = 10_000;

/** Checks a cron expression and time zone; a sentence saying what is wrong otherwise. */
export function checkTrigger(trigger: CronTrigger): { ok: true } | { ok: false; message: string } {
  if (trigger.timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: trigger.timezone });
    } catch {
      return { ok: false, message: `"${trigger.timezone}" is not a time zone; use a name like Europe/Berlin or UTC.` };
    }
  }
  try {
    const c = cron(trigger);
    if (c.nextRun(new Date(0)) === null && c.nextRun() === null) return { ok: false, message: `"${trigger.cron}" never fires.` };
  } catch (err) {
    return { ok: false, message: `"${trigger.cron}" is not a cron expression (${err instanceof Error ? err.message : String(err)}); write five fields like "30 2 * * *" (minute hour day month weekday).` };
  }
  return { ok: true };
}

function cron(trigger: CronTrigger): Cron {
  return new Cron(trigger.cron, { timezone: trigger.timezone ?? 'UTC', paused: true, mode: '5-or-6-parts' });
}

/** The scheduled instants in (after, until], at most `limit`, and whether more were left. */
export function instantsBetween(trigger: CronTrigger, after: number, until: number, limit = MAX_SCAN): { instants: number[]; more: boolean } {
  const c = cron(trigger);
  const out: number[] = [];
  let from = new Date(after);
  while (out.length < limit) {
    const next = c.nextRun(from);
    if (next === null || next.getTime() > until) return { instants: out, more: false };
    // croner's nextRun is strictly after `from`; guard against a schedule that does not advance.
    if (next.getTime() <= (out.at(-1) ?? after)) return { instants: out, more: false };
    out.push(next.getTime());
    from = next;
  }
  const next = c.nextRun(from);
  return { instants: out, more: next !== null && next.getTime() <= until };
}

/** What to fire and what to skip at `now` (see the file header). */
export function dueAt(trigger: CronTrigger, lastConsidered: number, now: number, catchUp: CatchUp): Due {
  const skipped: SkippedRange[] = [];
  const skip = (reason: SkipReason, instants: readonly number[]): void => {
    if (instants.length > 0) skipped.push({ reason, count: instants.length, first: instants[0]!, last: instants.at(-1)! });
  };
  // Enumerate from the recent end when the range is huge: what may fire is always recent.
  const recentFrom = Math.max(lastConsidered, now - windowOf(catchUp) - ON_TIME_MS);
  if (recentFrom > lastConsidered) {
    const old = instantsBetween(trigger, lastConsidered, recentFrom);
    skip(catchUp.mode === 'skip' ? 'missed' : 'outside_window', old.instants);
    if (old.more) skipped.push(tooMany(trigger, old.instants.at(-1) ?? lastConsidered, recentFrom));
  }
  const scan = instantsBetween(trigger, recentFrom, now);
  if (scan.more) {
    // More than MAX_SCAN instants in the window itself: keep the newest, skip the rest as too many.
    skip('too_many', scan.instants);
    const tail = instantsBetween(trigger, Math.max(recentFrom, now - ON_TIME_MS), now);
    return finish(trigger, tail.instants.slice(-1), skipped, now);
  }
  const onTime = scan.instants.filter((t) => t > now - ON_TIME_MS);
  const missed = scan.instants.filter((t) => t <= now - ON_TIME_MS);
  let fire: number[] = [];
  if (catchUp.mode === 'skip') skip('missed', missed);
  else if (catchUp.mode === 'latest') {
    skip('missed', onTime.length > 0 ? missed : missed.slice(0, -1));
    if (onTime.length === 0) fire = missed.slice(-1);
  } else {
    const kept = missed.slice(-Math.max(0, catchUp.cap));
    skip('over_cap', missed.slice(0, missed.length - kept.length));
    fire = kept;
  }
  // Several on-time instants (a tick came late by seconds on a per-second schedule): the newest.
  skip('missed', onTime.slice(0, -1));
  fire = [...fire, ...onTime.slice(-1)];
  return finish(trigger, fire, skipped, now);
}

function finish(trigger: CronTrigger, fire: number[], skipped: SkippedRange[], now: number): Due {
  const next = cron(trigger).nextRun(new Date(now));
  skipped.sort((a, b) => a.first - b.first);
  return { fire, skipped, considered: now, next: next === null ? null : next.getTime() };
}

function windowOf(c: CatchUp): number {
  return c.mode === 'skip' ? 0 : Math.max(0, c.windowMs);
}

function tooMany(trigger: CronTrigger, after: number, until: number): SkippedRange {
  const first = cron(trigger).nextRun(new Date(after));
  return { reason: 'too_many', count: null, first: first?.getTime() ?? after, last: until };
}

/** Whether a firing starts a run, waits as the one buffered run, or is skipped. */
export function overlapDecision(policy: Overlap, running: number, buffered: number): 'start' | 'buffer' | 'skip' {
  if (running === 0 || policy === 'allow') return 'start';
  if (policy === 'buffer_one' && buffered === 0) return 'buffer';
  return 'skip';
}

/** The idempotency key of a firing: the same on every device for the same contract and instant. */
export function firingKey(contractId: string, instant: number): string {
  return `contract/${contractId}/${new Date(instant).toISOString()}`;
}
