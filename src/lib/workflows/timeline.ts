/**
 * The session timeline: one row per step on a shared time axis. Pure layout: positions are
 * percentages of the axis, so the view sets them with `style:` directives.
 */
import type { SessionState, StepState } from './types.ts';

export interface TimelineRow {
  readonly key: string;
  readonly status: string;
  readonly attempts: number;
  /** Bar start and width in % of the axis; null when the step never started. */
  readonly left: number | null;
  readonly width: number;
  readonly running: boolean;
  /** Earlier attempts, as marks on the axis (%). */
  readonly attemptMarks: readonly number[];
  /** Agent steps: when each model turn answered and each tool result came back (% of the axis). */
  readonly agentMarks: readonly { readonly at: number; readonly kind: 'turn' | 'tool'; readonly label: string }[];
  /** Retry due time or wait wake-up time on the axis (%), when still ahead. */
  readonly due: number | null;
  readonly dueAt: number | null;
  readonly durationMs: number | null;
}

export interface Timeline {
  readonly start: number;
  readonly end: number;
  readonly rows: readonly TimelineRow[];
  /** Axis labels: offset from the start in ms and position in %; at most `maxTicks` + 1 of them. */
  readonly ticks: readonly { readonly ms: number; readonly at: number }[];
}

const ACTIVE = new Set(['running', 'waiting', 'retrying']);

/**
 * `now` is the current time (or, when time travelling, the time of the chosen event). `maxTicks`
 * bounds the number of axis intervals: the view derives it from the axis width (see `tickBudget`)
 * so labels never overlap on a narrow screen.
 */
export function layout(state: SessionState, now: number, maxTicks = 5): Timeline {
  const steps = Object.values(state.steps).filter((s) => !s.key.startsWith('@'));
  const start = state.startedAt;
  let end = state.endedAt ?? now;
  for (const s of steps) {
    if (s.endedAt !== undefined) end = Math.max(end, s.endedAt);
    if (s.dueAt !== undefined && ACTIVE.has(s.status) && state.endedAt === undefined) end = Math.max(end, s.dueAt);
  }
  end = Math.max(end, start + 1000);
  const span = end - start;
  const pct = (t: number): number => Math.min(100, Math.max(0, ((t - start) / span) * 100));
  const sorted = [...steps].sort((a, b) => order(a) - order(b) || a.key.localeCompare(b.key));
  const rows = sorted.map((s): TimelineRow => {
    const starts = s.history.map((h) => h.startedAt);
    if (s.startedAt !== undefined && !starts.includes(s.startedAt)) starts.push(s.startedAt);
    const first = starts[0];
    const running = ACTIVE.has(s.status) && state.endedAt === undefined;
    const stop = s.endedAt ?? (running ? now : (s.history.at(-1)?.endedAt ?? first));
    const width = first === undefined || stop === undefined ? 0 : Math.max(0.5, pct(stop) - pct(first));
    // The minimum width must not push a bar that starts at the very end past the axis.
    const left = first === undefined ? null : Math.min(pct(first), 100 - width);
    const due = s.dueAt !== undefined && running ? pct(s.dueAt) : null;
    return {
      key: s.key, status: s.status, attempts: s.attempts, left, width, running,
      attemptMarks: starts.slice(1).map(pct),
      agentMarks: agentMarks(s, pct),
      due, dueAt: s.dueAt !== undefined && running ? s.dueAt : null,
      // `now` comes from a ticker and may lag a step that just started: never a negative duration.
      durationMs: first === undefined || stop === undefined ? null : Math.max(0, stop - first),
    };
  });
  const ticks: { ms: number; at: number }[] = [];
  const step = niceStep(span / Math.max(1, Math.floor(maxTicks)));
  for (let ms = 0; ms <= span; ms += step) ticks.push({ ms, at: (ms / span) * 100 });
  return { start, end, rows, ticks };
}

function agentMarks(s: StepState, pct: (t: number) => number): TimelineRow['agentMarks'] {
  return (s.journal ?? []).map((r) => {
    const p = r.payload;
    if (r.type === 'agent.turn') {
      const calls = Array.isArray(p['toolCalls']) ? p['toolCalls'].length : 0;
      return { at: pct(r.at), kind: 'turn' as const, label: `turn ${String(p['turn'])}: the model answered${calls > 0 ? ` with ${calls} tool call${calls === 1 ? '' : 's'}` : ''}` };
    }
    return { at: pct(r.at), kind: 'tool' as const, label: `turn ${String(p['turn'])}: ${String(p['tool'])} ${p['ok'] === true ? 'returned' : 'failed'}` };
  });
}

function order(s: StepState): number {
  return s.history[0]?.startedAt ?? s.startedAt ?? s.scheduledAt ?? Number.MAX_SAFE_INTEGER;
}

/** Room for one axis label per `MIN_TICK_PX` of axis ("1 m 15 s" at the axis font is about 50 px). */
export const MIN_TICK_PX = 90;

/** How many axis intervals fit in `widthPx` (5 before the width is known). */
export function tickBudget(widthPx: number): number {
  if (!(widthPx > 0)) return 5;
  return Math.max(1, Math.min(8, Math.floor(widthPx / MIN_TICK_PX)));
}

function niceStep(raw: number): number {
  const steps = [250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 86_400_000];
  return steps.find((s) => s >= raw) ?? Math.ceil(raw / 86_400_000) * 86_400_000;
}

/** 1234 → "1.2 s", 75000 → "1 m 15 s". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  // Each bracket's limit is where its rounding would reach the next unit (no "1000 ms", "60 s", "1 m 60 s").
  if (ms < 999.5) return `${Math.round(ms)} ms`;
  if (ms < 9_950) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 59_500) return `${(ms / 1000).toFixed(0)} s`;
  const s = Math.round(ms / 1000);
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} m`;
}

/** The top-level step id of a step key (`loop[2].inner` → `loop`, `deploy@onStart` → `deploy`). */
export function topLevelId(key: string): string {
  return /^[^[.@]+/.exec(key)?.[0] ?? key;
}
