/**
 * Registers the service worker that makes the app open offline (vite-plugin-pwa generates
 * /sw.js: it precaches the app, the worker's chunks and the sqlite wasm; vite.config.ts).
 *
 * Invariants:
 * 1. It registers once the first screen is interactive (interactive.ts), or after FALLBACK_MS
 *    when that never comes (a screen that failed), not at page load: its precache downloads and
 *    stores every file, which on a busy machine slowed the first open by 10–20 %
 *    (docs/benchmarks.md, "Fast to open").
 * 2. Production builds only (the dev server serves no service worker). A refused registration is
 *    a console warning: the app works, it only does not open offline.
 */
import { interactive } from './interactive.ts';

const FALLBACK_MS = 10_000;

export function registerServiceWorker(): void {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  let done = false;
  const register = (): void => {
    if (done) return;
    done = true;
    navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`, { scope: import.meta.env.BASE_URL }).catch((err: unknown) => {
      console.warn('kingdom: the service worker could not be registered; the app will not open offline', err);
    });
  };
  void interactive.then(register);
  setTimeout(register, FALLBACK_MS);
}
