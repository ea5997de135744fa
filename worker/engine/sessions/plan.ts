/**
 * The scheduler: given a session's state, its pinned definition, the time and the runner results
 * that arrived, decide which events happen now. The engine writes them (one command per session)
 * and runs what they started.
 *
 * Invariants:
 * 1. Pure apart from the state it advances: every event is applied to `state` as it is emitted
 *    (so later decisions in the same pass see it); the engine reloads the state if the write fails.
 * 2. Runs to a fixpoint: a decision that resolves at once lets its branch start in the same plan.
 * 3. Never throws on user data: a bad template or expression fails the step with a typed error.
 */
import type { Json } from '../../kernel/errors.ts';
import { canonicalJson } from '../../kernel/log/canonical.ts';
import { sha256Hex } from '../../kernel/log/hash.ts';
import { isTruthy } from '../expr/index.ts';
import { evaluateSource } from '../expr/index.ts';
import { renderDeep, renderTemplate } from '../templates.ts';
import { parseInstant } from '../workflow/duration.ts';
import type { Hook, Step, Workflow } from '../workflow/types.ts';
import { redactSecrets } from '../secrets/redact.ts';
import type { CarriedStep, SessionEventInput, SessionEventType, StepErrorData } from './events.ts';
import { applyEvent, stepOf, TERMINAL_STEP, type SessionState, type StepState } from './fold.ts';
import { childFrame, dependencies, derivedId, downstream, errorOf, keyOf, keysUnder, retryDelay, rootFrame, scopeFor, type Frame } from './support.ts';

/** Outputs larger than this (canonical JSON, bytes of UTF-16 text) become artifacts. */
export const ARTIFACT_THRESHOLD = 16 * 1024;

export type Outcome = { readonly attempt: number; readonly ok: true; readonly value: Json } | { readonly attempt: number; readonly ok: false; readonly error: StepErrorData };

export interface ChildStart {
  readonly sessionId: string;
  readonly workflow: string;
  readonly inputs: { [name: string]: Json };
  readonly parent: { sessionId: string; step: string; attempt: number };
}

export interface ResolvedWorkflow {
  readonly workflow: Workflow;
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
}

export interface PlanOutput {
  readonly events: SessionEventInput[];
  readonly blobs: { hash: string; mediaType: string; data: string }[];
  readonly children: ChildStart[];
  readonly cancelChildren: string[];
}

type ScopeStatus = 'running' | 'succeeded' | 'failed';

export function plan(ctx: PlanContext): PlanOutput {
  return new Planner(ctx).run();
}

/**
 * The input a running step's runner gets: the recorded input, or (when secrets were redacted from
 * the record) the same templates rendered again with the secret values.
 */
export function stepInput(def: Workflow, state: SessionState, key: string, secrets: ReadonlyMap<string, string>, blob: (hash: string) => Json | undefined): { [k: string]: Json } {
  const st = state.steps.get(key);
  const recorded = (st?.input ?? {}) as { [k: string]: Json };
  if (!JSON.stringify(recorded).includes('[secret:')) return recorded;
  const planner = new Planner({ def, state, now: Date.now(), secrets, outcomes: new Map(), blob, child: () => undefined, checkChild: () => null });
  return planner.renderInput(key) ?? recorded;
}

class Planner {
  readonly out: PlanOutput = { events: [], blobs: [], children: [], cancelChildren: [] };
  private readonly s: SessionState;
  private readonly def: Workflow;
  private readonly fresh = new Map<string, Json>();

  constructor(private readonly c: PlanContext) {
    this.s = c.state;
    this.def = c.def;
  }

  run(): PlanOutput {
    const s = this.s;
    if (s.status === 'succeeded' || s.status === 'failed' || s.status === 'cancelled') return this.out;
    for (const [key, o] of [...this.c.outcomes]) {
      this.c.outcomes.delete(key);
      const st = s.steps.get(key);
      if (st && st.status === 'running' && st.attempt === o.attempt) this.record(key, st, o);
    }
    if (s.paused) return this.out;
    if (this.def.timeout !== undefined && this.c.now >= s.startedAt + this.def.timeout) {
      this.cancelAll('the session timed out');
      this.emit('session.failed', { error: errorOf('timeout', `The session ran longer than its timeout (${this.def.timeout} ms).`, false) });
      return this.out;
    }
    const root = rootFrame(this.def);
    const scope = this.scopeFor(root);
    if (this.def.hooks?.onStart && !this.hookDone('@onStart', this.def.hooks.onStart, scope)) return this.out;
    const status = this.scope(root);
    if (status === 'running') return this.out;
    if (status === 'failed') {
      const failed = [...s.steps.values()].find((st) => st.status === 'failed' && !st.key.includes('@') && !st.key.includes('['))
        ?? [...s.steps.values()].find((st) => st.status === 'failed' && !st.key.includes('@'));
      const error = failed?.error ?? errorOf('step_failed', 'A step failed.');
      if (this.def.hooks?.onError && !this.hookDone('@onError', this.def.hooks.onError, { ...scope, error })) return this.out;
      this.emit('session.failed', { error, ...(failed ? { step: failed.key } : {}) });
      return this.out;
    }
    let output: Json = null;
    if (this.def.outputs) {
      try {
        output = renderDeep(this.def.outputs, this.scopeFor(root)) as Json;
      } catch (err) {
        this.emit('session.failed', { error: errorOf('template_error', `outputs: ${message(err)}`) });
        return this.out;
      }
    }
    if (this.def.hooks?.onComplete && !this.hookDone('@onComplete', this.def.hooks.onComplete, { ...this.scopeFor(root), output })) return this.out;
    this.emit('session.succeeded', { output });
    return this.out;
  }

  // ---- scopes -------------------------------------------------------------------------------

  /** Advance every step of one list; its status once nothing more can happen now. */
  private scope(frame: Frame): ScopeStatus {
    for (let pass = 0; pass < 1_000; pass++) {
      const before = this.out.events.length;
      for (const step of frame.steps) this.advance(step, frame);
      for (const step of frame.steps) {
        const st = this.s.steps.get(keyOf(frame, step.id));
        if (st?.status === 'failed' && step.onFailure && st.loops < step.onFailure.maxLoops) this.reroute(step, st, frame);
      }
      if (this.out.events.length === before) break;
    }
    let running = false;
    for (const step of frame.steps) {
      const st = this.s.steps.get(keyOf(frame, step.id));
      const status = st?.status ?? 'pending';
      if (status === 'failed' || status === 'cancelled') {
        this.cancelSteps(frame.steps, frame, `step ${step.id} failed`);
        return 'failed';
      }
      if (!TERMINAL_STEP.has(status)) running = true;
    }
    return running ? 'running' : 'succeeded';
  }

  private advance(step: Step, frame: Frame): void {
    const key = keyOf(frame, step.id);
    const st = this.s.steps.get(key);
    const status = st?.status ?? 'pending';
    if (status === 'pending' || status === 'scheduled') this.tryStart(step, frame, key);
    else if (status === 'retrying' && st!.dueAt !== undefined && st!.dueAt <= this.c.now) this.start(step, frame, key, st!);
    else if (status === 'running' || status === 'waiting') this.progress(step, frame, key, st!);
  }

  private tryStart(step: Step, frame: Frame, key: string): void {
    const deps = dependencies(step, frame.steps);
    const depSt = deps.map((id) => ({ id, st: this.s.steps.get(keyOf(frame, id)) }));
    if (depSt.some((d) => !d.st || !TERMINAL_STEP.has(d.st.status))) return;
    for (const d of frame.steps) {
      if (d.type !== 'decision' || !(d.then.includes(step.id) || d.else.includes(step.id))) continue;
      const ds = this.s.steps.get(keyOf(frame, d.id))!;
      if (ds.status === 'skipped') return this.skip(key, `decision ${d.id} was skipped`);
      const taken = ds.branch === 'then' ? d.then : d.else;
      if (!taken.includes(step.id)) return this.skip(key, `not on the ${ds.branch ?? 'taken'} branch of decision ${d.id}`);
    }
    if (depSt.some((d) => d.st!.status === 'failed' || d.st!.status === 'cancelled')) return;
    if (step.join === 'all') {
      const skipped = depSt.find((d) => d.st!.status === 'skipped');
      if (skipped) return this.skip(key, `dependency ${skipped.id} was skipped`);
    } else if (deps.length > 0 && !depSt.some((d) => d.st!.status === 'succeeded')) {
      return this.skip(key, 'no dependency succeeded (join: any)');
    }
    const st = stepOf(this.s, key);
    if (step.type !== 'decision' && step.if !== undefined) {
      let v: unknown;
      try {
        v = evaluateSource(step.if, this.scopeFor(frame, st));
      } catch (err) {
        if (st.status === 'pending') this.emit('step.scheduled', { step: key });
        return this.failNow(key, step, errorOf('expression_error', `if: ${message(err)}`));
      }
      if (!isTruthy(v)) return this.skip(key, `if was false: ${step.if}`);
    }
    if (st.status === 'pending') this.emit('step.scheduled', { step: key });
    this.start(step, frame, key, st);
  }

  private start(step: Step, frame: Frame, key: string, st: StepState): void {
    const attempt = st.attempt + 1;
    const base = { step: key, attempt, idempotencyKey: `${this.s.id}/${key}/${attempt}` };
    const now = this.c.now;
    const deadline = step.timeout !== undefined && step.type !== 'approval' ? { deadline: now + step.timeout } : {};
    const scope = this.scopeFor(frame, st);
    try {
      switch (step.type) {
        case 'task':
        case 'llm': {
          const fields: { [k: string]: Json } = step.type === 'task' ? step.with : llmInput(step);
          const input = renderDeep(fields, { ...scope, secrets: this.secretScope() }) as { [k: string]: Json };
          this.emit('step.started', { ...base, runner: step.type === 'task' ? step.runner : 'llm', input: this.redact(input), ...deadline });
          if (step.hooks?.onStart) this.startHook(`${key}@onStart`, step.hooks.onStart, scope);
          return;
        }
        case 'decision': {
          const value = isTruthy(evaluateSource(step.if, scope));
          this.emit('step.started', base);
          this.emit('step.succeeded', { step: key, attempt, output: { branch: value ? 'then' : 'else', value }, branch: value ? 'then' : 'else', durationMs: 0 });
          return;
        }
        case 'wait': {
          let wakeAt: number;
          if ('duration' in step) wakeAt = now + step.duration;
          else {
            const until = renderTemplate(step.until, scope);
            const parsed = typeof until === 'string' ? parseInstant(until) : { ok: false as const, message: 'until must render to a date-time string' };
            if (!parsed.ok) throw new Error(`until: ${parsed.message}`);
            wakeAt = Date.parse(parsed.iso);
          }
          this.emit('step.started', { ...base, wakeAt });
          return;
        }
        case 'approval': {
          const prompt = String(renderTemplate(step.prompt, scope) ?? '');
          const approvers = (step.approvers ?? []).map((a) => String(renderTemplate(a, scope)));
          const deadlineAt = step.timeout !== undefined ? { deadline: now + step.timeout } : {};
          this.emit('step.started', { ...base, approval: { prompt, approvers, ...deadlineAt } });
          return;
        }
        case 'workflow': {
          const inputs = renderDeep(step.inputs, scope) as { [k: string]: Json };
          const problem = this.c.checkChild(step.workflow, inputs);
          if (problem !== null) {
            this.emit('step.started', base);
            return this.attemptFailed(key, step, stepOf(this.s, key), errorOf('child_invalid', problem));
          }
          const sessionId = derivedId(sha256Hex(`${this.s.id}/${key}/${attempt}`));
          this.emit('step.started', { ...base, child: { sessionId, workflow: step.workflow }, ...deadline });
          this.out.children.push({ sessionId, workflow: step.workflow, inputs, parent: { sessionId: this.s.id, step: key, attempt } });
          return;
        }
        case 'parallel':
        case 'race':
          this.emit('step.started', { ...base, ...deadline });
          return;
        case 'loop': {
          const items = evaluateSource(step.over, scope);
          if (!Array.isArray(items)) throw new Error(`over: expected a list, got ${items === null ? 'null' : typeof items}`);
          this.emit('step.started', { ...base, items: items as Json[], ...deadline });
          return;
        }
      }
    } catch (err) {
      if (stepOf(this.s, key).status !== 'running') this.emit('step.started', base);
      this.attemptFailed(key, step, stepOf(this.s, key), errorOf('template_error', message(err)));
    }
  }

  /** A running or waiting step: timers, deadlines, approvals, children and containers. */
  private progress(step: Step, frame: Frame, key: string, st: StepState): void {
    const now = this.c.now;
    const timedOut = st.deadline !== undefined && now >= st.deadline;
    switch (step.type) {
      case 'task':
      case 'llm':
        if (timedOut) this.attemptFailed(key, step, st, errorOf('timeout', `Attempt ${st.attempt} ran past its timeout of ${step.timeout} ms.`, true));
        return;
      case 'wait':
        if (st.dueAt !== undefined && st.dueAt <= now) this.succeed(key, step, st, { until: new Date(st.dueAt).toISOString(), firedAt: new Date(now).toISOString() }, frame);
        return;
      case 'approval': {
        const d = st.approval?.decided;
        if (d) {
          if (d.approved) return this.succeed(key, step, st, { approved: true, by: d.by, comment: d.comment, at: new Date(d.at).toISOString() }, frame);
          return this.attemptFailed(key, step, st, errorOf('approval_rejected', `Rejected by ${d.by}${d.comment ? `: ${d.comment}` : ''}`, false, { by: d.by, comment: d.comment }));
        }
        if (st.approval?.deadline !== undefined && now >= st.approval.deadline) {
          if (step.onTimeout === 'approve') return this.succeed(key, step, st, { approved: true, by: 'timeout', comment: 'approved when the wait timed out', at: new Date(now).toISOString() }, frame);
          return this.attemptFailed(key, step, st, errorOf('approval_timeout', `Nobody decided within ${step.timeout} ms.`));
        }
        return;
      }
      case 'workflow': {
        const child = st.child ? this.c.child(st.child.sessionId) : undefined;
        if (child?.status === 'succeeded') return this.succeed(key, step, st, child.output ?? null, frame);
        if (child && (child.status === 'failed' || child.status === 'cancelled')) {
          const inner = child.error ?? errorOf('child_cancelled', 'The child session was cancelled.');
          return this.attemptFailed(key, step, st, errorOf('child_failed', `Child session ${st.child!.sessionId} ${child.status}: ${inner.message}`, inner.retryable, { child: st.child!.sessionId, error: inner as Json }));
        }
        if (timedOut) {
          if (st.child) this.out.cancelChildren.push(st.child.sessionId);
          this.attemptFailed(key, step, st, errorOf('timeout', `The child session ran past the step timeout of ${step.timeout} ms.`, true));
        }
        return;
      }
      case 'decision':
        return;
      case 'parallel':
      case 'race':
      case 'loop':
        return this.container(step, frame, key, st, timedOut);
    }
  }

  private container(step: Step & { type: 'parallel' | 'race' | 'loop' }, frame: Frame, key: string, st: StepState, timedOut: boolean): void {
    if (timedOut) {
      this.cancelInner(step, frame, key, 'the step timed out');
      return this.attemptFailed(key, step, st, errorOf('timeout', `${step.type} ${step.id} ran past its timeout of ${step.timeout} ms.`, true));
    }
    if (step.type === 'loop') {
      const items = st.items ?? [];
      const statuses: ScopeStatus[] = [];
      let active = 0;
      for (let i = 0; i < items.length; i++) {
        const f = childFrame(frame, `${key}[${i}].`, step.steps, { [step.as]: items[i] ?? null, loop: { index: i } });
        const known = step.steps.some((x) => this.s.steps.has(keyOf(f, x.id)));
        const done = known && step.steps.every((x) => TERMINAL_STEP.has(this.s.steps.get(keyOf(f, x.id))?.status ?? 'pending'));
        if (!done && active >= step.concurrency) { statuses.push('running'); continue; }
        const status = this.scope(f);
        if (status === 'running') active++;
        statuses.push(status);
        if (status === 'failed') {
          this.cancelInner(step, frame, key, `iteration ${i} failed`);
          return this.attemptFailed(key, step, st, this.innerError(step.steps, f, `iteration ${i}`));
        }
      }
      if (statuses.every((x) => x === 'succeeded')) {
        const out = items.map((_, i) => this.lastOutput(step.steps, childFrame(frame, `${key}[${i}].`, step.steps)));
        this.succeed(key, step, st, out, frame);
      }
      return;
    }
    const branches = step.branches.map((b) => childFrame(frame, frame.prefix, b));
    const statuses = branches.map((f) => this.scope(f));
    if (step.type === 'race') {
      const winner = statuses.indexOf('succeeded');
      if (winner >= 0) {
        branches.forEach((f, i) => { if (i !== winner) this.cancelSteps(f.steps, f, 'lost the race'); });
        return this.succeed(key, step, st, { winner, output: this.lastOutput(step.branches[winner]!, branches[winner]!) }, frame);
      }
      if (statuses.every((x) => x === 'failed')) return this.attemptFailed(key, step, st, this.innerError(step.branches[0]!, branches[0]!, 'every branch'));
      return;
    }
    const failed = statuses.indexOf('failed');
    if (failed >= 0) {
      this.cancelInner(step, frame, key, `branch ${failed} failed`);
      return this.attemptFailed(key, step, st, this.innerError(step.branches[failed]!, branches[failed]!, `branch ${failed}`));
    }
    if (statuses.every((x) => x === 'succeeded')) this.succeed(key, step, st, branches.map((f, i) => this.lastOutput(step.branches[i]!, f)), frame);
  }

  private innerError(list: readonly Step[], f: Frame, where: string): StepErrorData {
    for (const x of list) {
      const e = this.s.steps.get(keyOf(f, x.id))?.error;
      if (e) return { ...e, message: `${where}: ${x.id}: ${e.message}`, details: { ...e.details, step: keyOf(f, x.id) } };
    }
    return errorOf('step_failed', `${where} failed`);
  }

  private lastOutput(list: readonly Step[], f: Frame): Json {
    const last = list[list.length - 1];
    const st = last ? this.s.steps.get(keyOf(f, last.id)) : undefined;
    if (!st || st.status !== 'succeeded') return null;
    return st.artifact ? this.blob(st.artifact.hash) ?? null : st.output ?? null;
  }

  // ---- outcomes -----------------------------------------------------------------------------

  private record(key: string, st: StepState, o: Outcome): void {
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

  private succeed(key: string, step: Step, st: StepState, output: Json, frame: Frame): void {
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

  private attemptFailed(key: string, step: Step, st: StepState, error: StepErrorData): void {
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

  private failNow(key: string, step: Step, error: StepErrorData): void {
    this.emit('step.started', { step: key, attempt: stepOf(this.s, key).attempt + 1, idempotencyKey: `${this.s.id}/${key}/${stepOf(this.s, key).attempt + 1}` });
    this.attemptFailed(key, step, stepOf(this.s, key), error);
  }

  private reroute(step: Step, st: StepState, frame: Frame): void {
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
    if (step.type === 'task') return renderDeep(step.with, scope) as { [k: string]: Json };
    if (step.type === 'llm') return renderDeep(llmInput(step), scope) as { [k: string]: Json };
    return undefined;
  }

  private outputFields(key: string, attempt: number, output: Json, st: StepState): { output?: Json; artifact?: { hash: string; size: number } } {
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

  private hookDone(key: string, hook: Hook, scope: Record<string, unknown>): boolean {
    const st = this.s.steps.get(key);
    if (!st) this.startHook(key, hook, scope);
    const now = this.s.steps.get(key);
    return now !== undefined && TERMINAL_STEP.has(now.status);
  }

  private startHook(key: string, hook: Hook, scope: Record<string, unknown>): void {
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

  private skip(key: string, reason: string): void {
    this.emit('step.skipped', { step: key, reason });
  }

  private cancelSteps(list: readonly Step[], frame: Frame, reason: string): void {
    for (const step of list) {
      const key = keyOf(frame, step.id);
      for (const k of keysUnder(this.s, key, step)) {
        const st = this.s.steps.get(k)!;
        if (st.status === 'running' || st.status === 'waiting' || st.status === 'retrying' || st.status === 'scheduled') {
          if (st.child) this.out.cancelChildren.push(st.child.sessionId);
          this.emit('step.cancelled', { step: k, reason });
        }
      }
    }
  }

  private cancelInner(step: Step, frame: Frame, key: string, reason: string): void {
    for (const k of keysUnder(this.s, key, step)) {
      if (k === key || k.startsWith(`${key}@`)) continue;
      const st = this.s.steps.get(k)!;
      if (st.status === 'running' || st.status === 'waiting' || st.status === 'retrying' || st.status === 'scheduled') {
        if (st.child) this.out.cancelChildren.push(st.child.sessionId);
        this.emit('step.cancelled', { step: k, reason });
      }
    }
  }

  private cancelAll(reason: string): void {
    for (const st of [...this.s.steps.values()]) {
      if (!TERMINAL_STEP.has(st.status) && st.status !== 'pending') {
        if (st.child) this.out.cancelChildren.push(st.child.sessionId);
        this.emit('step.cancelled', { step: st.key, reason });
      }
    }
  }

  /** Find the definition step and frame of a key (`a`, `loop[2].b`, nested). */
  private find(key: string): { step: Step; frame: Frame } | undefined {
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

  private scopeFor(frame: Frame, st?: StepState): Record<string, unknown> {
    return scopeFor(this.s, this.def, frame, st?.failure, (h) => this.blob(h));
  }

  private blob(hash: string): Json | undefined {
    return this.fresh.get(hash) ?? this.c.blob(hash);
  }

  private secretScope(): { [name: string]: string } {
    return Object.fromEntries(this.c.secrets);
  }

  private redact<T extends Json>(value: T): T {
    return this.c.secrets.size === 0 ? value : redactSecrets(value, this.c.secrets);
  }

  private dur(st: StepState): number {
    return st.startedAt === undefined ? 0 : Math.max(0, this.c.now - st.startedAt);
  }

  private emit(type: SessionEventType, payload: { [k: string]: unknown }): void {
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

function llmInput(f: { model: string; prompt: string; system?: string; outputSchema?: { [k: string]: Json }; temperature?: number; maxTokens?: number }): { [k: string]: Json } {
  return JSON.parse(JSON.stringify({ model: f.model, prompt: f.prompt, system: f.system, outputSchema: f.outputSchema, temperature: f.temperature, maxTokens: f.maxTokens })) as { [k: string]: Json };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export type { CarriedStep };
