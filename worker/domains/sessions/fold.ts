/**
 * Fold a session's events into its state: the one function the engine (resume), the UI (time
 * travel: the state at any event) and the tests share.
 *
 * Invariants:
 * 1. Pure and definition-free: the state follows from the events alone (resets carry their keys).
 * 2. Tolerant: an event for an unknown step creates it; nothing here throws on a well-typed event.
 * 3. `version` is the stream version (streamSeq of the last event applied).
 */
import type { Json } from '../../kernel/errors.ts';
import type { CarriedStep, EventPayload, PinnedManifest, SessionEventType, StepErrorData } from './events.ts';
import { DEFAULT_WORKSPACE_ID } from '../workspaces/scope.ts';

export type StepStatus = 'pending' | 'scheduled' | 'running' | 'waiting' | 'retrying' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
export type SessionStatus = 'running' | 'paused' | 'succeeded' | 'failed' | 'cancelled';

export const TERMINAL_STEP: ReadonlySet<StepStatus> = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);
export const TERMINAL_SESSION: ReadonlySet<SessionStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export interface StepState {
  readonly key: string;
  status: StepStatus;
  /** Last attempt number started (0: never started). */
  attempt: number;
  /** First attempt of the current run of the retry policy. */
  runFrom: number;
  /** Attempts started in all (shown in the UI). */
  attempts: number;
  scheduledAt?: number;
  startedAt?: number;
  endedAt?: number;
  /** Retry due time or wait wake time. */
  dueAt?: number;
  deadline?: number;
  idempotencyKey?: string;
  runner?: string;
  input?: Json;
  output?: Json;
  artifact?: { hash: string; size: number };
  error?: StepErrorData;
  branch?: 'then' | 'else';
  items?: Json[];
  child?: { sessionId: string; workflow: string };
  approval?: { prompt: string; approvers: string[]; deadline?: number; decided?: { approved: boolean; comment: string; by: string; at: number } };
  /** onFailure loops taken from this step. */
  loops: number;
  /** Why this step re-runs (set on the goto step of an onFailure route). */
  failure?: { step: string; reasons: string[]; loop: number; error: StepErrorData };
  reason?: string;
  /** llm / agent steps: the Forest text retrieved when the attempt started ({{ context.<name> }}). */
  context?: { [name: string]: { text: string; read: string[]; total: number } };
  /** Agent steps: the turns and observations of the current attempt, in order (the runner resumes from them). */
  journal?: JournalRecord[];
  /** Time spent in finished attempts (ms), for the timeline. */
  history: { attempt: number; startedAt: number; endedAt: number; outcome: 'succeeded' | 'failed' | 'cancelled' }[];
}

export interface JournalRecord {
  readonly type: 'agent.turn' | 'agent.observation';
  readonly payload: { readonly [key: string]: Json };
  readonly at: number;
}

export interface SessionState {
  readonly id: string;
  /** The workspace the session runs in (v1 logs: the default workspace). */
  readonly workspaceId: string;
  /** The project of that workspace it is filed under, if any. */
  readonly projectId?: string;
  workflow: { name: string; version: string; hash: string };
  source: string;
  inputs: { [name: string]: Json };
  env: { [name: string]: Json };
  status: SessionStatus;
  /** Status before a pause (to report `paused` while steps still settle). */
  paused: boolean;
  startedAt: number;
  endedAt?: number;
  output?: Json;
  error?: StepErrorData;
  failedStep?: string;
  parent?: { sessionId: string; step: string; attempt: number };
  forkOf?: { sessionId: string; fromStep: string; atSeq: number };
  /** The Tools and Agents it calls by name, as pinned at start (or by its last migration). */
  pinned?: PinnedManifest[];
  migrations: number;
  version: number;
  lastSeq: number;
  readonly steps: Map<string, StepState>;
}

export interface FoldEvent {
  readonly type: string;
  readonly payload: unknown;
  readonly at: string | number;
  readonly streamSeq: number;
  readonly seq: number;
}

const ms = (at: string | number): number => (typeof at === 'number' ? at : Date.parse(at));

export function newStep(key: string): StepState {
  return { key, status: 'pending', attempt: 0, runFrom: 1, attempts: 0, loops: 0, history: [] };
}

/** Fold events (in stream order) into a state; stop after `uptoSeq` when given (time travel). */
export function foldSession(events: Iterable<FoldEvent>, uptoSeq?: number): SessionState | undefined {
  let state: SessionState | undefined;
  for (const e of events) {
    if (uptoSeq !== undefined && e.seq > uptoSeq) break;
    if (e.type === 'session.started') state = startState(e);
    else if (state) applyEvent(state, e);
  }
  return state;
}

function startState(e: FoldEvent): SessionState {
  const p = e.payload as EventPayload<'session.started'>;
  const state: SessionState = {
    // Raw (not upcast) payloads reach the fold (sessionEvents reads the events table): v1 has no workspaceId.
    id: p.sessionId, workspaceId: (p as { workspaceId?: string }).workspaceId ?? DEFAULT_WORKSPACE_ID, workflow: p.workflow, source: p.source, inputs: p.inputs, env: p.env,
    status: 'running', paused: false, startedAt: ms(e.at), migrations: 0, version: e.streamSeq, lastSeq: e.seq, steps: new Map(),
    ...(p.parent ? { parent: p.parent } : {}), ...(p.forkOf ? { forkOf: p.forkOf } : {}),
    ...(p.projectId ? { projectId: p.projectId } : {}),
    ...(p.pinned ? { pinned: p.pinned } : {}),
  };
  for (const c of p.carried ?? []) carry(state, c, ms(e.at));
  return state;
}

function carry(state: SessionState, c: CarriedStep, at: number): void {
  const st = newStep(c.step);
  st.status = c.status;
  st.attempt = c.attempt;
  st.runFrom = c.attempt + 1;
  st.startedAt = at;
  st.endedAt = at;
  st.reason = 'carried from the forked session';
  if (c.output !== undefined) st.output = c.output;
  if (c.artifact) st.artifact = c.artifact;
  if (c.branch) st.branch = c.branch;
  state.steps.set(c.step, st);
}

export function stepOf(state: SessionState, key: string): StepState {
  let st = state.steps.get(key);
  if (!st) {
    st = newStep(key);
    state.steps.set(key, st);
  }
  return st;
}

/** Apply one event (after session.started) to the state, in place. */
export function applyEvent(state: SessionState, e: FoldEvent): void {
  state.version = e.streamSeq;
  state.lastSeq = e.seq;
  const at = ms(e.at);
  const type = e.type as SessionEventType;
  switch (type) {
    case 'step.scheduled': {
      const p = e.payload as EventPayload<'step.scheduled'>;
      const st = stepOf(state, p.step);
      st.status = 'scheduled';
      st.scheduledAt = at;
      break;
    }
    case 'step.started': {
      const p = e.payload as EventPayload<'step.started'>;
      const st = stepOf(state, p.step);
      st.attempt = p.attempt;
      st.attempts += 1;
      st.startedAt = at;
      delete st.endedAt;
      delete st.error;
      delete st.dueAt;
      delete st.journal;
      st.idempotencyKey = p.idempotencyKey;
      if (p.runner !== undefined) st.runner = p.runner;
      if (p.input !== undefined) st.input = p.input;
      if (p.deadline !== undefined) st.deadline = p.deadline; else delete st.deadline;
      if (p.wakeAt !== undefined) st.dueAt = p.wakeAt;
      if (p.approval) st.approval = { ...p.approval };
      if (p.child) st.child = p.child;
      if (p.items) st.items = p.items;
      if (p.context) st.context = p.context; else delete st.context;
      st.status = p.wakeAt !== undefined || p.approval || p.child ? 'waiting' : 'running';
      break;
    }
    case 'step.succeeded': {
      const p = e.payload as EventPayload<'step.succeeded'>;
      const st = stepOf(state, p.step);
      finishAttempt(st, at, 'succeeded');
      st.status = 'succeeded';
      if (p.output !== undefined) st.output = p.output; else delete st.output;
      if (p.artifact) st.artifact = p.artifact; else delete st.artifact;
      if (p.branch) st.branch = p.branch;
      delete st.error;
      delete st.failure;
      break;
    }
    case 'step.failed': {
      const p = e.payload as EventPayload<'step.failed'>;
      const st = stepOf(state, p.step);
      finishAttempt(st, at, 'failed');
      st.error = p.error;
      st.status = p.willRetry ? 'retrying' : 'failed';
      break;
    }
    case 'step.retry_scheduled': {
      const p = e.payload as EventPayload<'step.retry_scheduled'>;
      const st = stepOf(state, p.step);
      st.status = 'retrying';
      st.dueAt = p.dueAt;
      break;
    }
    case 'step.skipped':
    case 'step.cancelled': {
      const p = e.payload as EventPayload<'step.skipped'>;
      const st = stepOf(state, p.step);
      if (type === 'step.cancelled' && (st.status === 'running' || st.status === 'waiting')) finishAttempt(st, at, 'cancelled');
      st.status = type === 'step.skipped' ? 'skipped' : 'cancelled';
      st.reason = p.reason;
      st.endedAt = at;
      break;
    }
    case 'step.rerouted': {
      const p = e.payload as EventPayload<'step.rerouted'>;
      stepOf(state, p.step).loops = p.loop;
      resetSteps(state, p.reset);
      stepOf(state, p.goto).failure = { step: p.step, reasons: p.reasons, loop: p.loop, error: p.error };
      break;
    }
    case 'approval.decided': {
      const p = e.payload as EventPayload<'approval.decided'>;
      const st = stepOf(state, p.step);
      if (st.approval) st.approval.decided = { approved: p.approved, comment: p.comment, by: p.by, at };
      break;
    }
    case 'agent.turn':
    case 'agent.observation': {
      const p = e.payload as EventPayload<'agent.turn'>;
      const st = stepOf(state, p.step);
      if (p.attempt === st.attempt) (st.journal ??= []).push({ type, payload: p as unknown as { [key: string]: Json }, at });
      break;
    }
    case 'session.paused': state.paused = true; state.status = 'paused'; break;
    case 'session.resumed': state.paused = false; state.status = 'running'; break;
    case 'session.cancelled': state.status = 'cancelled'; state.endedAt = at; state.paused = false; break;
    case 'session.succeeded': {
      const p = e.payload as EventPayload<'session.succeeded'>;
      state.status = 'succeeded';
      state.output = p.output;
      state.endedAt = at;
      break;
    }
    case 'session.failed': {
      const p = e.payload as EventPayload<'session.failed'>;
      state.status = 'failed';
      state.error = p.error;
      if (p.step !== undefined) state.failedStep = p.step;
      state.endedAt = at;
      break;
    }
    case 'session.retried': {
      const p = e.payload as EventPayload<'session.retried'>;
      resetSteps(state, p.reset);
      state.status = state.paused ? 'paused' : 'running';
      delete state.error;
      delete state.failedStep;
      delete state.endedAt;
      break;
    }
    case 'session.migrated': {
      const p = e.payload as EventPayload<'session.migrated'>;
      state.workflow = p.workflow;
      state.source = p.source;
      if (p.pinned) state.pinned = p.pinned;
      state.migrations += 1;
      break;
    }
    default:
      break;
  }
}

function finishAttempt(st: StepState, at: number, outcome: 'succeeded' | 'failed' | 'cancelled'): void {
  if (st.startedAt !== undefined && st.attempt > 0 && (st.status === 'running' || st.status === 'waiting')) {
    st.history.push({ attempt: st.attempt, startedAt: st.startedAt, endedAt: at, outcome });
  }
  st.endedAt = at;
}

/** Reset steps to pending for a new run: attempt numbers continue, so idempotency keys stay unique. */
function resetSteps(state: SessionState, keys: readonly string[]): void {
  for (const k of keys) {
    const old = state.steps.get(k);
    if (!old) continue;
    const st = newStep(k);
    st.attempt = old.attempt;
    st.runFrom = old.attempt + 1;
    st.attempts = old.attempts;
    st.loops = old.loops;
    st.history = old.history;
    state.steps.set(k, st);
  }
}

/** Plain-JSON view of a state (for queries and the UI). */
export function stateToJson(state: SessionState): Json {
  return JSON.parse(JSON.stringify({ ...state, steps: Object.fromEntries(state.steps) })) as Json;
}
