/**
 * The runner registry: the runners the engine can dispatch to, by name.
 *
 * Invariants:
 * 1. Names are unique: registering a second runner with a taken name throws.
 * 2. `list()` is sorted by name; `health()` never rejects: a runner whose health check throws is
 *    reported as not ok with the error's message.
 */
import { createHttpRunner } from './http.ts';
import { createLlmSlot } from './llm-slot.ts';
import { createTransformRunner } from './transform.ts';
import { demoRunners } from './demo.ts';
import type { Runner, RunnerCapabilities, RunnerHealth } from './types.ts';

export interface RunnerInfo {
  readonly name: string;
  readonly capabilities: RunnerCapabilities;
}

export class RunnerRegistry {
  private readonly runners = new Map<string, Runner>();

  constructor(runners: readonly Runner[] = []) {
    for (const r of runners) this.register(r);
  }

  get(name: string): Runner | undefined {
    return this.runners.get(name);
  }

  has(name: string): boolean {
    return this.runners.has(name);
  }

  list(): RunnerInfo[] {
    return [...this.runners.values()]
      .map((r) => ({ name: r.name, capabilities: r.capabilities }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  register(runner: Runner): void {
    if (typeof runner.name !== 'string' || runner.name === '') throw new Error('A runner needs a non-empty name');
    if (this.runners.has(runner.name)) throw new Error(`A runner named "${runner.name}" is already registered`);
    this.runners.set(runner.name, runner);
  }

  async health(): Promise<Record<string, RunnerHealth>> {
    const entries = await Promise.all(
      [...this.runners.values()].map(async (r): Promise<[string, RunnerHealth]> => {
        try {
          const h = await r.health();
          return [r.name, { ok: h.ok, detail: h.detail }];
        } catch (err) {
          return [r.name, { ok: false, detail: `Health check failed: ${err instanceof Error ? err.message : String(err)}` }];
        }
      }),
    );
    return Object.fromEntries(entries);
  }
}

/** The built-in runners: http, transform, the llm slot and the demo runners. */
export function defaultRunners(options: { fetch?: typeof fetch } = {}): Runner[] {
  return [createHttpRunner(options.fetch ? { fetch: options.fetch } : {}), createTransformRunner(), createLlmSlot(), ...demoRunners()];
}
