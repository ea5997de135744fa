/**
 * Pure helpers of the scheduler: step keys and frames, the expression scope a step sees, retry
 * delays, downstream sets for onFailure routes and forks, and the next time a session must wake.
 */
import type { Json } from '../../kernel/errors.ts';
import type { RetryPolicy, Step, Workflow } from '../../workflow/types.ts';
import type { StepErrorData } from './events.ts';
import type { SessionState, StepState } from './fold.ts';
import { TERMINAL_STEP } from './fold.ts';

/** One step list being planned: the top level, a parallel/race branch, or a loop iteration. */
export interface Frame {
  /** Prefix of the keys of this list's steps ('' at the top level, `L[2].` in a loop iteration). */
  readonly prefix: string;
  readonly steps: readonly Step[];
  readonly parent: Frame | undefined;
  /** Loop variables bound in this frame (`as` name and `loop`). */
  readonly vars: { readonly [name: string]: Json };
}

export const rootFrame = (def: Workflow): Frame => ({ prefix: '', steps: def.steps, parent: undefined, vars: {} });

export function childFrame(parent: Frame, prefix: string, steps: readonly Step[], vars: { [name: string]: Json } = {}): Frame {
  return { prefix, steps, parent, vars: { ...parent.vars, ...vars } };
}

export const keyOf = (frame: Frame, id: string): string => frame.prefix + id;

/** Dependencies of a step: `dependsOn` plus the decisions whose then/else list it. */
export function dependencies(step: Step, list: readonly Step[]): string[] {
  const deps = new Set(step.dependsOn);
  for (const d of list) if (d.type === 'decision' && (d.then.includes(step.id) || d.else.includes(step.id))) deps.add(d.id);
  return [...deps];
}

/** Step ids of `list` downstream of `from` (inclusive), through dependsOn and decision edges. */
export function downstream(from: string, list: readonly Step[]): Set<string> {
  const out = new Set([from]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of list) {
      if (out.has(s.id)) continue;
      if (dependencies(s, list).some((d) => out.has(d))) {
        out.add(s.id);
        grew = true;
      }
    }
  }
  return out;
}

/** Keys in the state that belong to a step: itself, its hooks, and everything nested inside it. */
export function keysUnder(state: SessionState, key: string, step: Step): string[] {
  const inner = new Set<string>();
  const collect = (s: Step): void => {
    if (s.type === 'parallel' || s.type === 'race') for (const b of s.branches) for (const x of b) { inner.add(x.id); collect(x); }
  };
  collect(step);
  const prefix = key.slice(0, key.length - step.id.length);
  const out: string[] = [];
  for (const k of state.steps.keys()) {
    if (k === key || k.startsWith(`${key}@`) || k.startsWith(`${key}[`)) out.push(k);
    else if (k.startsWith(prefix)) {
      const rest = k.slice(prefix.length);
      const id = /^[^[@]+/.exec(rest)?.[0];
      if (id !== undefined && inner.has(id)) out.push(k);
    }
  }
  return out;
}

/** The value a later step reads as `steps.<id>`. */
export function stepVar(st: StepState | undefined, blob: (hash: string) => Json | undefined): Json {
  if (!st) return { status: 'pending', output: null, error: null, attempts: 0 };
  const output = st.artifact ? blob(st.artifact.hash) ?? null : st.output ?? null;
  return { status: st.status, output, error: (st.error as Json | undefined) ?? null, attempts: st.attempts };
}

/** The expression scope of a step in `frame` (without `secrets`, `result`, `output`, `error`). */
export function scopeFor(
  state: SessionState, def: Workflow, frame: Frame, failure: StepState['failure'], blob: (hash: string) => Json | undefined,
): Record<string, unknown> {
  const steps: { [id: string]: Json } = {};
  const chain: Frame[] = [];
  for (let f: Frame | undefined = frame; f; f = f.parent) chain.unshift(f);
  for (const f of chain) for (const s of f.steps) steps[s.id] = stepVar(state.steps.get(keyOf(f, s.id)), blob);
  return {
    inputs: state.inputs,
    workflow: { name: def.name, version: def.version },
    session: { id: state.id, startedAt: new Date(state.startedAt).toISOString() },
    env: state.env,
    failure: (failure as Json | undefined) ?? null,
    steps,
    ...frame.vars,
  };
}

/** Delay before the next attempt, or null when the policy says stop. */
export function retryDelay(policy: RetryPolicy | undefined, st: StepState, error: StepErrorData): number | null {
  if (!policy || !error.retryable) return null;
  if (policy.retryOn && !policy.retryOn.includes(error.type)) return null;
  const tries = st.attempt - st.runFrom + 1;
  if (tries >= policy.maxAttempts) return null;
  const base = policy.backoff === 'exponential' ? policy.initialDelay * 2 ** (tries - 1)
    : policy.backoff === 'linear' ? policy.initialDelay * tries : policy.initialDelay;
  const delay = Math.min(base, policy.maxDelay);
  const retryAfter = error.details['retryAfterMs'];
  return typeof retryAfter === 'number' && retryAfter > delay ? Math.min(retryAfter, 365 * 86_400_000) : delay;
}

/** The earliest time something in this session is due (retry, wait, deadline), or undefined. */
export function nextWake(state: SessionState, def: Workflow | undefined): number | undefined {
  let next: number | undefined;
  const consider = (t: number | undefined): void => {
    if (t !== undefined && (next === undefined || t < next)) next = t;
  };
  if (def?.timeout !== undefined) consider(state.startedAt + def.timeout);
  for (const st of state.steps.values()) {
    if (TERMINAL_STEP.has(st.status)) continue;
    if (st.status === 'retrying' || st.status === 'waiting') consider(st.dueAt);
    if (st.status === 'running' || st.status === 'waiting') consider(st.deadline);
    if (st.status === 'waiting') consider(st.approval?.deadline);
  }
  return next;
}

/** A deterministic UUID-shaped id from a string (child sessions: the same attempt, the same child). */
export function derivedId(hex: string): string {
  const h = hex.slice(0, 32).split('');
  h[12] = '8'; // RFC 9562 version 8 (custom)
  h[16] = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

export function errorOf(type: string, message: string, retryable = false, details: { [k: string]: Json } = {}): StepErrorData {
  return { type, message, retryable, details };
}
