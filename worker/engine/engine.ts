/**
 * The durable workflow engine: it drives every unfinished session of one kernel. It is the only
 * code that runs step side effects, and it records every transition through the kernel first.
 *
 * Invariants:
 * 1. The log is the truth. A session's in-memory state is the fold of its stream; the engine
 *    writes one `session.record` per session per flush with `expectedVersion`, so a concurrent
 *    command (cancel, approve) can never be overwritten; on any write failure it re-folds.
 * 2. `step.started` is committed before its runner is called; a runner result is recorded by a
 *    later command. After a crash, a step that is `running` in the log is executed again with the
 *    same attempt, so the same idempotency key (`<session>/<step>/<attempt>`).
 * 3. Due times live in the log (retries, waits, deadlines); timers are only reminders, rebuilt on
 *    open, so a timer that fell due while the app was closed fires at once.
 * 4. Group commit: the transitions of many sessions are written in one transaction per flush.
 * 5. A running attempt may keep durable notes (agent turns, journal.ts): they are written by the
 *    engine in the same record as the plan's events, and handed back to a re-executed attempt.
 */
import type { Kernel } from '../kernel/kernel.ts';
import type { CommandInput } from '../kernel/commands/envelope.ts';
import type { EventEnvelope } from '../kernel/log/envelope.ts';
import { KernelError, type Json } from '../kernel/errors.ts';
import { parseWorkflow, type Workflow } from '../workflow/index.ts';
import { RunnerRegistry, type Runner } from './runners/index.ts';
import { RunnerError, toStepError, type JournalEntry, type RunJournal } from './runners/types.ts';
import { NamedManifests } from './named.ts';
import { JournalQueue } from './journal.ts';
import { cancelCommands, recordCommand, toJson, type EngineStats, type Execution, type Live } from './engine-support.ts';
export type { EngineStats } from './engine-support.ts';
import { engineRunners, PolicyGuard, withAgentRunner, withCustomRunners } from './engine-runners.ts';
import { SessionLearning, withForestRunners } from './learning.ts';
import type { StepProgress } from './progress.ts';
import { systemClock, soon, type Clock } from './clock.ts';
import { applyEvent, foldSession, TERMINAL_SESSION } from '../domains/sessions/fold.ts';
import { plan, stepInput, type Outcome } from './planner/plan.ts';
import { nextWake, errorOf } from '../domains/sessions/support.ts';
import { EngineLookups } from './lookups.ts';
import { retrieve } from './retrieval.ts';
import { ForestIndexMaintenance } from '../domains/forest/maintenance.ts';
import { ask } from './ask.ts';
import { applyRequests, applyStoredRequests } from './requests.ts';
import type { StepErrorData } from '../domains/sessions/events.ts';

export interface EngineOptions {
  readonly clock?: Clock;
  /**
   * Runners added to the defaults (built-ins, the llm runner bound to the kernel's providers, the
   * Forest runners and the agent runner); one named like a default replaces it. A RunnerRegistry
   * is used as it is (no defaults are added).
   */
  readonly runners?: readonly Runner[] | RunnerRegistry;
  /** Sessions planned per transaction (default 256). */
  readonly batch?: number;
  /** Live progress (llm tokens) of running steps; not recorded (the final answer is). */
  readonly onProgress?: (p: StepProgress) => void;
  /** Called when something unexpected fails (a bug); the engine keeps going. */
  readonly onError?: (err: unknown) => void;
}

export class Engine {
  readonly runners: RunnerRegistry;
  private readonly clock: Clock;
  private readonly live = new Map<string, Live>();
  private readonly dirty = new Set<string>();
  private readonly defs = new Map<string, { workflow?: Workflow; error?: string }>();
  private readonly lookups: EngineLookups;
  private readonly learning: SessionLearning;
  private readonly journal = new JournalQueue();
  private readonly policy = new PolicyGuard(() => this.kernel, (err) => this.options.onError?.(err)); // every runner call judged by the workspace policy
  private readonly named = new NamedManifests({ runner: (n) => this.policy.guard(this.runners.get(n)), secrets: (ws) => this.lookups.secretValues(ws) });
  /** Merges the Forest's full-text index while the engine is quiet. */
  readonly forestIndex: ForestIndexMaintenance;
  private scheduled = false;
  private stopped = false;
  private flushing = false;
  private waiters: (() => void)[] = [];
  private readonly unsubscribe: () => void;
  private stats = { flushes: 0, commits: 0 };
  private batchSize = 16;

  private constructor(private readonly kernel: Kernel, private readonly options: EngineOptions) {
    this.clock = options.clock ?? systemClock;
    this.lookups = new EngineLookups(kernel);
    this.runners = options.runners instanceof RunnerRegistry ? options.runners
      : new RunnerRegistry(withAgentRunner(withForestRunners(withCustomRunners(engineRunners(this.lookups, options.onProgress), options.runners ?? []), kernel), kernel, this.lookups, (n) => this.policy.guard(this.runners.get(n)), options.onProgress));
    kernel.provideRunners(this.runners.list().map((r) => r.name)); // known to session.start's check
    this.learning = new SessionLearning(kernel, (err) => this.options.onError?.(err), () => this.schedule(), () => this.dirty.size > 0 || this.flushing); // summaries of ended sessions
    this.forestIndex = new ForestIndexMaintenance(kernel, { busy: () => this.dirty.size > 0 || this.flushing || this.learning.busy, onError: (err) => this.options.onError?.(err) });
    const sub = kernel.subscribe((events) => this.onEvents(events));
    this.unsubscribe = () => { sub.close(); kernel.provideRunners([]); };
    kernel.onClose(() => this.stop());
  }

  /** Start driving every unfinished session this device owns (others run on their owner: docs/devices.md). */
  static start(kernel: Kernel, options: EngineOptions = {}): Engine {
    const engine = new Engine(kernel, options);
    const active = ask(kernel, 'session.active', { owners: kernel.ownDevices() });
    for (const id of active) engine.dirty.add(id);
    applyStoredRequests(kernel, active);
    engine.schedule();
    return engine;
  }

  /** Resolves once nothing is running, due now, or waiting to be written. */
  idle(): Promise<void> { return this.isIdle() ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve)); }

  status(): EngineStats { return { active: this.live.size, executions: [...this.live.values()].reduce((n, l) => n + l.executions.size, 0), ...this.stats }; }

  /** Stop driving: abort running steps WITHOUT recording anything (they re-run on next start). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
    this.learning.stop();
    this.forestIndex.stop();
    for (const l of this.live.values()) this.dispose(l);
    this.live.clear();
    this.dirty.clear();
    this.journal.dropAll();
    this.release();
  }

  // ---- events -------------------------------------------------------------------------------

  private onEvents(events: readonly EventEnvelope[]): void {
    if (this.stopped) return;
    const mine = new Set(this.kernel.ownDevices());
    for (const e of events) {
      if (e.stream.startsWith('secret:') || e.stream.startsWith('llm-provider:')) this.lookups.secretsChanged();
      if (!e.stream.startsWith('session:')) continue;
      // Another device's session (its events arrive by ingest): its owner runs it, not this engine.
      if (!mine.has(e.device)) continue;
      const id = e.stream.slice(8);
      const l = this.live.get(id);
      if (!l) {
        if (e.type === 'session.started' || e.type === 'session.resumed' || e.type === 'session.retried' || e.type === 'session.migrated') this.dirty.add(id);
        if (e.type === 'session.succeeded' || e.type === 'session.failed' || e.type === 'session.cancelled') this.parentOf(id, e);
        continue;
      }
      if (e.streamSeq <= l.state.version) {
        // Written by this engine (already applied): a child's end must still wake its parent.
        l.state.lastSeq = Math.max(l.state.lastSeq, e.seq);
        this.parentOf(id, e);
        continue;
      }
      if (e.streamSeq !== l.state.version + 1) {
        this.dispose(l);
        this.live.delete(id);
      } else {
        applyEvent(l.state, e);
        if (e.type === 'session.migrated') this.attachDef(l);
      }
      this.dirty.add(id);
      if (TERMINAL_SESSION.has(l.state.status)) this.parentOf(id, e);
    }
    if (events.some((e) => e.type === 'session.requested')) queueMicrotask(() => { if (!this.stopped) applyRequests(this.kernel, events); });
    this.schedule();
  }

  private parentOf(id: string, e: EventEnvelope): void {
    if (e.type !== 'session.succeeded' && e.type !== 'session.failed' && e.type !== 'session.cancelled') return;
    const parent = ask(this.kernel, 'session.outcome', { sessionId: id })?.parentId;
    if (typeof parent === 'string') this.dirty.add(parent);
  }

  // ---- flush --------------------------------------------------------------------------------

  private schedule(): void {
    if (this.scheduled || this.stopped || this.dirty.size === 0) {
      if (this.isIdle()) this.release();
      return;
    }
    this.scheduled = true;
    soon(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.stopped || this.flushing) return;
    this.flushing = true;
    this.stats.flushes++;
    try {
      // Start small so the first resumed step commits at once, then grow to the full batch.
      const ids = [...this.dirty].slice(0, this.batchSize);
      this.batchSize = Math.min(this.options.batch ?? 256, this.batchSize * 2);
      for (const id of ids) this.dirty.delete(id);
      const commands: CommandInput[] = [];
      for (const id of ids) {
        const l = this.load(id);
        if (!l) continue;
        commands.push(...this.planOne(l));
      }
      if (commands.length > 0) this.write(commands);
      this.journal.settle((sid, key, owner) => this.live.get(sid)?.executions.get(key) === owner);
      for (const id of ids) {
        const l = this.live.get(id);
        if (!l) continue;
        if (TERMINAL_SESSION.has(l.state.status)) {
          this.dispose(l);
          this.live.delete(id);
          continue;
        }
        this.syncExecutions(id, l);
        this.syncTimer(id, l);
      }
    } catch (err) {
      this.options.onError?.(err);
    } finally {
      this.flushing = false;
    }
    this.schedule();
  }

  private write(commands: CommandInput[]): void {
    try {
      this.kernel.systemBatch(commands);
      this.stats.commits++;
      return;
    } catch {
      // Fall back to one command at a time: one session's conflict must not hold up the others.
    }
    for (const cmd of commands) {
      try {
        this.kernel.systemBatch([cmd]);
        this.stats.commits++;
      } catch (err) {
        const id = (cmd.payload as { sessionId?: string; parent?: { sessionId: string } }).parent?.sessionId ?? (cmd.payload as { sessionId: string }).sessionId;
        const l = this.live.get(id);
        if (l) {
          this.dispose(l);
          this.live.delete(id);
        }
        this.dirty.add(id);
        if (!(err instanceof KernelError && err.code === 'version_conflict')) this.options.onError?.(err);
      }
    }
  }

  private planOne(l: Live): CommandInput[] {
    const s = l.state;
    // session.cancel is a plain command: the engine takes the cancelled steps' child sessions with it.
    if (s.status === 'cancelled') return cancelCommands(this.kernel, ask(this.kernel, 'session.active', { parentId: s.id }), 'the parent session was cancelled', s.version);
    if (TERMINAL_SESSION.has(s.status)) return [];
    const version = s.version;
    if (!l.def) {
      return [recordCommand(s.id, version, [{ type: 'session.failed', payload: { error: errorOf('definition_invalid', `The pinned definition (${s.workflow.name} ${s.workflow.hash.slice(0, 12)}) no longer parses: ${l.defError}. Migrate the session with session.migrate, or start a new one.`, false) as Json } }])];
    }
    const secrets = this.lookups.secretValues(s.workspaceId);
    l.plannedAt = this.clock.now();
    const notes = this.journal.take(s, l.plannedAt, secrets, (key, owner) => l.executions.get(key) === owner);
    const out = plan({
      def: l.def, state: s, now: l.plannedAt, secrets, outcomes: l.outcomes,
      blob: (h) => this.lookups.blob(h),
      child: (id) => this.lookups.childStatus(id),
      checkChild: (ref, inputs) => this.lookups.checkChild(s.workspaceId, ref, inputs),
      retrieve: (spec, state) => retrieve(this.kernel, spec, state),
    });
    if (out.events.length === 0 && notes.length === 0) return [];
    const cmds: CommandInput[] = [recordCommand(s.id, version, [...notes, ...out.events as unknown as Json[]], out.blobs)];
    for (const c of out.children) {
      cmds.push({ type: 'session.start_child', payload: { sessionId: c.sessionId, workflow: c.workflow, inputs: c.inputs, env: s.env, parent: c.parent }, idempotencyKey: `child:${c.sessionId}`, actor: 'engine' });
    }
    return [...cmds, ...cancelCommands(this.kernel, out.cancelChildren, 'the parent step was cancelled', s.version)];
  }

  // ---- sessions in memory -------------------------------------------------------------------

  private load(id: string): Live | undefined {
    const existing = this.live.get(id);
    if (existing) return existing;
    const state = foldSession(ask(this.kernel, 'session.events', { sessionId: id }));
    if (!state || TERMINAL_SESSION.has(state.status)) return undefined;
    const l: Live = { state, def: undefined, defError: undefined, executions: new Map(), outcomes: new Map(), timer: undefined, wake: undefined, plannedAt: 0 };
    this.attachDef(l);
    this.live.set(id, l);
    return l;
  }

  private attachDef(l: Live): void {
    let d = this.defs.get(l.state.workflow.hash);
    if (!d) {
      const res = parseWorkflow(l.state.source);
      d = res.ok ? { workflow: res.workflow } : { error: res.errors.slice(0, 3).map((e) => `line ${e.line}: ${e.message}`).join('; ') };
      this.defs.set(l.state.workflow.hash, d);
    }
    l.def = d.workflow;
    l.defError = d.error;
  }

  private dispose(l: Live): void {
    this.journal.drop(l.state.id);
    for (const ex of l.executions.values()) ex.controller.abort(new Error('the step no longer runs'));
    l.executions.clear();
    if (l.timer !== undefined) this.clock.clearTimer(l.timer);
    l.timer = undefined;
  }

  // ---- runners ------------------------------------------------------------------------------

  private syncExecutions(id: string, l: Live): void {
    for (const [key, ex] of l.executions) {
      const st = l.state.steps.get(key);
      if (!st || st.status !== 'running' || st.attempt !== ex.attempt) {
        ex.controller.abort(new Error('the step no longer runs'));
        l.executions.delete(key);
        // Child sessions a runner started (an agent's workflow tools) end with the step.
        const children = ask(this.kernel, 'session.active', { parentId: id, parentStep: key });
        if (children.length > 0) this.write(cancelCommands(this.kernel, children, 'the parent step no longer runs', l.state.version));
      }
    }
    for (const st of l.state.steps.values()) {
      if (st.status !== 'running' || st.runner === undefined || l.executions.has(st.key)) continue;
      if (l.outcomes.has(st.key)) continue;
      this.launch(id, l, st.key, st.attempt, st.runner, st.runFrom, st.idempotencyKey ?? `${id}/${st.key}/${st.attempt}`, st.journal ?? []);
    }
  }

  private launch(id: string, l: Live, key: string, attempt: number, runnerName: string, runFrom: number, idempotencyKey: string, notes: readonly JournalEntry[]): void {
    const controller = new AbortController();
    const ex: Execution = { attempt, controller };
    const journal: RunJournal = {
      entries: notes.map((n) => ({ type: n.type, payload: n.payload })),
      append: (entry) => {
        const p = this.journal.add(id, key, attempt, ex, entry);
        this.dirty.add(id);
        this.schedule();
        return p;
      },
    };
    l.executions.set(key, ex);
    const done = (o: Outcome): void => {
      if (l.executions.get(key) !== ex || this.stopped) return;
      l.executions.delete(key);
      l.outcomes.set(key, o);
      this.dirty.add(id);
      this.schedule();
    };
    const found = this.named.runnerFor(l.state, runnerName); // an engine runner, else a Tool the session pinned; both judged by the policy
    const runner = found instanceof RunnerError ? found : this.policy.guard(found);
    if (!runner || runner instanceof RunnerError) {
      queueMicrotask(() => done({ attempt, ok: false, error: runner ? toStepError(runner) as StepErrorData : errorOf('runner_unavailable', `No runner named ${runnerName} (known: ${this.runners.list().map((r) => r.name).join(', ')}) and no Tool of that name pinned by the session.`) }));
      return;
    }
    let input: { [k: string]: Json };
    try {
      input = stepInput(l.def!, l.state, key, this.lookups.secretValues(l.state.workspaceId), (h) => this.lookups.blob(h));
    } catch (err) {
      queueMicrotask(() => done({ attempt, ok: false, error: errorOf('template_error', err instanceof Error ? err.message : String(err)) }));
      return;
    }
    let run: Promise<Json>;
    try {
      run = runner.execute({ input, signal: controller.signal, idempotencyKey, sessionId: id, workspaceId: l.state.workspaceId, ...(l.state.projectId ? { projectId: l.state.projectId } : {}), stepKey: key, attempt, tryNumber: attempt - runFrom + 1, now: () => this.clock.now(), journal });
    } catch (err) {
      run = Promise.reject(err);
    }
    run.then(
      (value) => done({ attempt, ok: true, value: toJson(value) }),
      (err: unknown) => done({ attempt, ok: false, error: toStepError(err) as StepErrorData }),
    );
  }

  // ---- timers -------------------------------------------------------------------------------

  private syncTimer(id: string, l: Live): void {
    const wake = l.state.paused ? undefined : nextWake(l.state, l.def);
    // Compare with the time the plan used, not the time now: a wake that fell due in between was
    // not handled yet and must still get its timer (delay 0).
    const now = this.clock.now();
    const target = wake !== undefined && wake > l.plannedAt ? wake : undefined;
    if (target === l.wake) return;
    if (l.timer !== undefined) this.clock.clearTimer(l.timer);
    l.timer = undefined;
    l.wake = target;
    if (target === undefined) return;
    l.timer = this.clock.setTimer(() => {
      l.timer = undefined;
      l.wake = undefined;
      this.dirty.add(id);
      this.schedule();
    }, Math.max(0, target - now));
  }

  private isIdle(): boolean {
    if (this.dirty.size > 0 || this.scheduled || this.flushing || this.learning.busy) return false;
    for (const l of this.live.values()) if (l.executions.size > 0 || l.outcomes.size > 0) return false;
    return true;
  }

  private release(): void {
    if (!this.isIdle() && !this.stopped) return;
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}

