/**
 * The moment the app is interactive, as `npm run bench -- --only=open` measures it
 * (docs/benchmarks.md, "Fast to open"): `performance.mark('kingdom:interactive')`, set once per
 * page load, in the first task after the frame that follows all of these:
 *   1. the kernel is ready (its worker answered `info()`);
 *   2. the kernel client loaded its first data (status, workspaces and projects, event types, the
 *      live subscription);
 *   3. the first screen's page chunk is loaded and its component mounted (LazyPage);
 *   4. no call to the worker is in flight, so the page's own first queries are answered.
 * The mark's `detail` names the page. `interactive` resolves right after it: the service worker
 * registers then (service-worker.ts), so its precache does not compete with the first open.
 */
import { kernel } from './kernel.svelte.ts';

export const INTERACTIVE_MARK = 'kingdom:interactive';

let marked = false;
let resolveInteractive: () => void = () => {};
export const interactive = new Promise<void>((resolve) => (resolveInteractive = resolve));

/** Called by each page that mounts; only the first call counts. */
export function firstScreenShown(page: string): void {
  if (marked) return;
  marked = true;
  void (async () => {
    await kernel.connecting;
    await kernel.inflight.idle();
    // A task queued from requestAnimationFrame runs after that frame is painted.
    requestAnimationFrame(() =>
      setTimeout(() => {
        performance.mark(INTERACTIVE_MARK, { detail: { page } });
        resolveInteractive();
      }, 0),
    );
  })();
}
