/**
 * Contracts in words for the Contracts screen: a trigger ("Every day at 02:30, Europe/Berlin"),
 * the policies, a skipped range and an instant in the contract's time zone. Pure (no kernel, no
 * DOM); cron expressions it has no words for are shown as they are.
 */
import type { QueryResult } from '../../../worker/api-types.ts';

export type ContractSummary = QueryResult<'contract.list'>[number];
export type ContractDetail = NonNullable<QueryResult<'contract.get'>>;
export type Trigger = ContractSummary['trigger'];
export type CatchUp = ContractSummary['catchUp'];
export type SkipRange = ContractDetail['skipped'][number];

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const num = /^\d{1,2}$/;
const two = (s: string): string => s.padStart(2, '0');

/** A cron expression in words, or null when it is not one of the common shapes. */
export function cronWords(expr: string): string | null {
  const f = expr.trim().split(/\s+/);
  if (f.length !== 5) return null;
  const [m, h, dom, mon, dow] = f as [string, string, string, string, string];
  const step = /^\*\/(\d+)$/.exec(m);
  if (step && h === '*' && dom === '*' && mon === '*' && dow === '*') return step[1] === '1' ? 'Every minute' : `Every ${step[1]} minutes`;
  if (m === '*' && h === '*' && dom === '*' && mon === '*' && dow === '*') return 'Every minute';
  if (!num.test(m)) return null;
  if (h === '*' && dom === '*' && mon === '*' && dow === '*') return m === '0' ? 'Every hour' : `Every hour at :${two(m)}`;
  if (!num.test(h)) return null;
  const at = `at ${two(h)}:${two(m)}`;
  if (dom === '*' && mon === '*' && dow === '*') return `Every day ${at}`;
  if (dom === '*' && mon === '*' && (dow === '1-5' || dow === 'MON-FRI')) return `Every weekday ${at}`;
  if (dom === '*' && mon === '*' && /^[0-7]$/.test(dow)) return `Every ${DAYS[Number(dow) % 7]} ${at}`;
  if (num.test(dom) && mon === '*' && dow === '*') return `On day ${Number(dom)} of every month ${at}`;
  return null;
}

export function triggerWords(t: Trigger): string {
  if (t.kind === 'button') return 'When someone presses Run now';
  if (t.kind === 'event') {
    const filter = Object.entries(t.filter).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ');
    return `On each ${t.type} event${filter ? ` with ${filter}` : ''}`;
  }
  return `${cronWords(t.cron) ?? `On the schedule “${t.cron}”`}, ${t.timezone ?? 'UTC'}`;
}

export function overlapWords(o: ContractSummary['overlap']): string {
  return o === 'skip' ? 'skip a firing while a run runs' : o === 'buffer_one' ? 'one firing waits for the running run' : 'runs may overlap';
}

const hours = (ms: number): string => {
  const h = ms / 3_600_000;
  return h % 24 === 0 ? `${h / 24} day${h === 24 ? '' : 's'}` : `${Math.round(h * 10) / 10} hour${h === 1 ? '' : 's'}`;
};

export function catchUpWords(c: CatchUp): string {
  if (c.mode === 'skip') return 'missed instants are skipped';
  if (c.mode === 'latest') return `the latest missed instant within ${hours(c.windowMs)} runs`;
  return `every missed instant within ${hours(c.windowMs)} runs (at most ${c.cap})`;
}

const REASONS: Record<SkipRange['reason'], string> = {
  missed: 'missed while every device was closed',
  outside_window: 'older than the catch-up window',
  over_cap: 'over the catch-up cap',
  too_many: 'too many to count',
  overlap: 'a run was still running',
  error: 'could not start',
};

/** "3 instants, 01:00 – 03:00: missed while every device was closed". */
export function skipWords(s: SkipRange, timezone?: string): string {
  const n = s.count === null ? 'Many instants' : s.count === 1 ? '1 instant' : `${s.count} instants`;
  const when = s.first === s.last ? instantWords(s.first, timezone) : `${instantWords(s.first, timezone)} – ${instantWords(s.last, timezone)}`;
  return `${n}, ${when}: ${REASONS[s.reason]}${s.message ? ` (${s.message})` : ''}`;
}

/** An instant as the contract's clock shows it: "Sun, 29 Mar 2026, 03:00". */
export function instantWords(ms: number, timezone = 'UTC'): string {
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone: timezone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false }).format(ms);
  } catch {
    return new Date(ms).toISOString();
  }
}
