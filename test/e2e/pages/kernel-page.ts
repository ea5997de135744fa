/**
 * A UI-less page around the real kernel worker (worker/kernel.worker.ts): it installs the dev
 * hook `window.kingdomDevHook = { api, ready }` (the Comlink-wrapped KingdomApi, and its first
 * `info()`) exactly as the app's kernel client does, so runtime behaviour (election, handover, crash recovery, startup failures) can be tested
 * without the Svelte UI. Query parameters of the page are passed on to the worker
 * (`?storage=memory`, `?checkpointEvery=N`).
 */
import * as Comlink from 'comlink';
import kernelWorkerUrl from '../../../worker/kernel.worker.ts?worker&url';
import type { KingdomApi } from '../../../worker/api.ts';

declare global {
  interface Window {
    kingdomDevHook: { api: Comlink.Remote<KingdomApi>; ready: Promise<void> };
    kingdomWorkerErrors: string[];
  }
}

const url = new URL(kernelWorkerUrl, location.href);
for (const [k, v] of new URLSearchParams(location.search)) url.searchParams.set(k, v);
const worker = new Worker(url, { type: 'module', name: 'kingdom-kernel' });
window.kingdomWorkerErrors = [];
worker.addEventListener('error', (ev) => window.kingdomWorkerErrors.push(String(ev.message ?? ev)));
const api = Comlink.wrap<KingdomApi>(worker);
window.kingdomDevHook = { api, ready: api.info().then(() => undefined) };
void window.kingdomDevHook.ready.then(() => {
  document.getElementById('status')!.dataset['ready'] = 'true';
});
