/**
 * Small timing/statistics helpers shared by the Node and the browser benchmarks (no node: imports).
 */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[idx]!;
}

let clock: () => number = () => performance.now();

/** Milliseconds on the benchmark clock (wall time unless `setClock` changed it). */
export function now(): number {
  return clock();
}

/**
 * Replace the benchmark clock, e.g. with process CPU time in Node (`--cpu-clock`) to compare
 * CPU-bound variants on a machine other jobs are loading. Wall time is the default.
 */
export function setClock(fn: () => number): void {
  clock = fn;
}

/**
 * Yield to the event loop (lets async work such as checkpoint signing run between samples).
 * setImmediate in Node; a MessageChannel round trip in browsers (nested setTimeout(0) is clamped
 * to 4 ms there).
 */
export function yieldToLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown };
  if (typeof g.setImmediate === 'function') {
    const si = g.setImmediate;
    return new Promise((resolve) => void si(resolve));
  }
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface Sample {
  /** Median of the repetitions. */
  readonly median: number;
  readonly samples: readonly number[];
}

export function sample(samples: readonly number[]): Sample {
  return { median: median(samples), samples: samples.map((s) => round(s, 3)) };
}
