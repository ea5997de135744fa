/**
 * Harness for the session engine tests: an in-memory (or file) kernel on a ManualClock, the engine
 * with the default runners plus clock-driven test runners, and shortcuts to start sessions, send
 * commands and read state.
 *
 * Test runners (all honour the AbortSignal and record what happened in `probe`):
 * - `test.sleep` `{ ms, value? }`: resolves `{ sleptMs, value }` after `ms` of the MANUAL clock.
 * - `test.echo`  `{ value }`: resolves `value`, counting calls per step key.
 * - `test.count` `{ value? }`: resolves `{ calls, input }` (calls so far for this step key).
 */
import { randomUUID } from 'node:crypto';
import { openKernel } from '../../../../worker/node/index.ts';
import type { Kernel } from '../../../../worker/kernel/kernel.ts';
import type { Json } from '../../../../worker/kernel/errors.ts';
import { Engine } from '../../../../worker/engine/engine.ts';
import { ManualClock } from '../../../../worker/engine/clock.ts';
import { defaultRunners, RunnerError, type Runner } from '../../../../worker/engine/runners/index.ts';

export const START = Date.UTC(2026, 0, 1);

export interface Probe {
  running: number;
  maxRunning: number;
  started: string[];
  aborted: string[];
  calls: Map<string, number>;
}

export function newProbe(): Probe {
  return { running: 0, maxRunning: 0, started: [], aborted: [], calls: new Map() };
}

export function testRunners(clock: ManualClock, probe: Probe): Runner[] {
  const caps = { pure: false, network: false, stepTypes: ['task' as const], description: 'test' };
  const health = (): Promise<{ ok: boolean; detail: string }> => Promise.resolve({ ok: true, detail: 'test' });
  const sleep: Runner = {
    name: 'test.sleep', capabilities: caps, health,
    execute: (req) => new Promise<Json>((resolve, reject) => {
      const ms = Number(req.input['ms'] ?? 0);
      probe.started.push(req.stepKey);
      probe.calls.set(req.stepKey, (probe.calls.get(req.stepKey) ?? 0) + 1);
      probe.running++;
      probe.maxRunning = Math.max(probe.maxRunning, probe.running);
      const timer = clock.setTimer(() => {
        probe.running--;
        req.signal.removeEventListener('abort', onAbort);
        resolve({ sleptMs: ms, value: req.input['value'] ?? null });
      }, ms);
      const onAbort = (): void => {
        clock.clearTimer(timer);
        probe.running--;
        probe.aborted.push(req.stepKey);
        reject(new RunnerError('aborted', 'test.sleep aborted', false));
      };
      req.signal.addEventListener('abort', onAbort, { once: true });
    }),
  };
  const echo: Runner = {
    name: 'test.echo', capabilities: caps, health,
    execute: (req) => {
      probe.calls.set(req.stepKey, (probe.calls.get(req.stepKey) ?? 0) + 1);
      return Promise.resolve(req.input['value'] ?? null);
    },
  };
  const count: Runner = {
    name: 'test.count', capabilities: caps, health,
    execute: (req) => {
      const n = (probe.calls.get(req.stepKey) ?? 0) + 1;
      probe.calls.set(req.stepKey, n);
      return Promise.resolve({ calls: n, input: req.input['value'] ?? null });
    },
  };
  return [sleep, echo, count];
}

export interface StepRow {
  key: string; status: string; attempt: number; attempts: number; output: Json; error: { type: string; message: string; details: Record<string, Json> } | null;
  childId: string | null; dueAt: number | null; reason: string | null;
}
export interface SessionView {
  id: string; status: string; output: Json; error: { type: string; message: string } | null; failedStep: string | null;
  parentId: string | null; forkOf: string | null; lastSeq: number; steps: StepRow[];
}

export class Harness {
  readonly probe = newProbe();
  readonly errors: unknown[] = [];
  engine!: Engine;
  private constructor(readonly k: Kernel, readonly clock: ManualClock) {}

  static async open(options: { file?: string; clock?: ManualClock; actor?: string } = {}): Promise<Harness> {
    const clock = options.clock ?? new ManualClock(START);
    const k = await openKernel({ storage: options.file ? { file: options.file } : 'memory', clock: clock.now, ...(options.actor ? { actor: options.actor } : {}) });
    const h = new Harness(k, clock);
    h.startEngine();
    return h;
  }

  /**
   * A harness whose engine runs the real runner set (llm, agent, forest, http, …) and, unless
   * `configure` is false, the OpenAI-wire provider `fake` at `llmUrl` (its `/v1`) serving `fake-model`.
   */
  static async withModels(llmUrl: string, options: { file?: string; clock?: ManualClock; configure?: boolean } = {}): Promise<Harness> {
    const h = await Harness.open({ ...(options.file ? { file: options.file } : {}), ...(options.clock ? { clock: options.clock } : {}) });
    h.engine.stop();
    h.engine = Engine.start(h.k, { clock: h.clock, onError: (e) => h.errors.push(e) });
    if (options.configure !== false) h.cmd('llm.provider.set', { id: 'fake', kind: 'openai', baseUrl: `${llmUrl}/v1`, models: ['fake-model'] });
    return h;
  }

  /** Let the engine run until the session ends (approving `approve` when it waits for it), at most `rounds` rounds; the session as it is then. */
  async ended(id: string, options: { approve?: string; rounds?: number } = {}): Promise<SessionView> {
    for (let i = 0; i < (options.rounds ?? 200); i++) {
      await this.settle();
      const s = this.get(id);
      if (['succeeded', 'failed', 'cancelled'].includes(s.status)) {
        await this.settle();
        return this.get(id);
      }
      if (options.approve && s.steps.some((st) => st.key === options.approve && st.status === 'waiting')) {
        this.cmd('session.approve', { sessionId: id, step: options.approve, comment: 'looks right' });
        continue;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.get(id);
  }

  startEngine(): void {
    this.engine = Engine.start(this.k, { clock: this.clock, runners: [...defaultRunners(), ...testRunners(this.clock, this.probe)], onError: (e) => this.errors.push(e) });
  }

  cmd(type: string, payload: unknown, actor?: string): Json {
    return this.k.command({ type, payload, idempotencyKey: randomUUID(), ...(actor ? { actor } : {}) }).value;
  }

  start(source: string, inputs: Record<string, Json> = {}, env: Record<string, Json> = {}): string {
    return (this.cmd('session.start', { source, inputs, env }) as { sessionId: string }).sessionId;
  }

  /** Let the engine run until idle (nothing running, nothing due now). */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await this.engine.idle();
      await ticks(3);
    }
    await this.engine.idle();
  }

  /** Advance the manual clock and let the engine react. */
  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await ticks(5);
  }

  get(id: string): SessionView {
    return this.k.query('session.get', { sessionId: id }) as unknown as SessionView;
  }

  step(id: string, key: string): StepRow {
    const s = this.get(id).steps.find((x) => x.key === key);
    if (!s) throw new Error(`no step ${key} in ${id}: ${this.get(id).steps.map((x) => x.key).join(', ')}`);
    return s;
  }

  /** `type step` strings of the session's events, in order (session events without a step). */
  events(id: string): string[] {
    const st = this.k.query('session.state', { sessionId: id }) as { events: { type: string; step: string | null }[] };
    return st.events.map((e) => (e.step === null ? e.type : `${e.type} ${e.step}`));
  }

  stepEvents(id: string, key: string): string[] {
    return this.events(id).filter((e) => e.endsWith(` ${key}`)).map((e) => e.split(' ')[0]!);
  }

  /** Payloads of the session's events of one type, in order. */
  payloads<T = Record<string, Json>>(id: string, type: string): T[] {
    return this.k.sql.all('SELECT payload FROM events WHERE stream = ? AND type = ? ORDER BY seq', [`session:${id}`, type]).map((r) => JSON.parse(String(r['payload'])) as T);
  }

  async close(): Promise<void> {
    this.engine.stop();
    await this.k.close();
  }
}

/** Let queued callbacks (setImmediate, promises) run `n` times over. */
export async function ticks(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Poll (with ticks, no real sleeping beyond the event loop) until `fn` is true. */
export async function until(fn: () => boolean, what = 'condition', rounds = 500): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (fn()) return;
    await ticks(1);
  }
  throw new Error(`timed out waiting for ${what}`);
}
