/**
 * The event log screen's list: the newest events first, filtered by type and stream prefix,
 * tailing the client's live buffer and paging older events from `events.list`.
 *
 * Invariants:
 * 1. `rows` is in strictly descending seq order without duplicates.
 * 2. `top` is the highest seq already considered for the live tail; only events above it are
 *    prepended, so an event is never shown twice. A reset (new filter) starts over.
 * 3. Answers to a superseded reset or page request are dropped (`generation`).
 */
import type { EventEnvelope, QueryResult } from '../../worker/api.ts';
import { kernel } from './kernel.svelte.ts';

export const LOG_SCOPE = 'events';
const PAGE = 100;
/** Live events kept on screen before the oldest rows give way (they can be paged in again). */
const MAX_ROWS = 3000;

export interface LogFilter {
  /** Exact event type; '' for all. */
  readonly type: string;
  /** Stream prefix, e.g. `workspace:`; '' for all. */
  readonly stream: string;
}

type EventPage = QueryResult<'events.list'>;

export class EventLogView {
  rows = $state.raw<readonly EventEnvelope[]>([]);
  hasMore = $state.raw(false);
  loading = $state.raw(false);

  #filter: LogFilter = { type: '', stream: '' };
  #top = 0;
  #ready = false;
  #generation = 0;

  /** Show the newest events for `filter`: from the live buffer when unfiltered, else a query. */
  async reset(filter: LogFilter): Promise<void> {
    const generation = ++this.#generation;
    this.#filter = filter;
    this.#ready = false;
    if (!filter.type && !filter.stream) {
      const recent = kernel.recent;
      this.rows = [...recent].reverse();
      this.#top = recent.at(-1)?.seq ?? 0;
      this.hasMore = (this.rows.at(-1)?.seq ?? 1) > 1;
      this.loading = false;
      this.#ready = true;
      return;
    }
    this.loading = true;
    const page = await kernel.query(LOG_SCOPE, 'events.list', { ...params(filter), limit: PAGE });
    if (generation !== this.#generation) return;
    this.loading = false;
    this.rows = page?.events ?? [];
    this.hasMore = (page?.events.length ?? 0) === PAGE;
    this.#top = page?.headSeq ?? 0;
    this.#ready = page !== null;
    this.tail(kernel.recent);
  }

  /** Prepend live events above `top` that match the filter. */
  tail(recent: readonly EventEnvelope[]): void {
    if (!this.#ready || recent.length === 0) return;
    if (this.#top > 0 && recent[0]!.seq > this.#top + 1) {
      // The live buffer moved on past events this view has not seen: start over.
      void this.reset(this.#filter);
      return;
    }
    const fresh = recent.filter((e) => e.seq > this.#top);
    if (fresh.length === 0) return;
    this.#top = fresh.at(-1)!.seq;
    const shown = fresh.filter((e) => matches(e, this.#filter)).reverse();
    if (shown.length === 0) return;
    const next = [...shown, ...this.rows];
    if (next.length > MAX_ROWS) {
      this.rows = next.slice(0, MAX_ROWS);
      this.hasMore = true;
    } else {
      this.rows = next;
    }
  }

  /** Append the page of events just older than the oldest row. */
  async loadOlder(): Promise<void> {
    const oldest = this.rows.at(-1)?.seq;
    if (oldest === undefined || oldest <= 1) {
      this.hasMore = false;
      return;
    }
    const generation = this.#generation;
    this.loading = true;
    const page = await kernel.query(LOG_SCOPE, 'events.list', { ...params(this.#filter), beforeSeq: oldest, limit: PAGE });
    if (generation !== this.#generation) return;
    this.loading = false;
    if (!page) return;
    const last = this.rows.at(-1)?.seq ?? Number.MAX_SAFE_INTEGER;
    this.rows = [...this.rows, ...page.events.filter((e) => e.seq < last)];
    this.hasMore = page.events.length === PAGE;
  }
}

function params(f: LogFilter): { types?: string[]; streamPrefix?: string } {
  return { ...(f.type ? { types: [f.type] } : {}), ...(f.stream ? { streamPrefix: f.stream } : {}) };
}

function matches(e: EventEnvelope, f: LogFilter): boolean {
  return (!f.type || e.type === f.type) && (!f.stream || e.stream.startsWith(f.stream));
}
