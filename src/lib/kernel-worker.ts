/**
 * Starts the kernel worker of this tab: as soon as the entry script runs (`startKernelWorkerEarly`,
 * src/main.ts), so the worker's code, the sqlite wasm and the database load while the app's own
 * chunks do; the kernel client then takes it over (`kernelWorker`), with any error it reported
 * before anyone listened. Without an early start, the client creates it.
 *
 * Vite bundles a worker as its own file only when it sees the literal
 * `new Worker(new URL('…', import.meta.url), { type: 'module' })`, and then rewrites just the
 * `new URL(…)` part. To still pass page flags to the worker (it reads its own URL's search
 * params), the `Worker` below is a local subclass that appends them to the URL Vite resolved.
 */

/** Page query parameters the worker understands, forwarded to its URL. */
const FORWARDED = ['storage', 'checkpointEvery'] as const;

export function createKernelWorker(): globalThis.Worker {
  if (typeof globalThis.Worker !== 'function') {
    throw new Error('This browser cannot run Web Workers, which Kingdom needs to run its database.');
  }
  if (typeof WebAssembly !== 'object') {
    throw new Error('This browser has no WebAssembly (or it is disabled), which Kingdom needs to run its database.');
  }
  const Base = globalThis.Worker;
  const Worker = class extends Base {
    constructor(url: URL, options?: WorkerOptions) {
      super(withPageFlags(url), options);
    }
  };
  return new Worker(new URL('../../worker/kernel.worker.ts', import.meta.url), { type: 'module' });
}

function withPageFlags(url: URL): URL {
  const page = new URL(location.href).searchParams;
  const out = new URL(url, location.href);
  for (const name of FORWARDED) {
    const value = page.get(name);
    if (value !== null) out.searchParams.set(name, value);
  }
  return out;
}

let early: { readonly worker: globalThis.Worker; readonly missed: Event[]; stop(): void } | null = null;

/** Start the worker now, for the kernel client to adopt. A failure is left for the client, which creates it again and reports why. */
export function startKernelWorkerEarly(): void {
  if (early) return;
  try {
    const worker = createKernelWorker();
    const missed: Event[] = [];
    const keep = (e: Event): void => {
      e.preventDefault();
      missed.push(e);
    };
    worker.addEventListener('error', keep);
    worker.addEventListener('messageerror', keep);
    early = { worker, missed, stop: () => (worker.removeEventListener('error', keep), worker.removeEventListener('messageerror', keep)) };
  } catch {
    early = null;
  }
}

/**
 * This tab's kernel worker, `onError` and `onMessageError` listening: the one started early (the
 * events it sent meanwhile are passed on now, in order), else a new one. Throws what
 * `createKernelWorker` throws.
 */
export function kernelWorker(onError: (e: Event) => void, onMessageError: () => void): globalThis.Worker {
  const adopted = early;
  early = null;
  adopted?.stop();
  const worker = adopted?.worker ?? createKernelWorker();
  worker.addEventListener('error', onError);
  worker.addEventListener('messageerror', onMessageError);
  for (const e of adopted?.missed ?? []) (e.type === 'error' ? onError(e) : onMessageError());
  return worker;
}
