/**
 * A destructive action sent only after a short grace period, so it can be undone: "Cancelling
 * deploy #12 in 5 s — Undo". The timer is not tied to a component: leaving the page during the
 * grace period still sends it (the person asked for it and did not undo).
 */
export const UNDO_MS = 5000;

export class Delayed {
  /** Seconds left before it is sent, or null when nothing is pending. */
  left = $state<number | null>(null);
  #timer: ReturnType<typeof setTimeout> | null = null;
  #tick: ReturnType<typeof setInterval> | null = null;

  /** Send `action` after `ms` unless undone. */
  start(action: () => void, ms = UNDO_MS): void {
    this.undo();
    const due = Date.now() + ms;
    this.left = Math.ceil(ms / 1000);
    this.#tick = setInterval(() => (this.left = Math.max(0, Math.ceil((due - Date.now()) / 1000))), 250);
    this.#timer = setTimeout(() => {
      this.#clear();
      action();
    }, ms);
  }

  undo(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#clear();
  }

  #clear(): void {
    if (this.#tick !== null) clearInterval(this.#tick);
    this.#timer = null;
    this.#tick = null;
    this.left = null;
  }
}
