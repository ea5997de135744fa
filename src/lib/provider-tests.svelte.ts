/**
 * "Test connection" on the Settings screen: per provider, the model to ask, whether a test is
 * running and its outcome (KingdomApi.testProvider: one real request through the worker's provider
 * client, with the stored key — the key never comes to the page). Kernel failures (no such
 * provider) land in `kernel.lastError` under `scopeOf(id)`.
 */
import type { ProbeOutcome } from '../../worker/api.ts';
import { kernel } from './kernel.svelte.ts';

export interface ProviderTest {
  readonly model: string;
  readonly running: boolean;
  readonly outcome: ProbeOutcome | null;
}

export const scopeOf = (id: string): string => `settings.provider.test.${id}`;

class ProviderTests {
  byId = $state.raw<ReadonlyMap<string, ProviderTest>>(new Map());

  get(id: string): ProviderTest | undefined {
    return this.byId.get(id);
  }

  /** Test `id` with `model` (default: the model tested last, else the provider's first). */
  async run(id: string, models: readonly string[], model?: string): Promise<void> {
    const prev = this.byId.get(id);
    if (prev?.running) return;
    const m = model ?? (prev && models.includes(prev.model) ? prev.model : models[0] ?? '');
    this.#set(id, { model: m, running: true, outcome: null });
    const outcome = await kernel.call(scopeOf(id), (api) => api.testProvider({ workspaceId: kernel.currentId, id, model: m }), 'testProvider');
    this.#set(id, { model: m, running: false, outcome });
  }

  choose(id: string, model: string): void {
    const prev = this.byId.get(id);
    this.#set(id, { model, running: false, outcome: prev?.model === model ? prev.outcome : null });
  }

  forget(id: string): void {
    const next = new Map(this.byId);
    next.delete(id);
    this.byId = next;
  }

  #set(id: string, t: ProviderTest): void {
    this.byId = new Map(this.byId).set(id, t);
  }
}

export const providerTests = new ProviderTests();
