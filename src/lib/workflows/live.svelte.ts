/**
 * Live refresh for the workflow and session screens: the seq of the newest event of some streams,
 * read from the kernel client's live tail (`kernel.recent`). A screen re-queries when it changes.
 */
import { untrack } from 'svelte';
import { kernel } from '../kernel.svelte.ts';

/** Seq of the newest recent event whose stream starts with `prefix` (0 when none). */
export function lastSeqOf(prefix: string): number {
  const recent = kernel.recent;
  for (let i = recent.length - 1; i >= 0; i--) {
    const e = recent[i]!;
    if (e.stream.startsWith(prefix)) return e.seq;
  }
  return 0;
}

/** Seq of the newest recent event of exactly `stream` (0 when none). */
export function lastSeqOfStream(stream: string): number {
  const recent = kernel.recent;
  for (let i = recent.length - 1; i >= 0; i--) {
    const e = recent[i]!;
    if (e.stream === stream) return e.seq;
  }
  return 0;
}

/** A clock that ticks every `ms` while `active()` (for running bars and durations). */
export class Ticker {
  now = $state.raw(Date.now());

  /** Call from an $effect; returns the cleanup. */
  run(ms = 1000): () => void {
    const t = setInterval(() => (this.now = Date.now()), ms);
    return () => clearInterval(t);
  }
}

/** Run `job` at most once at a time; a request while it runs schedules one more run. */
export class Reloader {
  #running = false;
  #again = false;
  readonly #job: () => Promise<void>;

  constructor(job: () => Promise<void>) {
    this.#job = job;
  }

  /**
   * Run the job now and again whenever what `deps` reads changes (e.g. the seq of the newest event
   * of some streams). Call during component initialisation: it installs an $effect.
   */
  watch(deps: () => unknown): void {
    $effect(() => {
      deps();
      untrack(() => void this.request());
    });
  }

  async request(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    try {
      do {
        this.#again = false;
        await this.#job();
      } while (this.#again);
    } finally {
      this.#running = false;
    }
  }
}
