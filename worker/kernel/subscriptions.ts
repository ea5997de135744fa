/**
 * Realtime: subscribers get the events they missed, then live ones, in seq order.
 *
 * Invariants:
 * 1. Each subscription has a cursor (last seq scanned); delivery only ever advances it by a
 *    contiguous range, so there is no gap and no duplicate, whatever the timing of commits.
 * 2. Publishing happens after COMMIT only: a subscriber never sees a rolled-back event.
 * 3. A listener that throws is unsubscribed (and its error reported), never stalls the others.
 */
import type { EventEnvelope } from './log/envelope.ts';
import type { EventFilter, EventStore } from './log/event-store.ts';
import { KernelError } from './errors.ts';

export type EventListener = (events: EventEnvelope[]) => void | Promise<void>;

export interface SubscribeOptions {
  /** First seq to deliver (inclusive). Default: only events committed after subscribing. */
  readonly fromSeq?: number;
  readonly filter?: EventFilter;
  /** Maximum events per delivered batch (default 500). */
  readonly batchSize?: number;
}

interface Sub {
  readonly id: number;
  cursor: number;
  readonly filter: EventFilter;
  readonly batch: number;
  readonly listener: EventListener;
  closed: boolean;
}

export class Subscriptions {
  private readonly subs = new Map<number, Sub>();
  private nextId = 1;

  constructor(
    private readonly store: EventStore,
    private readonly onListenerError: (err: unknown) => void = () => {},
  ) {}

  subscribe(listener: EventListener, opts: SubscribeOptions = {}): { id: number; close(): void } {
    const head = this.store.committedHead.seq;
    const from = opts.fromSeq ?? head + 1;
    if (!Number.isSafeInteger(from) || from < 1) {
      throw new KernelError('invalid_query', `subscribe: fromSeq must be an integer >= 1 (got ${String(opts.fromSeq)}); omit it for live events only.`, { field: 'fromSeq' });
    }
    const sub: Sub = {
      id: this.nextId++,
      cursor: Math.max(0, from - 1),
      filter: opts.filter ?? {},
      batch: Math.max(1, Math.min(opts.batchSize ?? 500, 5000)),
      listener,
      closed: false,
    };
    this.subs.set(sub.id, sub);
    if (sub.cursor < head) queueMicrotask(() => this.pump(sub, undefined));
    return { id: sub.id, close: () => this.unsubscribe(sub.id) };
  }

  unsubscribe(id: number): void {
    const sub = this.subs.get(id);
    if (sub) sub.closed = true;
    this.subs.delete(id);
  }

  get size(): number {
    return this.subs.size;
  }

  /** Called after COMMIT with the events just committed (ascending, contiguous). */
  publish(committed: readonly EventEnvelope[]): void {
    for (const sub of this.subs.values()) this.pump(sub, committed);
  }

  closeAll(): void {
    for (const sub of this.subs.values()) sub.closed = true;
    this.subs.clear();
  }

  private pump(sub: Sub, fresh: readonly EventEnvelope[] | undefined): void {
    const head = this.store.committedHead.seq;
    while (!sub.closed && sub.cursor < head) {
      let batch: EventEnvelope[];
      let scannedTo: number;
      if (fresh && fresh.length > 0 && fresh[0]!.seq === sub.cursor + 1 && fresh[fresh.length - 1]!.seq === head) {
        // Fast path: the subscriber is exactly at the previous head; deliver from memory.
        batch = fresh.filter((e) => matches(e, sub.filter));
        scannedTo = head;
      } else {
        try {
          batch = this.store.readAfter(sub.cursor, sub.batch, sub.filter);
        } catch (err) {
          // e.g. upcast_failed: this subscriber cannot read on; the commit itself already succeeded.
          this.fail(sub, err);
          return;
        }
        scannedTo = batch.length < sub.batch ? head : batch[batch.length - 1]!.seq;
      }
      sub.cursor = scannedTo;
      if (batch.length > 0) this.deliver(sub, batch);
    }
  }

  private deliver(sub: Sub, batch: EventEnvelope[]): void {
    try {
      const out = sub.listener(batch);
      if (out && typeof (out as Promise<void>).catch === 'function') {
        (out as Promise<void>).catch((err: unknown) => this.fail(sub, err));
      }
    } catch (err) {
      this.fail(sub, err);
    }
  }

  private fail(sub: Sub, err: unknown): void {
    this.unsubscribe(sub.id);
    this.onListenerError(err);
  }
}

export function matches(e: EventEnvelope, f: EventFilter): boolean {
  if (f.types && f.types.length > 0 && !f.types.includes(e.type)) return false;
  if (f.typePrefix && !e.type.startsWith(f.typePrefix)) return false;
  if (f.stream && e.stream !== f.stream) return false;
  if (f.streamPrefix && !e.stream.startsWith(f.streamPrefix)) return false;
  return true;
}
