/**
 * Coalesced refreshes: at most one run of a named job at a time; a request that arrives while
 * it runs schedules exactly one more run after it (so the last request is always honoured).
 */
export class Coalescer {
  readonly #running = new Map<string, { again: boolean }>();

  async run(name: string, job: () => Promise<void>): Promise<void> {
    const running = this.#running.get(name);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.#running.set(name, state);
    try {
      do {
        state.again = false;
        await job();
      } while (state.again);
    } finally {
      this.#running.delete(name);
    }
  }
}
