/**
 * Session statuses in words that say what is happening: "waiting for you" (an approval pending),
 * "retrying in 12 s" (a retry timer), "paused", "running step build", computed from the state the
 * page already has (the folded session, or a list row). Pure: `now` is passed in.
 *
 * Precedence (the first that applies): ended (succeeded / failed / cancelled) → paused → an
 * approval waiting → a step running → a retry timer → a timer wait → a child session → scheduled.
 * `stepWords` says the same of one step (the session canvas: "done", "retrying in 12 s").
 */
import type { SessionState, SessionSummary, StepState } from './types.ts';

export interface StatusWords {
  /** The words shown: "waiting for you". */
  readonly label: string;
  /** The badge colour (an existing status: running, paused, succeeded, failed, cancelled, waiting). */
  readonly tone: string;
}

const ENDED: Record<string, string> = { succeeded: 'succeeded', failed: 'failed', cancelled: 'cancelled' };

/** Whole seconds until `due`, at least 0: "12 s", or "3 min" from two minutes on. */
export function until(due: number, now: number): string {
  const s = Math.max(0, Math.ceil((due - now) / 1000));
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

function named(keys: readonly string[]): string {
  return keys.length === 1 ? keys[0]! : `${keys[0]!} and ${keys.length - 1} more`;
}

/** What the session is doing, from its folded state (`copy`: a run of an imported copy waits for nobody here). */
export function sessionWords(s: Pick<SessionState, 'status' | 'paused' | 'steps'>, now: number, copy = false): StatusWords {
  if (ENDED[s.status]) return { label: s.status, tone: s.status };
  if (s.paused || s.status === 'paused') return { label: 'paused', tone: 'paused' };
  const steps: StepState[] = Object.values(s.steps);
  if (steps.some((x) => x.status === 'waiting' && x.approval && !x.approval.decided)) return { label: copy ? 'waiting for approval' : 'waiting for you', tone: 'waiting' };
  const running = steps.filter((x) => x.status === 'running').map((x) => x.key).sort();
  if (running.length > 0) return { label: `running step ${named(running)}`, tone: 'running' };
  const retries = steps.filter((x) => x.status === 'retrying' && x.dueAt !== undefined).sort((a, b) => a.dueAt! - b.dueAt!);
  if (retries.length > 0) return { label: `retrying ${retries[0]!.key} in ${until(retries[0]!.dueAt!, now)}`, tone: 'running' };
  if (steps.some((x) => x.status === 'retrying')) return { label: 'retrying', tone: 'running' };
  const timers = steps.filter((x) => x.status === 'waiting' && x.dueAt !== undefined && !x.child).sort((a, b) => a.dueAt! - b.dueAt!);
  if (timers.length > 0) return { label: `waiting ${until(timers[0]!.dueAt!, now)} (${timers[0]!.key})`, tone: 'running' };
  const children = steps.filter((x) => x.status === 'waiting' && x.child).map((x) => x.key).sort();
  if (children.length > 0) return { label: `waiting for a child session (${named(children)})`, tone: 'running' };
  return { label: 'running', tone: 'running' };
}

/** What a list row can say: it has no step detail, only the status and how many approvals wait. */
export function summaryWords(s: Pick<SessionSummary, 'status' | 'waiting'>, copy = false): StatusWords {
  if (ENDED[s.status] || s.status === 'paused') return { label: s.status, tone: s.status };
  if (s.waiting > 0) return { label: copy ? 'waiting for approval' : 'waiting for you', tone: 'waiting' };
  return { label: s.status, tone: s.status };
}

const STEP_WORDS: Record<string, string> = {
  succeeded: 'done', failed: 'failed', skipped: 'skipped', cancelled: 'cancelled',
  running: 'running', scheduled: 'starting', pending: 'not started',
};

/**
 * What one step is doing, for a node of the session canvas: "done", "running", "retrying in 12 s",
 * "waiting for you" (an approval), "waiting 3 min" (a timer), "not run" (no state yet). `tone` is
 * the step status for the badge colour.
 */
export function stepWords(s: Pick<StepState, 'status' | 'dueAt' | 'approval' | 'child'> | undefined, now: number): StatusWords {
  if (s === undefined) return { label: 'not run', tone: 'pending' };
  if (s.status === 'waiting') {
    if (s.approval && !s.approval.decided) return { label: 'waiting for you', tone: 'waiting' };
    if (s.child) return { label: 'waiting for a child session', tone: 'waiting' };
    return { label: s.dueAt !== undefined ? `waiting ${until(s.dueAt, now)}` : 'waiting', tone: 'waiting' };
  }
  if (s.status === 'retrying') return { label: s.dueAt !== undefined ? `retrying in ${until(s.dueAt, now)}` : 'retrying', tone: 'retrying' };
  return { label: STEP_WORDS[s.status] ?? s.status, tone: s.status };
}
