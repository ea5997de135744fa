/**
 * The events the chain picture shows, and what signs or audits them.
 *
 * Invariants:
 * 1. `events` is a run of events in ascending seq order, at most WINDOW long. Following the head
 *    (`pinnedAt === null`), it is the newest WINDOW events of the client's live buffer, replaced at
 *    most once per FOLLOW_MS however many batches arrive (the picture never re-lays out per event).
 *    Pinned, it is the WINDOW events from `pinnedAt` on, loaded with `events.list` and left alone.
 * 2. `checkpoints` and `audit` hold the signed checkpoints and audit entries that point into the
 *    window, re-read (coalesced) when the window moves or the kernel's checkpoint/audit heads move.
 *    Answers for a window that has moved on since are dropped.
 */
import type { AuditEntry, Checkpoint, EventEnvelope, QueryResult } from '../../worker/api.ts';
import { kernel } from './kernel.svelte.ts';
import { Coalescer } from './coalesce.ts';

export const CHAIN_SCOPE = 'chain';
/** Blocks shown. */
export const WINDOW = 40;
/** Longest wait before the picture follows new events. */
const FOLLOW_MS = 250;
/** Largest page of the audit and checkpoint queries. */
const PAGE = 1000;

type EventPage = QueryResult<'events.list'>;

export class ChainWindow {
  events = $state.raw<readonly EventEnvelope[]>([]);
  checkpoints = $state.raw<ReadonlyMap<number, Checkpoint>>(new Map());
  audit = $state.raw<ReadonlyMap<number, readonly AuditEntry[]>>(new Map());
  /** First seq of a pinned window; null while following the head. */
  pinnedAt = $state.raw<number | null>(null);
  loading = $state.raw(false);

  #timer: ReturnType<typeof setTimeout> | null = null;
  #annotating = new Coalescer();
  #generation = 0;

  get first(): number {
    return this.events[0]?.seq ?? 0;
  }

  get last(): number {
    return this.events.at(-1)?.seq ?? 0;
  }

  /** Called whenever the live buffer changes; follows it, coalesced. */
  follow(): void {
    if (this.pinnedAt !== null || this.#timer !== null) return;
    if (this.events.length === 0) {
      this.#takeRecent();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.pinnedAt === null) this.#takeRecent();
    }, FOLLOW_MS);
  }

  /** Show the window around `seq` (WINDOW/2 events before it). */
  async pin(seq: number): Promise<boolean> {
    const afterSeq = Math.max(0, seq - WINDOW / 2);
    const generation = ++this.#generation;
    this.loading = true;
    const page = await kernel.query(CHAIN_SCOPE, 'events.list', { order: 'asc', afterSeq, limit: WINDOW });
    if (generation !== this.#generation) return false;
    this.loading = false;
    if (!page) return false;
    this.pinnedAt = afterSeq + 1;
    this.events = page.events;
    return true;
  }

  /** Back to the newest events. */
  unpin(): void {
    ++this.#generation;
    this.loading = false;
    this.pinnedAt = null;
    this.#takeRecent();
  }

  dispose(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    ++this.#generation;
  }

  /** Re-read the checkpoints and audit entries of the current window (coalesced). */
  annotate(): Promise<void> {
    return this.#annotating.run('annotate', async () => {
      const first = this.first;
      const last = this.last;
      if (first === 0) return;
      const [checkpoints, audit] = await Promise.all([
        kernel.query(CHAIN_SCOPE, 'checkpoints.list', { afterSeq: first - 1, limit: Math.min(PAGE, last - first + 1) }),
        auditBetween(first, last, kernel.status?.auditSeq ?? null),
      ]);
      if (first !== this.first || last !== this.last) return; // moved on: the next run catches up
      this.checkpoints = new Map((checkpoints ?? []).filter((c) => c.seq <= last).map((c) => [c.seq, c]));
      const byEvent = new Map<number, AuditEntry[]>();
      for (const a of audit ?? []) {
        const list = byEvent.get(a.eventSeq);
        if (list) list.push(a);
        else byEvent.set(a.eventSeq, [a]);
      }
      this.audit = byEvent;
    });
  }

  #takeRecent(): void {
    const recent = kernel.recent;
    const next = recent.length > WINDOW ? recent.slice(recent.length - WINDOW) : recent;
    if (next.length === this.events.length && next[0]?.seq === this.events[0]?.seq && next.at(-1)?.seq === this.events.at(-1)?.seq) return;
    this.events = next;
  }
}

/**
 * The audit entries that point at events `first`…`last`. `audit.list` pages by audit seq only, but
 * entries are written with their events, so their event seqs ascend: bisect for the first entry
 * at or after `first` (a few one-entry reads on a long audit chain), then read one page from there.
 * (An `eventSeq` range on `audit.list` would make this one query.)
 */
export async function auditBetween(first: number, last: number, count: number | null): Promise<AuditEntry[] | null> {
  let lo = 0; // entries up to lo point before `first`
  let hi = count ?? 0; // the entry after hi (if any) points at or after `first`
  while (hi - lo > PAGE) {
    const mid = Math.floor((lo + hi) / 2);
    const probe = await kernel.query(CHAIN_SCOPE, 'audit.list', { afterSeq: mid - 1, limit: 1 });
    if (!probe) return null;
    const entry = probe[0];
    if (entry && entry.eventSeq < first) lo = mid;
    else hi = mid;
  }
  const page = await kernel.query(CHAIN_SCOPE, 'audit.list', { afterSeq: lo, limit: PAGE });
  return page?.filter((a) => a.eventSeq >= first && a.eventSeq <= last) ?? null;
}

/** The event an audit entry points to (for a break in the audit chain), or null. */
export async function auditEventSeq(auditSeq: number): Promise<number | null> {
  const page = await kernel.query(CHAIN_SCOPE, 'audit.list', { afterSeq: Math.max(0, auditSeq - 1), limit: 1 });
  return page?.[0]?.eventSeq ?? null;
}
