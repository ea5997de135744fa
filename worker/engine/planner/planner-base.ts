/**
 * The planner's foundation: the context and output types, recording runner outcomes (outputs,
 * gates, retries, onFailure routes, artifacts, hooks) and the helpers the scheduler (plan.ts)
 * builds on: emitting events into the state, cancelling, finding a step by key, rendering.
 */
import type { Json } from '../../kernel/errors.ts';
import { canonicalJson } from '../../kernel/log/canonical.ts';
import { sha256Hex } from '../../kernel/log/hash.ts';
import { evaluateSource, isTruthy } from '../../workflow/expr/index.ts';
import { renderDeep, renderTemplate } from '../../workflow/templates.ts';
import type { AgentStep, Hook, Retrieval, Step, Workflow } from '../../workflow/types.ts';
import { redactSecrets } from '../redact.ts';
import type { CarriedStep, SessionEventInput, SessionEventType, StepErrorData } from '../../domains/sessions/events.ts';
import { applyEvent, stepOf, TERMINAL_STEP, type SessionState, type StepState } from '../../domains/sessions/fold.ts';
import { childFrame, downstream, errorOf, keyOf, keysUnder, retryDelay, rootFrame, scopeFor, type Frame } from '../../domains/sessions/support.ts';

/** Outputs larger than this (canonical JSON, bytes of UTF-16 text) become artifacts. */
export const ARTIFACT_THRESHOLD = 16 * 1024;

export type Outcome = { readonly attempt: number; readonly ok: true; readonly value: Json } | { readonly attempt: number; readonly ok: false; readonly error: StepErrorData };

export interface ChildStart {
  readonly sessionId: string;
  readonly workflow: string;
  readonly inputs: { [name: string]: Json };
  readonly parent: { sessionId: string; step: string; attempt: number };
}

export interface PlanContext {
  readonly def: Workflow;
  readonly state: SessionState;
  readonly now: number;
  readonly secrets: ReadonlyMap<string, string>;
  /** Runner results waiting to be recorded, by step key. Consumed entries are deleted. */
  readonly outcomes: Map<string, Outcome>;
  blob(hash: string): Json | undefined;
  /** Status of a child session (undefined while unknown). */
  child(sessionId: string): { status: string; output?: Json; error?: StepErrorData } | undefined;
  /** Check that a child workflow reference resolves and its inputs are valid; a message when not. */
  checkChild(ref: string, inputs: { [name: string]: Json }): string | null;
  /** Forest retrieval for an llm/agent step's `context` (absent: a step with context fails). */
  retrieve?(spec: Retrieval, state: SessionState): Retrieved;
}

/** What one retrieval gave: the text for the prompt and the nodes it came from. */
export interface Retrieved {
  text: string;
  read: string[];
  total: number;
}

export interface PlanOutput {
  readonly events: SessionEventInput[];
  readonly blobs: { hash: string; mediaType: string; data: string }[];
  readonly children: ChildStart[];
  readonly cancelChildren: string[];
}

export abstract class PlannerBase {
  readonly out: PlanOutput = { events: [], blobs: [], children: [], cancelChildren: [] };
  protected readonly s: SessionState;
  protected readonly def: Workflow;
  protected readonly fresh = new Map<string, Json>();

  constructor(protected readonly c: PlanContext) {
    this.s = c.state;
    this.def = c.def;
  }

  // ---- outcomes -----------------------------------------------------------------------------

  protected record(key: string, st: StepState, o: Outcome): void {
    const hookAt = key.indexOf('@');
    if (hookAt >= 0) {
      if (o.ok) this.emit('step.succeeded', { step: key, attempt: o.attempt, ...this.outputFields(key, o.attempt, this.redact(o.value), st), durationMs: this.dur(st) });
      else this.emit('step.failed', { step: key, attempt: o.attempt, error: this.redact(o.error as Json) as Json, willRetry: false, durationMs: this.dur(st) });
      return;
    }
    const found = this.find(key);
    if (!found) return;
    const { step, frame } = found;
    if (!o.ok) return this.attemptFailed(key, step, st, this.redact(o.error as Json) as unknown as StepErrorData);
    const result = this.redact(o.value);
    let output: Json = result;
    if (step.outputs) {
      try {
        output = renderDeep(step.outputs, { ...this.scopeFor(frame, st), result }) as Json;
      } catch (err) {
        return this.attemptFailed(key, step, st, errorOf('template_error', `outputs: ${message(err)}`));
      }
    }
    this.succeed(key, step, st, output, frame);
  }

  protected succeed(key: string, step: Step, st: StepState, output: Json, frame: Frame): void {
    if (step.gate && step.gate.length > 0) {
      const scope = this.scopeFor(frame, st);
      scope['output'] = output;
      (scope['steps'] as { [id: string]: Json })[step.id] = { status: 'succeeded', output, error: null, attempts: st.attempts };
      const reasons: string[] = [];
      for (const g of step.gate) {
        try {
          if (!isTruthy(evaluateSource(g.check, scope))) reasons.push(g.reason !== undefined ? String(renderTemplate(g.reason, scope)) : `gate failed: ${g.check}`);
        } catch (err) {
          reasons.push(`gate ${g.check}: ${message(err)}`);
        }
      }
      if (reasons.length > 0) return this.attemptFailed(key, step, st, errorOf('gate_failed', reasons.join('; '), false, { reasons, output }));
    }
    this.emit('step.succeeded', { step: key, attempt: st.attempt, ...this.outputFields(key, st.attempt, output, st), durationMs: this.dur(st) });
    if (step.hooks?.onComplete) this.startHook(`${key}@onComplete`, step.hooks.onComplete, { ...this.scopeFor(frame), output });
  }

  protected attemptFailed(key: string, step: Step, st: StepState, error: StepErrorData): void {
    const delay = retryDelay(step.retry, st, error);
    this.emit('step.failed', { step: key, attempt: st.attempt, error: error as Json, willRetry: delay !== null, durationMs: this.dur(st) });
    if (delay !== null) {
      this.emit('step.retry_scheduled', { step: key, attempt: st.attempt + 1, dueAt: this.c.now + delay, delayMs: delay });
      return;
    }
    if (step.hooks?.onError) {
      const found = this.find(key);
      if (found) this.startHook(`${key}@onError`, step.hooks.onError, { ...this.scopeFor(found.frame), error });
    }
  }

  protected failNow(key: string, step: Step, error: StepErrorData): void {
    this.emit('step.started', { step: key, attempt: stepOf(this.s, key).attempt + 1, idempotencyKey: `${this.s.id}/${key}/${stepOf(this.s, key).attempt + 1}` });
    this.attemptFailed(key, step, stepOf(this.s, key), error);
  }

  protected reroute(step: Step, st: StepState, frame: Frame): void {
    const route = step.onFailure!;
    const ids = downstream(route.goto, frame.steps);
    const reset: string[] = [];
    for (const s of frame.steps) if (ids.has(s.id)) reset.push(...keysUnder(this.s, keyOf(frame, s.id), s));
    const error = st.error ?? errorOf('step_failed', 'failed');
    const reasons = Array.isArray(error.details['reasons']) ? (error.details['reasons'] as Json[]).map(String) : [error.message];
    this.emit('step.rerouted', { step: st.key, goto: keyOf(frame, route.goto), loop: st.loops + 1, reasons, error: error as Json, reset });
  }

  // ---- helpers ------------------------------------------------------------------------------

  renderInput(key: string): { [k: string]: Json } | undefined {
    const at = key.indexOf('@');
    const owner = at >= 0 ? key.slice(0, at) : key;
    const hookName = at >= 0 ? key.slice(at + 1) as 'onStart' | 'onComplete' | 'onError' : undefined;
    const found = owner === '' ? { step: undefined, frame: rootFrame(this.def) } : this.find(owner);
    if (!found) return undefined;
    const ownerSt = owner === '' ? undefined : this.s.steps.get(owner);
    const scope = { ...this.scopeFor(found.frame, ownerSt), secrets: this.secretScope() };
    if (hookName) {
      const hook = (found.step ? found.step.hooks : this.def.hooks)?.[hookName];
      if (!hook) return undefined;
      const extra = { output: owner === '' ? this.s.output ?? null : ownerSt?.output ?? null, error: (owner === '' ? this.s.error : ownerSt?.error) ?? null };
      const fields = hook.type === 'webhook' ? (hook.config as unknown as Json) : hook.type === 'task' ? hook.config.with : llmInput(hook.config);
      return renderDeep(fields, { ...scope, ...extra }) as { [k: string]: Json };
    }
    const step = found.step!;
    const fields = step.type === 'task' || step.type === 'llm' || step.type === 'agent' || step.type === 'forest' ? runnerFields(step) : undefined;
    return fields && renderDeep(fields, scope) as { [k: string]: Json };
  }

  protected outputFields(key: string, attempt: number, output: Json, st: StepState): { output?: Json; artifact?: { hash: string; size: number } } {
    const text = canonicalJson(output);
    if (text.length <= ARTIFACT_THRESHOLD) return { output };
    const hash = sha256Hex(text);
    this.fresh.set(hash, output);
    this.out.blobs.push({ hash, mediaType: 'application/json', data: text });
    this.emit('artifact.stored', {
      hash, size: text.length, mediaType: 'application/json',
      producer: { sessionId: this.s.id, step: key, attempt }, inputHash: sha256Hex(canonicalJson(st.input ?? null)),
    });
    return { artifact: { hash, size: text.length } };
  }

  protected hookDone(key: string, hook: Hook, scope: Record<string, unknown>): boolean {
    const st = this.s.steps.get(key);
    if (!st) this.startHook(key, hook, scope);
    const now = this.s.steps.get(key);
    return now !== undefined && TERMINAL_STEP.has(now.status);
  }

  protected startHook(key: string, hook: Hook, scope: Record<string, unknown>): void {
    const attempt = (this.s.steps.get(key)?.attempt ?? 0) + 1;
    const base = { step: key, attempt, idempotencyKey: `${this.s.id}/${key}/${attempt}` };
    const runner = hook.type === 'webhook' ? 'http' : hook.type === 'task' ? hook.config.runner : 'llm';
    const fields = hook.type === 'webhook' ? (hook.config as unknown as Json) : hook.type === 'task' ? hook.config.with : llmInput(hook.config);
    try {
      const input = renderDeep(fields, { ...scope, secrets: this.secretScope() }) as Json;
      this.emit('step.started', { ...base, runner, input: this.redact(input) });
    } catch (err) {
      this.emit('step.started', { ...base, runner });
      this.emit('step.failed', { step: key, attempt, error: errorOf('template_error', message(err)) as Json, willRetry: false, durationMs: 0 });
    }
  }

  protected skip(key: string, reason: string): void {
    this.emit('step.skipped', { step: key, reason });
  }

  protected cancelSteps(list: readonly Step[], frame: Frame, reason: string): void {
    for (const step of list) {
      for (const k of keysUnder(this.s, keyOf(frame, step.id), step)) {
        if (!k.includes('@')) this.cancelActive(k, reason); // hooks (e.g. the failed step's onError) run to their end
      }
    }
  }

  protected cancelInner(step: Step, frame: Frame, key: string, reason: string): void {
    for (const k of keysUnder(this.s, key, step)) if (k !== key && !k.startsWith(`${key}@`)) this.cancelActive(k, reason);
  }

  protected cancelAll(reason: string): void {
    for (const k of [...this.s.steps.keys()]) this.cancelActive(k, reason);
  }

  /** Cancel one step that has started or is scheduled (and its child session, if any). */
  private cancelActive(key: string, reason: string): void {
    const st = this.s.steps.get(key);
    if (!st || TERMINAL_STEP.has(st.status) || st.status === 'pending') return;
    if (st.child) this.out.cancelChildren.push(st.child.sessionId);
    this.emit('step.cancelled', { step: key, reason });
  }

  /** Find the definition step and frame of a key (`a`, `loop[2].b`, nested). */
  protected find(key: string): { step: Step; frame: Frame } | undefined {
    let frame = rootFrame(this.def);
    let rest = key;
    for (;;) {
      const m = /^([^[.]+)\[(\d+)\]\.(.*)$/.exec(rest);
      const id = m ? m[1]! : rest;
      const found = findIn(frame.steps, id);
      if (!found) return undefined;
      if (!m) return { step: found.step, frame: childFrame(frame, frame.prefix, found.list) };
      if (found.step.type !== 'loop') return undefined;
      const loop = found.step;
      const index = Number(m[2]);
      const items = this.s.steps.get(frame.prefix + id)?.items ?? [];
      frame = childFrame(childFrame(frame, frame.prefix, found.list), `${frame.prefix}${id}[${index}].`, loop.steps, { [loop.as]: items[index] ?? null, loop: { index } });
      rest = m[3]!;
    }
  }

  protected scopeFor(frame: Frame, st?: StepState): Record<string, unknown> {
    const scope = scopeFor(this.s, this.def, frame, st?.failure, (h) => this.blob(h));
    return st?.context ? { ...scope, context: contextTexts(st.context) } : scope;
  }

  /** Run a step's retrievals (their fields are templates over `scope`). */
  protected retrieve(specs: { [name: string]: Retrieval }, scope: Record<string, unknown>): { [name: string]: Retrieved } {
    const out: { [name: string]: Retrieved } = {};
    for (const [name, spec] of Object.entries(specs)) {
      if (!this.c.retrieve) throw new Error(`context.${name}: Forest retrieval is not available here`);
      out[name] = this.c.retrieve(renderDeep(spec, scope) as Retrieval, this.s);
    }
    return out;
  }

  protected blob(hash: string): Json | undefined {
    return this.fresh.get(hash) ?? this.c.blob(hash);
  }

  protected secretScope(): { [name: string]: string } {
    return Object.fromEntries(this.c.secrets);
  }

  protected redact<T extends Json>(value: T): T {
    return this.c.secrets.size === 0 ? value : redactSecrets(value, this.c.secrets);
  }

  protected dur(st: StepState): number {
    return st.startedAt === undefined ? 0 : Math.max(0, this.c.now - st.startedAt);
  }

  protected emit(type: SessionEventType, payload: { [k: string]: unknown }): void {
    const clean = JSON.parse(JSON.stringify(payload)) as Json;
    this.out.events.push({ type, payload: clean });
    applyEvent(this.s, { type, payload: clean, at: this.c.now, streamSeq: this.s.version + 1, seq: this.s.lastSeq });
  }
}

/** Find a step by id in a list or in the branches of its parallel/race steps (same frame prefix). */
function findIn(list: readonly Step[], id: string): { step: Step; list: readonly Step[] } | undefined {
  for (const s of list) {
    if (s.id === id) return { step: s, list };
    if (s.type === 'parallel' || s.type === 'race') {
      for (const b of s.branches) {
        const f = findIn(b, id);
        if (f) return f;
      }
    }
  }
  return undefined;
}

export function llmInput(f: { model: string; prompt: string; system?: string; outputSchema?: { [k: string]: Json }; temperature?: number; maxTokens?: number }): { [k: string]: Json } {
  return JSON.parse(JSON.stringify({ model: f.model, prompt: f.prompt, system: f.system, outputSchema: f.outputSchema, temperature: f.temperature, maxTokens: f.maxTokens })) as { [k: string]: Json };
}

/** The (unrendered) runner input of a step that calls a runner. */
export function runnerFields(step: Extract<Step, { type: 'task' | 'llm' | 'agent' | 'forest' }>): { [k: string]: Json } {
  switch (step.type) {
    case 'task': return step.with;
    case 'llm': return llmInput(step);
    case 'agent': return agentInput(step);
    case 'forest': return JSON.parse(JSON.stringify({ query: step.query, tags: step.tags, topK: step.topK, budget: step.budget })) as { [k: string]: Json };
  }
}

/** `{{ context.<name> }}` reads the retrieved text. */
export function contextTexts(context: { readonly [name: string]: { readonly text: string } }): { [name: string]: string } {
  return Object.fromEntries(Object.entries(context).map(([k, v]) => [k, v.text]));
}

/** An agent step's runner input: the llm fields, its tools (normalised) and maxTurns. */
export function agentInput(step: AgentStep): { [k: string]: Json } {
  // A named Agent: model, system, tools and outputSchema come from its pinned manifest when the step runs (worker/engine/named.ts).
  if (step.agent !== undefined) return JSON.parse(JSON.stringify({ agent: step.agent, prompt: step.prompt, temperature: step.temperature, maxTokens: step.maxTokens, maxTurns: step.maxTurns })) as { [k: string]: Json };
  return { ...llmInput({ ...step, model: step.model ?? '' }), tools: JSON.parse(JSON.stringify(step.tools ?? [])) as Json, maxTurns: step.maxTurns };
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export type { CarriedStep };
