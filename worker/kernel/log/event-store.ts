/**
 * The append-only event log: appending sealed envelopes and reading them back (upcast).
 *
 * Invariants:
 * 1. `append` must run inside the caller's write transaction; the in-memory head only moves in
 *    `commitHead()`, called after COMMIT, so a rolled-back append leaves the cache untouched.
 * 2. seq is gapless from 1, streamSeq gapless per stream, prev = hash of seq - 1.
 * 3. Reads return events at their current schema version (stored form is never rewritten).
 */
import type { Sql, Row } from '../db/sql.ts';
import { type EventEnvelope, hashEventWithPayloadJson, type UnhashedEnvelope } from './envelope.ts';
import { canonicalJson } from './canonical.ts';
import { GENESIS } from './hash.ts';
import { KernelError, type Json } from '../errors.ts';
import type { EventDefinition } from '../module.ts';

export interface Head {
  readonly seq: number;
  readonly hash: string;
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
  readonly device: string;
  readonly payload: Json;
}

const STREAM_CACHE_LIMIT = 50_000;
const SELECT_COLUMNS = 'seq, id, stream, stream_seq, type, v, at, actor, device, payload, prev, hash';

export class EventStore {
  private head: Head = { seq: 0, hash: GENESIS };
  private pendingHead: Head | null = null;
  private readonly streamVersions = new Map<string, number>();
  private pendingStreams = new Map<string, number>();

  constructor(
    private readonly sql: Sql,
    private readonly events: ReadonlyMap<string, EventDefinition>,
  ) {
    const row = sql.get('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1');
    if (row) this.head = { seq: Number(row['seq']), hash: String(row['hash']) };
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

  /** Seal and insert one event at the head. Call inside a write transaction. */
  append(e: PendingEvent): EventEnvelope {
    const head = this.currentHead;
    const streamSeq = this.streamVersion(e.stream) + 1;
    const payloadJson = canonicalJson(e.payload);
    const body: Omit<UnhashedEnvelope, 'payload'> = {
      id: e.id, seq: head.seq + 1, stream: e.stream, streamSeq, type: e.type, v: e.v,
      at: e.at, actor: e.actor, device: e.device, prev: head.hash,
    };
    const hash = hashEventWithPayloadJson(body, payloadJson);
    this.sql.run(
      'INSERT INTO events (seq, id, stream, stream_seq, type, v, at, actor, device, payload, prev, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
      [body.seq, body.id, body.stream, streamSeq, body.type, body.v, body.at, body.actor, body.device, payloadJson, body.prev, hash],
    );
    this.pendingHead = { seq: body.seq, hash };
    this.pendingStreams.set(e.stream, streamSeq);
    // Hand on the payload exactly as stored (canonical key order), so live projections and
    // subscribers see what a rebuild or a later read sees.
    return { ...body, payload: JSON.parse(payloadJson) as Json, hash };
  }

  /** After COMMIT: make the transaction's appends the committed head. */
  commitHead(): void {
    if (this.pendingHead) this.head = this.pendingHead;
    // Bounded: a cache, not an index (one entry per stream would grow with every session ever run).
    if (this.streamVersions.size > STREAM_CACHE_LIMIT) this.streamVersions.clear();
    for (const [s, v] of this.pendingStreams) this.streamVersions.set(s, v);
    this.discardPending();
  }

  /** After ROLLBACK. */
  discardPending(): void {
    this.pendingHead = null;
    this.pendingStreams = new Map();
  }

  /** Forget cached heads (after the tables changed underneath, e.g. in tests that tamper). */
  reloadHead(): void {
    this.streamVersions.clear();
    this.discardPending();
    const row = this.sql.get('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1');
    this.head = row ? { seq: Number(row['seq']), hash: String(row['hash']) } : { seq: 0, hash: GENESIS };
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

export function rowToEnvelope(r: Row): EventEnvelope {
  return {
    id: String(r['id']),
    seq: Number(r['seq']),
    stream: String(r['stream']),
    streamSeq: Number(r['stream_seq']),
    type: String(r['type']),
    v: Number(r['v']),
    at: String(r['at']),
    actor: String(r['actor']),
    device: String(r['device']),
    payload: JSON.parse(String(r['payload'])) as Json,
    prev: String(r['prev']),
    hash: String(r['hash']),
  };
}

function filterClause(f: EventFilter): { where: string; bind: (string | number)[] } {
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
