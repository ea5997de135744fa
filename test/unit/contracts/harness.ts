/**
 * Harness for the contract tests: a real kernel (memory or a file) on a ManualClock, the engine
 * with the default runners plus the clock-driven test runners, and the contract scheduler on the
 * same clock — what worker/root.ts starts, with the clock in the test's hand.
 */
import { randomUUID } from 'node:crypto';
import { openKernel } from '../../../worker/node/index.ts';
import type { Kernel } from '../../../worker/kernel/kernel.ts';
import type { Json } from '../../../worker/kernel/errors.ts';
import { Engine } from '../../../worker/engine/engine.ts';
import { ManualClock } from '../../../worker/engine/clock.ts';
import { defaultRunners } from '../../../worker/engine/runners/index.ts';
import { ContractScheduler } from '../../../worker/services/contract-scheduler.ts';
import type { ContractDetail } from '../../../worker/domains/contracts/queries.ts';
import { newProbe, testRunners } from '../engine/sessions/helpers.ts';

/** A workflow that finishes at once, with one input. */
export const QUICK = `
name: quick
version: 1.0.0
inputs:
  who: { type: string, required: true }
steps:
  - { id: hi, type: task, runner: transform, with: { value: "hi {{ inputs.who }}" } }
outputs: { said: "{{ steps.hi.output }}" }
`;

/** A workflow that runs for `ms` of the manual clock (default one hour). */
export const SLOW = `
name: slow
version: 1.0.0
inputs:
  ms: { type: number, default: 3600000 }
steps:
  - { id: wait, type: task, runner: test.sleep, with: { ms: "{{ inputs.ms }}" } }
`;

export class ContractWorld {
  readonly probe = newProbe();
  readonly errors: unknown[] = [];
  engine!: Engine;
  scheduler!: ContractScheduler;
  private constructor(readonly k: Kernel, readonly clock: ManualClock) {}

  static async open(options: { clock?: ManualClock; file?: string; scheduler?: boolean; lagMs?: number } = {}): Promise<ContractWorld> {
    const clock = options.clock ?? new ManualClock(Date.UTC(2026, 0, 1));
    const k = await openKernel({ storage: options.file ? { file: options.file } : 'memory', clock: clock.now });
    const w = new ContractWorld(k, clock);
    w.engine = Engine.start(k, { clock, runners: [...defaultRunners(), ...testRunners(clock, w.probe)], onError: (e) => w.errors.push(e) });
    if (options.scheduler !== false) w.startScheduler(options.lagMs);
    return w;
  }

  startScheduler(lagMs?: number): void {
    this.scheduler = ContractScheduler.start(this.k, { clock: this.clock, onError: (e) => this.errors.push(e), ...(lagMs !== undefined ? { lagMs } : {}) });
  }

  cmd(type: string, payload: unknown, key = randomUUID()): Json {
    return this.k.command({ type, payload, idempotencyKey: key }).value;
  }

  save(source: string): void {
    this.cmd('workflow.save', { source });
  }

  set(payload: Record<string, unknown>): string {
    return (this.cmd('contract.set', payload) as { id: string }).id;
  }

  get(id: string, at = this.clock.now()): ContractDetail {
    return this.k.query('contract.get', { id, at, limit: 500 }) as ContractDetail;
  }

  /** Move the manual clock (timers fire on the way), then let the engine and the scheduler settle. */
  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await this.settle();
  }

  /** Let the engine and the scheduler react (a step sleeping on the manual clock keeps running). */
  async settle(): Promise<void> {
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setImmediate(r));
      await Promise.race([this.engine.idle(), new Promise((r) => setTimeout(r, 2))]);
    }
  }

  sessionStatus(id: string): string | null {
    return (this.k.systemQuery('session.outcome', { sessionId: id }) as { status: string } | null)?.status ?? null;
  }

  async close(): Promise<void> {
    this.scheduler?.stop();
    this.engine.stop();
    await this.k.close();
  }
}

export const iso = (xs: readonly number[]): string[] => xs.map((x) => new Date(x).toISOString());
