/**
 * The open workspace's registry as the Manifests screen shows it: the list, the dependency graph
 * and the Relics' health, re-read when a manifest, workflow, health or bring-up event arrives (and
 * when the workspace changes). One instance per screen (`new RegistryView()` in a component: its
 * Reloader installs an $effect).
 */
import { kernel } from '../kernel.svelte.ts';
import { lastSeqOf, Reloader } from '../workflows/live.svelte.ts';
import type { ManifestGraph, ManifestSummary, RelicHealth } from './types.ts';

export const REGISTRY_SCOPE = 'manifests.registry';
const HEALTH_POLL_MS = 2_000;

export class RegistryView {
  list = $state.raw<readonly ManifestSummary[] | null>(null);
  graph = $state.raw<ManifestGraph | null>(null);
  health = $state.raw<readonly RelicHealth[]>([]);
  /** Missing needs per manifest key (`Tool/x@1.0.0` → 2). */
  missingBy = $derived.by(() => {
    const m = new Map<string, number>();
    for (const x of this.graph?.missing ?? []) m.set(x.from, (m.get(x.from) ?? 0) + 1);
    return m;
  });

  readonly #reloader = new Reloader(async () => {
    const [list, graph, health] = await Promise.all([
      kernel.query(REGISTRY_SCOPE, 'manifest.list', {}),
      kernel.query(REGISTRY_SCOPE, 'manifest.graph', { format: 'json' }),
      kernel.query(REGISTRY_SCOPE, 'relic.health', {}),
    ]);
    if (list) this.list = list;
    if (graph && 'nodes' in graph) this.graph = graph;
    if (health) this.health = health;
  });

  constructor() {
    const ws = (): string => kernel.currentId;
    const seq = $derived(Math.max(lastSeqOf(`manifest:${ws()}/`), lastSeqOf(`workflow:${ws()}/`), lastSeqOf(`relic-health:${ws()}/`)));
    this.#reloader.watch(() => [seq, kernel.currentId, kernel.phase]);
    // When a Relic was last probed is not an event: re-read the health while there are Relics.
    $effect(() => {
      if (this.health.length === 0) return;
      const t = setInterval(() => {
        void kernel.query(REGISTRY_SCOPE, 'relic.health', {}).then((h) => {
          if (h) this.health = h;
        });
      }, HEALTH_POLL_MS);
      return () => clearInterval(t);
    });
  }

  reload(): Promise<void> {
    return this.#reloader.request();
  }
}
