/**
 * Which provider and model the command bar asks: the person's choice, remembered on this device
 * per workspace (localStorage, never the log: another device may have other providers), else the
 * first model of the first provider that lists one.
 *
 * Invariants:
 * 1. `chooseModel` only ever answers a provider and model that are configured now; a remembered
 *    choice whose provider is gone falls back to the first, one whose model is gone to that
 *    provider's first model.
 * 2. `modelRef` is what the intent workflow's `model` input takes: `provider/model`.
 */

export interface ProviderModels {
  readonly id: string;
  readonly models: readonly string[];
}

export interface ModelChoice {
  readonly provider: string;
  readonly model: string;
}

const KEY = 'kingdom.intent-model.';

/** The choice to use: `wanted` when it is still configured, else the nearest valid one, else null (no provider lists a model). */
export function chooseModel(providers: readonly ProviderModels[], wanted: ModelChoice | null): ModelChoice | null {
  if (wanted) {
    const p = providers.find((x) => x.id === wanted.provider && x.models.length > 0);
    if (p) return { provider: p.id, model: p.models.includes(wanted.model) ? wanted.model : p.models[0]! };
  }
  const first = providers.find((x) => x.models.length > 0);
  return first ? { provider: first.id, model: first.models[0]! } : null;
}

/** `provider/model`, as the intent workflow's `model` input. */
export function modelRef(c: ModelChoice): string {
  return `${c.provider}/${c.model}`;
}

/** The choice remembered on this device for a workspace. */
export function storedChoice(workspaceId: string): ModelChoice | null {
  try {
    const raw = globalThis.localStorage?.getItem(KEY + workspaceId);
    if (!raw) return null;
    const v = JSON.parse(raw) as unknown;
    if (v && typeof v === 'object' && typeof (v as ModelChoice).provider === 'string' && typeof (v as ModelChoice).model === 'string') {
      return { provider: (v as ModelChoice).provider, model: (v as ModelChoice).model };
    }
  } catch {
    // unreadable or blocked storage: no remembered choice
  }
  return null;
}

export function storeChoice(workspaceId: string, c: ModelChoice): void {
  try {
    globalThis.localStorage?.setItem(KEY + workspaceId, JSON.stringify(c));
  } catch {
    // storage blocked: the choice lasts until the page reloads
  }
}
