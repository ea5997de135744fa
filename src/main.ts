/**
 * Entry point. Loads the app behind a dynamic import so that any failure to load or start it
 * (a missing chunk, an unsupported browser, an exception while mounting) still renders a
 * readable error page instead of a blank one.
 *
 * Invariants:
 * 1. Before the app is mounted, an uncaught error replaces the page with the error page; after,
 *    it is shown as a non-blocking message inside the app.
 * 2. The kernel client starts before the first render, so its dev hook `window.kingdomDevHook`
 *    exists as early as possible; its worker starts even earlier, first thing here, so the
 *    database opens while the app's chunks load (the client adopts it: src/lib/kernel-worker.ts).
 * 3. The service worker registers once the first screen is interactive (src/lib/service-worker.ts).
 */
import './app.css';
import './responsive.css';
import { renderFatal } from './lib/fatal.ts';
import { describe } from './lib/ui-error.ts';
import { startKernelWorkerEarly } from './lib/kernel-worker.ts';
import { registerServiceWorker } from './lib/service-worker.ts';

const TITLE = 'Kingdom could not start';

let report: (message: string) => void = (message) => renderFatal(TITLE, message);

window.addEventListener('error', (e) => {
  // Benign browser notice, not an application error.
  if (/ResizeObserver loop/.test(e.message)) return;
  report(e.message || describe(e.error));
});
window.addEventListener('unhandledrejection', (e) => report(describe(e.reason)));

startKernelWorkerEarly();
registerServiceWorker();
void boot();

async function boot(): Promise<void> {
  try {
    const target = document.getElementById('app');
    if (!target) throw new Error('The page has no #app element to render into.');
    // A pairing link's secret leaves the address bar before the router reads it.
    const { sync } = await import('./lib/sync.svelte.ts');
    sync.takeInvitation();
    const [{ mount }, { default: App }, { kernel }] = await Promise.all([
      import('svelte'),
      import('./App.svelte'),
      import('./lib/kernel.svelte.ts'),
    ]);
    kernel.start();
    target.replaceChildren();
    mount(App, { target });
    report = (message) => kernel.reportUnexpected(message);
  } catch (err) {
    renderFatal(TITLE, describe(err));
  }
}
