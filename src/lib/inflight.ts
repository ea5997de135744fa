/**
 * Counts promises in flight and tells when none is: the kernel client tracks its calls to the
 * worker with it, so the "interactive" mark (interactive.ts) waits for the first screen's queries.
 */
export class Inflight {
  #count = 0;
  #waiters: (() => void)[] = [];

  /** `p`, counted until it settles. */
  async track<T>(p: Promise<T>): Promise<T> {
    this.#count++;
    try {
      return await p;
    } finally {
      if (--this.#count === 0) for (const wake of this.#waiters.splice(0)) wake();
    }
  }

  /** Resolves when nothing is in flight (at once when nothing is). */
  async idle(): Promise<void> {
    while (this.#count > 0) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}
