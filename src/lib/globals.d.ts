/**
 * Debug handles on `window` (documented for the console; end-to-end tests use them too):
 * `kingdom` is the Comlink-wrapped kernel API of this tab, `kingdomReady` resolves with the first
 * `info()` answer (and rejects when the kernel cannot start).
 */
import type { Remote } from 'comlink';
import type { KingdomApi, RuntimeInfo } from '../../worker/api.ts';

declare global {
  interface Window {
    kingdom?: Remote<KingdomApi>;
    kingdomReady?: Promise<RuntimeInfo>;
  }
}

export {};
