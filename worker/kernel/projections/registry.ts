/**
 * Projection registry: keeps every projection's tables in step with the log.
 *
 * Invariants:
 * 1. Each projection's head (`projections.head_seq`) is updated in the same transaction as the
 *    events it applied, so after a crash tables and head agree and boot replays nothing.
 * 2. On open, a projection whose stored version differs from its code (or that is new) is rebuilt
 *    from the log; one behind the log (added later) catches up from its head.
 * 3. `digest()` is a SHA-256 over each owned table's schema and rows in a total order; a rebuild
 *    from the same log yields the same digest.
 * 4. Projections see events in MERGE order (hlc, device, hash), with `seq`/`streamSeq` replaced by
 *    the event's merge positions, so every device holding the same events derives the same
 *    tables. While the log is in arrival order (store.inArrivalOrder) those equal the stored
 *    values and replays go by seq; otherwise they go by merge key.
 * 5. When events arrive that sort before events already applied, `rederive` restores the newest
 *    projection snapshot before the earliest of them (projections/snapshots.ts) and replays only
 *    what follows it; without one it replays the whole log. Either way the tables equal a fresh
 *    rebuild in merge order.
 * 6. An event a device wrote after its removal (in merge order) reaches no projection
 *    (worker/kernel/devices.ts, invariant 1) and has no merge position: the positions are ranks
 *    among the events that count, so a device that holds such events (they came before the
 *    removal did) derives the same tables as one that never took them in.
 * 7. Projections see events through the `view` (workspace-file/imported.ts): an imported event
 *    as its original, or nothing once its copy was removed (it keeps its merge position).
 */
import type { Sql } from '../db/sql.ts';
import type { Projection } from '../module.ts';
import { mergeKey, ORD_SQL, type EventEnvelope } from '../log/envelope.ts';
import type { EventStore } from '../log/event-store.ts';
import { canonicalJson } from '../log/canonical.ts';
import { sha256Hex } from '../log/hash.ts';
import { KernelError } from '../errors.ts';
import { ProjectionSnapshots, type Snapshot } from './snapshots.ts';
import { revocations } from '../devices.ts';

export interface ProjectionStatus {
  readonly name: string;
  readonly version: number;
  readonly headSeq: number;
  readonly tables: readonly string[];
}

const REPLAY_PAGE = 1000;

/** Take a projection snapshot after an ingest once this many events came since the newest one. */
export const SNAPSHOT_EVERY = 2000;

export interface RederiveReport {
  /** Events replayed into the projections. */
  readonly replayed: number;
  /** Merge position the replay started after (0: from the first event). */
  readonly fromPos: number;
}

/** What projections see of a stored event (imported copies, decision 40). */
export interface EventView {
  /** Types of stored events it may present as events of other types. */
  readonly carriers: readonly string[];
  /** `e` as projections see it, or null when it applies to none. */
  present(e: EventEnvelope): EventEnvelope | null;
  /** The merge key to re-derive from after `events` were stored (a copy removed), or null. */
  rederiveFrom(events: readonly Pick<EventEnvelope, 'type' | 'payload'>[]): string | null;
  forget(): void;
}

export class ProjectionRegistry {
  private readonly byType = new Map<string, Projection[]>();
  private readonly forAll: Projection[] = [];
  private readonly names: readonly string[];
  private readonly setHeadSql: string;
  private readonly snapshots: ProjectionSnapshots;
  /** Removed devices and the merge key from which their events no longer count (cached). */
  private revoked: Map<string, string> | null = null;
  /** The stored events that do not count (cached with `revoked`): few, a removed device's last. */
  private uncountedEvents: { ord: string; stream: string }[] | null = null;

  constructor(
    private readonly sql: Sql,
    readonly projections: readonly Projection[],
    private readonly snapshotEvery = SNAPSHOT_EVERY,
    readonly view: EventView | null = null,
  ) {
    this.snapshots = new ProjectionSnapshots(sql, projections);
    this.names = projections.map((p) => p.name);
    this.setHeadSql = `UPDATE projections SET head_seq = ? WHERE name IN (${this.names.map(() => '?').join(',') || 'NULL'})`;
    const names = new Set<string>();
    const tables = new Set<string>();
    for (const p of projections) {
      if (names.has(p.name)) throw new Error(`projection ${p.name} registered twice`);
      names.add(p.name);
      for (const t of p.tables) {
        if (tables.has(t)) throw new Error(`table ${t} is owned by two projections`);
        tables.add(t);
      }
      if (!p.eventTypes) this.forAll.push(p);
      else for (const type of p.eventTypes) {
        const list = this.byType.get(type) ?? [];
        list.push(p);
        this.byType.set(type, list);
      }
    }
  }

  /** Bring every projection to the log head; returns the names that were rebuilt or caught up. */
  ensure(store: EventStore): { rebuilt: string[]; caughtUp: string[] } {
    const head = store.committedHead.seq;
    const rows = new Map(this.sql.all('SELECT name, version, head_seq FROM projections')
      .map((r) => [String(r['name']), { version: Number(r['version']), head: Number(r['head_seq']) }]));
    const rebuilt: string[] = [];
    const behind: { p: Projection; head: number }[] = [];
    let ahead: KernelError | null = null;
    for (const p of this.projections) {
      const row = rows.get(p.name);
      if (!row || row.version !== p.version || (row.head < head && !store.inArrivalOrder)) rebuilt.push(p.name);
      else if (row.head < head) behind.push({ p, head: row.head });
      else if (row.head > head) {
        ahead ??= new KernelError('integrity_error',
          `Projection ${p.name} is at seq ${row.head} but the log ends at ${head}; run rebuild to repair it.`,
          { projection: p.name, projectionHead: row.head, logHead: head });
      }
    }
    // All rebuilt in one pass over the log (rebuild drops the snapshots, which no longer hold),
    // before the others catch up (they read the removals kernel_devices holds).
    if (rebuilt.length > 0) this.rebuild(store, rebuilt);
    for (const b of behind) {
      this.sql.transaction(() => {
        this.replayInto([b.p], store, b.head);
        this.sql.run('UPDATE projections SET head_seq = ? WHERE name = ?', [head, b.p.name]);
      });
    }
    if (ahead) throw ahead;
    const caughtUp = behind.map((b) => b.p.name);
    return { rebuilt, caughtUp };
  }

  /** Apply one freshly appended event to every interested projection (inside the transaction). */
  apply(stored: EventEnvelope): void {
    if (!this.counts(stored)) {
      this.uncountedEvents = null; // one more
      return;
    }
    const event = this.present(this.placed(stored));
    if (event) {
      for (const p of this.forAll) p.apply(event, this.sql);
      const list = this.byType.get(event.type);
      if (list) for (const p of list) p.apply(event, this.sql);
    }
    if (stored.type === 'device.revoked') this.forget();
  }

  private present(e: EventEnvelope): EventEnvelope | null { return this.view ? this.view.present(e) : e; }

  /** After a rollback: what this registry cached from its tables may be gone. */
  discard(): void {
    this.forget();
  }

  /** The merge key from which `device`'s events no longer count (it was removed), or undefined. */
  revokedFrom(device: string): string | undefined {
    return (this.revoked ??= revocations(this.sql)).get(device);
  }

  /**
   * How many events that do not count (a removed device's after its removal) sort before `ord`
   * (`inclusive`: at or before it; null: all of them), in all and in `stream`. Stored positions
   * count them, merge positions do not.
   */
  uncounted(ord: string | null, stream = '', inclusive = false): { all: number; inStream: number } {
    if (!this.uncountedEvents) {
      this.uncountedEvents = [];
      for (const [device, from] of (this.revoked ??= revocations(this.sql))) {
        for (const r of this.sql.all(`SELECT ${ORD_SQL} AS ord, stream FROM events WHERE device = ? AND ${ORD_SQL} > ?`, [device, from])) {
          this.uncountedEvents.push({ ord: String(r['ord']), stream: String(r['stream']) });
        }
      }
    }
    let all = 0;
    let inStream = 0;
    for (const u of this.uncountedEvents) {
      if (ord !== null && (inclusive ? u.ord > ord : u.ord >= ord)) continue;
      all++;
      if (u.stream === stream) inStream++;
    }
    return { all, inStream };
  }

  /** Drop what is cached of the removals (they changed, or the tables were rolled back or replaced). */
  private forget(): void {
    this.revoked = null;
    this.uncountedEvents = null;
    this.view?.forget();
  }

  /** `e` at its stored positions (every event before it in merge order stored before it) moved to its merge positions. */
  private placed(e: EventEnvelope): EventEnvelope {
    if ((this.revoked ??= revocations(this.sql)).size === 0) return e;
    const u = this.uncounted(mergeKey(e.hlc, e.device), e.stream);
    return u.all === 0 ? e : { ...e, seq: e.seq - u.all, streamSeq: e.streamSeq - u.inStream };
  }

  /** Whether `e` counts: not written by a device after its removal. */
  private counts(e: EventEnvelope): boolean {
    const from = this.revokedFrom(e.device);
    return from === undefined || mergeKey(e.hlc, e.device) < from;
  }

  /** Apply `e` to those of `selected` that take its type (replays); `stored`: at its stored positions. */
  private replayOne(selected: readonly Projection[], stored: EventEnvelope, atStored: boolean): void {
    if (!this.counts(stored)) return;
    const e = this.present(atStored ? this.placed(stored) : stored);
    if (e) for (const p of selected) if (wants(p, e.type)) p.apply(e, this.sql);
    if (stored.type === 'device.revoked') this.forget();
  }

  /** Record the new head for all projections (inside the transaction). */
  setHead(seq: number): void {
    // Only this registry's projections: one that is not loaded now must catch up when it returns.
    this.sql.run(this.setHeadSql, [seq, ...this.names]);
  }

  /** Drop, recreate and replay the named projections (all by default) in one transaction. */
  rebuild(store: EventStore, names?: readonly string[]): void {
    const selected = this.select(names);
    this.sql.transaction(() => {
      this.snapshots.dropAll();
      for (const p of selected) this.recreate(p);
      // One pass over the log for all of them (the conflicts projection reads every event).
      if (store.inArrivalOrder) this.replayInto(selected, store, 0);
      else this.replayMerged(selected, store);
      for (const p of selected) this.recordHead(p, store);
    });
  }

  /**
   * `rebuild` with each projection's digest before and after (identical: the tables were what the
   * log says). Throws KernelError.
   */
  rebuildCompared(store: EventStore, names?: readonly string[]): { name: string; before: string; after: string; identical: boolean }[] {
    const before = this.digest(names);
    try {
      this.rebuild(store, names);
    } catch (err) {
      throw KernelError.from(err);
    }
    const after = this.digest(names);
    return Object.keys(before).map((name) => ({ name, before: before[name]!, after: after[name]!, identical: before[name] === after[name] }));
  }

  /**
   * Re-derive every projection after events were inserted that sort before events already
   * applied, the earliest of them at merge key `fromOrd` (inside the inserting transaction): from
   * the newest snapshot before it, else from the first event.
   */
  rederive(store: EventStore, fromOrd: string): RederiveReport {
    this.snapshots.dropFrom(fromOrd);
    const snapshot = this.snapshots.newestBefore(fromOrd);
    this.forget();
    if (snapshot) this.snapshots.restore(snapshot);
    else for (const p of this.projections) this.recreate(p);
    const replayed = this.replayMerged(this.projections, store, snapshot);
    for (const p of this.projections) this.recordHead(p, store);
    return { replayed, fromPos: snapshot?.pos ?? 0 };
  }

  /**
   * Take a snapshot at the head (inside the transaction that brought the projections there) when
   * `snapshotEvery` events came since the newest one. Returns whether it took one.
   */
  snapshotIfDue(store: EventStore, self: string): boolean {
    const pos = store.currentHead.seq - this.uncounted(store.maxOrd, '', true).all;
    if (pos - this.snapshots.newestPos() < this.snapshotEvery) return false;
    let frontier = store.maxOrd;
    for (const [device, head] of store.chainHeads()) {
      const ord = mergeKey(head.hlc, device);
      if (device !== self && ord < frontier) frontier = ord;
    }
    this.snapshots.take(store.maxOrd, pos, frontier);
    return true;
  }

  digest(names?: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const p of this.select(names)) {
      let acc = '';
      for (const table of p.tables) acc += tableDigest(this.sql, table) + '\n';
      out[p.name] = sha256Hex(acc);
    }
    return out;
  }

  status(): ProjectionStatus[] {
    const rows = new Map(this.sql.all('SELECT name, head_seq FROM projections').map((r) => [String(r['name']), Number(r['head_seq'])]));
    return this.projections.map((p) => ({ name: p.name, version: p.version, headSeq: rows.get(p.name) ?? 0, tables: p.tables }));
  }

  private select(names?: readonly string[]): Projection[] {
    if (!names || names.length === 0) return [...this.projections];
    return names.map((n) => {
      const p = this.projections.find((x) => x.name === n);
      if (!p) {
        throw new KernelError('not_found', `No projection named "${n}"; known: ${this.projections.map((x) => x.name).join(', ')}.`, { name: n });
      }
      return p;
    });
  }

  private recreate(p: Projection): void {
    this.forget();
    for (const t of p.tables) this.sql.exec(`DROP TABLE IF EXISTS "${t}"`);
    this.sql.clearCache(); // statements on dropped tables are invalid now
    this.sql.exec(p.createSql);
  }

  private recordHead(p: Projection, store: EventStore): void {
    this.sql.run(
      `INSERT INTO projections (name, version, head_seq) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET version = excluded.version, head_seq = excluded.head_seq`,
      [p.name, p.version, store.currentHead.seq],
    );
  }

  /**
   * Replay in merge order every event after `from` (all without it) into `selected`, each with its
   * merge positions as `seq` and `streamSeq` (rank among all events, rank within its stream).
   * Returns how many events it replayed.
   */
  private replayMerged(selected: readonly Projection[], store: EventStore, from: Snapshot | null = null): number {
    const streams = new Map<string, number>();
    // A stream's events up to the snapshot keep their ranks; count them once, when it first shows.
    const before = (stream: string) => (from
      ? Number(this.sql.value(`SELECT count(*) FROM events WHERE stream = ? AND ${ORD_SQL} <= ?`, [stream, from.ord])) - this.uncounted(from.ord, stream, true).inStream : 0);
    let pos = from?.pos ?? 0;
    let cursor = from?.ord ?? '';
    for (;;) {
      // Positions go to the events that count only (invariant 6), so they are given here.
      const page = store.readMerged(cursor, REPLAY_PAGE, unplaced);
      for (const e of page.events) {
        if (!this.counts(e)) continue;
        const streamSeq = (streams.get(e.stream) ?? before(e.stream)) + 1;
        streams.set(e.stream, streamSeq);
        this.replayOne(selected, Object.assign(e, { seq: ++pos, streamSeq }), false);
      }
      if (page.events.length < REPLAY_PAGE) break;
      cursor = page.lastOrd;
    }
    return pos - (from?.pos ?? 0);
  }

  /** Replay the events after `afterSeq` in seq order into `selected` (only the types they take). */
  private replayInto(selected: readonly Projection[], store: EventStore, afterSeq: number): void {
    const all = selected.some((p) => !p.eventTypes);
    // Imported events (the view's carriers) are read whatever their originals' types.
    const filter = all ? {} : { types: [...new Set([...selected.flatMap((p) => p.eventTypes ?? []), ...(this.view?.carriers ?? [])])] };
    let cursor = afterSeq;
    for (;;) {
      const page = store.readAfter(cursor, REPLAY_PAGE, filter);
      for (const e of page) this.replayOne(selected, e, true);
      if (page.length < REPLAY_PAGE) break;
      cursor = page[page.length - 1]!.seq;
    }
  }
}

const unplaced = () => ({ seq: 0, streamSeq: 0 });

/** Whether projection `p` takes events of `type`. */
function wants(p: Projection, type: string): boolean {
  return !p.eventTypes || p.eventTypes.includes(type);
}

/** SHA-256 over a table's CREATE statement and all its rows, ordered by every column. */
export function tableDigest(sql: Sql, table: string): string {
  const schema = sql.value("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]);
  const cols = sql.all(`PRAGMA table_info("${table}")`).map((r) => String(r['name']));
  if (cols.length === 0) return sha256Hex(`missing:${table}`);
  const order = cols.map((_, i) => String(i + 1)).join(', ');
  const rows = sql.all(`SELECT * FROM "${table}" ORDER BY ${order}`);
  let acc = String(schema) + '\n';
  for (const r of rows) acc += rowJson(cols.map((c) => normalise(r[c]))) + '\n';
  return sha256Hex(acc);
}

/**
 * canonicalJson of a flat array of column values. JSON.stringify gives the same bytes for strings,
 * finite numbers and null (canonicalJson encodes exactly those with JSON.stringify); anything else
 * (non-finite REAL, nested arrays from blobs) goes through canonicalJson as before.
 */
function rowJson(values: unknown[]): string {
  for (const v of values) {
    if (v !== null && typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) return canonicalJson(values);
  }
  return JSON.stringify(values);
}

function normalise(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Array.from(v);
  return v ?? null;
}
