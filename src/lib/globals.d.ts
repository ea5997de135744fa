/**
 * The one debug/test handle on `window`, installed by the kernel client (src/lib/kernel.svelte.ts)
 * and documented in docs/api.md ("The dev hook"): `kingdomDevHook.api` is this tab's
 * Comlink-wrapped KingdomApi (the very proxy the client uses), `kingdomDevHook.ready` resolves with
 * the first `info()` answer (and rejects when the kernel cannot start). For the console and the
 * end-to-end tests only: app code goes through the client, never through this handle.
 */
import type { Remote } from 'comlink';
import type { KingdomApi, RuntimeInfo } from '../../worker/api.ts';

export interface KingdomDevHook {
  /** Null when the worker could not even be created (then `ready` rejects). */
  readonly api: Remote<KingdomApi> | null;
  readonly ready: Promise<RuntimeInfo>;
}

declare global {
  interface Window {
    kingdomDevHook?: KingdomDevHook;
  }
}

export {};
