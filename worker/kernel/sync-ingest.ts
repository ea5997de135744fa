/**
 * The kernel's side of taking in other devices' events (ingest). Verification is planned in
 * log/ingest.ts; this applies the plan. Loaded when a first ingest runs (kernel.ts), so the
 * first screen carries neither.
 *
 * Invariants:
 * 1. One transaction per ingest: quarantine rows, parked events, accepted events and their
 *    projections commit together or not at all; nothing is published before COMMIT.
 * 2. Accepted events are inserted in merge order; when one sorts before events already applied,
 *    the projections are re-derived in merge order from the newest snapshot before it (or from the
 *    start), so they equal a fresh rebuild.
 * 3. A database that ingests keeps projection snapshots (one every SNAPSHOT_EVERY events), taken
 *    at the head in the ingest's transaction, so re-deriving costs the events after the late one
 *    (plus up to SNAPSHOT_EVERY), not the whole log.
 */
import { KernelError } from './errors.ts';
import type { Sql } from './db/sql.ts';
import type { EventStore } from './log/event-store.ts';
import { mergeKey, type EventEnvelope, type WireEvent } from './log/envelope.ts';
import { parseIngest, planIngest, type Refusal } from './log/ingest.ts';
import { insertCheckpoint } from './log/checkpoint.ts';
import type { ProjectionRegistry } from './projections/registry.ts';
import type { Subscriptions } from './subscriptions.ts';

export interface IngestReport {
  /** Events of other devices applied now (parked ones whose gap filled included). */
  readonly applied: number;
  /** Events already here (sent again): nothing changed for them. */
  readonly duplicates: number;
  /** Events that verified but wait for an earlier event of their chain. */
  readonly parked: number;
  /** Signed checkpoints of other devices verified and stored. */
  readonly checkpoints: number;
  /** Chains refused and quarantined (code `chain_refused`), never applied. */
  readonly refused: readonly Refusal[];
  /** True when an applied event sorted before events already here (projections were re-derived). */
  readonly reordered: boolean;
  /**
   * Events replayed into the projections to re-derive them (0 unless `reordered`): those after the
   * newest projection snapshot before the earliest late event, or the whole log without one.
   */
  readonly replayed: number;
  readonly headSeq: number;
  readonly durationMs: number;
}

/** What ingest works on: the kernel's log, projections and subscribers. */
export interface SyncParts {
  readonly sql: Sql;
  readonly store: EventStore;
  readonly projections: ProjectionRegistry;
  readonly subscriptions: Subscriptions;
}

export async function ingest(k: SyncParts, self: string, nowMs: number, input: unknown, stillOpen: () => void): Promise<IngestReport> {
  const started = performance.now();
  const { events, checkpoints } = parseIngest(input);
  const plan = await planIngest(k.sql, k.store, self, nowMs, events, checkpoints, (d) => k.projections.revokedFrom(d));
  stillOpen();
  const ordOf = (e: WireEvent) => mergeKey(e.hlc, e.device);
  // Merge keys computed once per event, not twice per comparison.
  const accept = plan.accept.map((e) => ({ e, ord: ordOf(e) })).sort((a, b) => (a.ord < b.ord ? -1 : 1)).map((x) => x.e);
  const published: EventEnvelope[] = [];
  const maxOrdBefore = k.store.maxOrd;
  let reordered = false;
  let replayed = 0;
  const at = new Date(nowMs).toISOString();
  try {
    k.sql.transaction(() => {
      for (const r of plan.refused) {
        k.sql.run('INSERT INTO quarantine (device, device_seq, reason, message, event, at) VALUES (?,?,?,?,?,?)',
          [r.device, r.deviceSeq, r.reason, r.message, JSON.stringify(r.event), at]);
      }
      for (const e of plan.park) {
        k.sql.run('INSERT OR IGNORE INTO ingest_parked (device, device_seq, event) VALUES (?,?,?)', [e.device, e.deviceSeq, JSON.stringify(e)]);
      }
      for (const u of plan.unpark) k.sql.run('DELETE FROM ingest_parked WHERE device = ? AND device_seq = ?', [u.device, u.deviceSeq]);
      for (const e of accept) published.push(k.store.insertForeign(e, plan.payloadJson.get(e)));
      reordered = accept.length > 0 && ordOf(accept[0]!) < maxOrdBefore;
      // A removed imported copy re-derives from its first imported event (decision 40).
      const removal = k.projections.view?.rederiveFrom(published) ?? null;
      const from = [reordered ? ordOf(accept[0]!) : null, removal].filter((o) => o !== null).sort()[0];
      if (from !== undefined) {
        // Re-derived in merge order from the newest snapshot before the earliest late event, so
        // they equal a fresh rebuild (decision 21).
        replayed = k.projections.rederive(k.store, from).replayed;
      } else {
        for (const e of published) k.projections.apply(e);
      }
      for (const c of plan.checkpoints) insertCheckpoint(k.sql, c);
      if (published.length > 0) {
        k.projections.setHead(k.store.currentHead.seq);
        k.projections.snapshotIfDue(k.store, self);
      }
    });
  } catch (err) {
    k.store.discardPending();
    k.projections.discard();
    throw KernelError.from(err);
  }
  k.store.commitHead();
  if (published.length > 0) k.subscriptions.publish(published);
  return {
    applied: published.length, duplicates: plan.duplicates, parked: plan.park.length, checkpoints: plan.checkpoints.length,
    refused: plan.refused.map(({ event: _e, ...r }) => r), reordered, replayed,
    headSeq: k.store.committedHead.seq, durationMs: Math.round(performance.now() - started),
  };
}
