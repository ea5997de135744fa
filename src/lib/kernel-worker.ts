/**
 * Starts the kernel worker of this tab.
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
