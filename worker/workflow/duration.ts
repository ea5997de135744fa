/**
 * Durations and instants as a workflow file writes them.
 *
 * A duration is a whole number of milliseconds (`5000`), a compact string (`500ms`, `30s`, `5m`,
 * `1h30m`, `1.5h`, `2d`, `1w`) or an ISO-8601 duration (`PT5M`, `P1DT2H`, `PT0.5S`). An instant
 * (`wait.until`) is an ISO-8601 date-time with a time zone (`2026-03-01T09:00:00Z`).
 *
 * Invariants:
 * 1. A duration resolves to a whole number of milliseconds in [0, MAX_DURATION_MS]; anything else
 *    is refused with a message that shows the accepted forms.
 * 2. Calendar units whose length varies (ISO years `Y` and months `M` before `T`) are refused:
 *    a durable timer must mean the same thing when it is replayed.
 * 3. An instant without a time zone is refused (it would depend on the machine's zone).
 */

export const MAX_DURATION_MS = 365 * 24 * 60 * 60 * 1000;

/** The accepted forms, for messages and docs. */
export const DURATION_HINT = 'a duration like 500ms, 30s, 5m, 1h30m, 2d, ISO-8601 PT5M, or a whole number of milliseconds';

/** Compact form: one or more `<number><unit>` parts, largest unit first. For the JSON Schema too. */
export const DURATION_PATTERN = '^(?:[0-9]+(?:\\.[0-9]+)?(?:ms|s|m|h|d|w))+$|^[Pp](?:[0-9]+(?:\\.[0-9]+)?[WwDd])*(?:[Tt](?:[0-9]+(?:\\.[0-9]+)?[HhMmSs])+)?$';

export type DurationResult = { ok: true; ms: number } | { ok: false; message: string };

/** Parse a duration (number of ms or string) to milliseconds. Never throws. */
export function parseDuration(value: unknown): DurationResult {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || !Number.isInteger(value) || value < 0) {
      return bad(`expected ${DURATION_HINT}; got ${String(value)} (milliseconds must be a whole number ≥ 0)`);
    }
    return inRange(value, String(value));
  }
  if (typeof value !== 'string') return bad(`expected ${DURATION_HINT}`);
  const text = value.trim();
  if (text === '') return bad(`expected ${DURATION_HINT}; got an empty string`);
  if (text.length > 64) return bad(`expected ${DURATION_HINT}; got a ${text.length}-character string`);
  if (/^[0-9]+$/.test(text)) return bad(`"${text}" has no unit; write ${text}ms, or a number without quotes for milliseconds`);
  if (/^[Pp]/.test(text)) return parseIso(text);
  return parseCompact(text);
}

/** Milliseconds as the shortest compact string (`5400000` → `1h30m`); `0` → `0ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0ms';
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

export type InstantResult = { ok: true; iso: string } | { ok: false; message: string };

/** Parse an ISO-8601 date-time with a zone and return it in UTC (`toISOString`). Never throws. */
export function parseInstant(value: string): InstantResult {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?([Zz]|[+-]\d{2}:\d{2})?$/.exec(value.trim());
  if (m === null) {
    return { ok: false, message: `expected an ISO-8601 date-time with a time zone like 2026-03-01T09:00:00Z, or a {{ }} template; got ${JSON.stringify(value.slice(0, 40))}` };
  }
  if (m[8] === undefined) {
    return { ok: false, message: `"${value.trim()}" has no time zone; add Z (UTC) or an offset like +02:00` };
  }
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    return { ok: false, message: `"${value.trim()}" is not a real date and time; check the month, day and clock fields` };
  }
  const zone = m[8].toUpperCase() === 'Z' ? 'Z' : m[8];
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}.${(m[7] ?? '0').padEnd(3, '0')}${zone}`);
  if (!Number.isFinite(ms)) return { ok: false, message: `"${value.trim()}" is not a valid date-time` };
  return { ok: true, iso: new Date(ms).toISOString() };
}

const UNITS: readonly (readonly [string, number])[] = [
  ['w', 7 * 24 * 3_600_000],
  ['d', 24 * 3_600_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
];

function parseCompact(text: string): DurationResult {
  const part = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)/y;
  let total = 0;
  let lastRank = -1;
  let pos = 0;
  while (pos < text.length) {
    part.lastIndex = pos;
    const m = part.exec(text);
    if (m === null) {
      const num = /[0-9]+(?:\.[0-9]+)?/y;
      num.lastIndex = pos;
      const n = num.exec(text);
      if (n !== null) {
        const unit = text.slice(num.lastIndex, num.lastIndex + 8);
        return bad(`"${text}" is not a duration: ${unit === '' ? `${n[0]} has no unit` : `unknown unit "${unit}" after ${n[0]}`}; units are ms, s, m, h, d, w (e.g. 5m, 1h30m)`);
      }
      return bad(`"${text}" is not a duration: unexpected "${text.slice(pos, pos + 8)}"; expected ${DURATION_HINT}`);
    }
    const rank = UNITS.findIndex(([u]) => u === m[2]);
    if (rank <= lastRank) return bad(`"${text}" repeats a unit or puts a smaller unit first; write units from largest to smallest, e.g. 1h30m`);
    lastRank = rank;
    total += Number(m[1]) * UNITS[rank]![1];
    pos = part.lastIndex;
  }
  return whole(total, text);
}

function parseIso(text: string): DurationResult {
  const upper = text.toUpperCase();
  const m = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(upper);
  if (m === null) {
    if (/^P[^T]*[YM]/.test(upper)) return bad(`"${text}" uses years or months, whose length varies; use days (P30D) or weeks (P4W)`);
    return bad(`"${text}" is not an ISO-8601 duration; expected forms like PT30S, PT5M, PT1H30M, P1DT2H`);
  }
  if (m.slice(1).every((g) => g === undefined) || upper.endsWith('T')) {
    return bad(`"${text}" has no amount; write e.g. PT5M`);
  }
  const sizes = [7 * 24 * 3_600_000, 24 * 3_600_000, 3_600_000, 60_000, 1_000];
  let total = 0;
  for (let i = 0; i < sizes.length; i++) if (m[i + 1] !== undefined) total += Number(m[i + 1]) * sizes[i]!;
  return whole(total, text);
}

function whole(total: number, text: string): DurationResult {
  const rounded = Math.round(total);
  if (Math.abs(total - rounded) > 1e-6) return bad(`"${text}" is not a whole number of milliseconds`);
  return inRange(rounded, text);
}

function inRange(ms: number, text: string): DurationResult {
  if (ms > MAX_DURATION_MS) return bad(`"${text}" is longer than the maximum of 365d`);
  return { ok: true, ms };
}

function bad(message: string): DurationResult {
  return { ok: false, message };
}
