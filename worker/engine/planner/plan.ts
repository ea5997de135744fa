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
import { sha256Hex } from '../../kernel/log/hash.ts';
import { evaluateSource, isTruthy } from '../../workflow/expr/index.ts';
import { renderDeep, renderTemplate } from '../../workflow/templates.ts';
import { parseInstant } from '../../workflow/duration.ts';
import type { Step, Workflow } from '../../workflow/types.ts';
import type { StepErrorData } from '../../domains/sessions/events.ts';
import { stepOf, TERMINAL_STEP, type SessionState, type StepState } from '../../domains/sessions/fold.ts';
import { childFrame, dependencies, derivedId, errorOf, keyOf, rootFrame, type Frame } from '../../domains/sessions/support.ts';
import { contextTexts, message, PlannerBase, runnerFields, type Retrieved, type PlanContext, type PlanOutput } from './planner-base.ts';

export { ARTIFACT_THRESHOLD, type ChildStart, type Outcome, type PlanContext, type PlanOutput, type Retrieved } from './planner-base.ts';

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

class Planner extends PlannerBase {
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
    // Step hooks still running (an onError/onComplete webhook) finish before the session ends.
    if ([...s.steps.values()].some((st) => st.key.includes('@') && !st.key.startsWith('@') && (st.status === 'running' || st.status === 'waiting'))) return this.out;
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
        case 'llm':
        case 'agent':
        case 'forest': {
          const fields = runnerFields(step);
          const retrieved = (step.type === 'llm' || step.type === 'agent') && step.context ? this.redact(this.retrieve(step.context, scope) as unknown as Json) as unknown as { [name: string]: Retrieved } : undefined;
          const input = renderDeep(fields, { ...scope, ...(retrieved ? { context: contextTexts(retrieved) } : {}), secrets: this.secretScope() }) as { [k: string]: Json };
          this.emit('step.started', { ...base, runner: step.type === 'task' ? step.runner : step.type === 'forest' ? 'forest.search' : step.type, input: this.redact(input), ...(retrieved ? { context: retrieved as unknown as Json } : {}), ...deadline });
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
      case 'agent':
      case 'forest':
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
}
