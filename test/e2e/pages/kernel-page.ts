/**
 * A UI-less page around the real kernel worker (worker/kernel.worker.ts): it sets
 * `window.kingdom` (the Comlink-wrapped KingdomApi) and `window.kingdomReady` exactly as the app
 * does, so runtime behaviour (election, handover, crash recovery, startup failures) can be tested
 * without the Svelte UI. Query parameters of the page are passed on to the worker
 * (`?storage=memory`, `?checkpointEvery=N`).
 */
import * as Comlink from 'comlink';
import kernelWorkerUrl from '../../../worker/kernel.worker.ts?worker&url';
import type { KingdomApi } from '../../../worker/api.ts';

declare global {
  interface Window {
    kingdom: Comlink.Remote<KingdomApi>;
    kingdomReady: Promise<void>;
    kingdomWorkerErrors: string[];
  }
}

const url = new URL(kernelWorkerUrl, location.href);
for (const [k, v] of new URLSearchParams(location.search)) url.searchParams.set(k, v);
const worker = new Worker(url, { type: 'module', name: 'kingdom-kernel' });
window.kingdomWorkerErrors = [];
worker.addEventListener('error', (ev) => window.kingdomWorkerErrors.push(String(ev.message ?? ev)));
window.kingdom = Comlink.wrap<KingdomApi>(worker);
window.kingdomReady = window.kingdom.info().then(() => undefined);
void window.kingdomReady.then(() => {
  document.getElementById('status')!.dataset['ready'] = 'true';
});
