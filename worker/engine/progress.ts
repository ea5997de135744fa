/**
 * Live progress that is NOT part of the log: tokens streaming from an llm step while it runs.
 * The final answer, usage and latency are recorded as events when the step ends; progress only
 * lets a person watch it happen. Lost progress loses nothing.
 *
 * Invariants:
 * 1. Listeners never break the producer: a throwing listener is ignored.
 * 2. With a channel name (browser), the owner tab's worker broadcasts progress to the other tabs,
 *    which deliver it to their own listeners (and never re-broadcast).
 */
export interface StepProgress {
  readonly sessionId: string;
  readonly step: string;
  readonly attempt: number;
  readonly kind: 'tokens';
  readonly text: string;
}

export type ProgressListener<T = StepProgress> = (p: T) => void;

/** Live data nobody records, delivered to every tab's listeners (step progress; the sync view). */
export class ProgressHub<T = StepProgress> {
  private readonly listeners = new Map<number, ProgressListener<T>>();
  private nextId = 1;
  private channel: BroadcastChannel | undefined;
  private opened = false;

  /** The channel is opened on first use, so merely importing a hub keeps no process alive. */
  constructor(private readonly channelName?: string) {}

  private open(): BroadcastChannel | undefined {
    if (!this.opened && this.channelName !== undefined && typeof BroadcastChannel === 'function') {
      this.opened = true;
      this.channel = new BroadcastChannel(this.channelName);
      this.channel.onmessage = (e: MessageEvent<T>) => this.deliver(e.data);
      // Node: a progress channel alone must not keep the process running.
      (this.channel as unknown as { unref?: () => void }).unref?.();
    }
    return this.channel;
  }

  watch(listener: ProgressListener<T>): number {
    this.open();
    const id = this.nextId++;
    this.listeners.set(id, listener);
    return id;
  }

  unwatch(id: number): void {
    this.listeners.delete(id);
  }

  publish(p: T): void {
    this.deliver(p);
    try {
      this.open()?.postMessage(p);
    } catch {
      // A closed channel: other tabs miss progress, nothing else.
    }
  }

  close(): void {
    this.listeners.clear();
    this.channel?.close();
  }

  private deliver(p: T): void {
    for (const l of this.listeners.values()) {
      try {
        const out: unknown = l(p);
        if (out instanceof Promise) out.catch(() => {});
      } catch {
        // Ignored: progress is advisory.
      }
    }
  }
}
