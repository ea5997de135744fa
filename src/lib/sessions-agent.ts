/**
 * An agent step's loop as a conversation: the step's journal (`agent.turn` and `agent.observation`
 * records of its current attempt, see worker/domains/sessions/fold.ts) grouped into turns, each
 * tool call with its observation. Pure functions, no state; tolerant of malformed records (the
 * state arrives as plain JSON from the `session.state` query).
 *
 * Invariants:
 * 1. Turns keep the journal's order; a turn's calls keep the model's order.
 * 2. An observation belongs to the call with the same turn and callId; one that matches no call
 *    is kept as an extra call of its turn (never dropped).
 * 3. A `final_answer` call without an observation is the answer (the runner never runs it).
 */
import type { Json } from '../../worker/api.ts';
import type { StepState } from './workflows/types.ts';

export const FINAL_ANSWER = 'final_answer';
/** Compact argument JSON longer than this is shown collapsed. */
export const LONG_ARGS = 120;

export interface JournalRecord {
  readonly type: 'agent.turn' | 'agent.observation';
  readonly payload: { readonly [key: string]: Json };
  readonly at: number;
}

export interface AgentObservation {
  readonly ok: boolean;
  readonly content: string;
  readonly truncated: boolean;
  readonly durationMs: number;
  readonly error?: { readonly type: string; readonly message: string };
  readonly at: number;
}

/**
 * done: observed; running: the call the step is running now; queued: after the running one;
 * answer: a final_answer call (accepted: the answer; rejected: it did not match the schema;
 * undecided: the step has not settled); not-run: the attempt ended before it ran.
 */
export type CallState = 'done' | 'running' | 'queued' | 'not-run' | 'answer';

export interface AgentCall {
  readonly id: string;
  readonly name: string;
  readonly input: Json;
  /** JSON.stringify of the arguments. */
  readonly args: string;
  readonly long: boolean;
  readonly final: boolean;
  readonly state: CallState;
  /** Final answers: true on the accepted one, false on rejected ones, undefined while undecided. */
  readonly accepted?: boolean;
  readonly observation?: AgentObservation;
}

export interface AgentTurn {
  readonly turn: number;
  readonly text: string;
  readonly calls: readonly AgentCall[];
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly latencyMs: number;
  readonly model: string;
  readonly provider: string;
  readonly finishReason: string;
  readonly at: number;
}

export interface AgentSummary {
  readonly turns: number;
  readonly toolCalls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly latencyMs: number;
}

type Obj = { readonly [key: string]: Json };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** The step's journal (StepState.journal), or [] when it has none or it is malformed. */
export function journalOf(step: StepState): JournalRecord[] {
  const j = (step as { journal?: unknown }).journal;
  if (!Array.isArray(j)) return [];
  return j.filter((r): r is JournalRecord => isObj(r) && (r['type'] === 'agent.turn' || r['type'] === 'agent.observation') && isObj(r['payload']));
}

/** `step.status` (e.g. 'running', 'succeeded') decides the state of calls that have no observation. */
export function agentTurns(journal: readonly JournalRecord[], status: string): AgentTurn[] {
  const observations = new Map<string, AgentObservation & { tool: string }>();
  for (const r of journal) {
    if (r.type !== 'agent.observation') continue;
    const p = r.payload;
    const error = isObj(p['error']) ? { type: str(p['error']['type'], 'error'), message: str(p['error']['message']) } : undefined;
    observations.set(`${num(p['turn'])}/${str(p['callId'])}`, {
      ok: p['ok'] === true, content: str(p['content']), truncated: p['truncated'] === true, durationMs: num(p['durationMs']),
      ...(error ? { error } : {}), at: num(r.at), tool: str(p['tool'], '?'),
    });
  }
  const running = status === 'running';
  const settled = status === 'succeeded' || status === 'failed' || status === 'cancelled' || status === 'skipped';
  const records = journal.filter((r) => r.type === 'agent.turn');
  const used = new Set<string>();
  let sawRunning = false;
  const turns = records.map((r, index): AgentTurn => {
    const p = r.payload;
    const n = num(p['turn']) || index + 1;
    const last = index === records.length - 1;
    const raw = Array.isArray(p['toolCalls']) ? p['toolCalls'].filter(isObj) : [];
    const calls = raw.map((c): AgentCall => {
      const id = str(c['id']);
      const name = str(c['name'], '?');
      const input = c['input'] ?? null;
      const args = JSON.stringify(input) ?? 'null';
      const key = `${n}/${id}`;
      const observation = observations.get(key);
      if (observation) used.add(key);
      const base = { id, name, input, args, long: args.length > LONG_ARGS };
      if (observation) return { ...base, final: false, state: 'done', observation: stripTool(observation) };
      if (name === FINAL_ANSWER) {
        const accepted = !last ? false : status === 'succeeded' ? true : settled ? false : undefined;
        return { ...base, final: true, state: 'answer', ...(accepted !== undefined ? { accepted } : {}) };
      }
      let state: CallState = 'not-run';
      if (running && last) {
        state = sawRunning ? 'queued' : 'running';
        sawRunning = true;
      }
      return { ...base, final: false, state };
    });
    return {
      turn: n, text: str(p['text']), calls,
      inputTokens: num(isObj(p['usage']) ? p['usage']['inputTokens'] : 0),
      outputTokens: num(isObj(p['usage']) ? p['usage']['outputTokens'] : 0),
      latencyMs: num(p['latencyMs']), model: str(p['model']), provider: str(p['provider']), finishReason: str(p['finishReason']), at: num(r.at),
    };
  });
  // Observations that answer no recorded call (should not happen): shown rather than lost.
  for (const [key, o] of observations) {
    if (used.has(key)) continue;
    const [t, ...rest] = key.split('/');
    const n = Number(t);
    const id = rest.join('/');
    const call: AgentCall = { id, name: o.tool, input: null, args: 'null', long: false, final: false, state: 'done', observation: stripTool(o) };
    const i = turns.findIndex((x) => x.turn === n);
    if (i >= 0) turns[i] = { ...turns[i]!, calls: [...turns[i]!.calls, call] };
    else turns.push({ turn: n, text: '', calls: [call], inputTokens: 0, outputTokens: 0, latencyMs: 0, model: '', provider: '', finishReason: '', at: o.at });
  }
  return turns.sort((a, b) => a.turn - b.turn);
}

function stripTool(o: AgentObservation & { tool: string }): AgentObservation {
  const { tool: _tool, ...rest } = o;
  return rest;
}

export function agentSummary(turns: readonly AgentTurn[]): AgentSummary {
  return {
    turns: turns.length,
    toolCalls: turns.reduce((n, t) => n + t.calls.filter((c) => !c.final).length, 0),
    inputTokens: turns.reduce((n, t) => n + t.inputTokens, 0),
    outputTokens: turns.reduce((n, t) => n + t.outputTokens, 0),
    latencyMs: turns.reduce((n, t) => n + t.latencyMs, 0),
  };
}

/** The first `maxLines` lines and at most `maxChars` characters of a text; `clamped` when cut. */
export function clampText(text: string, maxLines = 12, maxChars = 1500): { text: string; clamped: boolean; lines: number } {
  const all = text.split('\n');
  let shown = all.length > maxLines ? all.slice(0, maxLines).join('\n') : text;
  if (shown.length > maxChars) shown = shown.slice(0, maxChars);
  return { text: shown, clamped: shown.length < text.length, lines: all.length };
}

/** Arguments pretty-printed (for the expanded view of long ones). */
export function prettyArgs(input: Json): string {
  return JSON.stringify(input, null, 2) ?? 'null';
}

/** A turn's muted line: "120 in / 14 out tokens · 30 ms · fake-model (fake) · tool_calls". */
export function turnMeta(t: AgentTurn, duration: (ms: number) => string): string {
  const model = t.model === '' ? '' : t.provider === '' ? t.model : `${t.model} (${t.provider})`;
  return [`${count(t.inputTokens)} in / ${count(t.outputTokens)} out tokens`, duration(t.latencyMs), model, t.finishReason].filter((x) => x !== '').join(' · ');
}

/** "1,234" with the reader's grouping. */
export function count(n: number): string {
  return n.toLocaleString();
}
