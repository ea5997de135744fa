/**
 * The append-only event log: appending sealed envelopes and reading them back (upcast).
 *
 * Invariants:
 * 1. `append` must run inside the caller's write transaction; the in-memory head only moves in
 *    `commitHead()`, called after COMMIT, so a rolled-back append leaves the cache untouched.
 * 2. seq (arrival order here) is gapless from 1, streamSeq gapless per stream; every device's
 *    events form one chain: deviceSeq gapless, prev = hash of the device's previous event, hlc
 *    strictly increasing. This device's own appends always sort last in merge order (its clock
 *    has observed every hlc in the log).
 * 3. Reads return events at their current schema version (stored form is never rewritten).
 */
import type { Sql, Row } from '../db/sql.ts';
import { type EventEnvelope, hashEventWithPayloadJson, mergeKey, ORD_SQL, type WireEvent } from './envelope.ts';
import { HybridClock } from './hlc.ts';
import { canonicalJson } from './canonical.ts';
import { GENESIS } from './hash.ts';
import { KernelError, type Json } from '../errors.ts';
import type { EventDefinition } from '../module.ts';

export interface Head {
  readonly seq: number;
  readonly hash: string;
}

/** The newest event of one device's chain. */
export interface ChainHead {
  readonly deviceSeq: number;
  readonly hash: string;
  readonly hlc: string;
}

export interface EventFilter {
  readonly types?: readonly string[];
  readonly typePrefix?: string;
  readonly stream?: string;
  readonly streamPrefix?: string;
}

export interface PendingEvent {
  readonly id: string;
  readonly stream: string;
  readonly type: string;
  readonly v: number;
  readonly at: string;
  readonly actor: string;
  readonly payload: Json;
}

const STREAM_CACHE_LIMIT = 50_000;
const SELECT_COLUMNS = 'seq, id, device, device_seq, hlc, stream, stream_seq, stream_base, type, v, at, actor, payload, prev, hash';
const INSERT_SQL = `INSERT INTO events (seq, id, device, device_seq, hlc, stream, stream_seq, stream_base, type, v, at, actor, payload, prev, hash)
  VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`;
const NO_CHAIN: ChainHead = { deviceSeq: 0, hash: GENESIS, hlc: '' };

export class EventStore {
  private head: Head = { seq: 0, hash: GENESIS };
  private pendingHead: Head | null = null;
  private readonly streamVersions = new Map<string, number>();
  private pendingStreams = new Map<string, number>();
  private readonly chains = new Map<string, ChainHead>();
  private pendingChains = new Map<string, ChainHead>();
  private lastOrd = '';
  private pendingOrd: string | null = null;
  private reordered = false;
  private pendingReordered = false;
  readonly clock: HybridClock;

  constructor(
    private readonly sql: Sql,
    private readonly events: ReadonlyMap<string, EventDefinition>,
    /** The device this database belongs to: the chain `append` extends. */
    private ownDevice: string,
    now: () => number,
  ) {
    this.clock = new HybridClock(now);
    this.reloadHead();
  }

  definition(type: string): EventDefinition | undefined {
    return this.events.get(type);
  }

  get committedHead(): Head {
    return this.head;
  }

  /** Head including appends of the open transaction. */
  get currentHead(): Head {
    return this.pendingHead ?? this.head;
  }

  streamVersion(stream: string): number {
    const pending = this.pendingStreams.get(stream);
    if (pending !== undefined) return pending;
    const cached = this.streamVersions.get(stream);
    if (cached !== undefined) return cached;
    const v = Number(this.sql.value('SELECT COALESCE(MAX(stream_seq), 0) FROM events WHERE stream = ?', [stream]) ?? 0);
    this.streamVersions.set(stream, v);
    return v;
  }

  /** The device whose chain `append` extends. */
  get device(): string {
    return this.ownDevice;
  }

  /** Continue as a new device chain (after a repair cut this device's chain back). */
  switchDevice(device: string): void {
    this.ownDevice = device;
  }

  /** The newest event of `device`'s chain here, including the open transaction's appends. */
  chainHead(device: string): ChainHead {
    const pending = this.pendingChains.get(device);
    if (pending) return pending;
    const cached = this.chains.get(device);
    if (cached) return cached;
    const row = this.sql.get('SELECT device_seq, hash, hlc FROM events WHERE device = ? ORDER BY device_seq DESC LIMIT 1', [device]);
    const head = row ? { deviceSeq: Number(row['device_seq']), hash: String(row['hash']), hlc: String(row['hlc']) } : NO_CHAIN;
    this.chains.set(device, head);
    return head;
  }

  /** Every device with events here and its chain head (committed). */
  chainHeads(): Map<string, ChainHead> {
    const out = new Map<string, ChainHead>();
    for (const r of this.sql.all(`SELECT device, MAX(device_seq) AS n FROM events GROUP BY device`)) {
      out.set(String(r['device']), this.chainHead(String(r['device'])));
    }
    return out;
  }

  /** The greatest merge key applied (including the open transaction). */
  get maxOrd(): string {
    return this.pendingOrd ?? this.lastOrd;
  }

  /** Seal this device's next event and insert it at the head. Call inside a write transaction. */
  append(e: PendingEvent): EventEnvelope {
    const chain = this.chainHead(this.device);
    const payloadJson = canonicalJson(e.payload);
    const streamBase = this.streamVersion(e.stream);
    const wire: Omit<WireEvent, 'payload' | 'hash'> = {
      id: e.id, device: this.device, deviceSeq: chain.deviceSeq + 1, hlc: this.clock.tick(), prev: chain.hash,
      stream: e.stream, streamBase, type: e.type, v: e.v, at: e.at, actor: e.actor,
    };
    return this.insert(wire, payloadJson, hashEventWithPayloadJson(wire, payloadJson), streamBase + 1);
  }

  /**
   * Insert another device's event, already verified by the caller (ingest): it extends that
   * device's chain here and takes the next local seq. Call inside a write transaction.
   * `payloadJson`: the payload's canonical JSON when the caller encoded it already (to check the hash).
   */
  insertForeign(e: WireEvent, payloadJson = canonicalJson(e.payload)): EventEnvelope {
    this.clock.observe(e.hlc);
    return this.insert(e, payloadJson, e.hash, this.streamVersion(e.stream) + 1);
  }

  private insert(w: Omit<WireEvent, 'payload' | 'hash'>, payloadJson: string, hash: string, streamSeq: number): EventEnvelope {
    const seq = this.currentHead.seq + 1;
    const ord = mergeKey(w.hlc, w.device);
    this.sql.run(INSERT_SQL, [seq, w.id, w.device, w.deviceSeq, w.hlc, w.stream, streamSeq, w.streamBase, w.type, w.v, w.at, w.actor, payloadJson, w.prev, hash]);
    this.pendingHead = { seq, hash };
    this.pendingStreams.set(w.stream, streamSeq);
    this.pendingChains.set(w.device, { deviceSeq: w.deviceSeq, hash, hlc: w.hlc });
    if (ord > this.maxOrd) this.pendingOrd = ord;
    else if (this.inArrivalOrder) {
      // The first event that sorts before events already here: from now on the merge order is
      // not the arrival order, and replays go by merge key (projections/registry.ts).
      this.sql.run("INSERT INTO meta (key, value) VALUES ('merge_order', 'reordered') ON CONFLICT (key) DO UPDATE SET value = excluded.value");
      this.pendingReordered = true;
    }
    // Hand on the payload exactly as stored (canonical key order), so live projections and
    // subscribers see what a rebuild or a later read sees.
    // A literal of one shape, not a spread: this runs once per event.
    return {
      id: w.id, seq, stream: w.stream, streamSeq, streamBase: w.streamBase, type: w.type, v: w.v, at: w.at, actor: w.actor,
      device: w.device, deviceSeq: w.deviceSeq, hlc: w.hlc, payload: JSON.parse(payloadJson) as Json, prev: w.prev, hash,
    };
  }

  /** After COMMIT: make the transaction's appends the committed head. */
  commitHead(): void {
    if (this.pendingHead) this.head = this.pendingHead;
    if (this.pendingOrd !== null) this.lastOrd = this.pendingOrd;
    if (this.pendingReordered) this.reordered = true;
    // Bounded: a cache, not an index (one entry per stream would grow with every session ever run).
    if (this.streamVersions.size > STREAM_CACHE_LIMIT) this.streamVersions.clear();
    for (const [s, v] of this.pendingStreams) this.streamVersions.set(s, v);
    for (const [d, h] of this.pendingChains) this.chains.set(d, h);
    this.discardPending();
  }

  /** After ROLLBACK. */
  discardPending(): void {
    this.pendingHead = null;
    this.pendingStreams = new Map();
    this.pendingChains = new Map();
    this.pendingOrd = null;
    this.pendingReordered = false;
  }

  /**
   * True while every event here was inserted at the end of the merge order (always, until another
   * device's event arrived that sorts before events already here): then merge positions equal
   * `seq`/`streamSeq` and a replay by seq is a replay in merge order.
   */
  get inArrivalOrder(): boolean {
    return !this.reordered && !this.pendingReordered;
  }

  /** Forget cached heads (after the tables changed underneath, e.g. in tests that tamper). */
  reloadHead(): void {
    this.streamVersions.clear();
    this.chains.clear();
    this.discardPending();
    const row = this.sql.get('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1');
    this.head = row ? { seq: Number(row['seq']), hash: String(row['hash']) } : { seq: 0, hash: GENESIS };
    // The greatest merge key also carries the greatest hlc (ord starts with it, fixed width): one
    // lookup on the ord index. MAX(hlc) has no index and scanned the whole table at every open.
    const last = this.sql.get(`SELECT ${ORD_SQL} AS ord, hlc FROM events ORDER BY ${ORD_SQL} DESC LIMIT 1`);
    this.lastOrd = last ? String(last['ord']) : '';
    this.reordered = this.sql.value("SELECT value FROM meta WHERE key = 'merge_order'") === 'reordered';
    if (last) this.clock.observe(String(last['hlc']));
  }

  /**
   * Events in merge order after `afterOrd` (exclusive), at most `limit`, upcast, each with the
   * positions `place` gives it (called once per event, in order) as `seq` and `streamSeq`.
   * `lastOrd` is the merge key of the last one (the next page's cursor).
   */
  readMerged(afterOrd: string, limit: number, place: (stream: string) => { seq: number; streamSeq: number }): { events: EventEnvelope[]; lastOrd: string } {
    const rows = this.sql.all(`SELECT ${SELECT_COLUMNS}, ${ORD_SQL} AS ord FROM events WHERE ${ORD_SQL} > ? ORDER BY ${ORD_SQL} ASC LIMIT ?`, [afterOrd, limit]);
    const events = rows.map((r) => {
      const at = place(String(r['stream']));
      return this.upcast(rowToEnvelope(r, at.seq, at.streamSeq));
    });
    return { events, lastOrd: rows.length > 0 ? String(rows[rows.length - 1]!['ord']) : afterOrd };
  }

  /** Events with seq > afterSeq, ascending, at most `limit`, upcast to current versions. */
  readAfter(afterSeq: number, limit: number, filter: EventFilter = {}): EventEnvelope[] {
    const { where, bind } = filterClause(filter);
    const rows = this.sql.all(
      `SELECT ${SELECT_COLUMNS} FROM events WHERE seq > ? ${where} ORDER BY seq ASC LIMIT ?`,
      [afterSeq, ...bind, limit],
    );
    return rows.map((r) => this.upcast(rowToEnvelope(r)));
  }

  /** Newest first, for the log view: events with seq < beforeSeq. */
  readBefore(beforeSeq: number, limit: number, filter: EventFilter = {}): EventEnvelope[] {
    const { where, bind } = filterClause(filter);
    const rows = this.sql.all(
      `SELECT ${SELECT_COLUMNS} FROM events WHERE seq < ? ${where} ORDER BY seq DESC LIMIT ?`,
      [beforeSeq, ...bind, limit],
    );
    return rows.map((r) => this.upcast(rowToEnvelope(r)));
  }

  /** One event exactly as stored (not upcast): the form its hash covers, as sent to other devices. */
  readStored(seq: number): EventEnvelope | undefined {
    const row = this.sql.get(`SELECT ${SELECT_COLUMNS} FROM events WHERE seq = ?`, [seq]);
    return row ? rowToEnvelope(row) : undefined;
  }

  /** One device's events after chain position `afterDeviceSeq`, in chain order, at most `limit`, as stored (one query). */
  readStoredChain(device: string, afterDeviceSeq: number, limit: number): EventEnvelope[] {
    return this.sql.all(`SELECT ${SELECT_COLUMNS} FROM events WHERE device = ? AND device_seq > ? ORDER BY device_seq LIMIT ?`, [device, afterDeviceSeq, limit])
      .map((r) => rowToEnvelope(r));
  }

  readOne(seq: number): EventEnvelope | undefined {
    const row = this.sql.get(`SELECT ${SELECT_COLUMNS} FROM events WHERE seq = ?`, [seq]);
    return row ? this.upcast(rowToEnvelope(row)) : undefined;
  }

  count(filter: EventFilter = {}): number {
    const { where, bind } = filterClause(filter);
    return Number(this.sql.value(`SELECT COUNT(*) FROM events WHERE 1=1 ${where}`, bind) ?? 0);
  }

  /** Lift a stored event to the current version of its type (unknown types pass through). */
  upcast(e: EventEnvelope): EventEnvelope {
    const def = this.events.get(e.type);
    if (!def || e.v === def.version) return e;
    if (e.v > def.version) {
      throw new KernelError('upcast_failed',
        `Event ${e.seq} (${e.type}) has version ${e.v}, newer than this app's ${def.version}; update Kingdom.`,
        { seq: e.seq, type: e.type, v: e.v, current: def.version });
    }
    let payload = e.payload;
    for (let v = e.v; v < def.version; v++) {
      const up = def.upcasters?.find((u) => u.fromVersion === v);
      if (!up) {
        throw new KernelError('upcast_failed',
          `No upcaster lifts ${e.type} from version ${v} to ${v + 1} (event seq ${e.seq}); register one in the event definition.`,
          { seq: e.seq, type: e.type, from: v });
      }
      payload = up.up(payload);
    }
    return { ...e, v: def.version, payload };
  }
}

export function rowToEnvelope(r: Row, seq = Number(r['seq']), streamSeq = Number(r['stream_seq'])): EventEnvelope {
  return {
    id: String(r['id']),
    seq,
    stream: String(r['stream']),
    streamSeq,
    type: String(r['type']),
    v: Number(r['v']),
    at: String(r['at']),
    actor: String(r['actor']),
    device: String(r['device']),
    deviceSeq: Number(r['device_seq']),
    hlc: String(r['hlc']),
    streamBase: Number(r['stream_base']),
    payload: JSON.parse(String(r['payload'])) as Json,
    prev: String(r['prev']),
    hash: String(r['hash']),
  };
}

/** The hashed fields of a stored row (everything but payload and hash), as verify recomputes them. */
export function rowIdentity(r: Row): Omit<WireEvent, 'payload' | 'hash'> {
  return {
    id: String(r['id']), device: String(r['device']), deviceSeq: Number(r['device_seq']), hlc: String(r['hlc']),
    prev: String(r['prev']), stream: String(r['stream']), streamBase: Number(r['stream_base']),
    type: String(r['type']), v: Number(r['v']), at: String(r['at']), actor: String(r['actor']),
  };
}

export function filterClause(f: EventFilter): { where: string; bind: (string | number)[] } {
  let where = '';
  const bind: (string | number)[] = [];
  if (f.types && f.types.length > 0) {
    where += ` AND type IN (${f.types.map(() => '?').join(',')})`;
    bind.push(...f.types);
  }
  if (f.typePrefix) {
    where += ' AND substr(type, 1, ?) = ?';
    bind.push(f.typePrefix.length, f.typePrefix);
  }
  if (f.stream) {
    where += ' AND stream = ?';
    bind.push(f.stream);
  }
  if (f.streamPrefix) {
    where += ' AND substr(stream, 1, ?) = ?';
    bind.push(f.streamPrefix.length, f.streamPrefix);
  }
  return { where, bind };
}
