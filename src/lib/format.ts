/**
 * Display formatting: sizes, times, JSON. Pure functions, no state.
 */

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/** 1536 → "1.5 KB" (decimal units, as browsers report storage). */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

/** Local date and time with seconds, e.g. "23 Nov 2026, 18:04:05". */
export function dateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** Local time only for today's events, date and time otherwise. */
export function shortTime(iso: string, now = new Date()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay
    ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : dateTime(iso);
}

export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? 'undefined';
}

export function percent(part: number, whole: number): string {
  if (!whole) return '—';
  const p = (part / whole) * 100;
  return `${p < 0.1 && p > 0 ? '<0.1' : p.toFixed(1)} %`;
}

/**
 * A one-line digest of an event payload for list rows: its top-level fields as `key: value`.
 * Id fields are left out (the stream column and the detail panel show them); long values are cut.
 */
export function payloadSummary(payload: unknown): string {
  if (payload === null || payload === undefined) return '';
  if (typeof payload !== 'object') return clip(String(payload));
  if (Array.isArray(payload)) return `${payload.length} items`;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(payload as Record<string, unknown>)) {
    if (/Id$/.test(key) || value === '' || value === null || value === undefined) continue;
    const shown = typeof value === 'object' ? (Array.isArray(value) ? `[${value.length}]` : '{…}') : clip(String(value));
    parts.push(`${key}: ${shown}`);
  }
  return parts.join(' · ');
}

function clip(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
