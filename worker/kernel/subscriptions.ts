/**
 * Realtime: subscribers get the events they missed, then live ones, in seq order. The ONE
 * subscription mechanism of Kingdom: the kernel runs it over its own event store, and a follower
 * browser tab (worker/browser/runtime.ts) runs it over the leader, paging by RPC; a tab that
 * becomes leader re-targets the same subscriptions to its own store.
 *
 * Invariants:
 * 1. Each subscription has a cursor (last seq scanned); delivery only ever advances it by a
 *    contiguous range: from `publish` (events that start right after it) or from a page of the
 *    source (`scannedTo`). So there is no gap and no duplicate, whatever the timing of commits,
 *    resent requests or role changes.
 * 2. Publishing happens after COMMIT only: a subscriber never sees a rolled-back event.
 * 3. A listener that throws (or whose promise rejects) is unsubscribed and its error reported,
 *    never stalls the others.
 * 4. A page answer older than the cursor (a resent request answered twice) is asked again, never
 *    delivered; a source that cannot answer now (`null`) stops the pump until the next
 *    `publish`/`resume`; `retarget` abandons every in-flight page of the previous source.
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

/** A page of events after a cursor. */
export interface Page {
  readonly events: EventEnvelope[];
  /** The subscriber's cursor may move here (all events up to it were scanned). */
  readonly scannedTo: number;
  readonly headSeq: number;
}

/** Where subscriptions read what they missed: the local event store, or the leader tab over RPC. */
export interface PageSource {
  /** The highest committed seq this source knows of. */
  head(): number;
  /** Matching events after `afterSeq` (at most `limit`); `null` when the source cannot answer now. */
  page(afterSeq: number, limit: number, filter: EventFilter): Page | null | Promise<Page | null>;
}

/** Pages straight from an event store (synchronous). */
export function storePageSource(store: EventStore): PageSource {
  return {
    head: () => store.committedHead.seq,
    page: (afterSeq, limit, filter) => {
      const n = Math.max(1, Math.min(limit, 10_000));
      const events = store.readAfter(afterSeq, n, filter);
      const headSeq = store.committedHead.seq;
      return { events, scannedTo: events.length < n ? headSeq : events[events.length - 1]!.seq, headSeq };
    },
  };
}

interface Sub {
  readonly id: number;
  cursor: number;
  readonly filter: EventFilter;
  readonly batch: number;
  readonly listener: EventListener;
  closed: boolean;
  /** The generation of the pump running for this subscription, or null. */
  pump: number | null;
  /** Events arrived while pumping: look again before stopping. */
  dirty: boolean;
}

export class Subscriptions {
  private readonly subs = new Map<number, Sub>();
  private nextId = 1;
  /** Bumped by `retarget`, so pumps of the previous source stop. */
  private generation = 0;
  private source: PageSource;

  constructor(
    source: PageSource,
    private readonly onListenerError: (err: unknown) => void = () => {},
  ) {
    this.source = source;
  }

  subscribe(listener: EventListener, opts: SubscribeOptions = {}): { id: number; close(): void } {
    const head = this.source.head();
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
      pump: null,
      dirty: false,
    };
    this.subs.set(sub.id, sub);
    if (sub.cursor < head) queueMicrotask(() => this.pump(sub));
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

  /** Committed events (ascending, contiguous), as soon as they are known: after COMMIT, or a leader's broadcast. */
  publish(committed: readonly EventEnvelope[]): void {
    if (committed.length === 0) return;
    const first = committed[0]!.seq;
    const last = committed[committed.length - 1]!.seq;
    for (const sub of [...this.subs.values()]) {
      if (sub.closed) continue;
      if (sub.pump !== this.generation && first === sub.cursor + 1) {
        // Fast path: the subscriber is exactly before these events; deliver from memory.
        const mine = committed.filter((e) => matches(e, sub.filter));
        sub.cursor = last;
        if (mine.length > 0) this.deliver(sub, mine);
        if (!sub.closed && sub.cursor < this.source.head()) this.pump(sub);
      } else if (last > sub.cursor) {
        this.pump(sub);
      }
    }
  }

  /** Read on from every cursor (the source can answer again, e.g. a new leader announced itself). */
  resume(): void {
    for (const sub of [...this.subs.values()]) this.pump(sub);
  }

  /** Read from another source from now on (a follower tab became the leader); cursors are kept. */
  retarget(source: PageSource): void {
    this.source = source;
    this.generation++;
    for (const sub of this.subs.values()) sub.pump = null;
    queueMicrotask(() => this.resume());
  }

  /**
   * The log was cut back to `headSeq` (an explicit repair): every cursor beyond it moves back, so
   * the events appended from now on (which take the freed positions) are delivered.
   */
  rewind(headSeq: number): void {
    this.generation++;
    for (const sub of this.subs.values()) {
      sub.pump = null;
      sub.cursor = Math.min(sub.cursor, headSeq);
    }
  }

  closeAll(): void {
    for (const sub of this.subs.values()) sub.closed = true;
    this.subs.clear();
  }

  private pump(sub: Sub): void {
    const gen = this.generation;
    if (sub.pump === gen) {
      sub.dirty = true;
      return;
    }
    sub.pump = gen;
    sub.dirty = false;
    const stop = (): void => {
      if (sub.pump === gen) sub.pump = null;
    };
    const step = (): void => {
      for (;;) {
        if (sub.closed || gen !== this.generation) return stop();
        if (sub.cursor >= this.source.head()) {
          if (!sub.dirty) return stop();
          sub.dirty = false;
          continue;
        }
        let answer: Page | null | Promise<Page | null>;
        try {
          answer = this.source.page(sub.cursor, sub.batch, sub.filter);
        } catch (err) {
          // e.g. upcast_failed: this subscriber cannot read on; the commit itself already succeeded.
          stop();
          return this.fail(sub, err);
        }
        if (answer instanceof Promise) {
          answer.then(
            (page) => (this.accept(sub, page, gen) ? step() : stop()),
            (err: unknown) => {
              stop();
              if (gen === this.generation) this.fail(sub, err);
            },
          );
          return;
        }
        if (!this.accept(sub, answer, gen)) return stop();
      }
    };
    step();
  }

  /** Take a page: false when pumping should stop (no answer, closed, or another source now). */
  private accept(sub: Sub, page: Page | null, gen: number): boolean {
    if (page === null || sub.closed || gen !== this.generation) return false;
    if (page.events.length > 0 && page.events[0]!.seq <= sub.cursor) return true; // a resend's stale answer: ask again
    sub.cursor = Math.max(sub.cursor, page.scannedTo);
    if (page.events.length > 0) this.deliver(sub, page.events);
    return true;
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
    if (sub.closed) return;
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
