/**
 * Verify: walk the event chain, the audit chain and the checkpoints; name the first broken link.
 *
 * Invariants:
 * 1. Read-only; runs in pages so a large log never sits in memory at once.
 * 2. Checks, in order: events (seq gapless, prev links, hash recomputed from the stored bytes,
 *    streamSeq gapless per stream), audit (same, plus each entry's event exists with that id),
 *    checkpoints (the event at seq has that hash, the key was registered in the log before it,
 *    the Ed25519 signature verifies).
 */
import type { Sql } from '../db/sql.ts';
import { hashEventWithPayloadJson } from './envelope.ts';
import { GENESIS } from './hash.ts';
import { hashAudit, rowToAudit } from './audit.ts';
import { checkpointMessage, rowToCheckpoint } from './checkpoint.ts';
import { verifySignature } from './keys.ts';

export type BrokenReason =
  | 'missing_event'
  | 'prev_mismatch'
  | 'hash_mismatch'
  | 'stream_seq_mismatch'
  | 'missing_audit_entry'
  | 'audit_event_mismatch'
  | 'checkpoint_hash_mismatch'
  | 'checkpoint_unknown_key'
  | 'checkpoint_bad_signature';

export interface BrokenLink {
  readonly chain: 'events' | 'audit' | 'checkpoints';
  readonly seq: number;
  readonly reason: BrokenReason;
  readonly message: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly events: number;
  readonly auditEntries: number;
  readonly checkpoints: number;
  readonly headSeq: number;
  readonly headHash: string;
  readonly broken: BrokenLink | null;
  readonly durationMs: number;
}

export const KEY_REGISTERED = 'device.key_registered';
const PAGE = 2000;

export async function verifyLog(sql: Sql, onProgress?: (checked: number, total: number) => void): Promise<VerifyReport> {
  const started = performance.now();
  const total = Number(sql.value('SELECT COUNT(*) FROM events') ?? 0);
  const hashes = new Map<number, string>(); // only for seqs that checkpoints or audit refer to
  const wanted = new Set<number>([
    ...sql.all('SELECT seq FROM checkpoints').map((r) => Number(r['seq'])),
  ]);
  const keys = new Map<string, { publicKey: string; seq: number }>();
  const streamSeqs = new Map<string, number>();
  const eventIds = new Map<number, string>();
  const auditTargets = new Set(sql.all('SELECT event_seq FROM audit').map((r) => Number(r['event_seq'])));

  let expected = 1;
  let prev = GENESIS;
  let broken: BrokenLink | null = null;
  let cursor = 0;
  outer: for (;;) {
    const rows = sql.all(
      'SELECT seq, id, stream, stream_seq, type, v, at, actor, device, payload, prev, hash FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
      [cursor, PAGE],
    );
    if (rows.length === 0) break;
    for (const r of rows) {
      const seq = Number(r['seq']);
      if (seq !== expected) {
        broken = link('events', expected, 'missing_event', `Event ${expected} is missing (the next stored event is ${seq}).`);
        break outer;
      }
      const stream = String(r['stream']);
      const streamSeq = Number(r['stream_seq']);
      const body = {
        id: String(r['id']), seq, stream, streamSeq, type: String(r['type']), v: Number(r['v']),
        at: String(r['at']), actor: String(r['actor']), device: String(r['device']), prev: String(r['prev']),
      };
      if (body.prev !== prev) {
        broken = link('events', seq, 'prev_mismatch', `Event ${seq}'s prev does not match the hash of event ${seq - 1}.`);
        break outer;
      }
      const payloadJson = String(r['payload']);
      if (hashEventWithPayloadJson(body, payloadJson) !== String(r['hash'])) {
        broken = link('events', seq, 'hash_mismatch', `Event ${seq}'s contents do not match its hash (changed after it was written).`);
        break outer;
      }
      const streamPrev = streamSeqs.get(stream) ?? 0;
      if (streamSeq !== streamPrev + 1) {
        broken = link('events', seq, 'stream_seq_mismatch', `Event ${seq} has streamSeq ${streamSeq} in ${stream}; expected ${streamPrev + 1}.`);
        break outer;
      }
      streamSeqs.set(stream, streamSeq);
      if (body.type === KEY_REGISTERED) {
        const p = JSON.parse(payloadJson) as { keyId: string; publicKey: string };
        keys.set(p.keyId, { publicKey: p.publicKey, seq });
      }
      prev = String(r['hash']);
      if (wanted.has(seq)) hashes.set(seq, prev);
      if (auditTargets.has(seq)) eventIds.set(seq, body.id);
      expected++;
      cursor = seq;
    }
    onProgress?.(cursor, total);
  }
  const eventsChecked = expected - 1;

  let auditChecked = 0;
  if (!broken) {
    let aPrev = GENESIS;
    let aExpected = 1;
    let aCursor = 0;
    outer2: for (;;) {
      const rows = sql.all('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?', [aCursor, PAGE]);
      if (rows.length === 0) break;
      for (const r of rows) {
        const a = rowToAudit(r);
        if (a.seq !== aExpected) {
          broken = link('audit', aExpected, 'missing_audit_entry', `Audit entry ${aExpected} is missing (next stored is ${a.seq}).`);
          break outer2;
        }
        if (a.prev !== aPrev) {
          broken = link('audit', a.seq, 'prev_mismatch', `Audit entry ${a.seq}'s prev does not match entry ${a.seq - 1}.`);
          break outer2;
        }
        const { hash, ...rest } = a;
        if (hashAudit(rest) !== hash) {
          broken = link('audit', a.seq, 'hash_mismatch', `Audit entry ${a.seq}'s contents do not match its hash.`);
          break outer2;
        }
        if (eventIds.get(a.eventSeq) !== a.eventId) {
          broken = link('audit', a.seq, 'audit_event_mismatch', `Audit entry ${a.seq} points to event ${a.eventSeq} (${a.eventId}), which is not in the log.`);
          break outer2;
        }
        aPrev = hash;
        aExpected++;
        aCursor = a.seq;
        auditChecked++;
      }
    }
  }

  let checkpointsChecked = 0;
  if (!broken) {
    for (const c of sql.all('SELECT * FROM checkpoints ORDER BY seq').map(rowToCheckpoint)) {
      if (hashes.get(c.seq) !== c.headHash) {
        broken = link('checkpoints', c.seq, 'checkpoint_hash_mismatch', `Checkpoint at ${c.seq} signs a head hash that is not event ${c.seq}'s hash.`);
        break;
      }
      const key = keys.get(c.keyId);
      if (!key || key.seq > c.seq) {
        broken = link('checkpoints', c.seq, 'checkpoint_unknown_key', `Checkpoint at ${c.seq} is signed by key ${c.keyId}, which was not registered in the log before it.`);
        break;
      }
      if (!(await verifySignature(key.publicKey, c.signature, checkpointMessage(c)))) {
        broken = link('checkpoints', c.seq, 'checkpoint_bad_signature', `Checkpoint at ${c.seq} has a signature that does not verify with key ${c.keyId}.`);
        break;
      }
      checkpointsChecked++;
    }
  }

  return {
    ok: broken === null,
    events: eventsChecked,
    auditEntries: auditChecked,
    checkpoints: checkpointsChecked,
    headSeq: eventsChecked,
    headHash: prev,
    broken,
    durationMs: Math.round(performance.now() - started),
  };
}

function link(chain: BrokenLink['chain'], seq: number, reason: BrokenReason, message: string): BrokenLink {
  return { chain, seq, reason, message };
}

/**
 * Wrap a progress listener (possibly a Comlink proxy to a page that went away) so that it can
 * never fail the work it reports on: throws and rejections are ignored, progress is advisory.
 */
export function advisory<A extends unknown[]>(listener: (...args: A) => unknown): (...args: A) => void {
  return (...args: A) => {
    try {
      const out: unknown = listener(...args);
      if (out instanceof Promise) out.catch(() => {});
    } catch {
      // Ignored on purpose.
    }
  };
}
