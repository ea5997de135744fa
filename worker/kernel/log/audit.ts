/**
 * The audit stream: a separate append-only, hash-chained record of privileged actions
 * (archives, key registrations, rebuilds, exports), each entry pointing at the event it records.
 *
 * Invariants:
 * 1. `hash = sha256("kingdom.audit/1\n" + canonicalJson(entry without hash))`, `prev` is the
 *    previous entry's hash (GENESIS first); seq gapless from 1.
 * 2. An entry is written in the same transaction as the event it points to.
 */
import type { Sql, Row } from '../db/sql.ts';
import { canonicalJson } from './canonical.ts';
import { GENESIS, sha256Hex } from './hash.ts';
import type { EventEnvelope } from './envelope.ts';

export interface AuditEntry {
  readonly seq: number;
  readonly id: string;
  readonly action: string;
  readonly eventId: string;
  readonly eventSeq: number;
  readonly actor: string;
  readonly device: string;
  readonly at: string;
  readonly prev: string;
  readonly hash: string;
}

export const AUDIT_HASH_DOMAIN = 'kingdom.audit/1\n';

export function hashAudit(e: Omit<AuditEntry, 'hash'>): string {
  return sha256Hex(AUDIT_HASH_DOMAIN + canonicalJson({ ...e }));
}

export class AuditLog {
  private head = { seq: 0, hash: GENESIS };
  private pending: { seq: number; hash: string } | null = null;

  constructor(private readonly sql: Sql) {
    this.reload();
  }

  reload(): void {
    const row = readHead(this.sql);
    this.head = row ?? { seq: 0, hash: GENESIS };
    this.pending = null;
  }

  /** Append an entry for `event`. Call inside the event's write transaction. */
  append(action: string, event: EventEnvelope, id: string): AuditEntry {
    const h = this.pending ?? this.head;
    const body = {
      seq: h.seq + 1, id, action, eventId: event.id, eventSeq: event.seq,
      actor: event.actor, device: event.device, at: event.at, prev: h.hash,
    };
    const hash = hashAudit(body);
    this.sql.run(
      'INSERT INTO audit (seq, id, action, event_id, event_seq, actor, device, at, prev, hash) VALUES (?,?,?,?,?,?,?,?,?,?)',
      [body.seq, id, action, body.eventId, body.eventSeq, body.actor, body.device, body.at, body.prev, hash],
    );
    this.pending = { seq: body.seq, hash };
    return { ...body, hash };
  }

  /** The newest committed audit entry (seq 0 and GENESIS when none). */
  get committedHead(): { seq: number; hash: string } {
    return this.head;
  }

  /** Seq of the newest committed audit entry (0 when none). */
  get headSeq(): number {
    return this.head.seq;
  }

  commit(): void {
    if (this.pending) this.head = this.pending;
    this.pending = null;
  }

  discard(): void {
    this.pending = null;
  }

  list(afterSeq = 0, limit = 1000): AuditEntry[] {
    return this.sql
      .all('SELECT * FROM audit WHERE seq > ? ORDER BY seq ASC LIMIT ?', [afterSeq, limit])
      .map(rowToAudit);
  }
}

export function rowToAudit(r: Row): AuditEntry {
  return {
    seq: Number(r['seq']), id: String(r['id']), action: String(r['action']),
    eventId: String(r['event_id']), eventSeq: Number(r['event_seq']), actor: String(r['actor']),
    device: String(r['device']), at: String(r['at']), prev: String(r['prev']), hash: String(r['hash']),
  };
}

function readHead(sql: Sql): { seq: number; hash: string } | undefined {
  const row = sql.get('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
  return row ? { seq: Number(row['seq']), hash: String(row['hash']) } : undefined;
}
