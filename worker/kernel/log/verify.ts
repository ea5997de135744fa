/**
 * Verify: walk every device's event chain, the audit chain and the checkpoints; name the first
 * broken link.
 *
 * Invariants:
 * 1. Read-only; runs in pages so a large log never sits in memory at once.
 * 2. Checks, in order: events in arrival order (seq gapless; per device: deviceSeq gapless, prev
 *    links, hash recomputed from the stored bytes, hlc strictly increasing, merge key consistent;
 *    streamSeq gapless per stream; an upgraded format-1 event also by the format-1 rules), audit
 *    (seq gapless, links, hashes, each entry's event exists with that id), checkpoints (the event
 *    at (device, deviceSeq) has that hash, the key was registered in that device's chain before
 *    it, the signature verifies, this device's checkpoints name audit entries that exist with
 *    those hashes: an audit chain cut short is caught), and the anchor (the newest checkpoint this
 *    device remembers outside the database must still be there: deleted checkpoints are caught).
 */
import type { Sql } from '../db/sql.ts';
import { hashEventWithPayloadJson, legacyHash } from './envelope.ts';
import { GENESIS } from './hash.ts';
import { hashAudit, rowToAudit } from './audit.ts';
import { rowIdentity } from './event-store.ts';
import { checkpointMessage, legacyCheckpointMessage, rowToCheckpoint, type Checkpoint } from './checkpoint.ts';
import { verifySignature, type Anchor } from './keys.ts';

export type BrokenReason =
  | 'missing_event'
  | 'duplicate_event'
  | 'device_seq_gap'
  | 'prev_mismatch'
  | 'hash_mismatch'
  | 'hlc_not_increasing'
  | 'stream_seq_mismatch'
  | 'legacy_hash_mismatch'
  | 'missing_audit_entry'
  | 'audit_event_mismatch'
  | 'audit_truncated'
  | 'checkpoint_hash_mismatch'
  | 'checkpoint_unknown_key'
  | 'checkpoint_bad_signature'
  | 'checkpoint_missing';

export interface BrokenLink {
  readonly chain: 'events' | 'audit' | 'checkpoints';
  /** This database's seq of the broken event (audit: the entry's seq; 0 when not applicable). */
  readonly seq: number;
  /** For event and checkpoint links: the device chain and position. */
  readonly device?: string;
  readonly deviceSeq?: number;
  readonly reason: BrokenReason;
  readonly message: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly events: number;
  readonly devices: number;
  readonly auditEntries: number;
  readonly checkpoints: number;
  readonly headSeq: number;
  readonly headHash: string;
  readonly broken: BrokenLink | null;
  readonly durationMs: number;
}

export interface VerifyOptions {
  /** This database's own device (its checkpoints also sign the audit head). */
  readonly device?: string;
  /** The newest checkpoint this device recorded outside the database (key store). */
  readonly anchor?: Anchor | null;
  readonly onProgress?: (checked: number, total: number) => void;
}

export const KEY_REGISTERED = 'device.key_registered';
const PAGE = 2000;

interface ChainState { deviceSeq: number; hash: string; hlc: string }

export async function verifyLog(sql: Sql, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now();
  const total = Number(sql.value('SELECT COUNT(*) FROM events') ?? 0);
  const checkpoints = sql.all('SELECT *, 0 AS seq FROM checkpoints ORDER BY id').map(rowToCheckpoint);
  const wanted = new Set(checkpoints.map((c) => `${c.device}#${c.deviceSeq}`));
  const hashes = new Map<string, { hash: string; legacy: string | null; seq: number }>();
  const keys = new Map<string, { publicKey: string; device: string; deviceSeq: number }>();
  const chains = new Map<string, ChainState>();
  const streamSeqs = new Map<string, number>();
  const eventIds = new Map<number, string>();
  const auditTargets = new Set(sql.all('SELECT event_seq FROM audit').map((r) => Number(r['event_seq'])));

  let expected = 1;
  let headHash = GENESIS;
  let legacyPrev = GENESIS;
  let broken: BrokenLink | null = null;
  let cursor = 0;
  outer: for (;;) {
    const rows = sql.all('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?', [cursor, PAGE]);
    if (rows.length === 0) break;
    for (const r of rows) {
      const seq = Number(r['seq']);
      const device = String(r['device']);
      const deviceSeq = Number(r['device_seq']);
      const at = { seq, device, deviceSeq };
      if (seq !== expected) {
        broken = link('events', { seq: expected }, 'missing_event', `Event ${expected} is missing (the next stored event is ${seq}).`);
        break outer;
      }
      const stream = String(r['stream']);
      const streamSeq = Number(r['stream_seq']);
      const hash = String(r['hash']);
      const payloadJson = String(r['payload']);
      const identity = rowIdentity(r);
      const chain = chains.get(device) ?? { deviceSeq: 0, hash: GENESIS, hlc: '' };
      if (deviceSeq <= chain.deviceSeq) {
        broken = link('events', at, 'duplicate_event', `Event ${seq} repeats position ${deviceSeq} of device ${device}'s chain (already at ${chain.deviceSeq}).`);
        break outer;
      }
      if (deviceSeq !== chain.deviceSeq + 1) {
        broken = link('events', at, 'device_seq_gap', `Event ${seq} is at position ${deviceSeq} of device ${device}'s chain; position ${chain.deviceSeq + 1} is missing.`);
        break outer;
      }
      if (identity.prev !== chain.hash) {
        broken = link('events', at, 'prev_mismatch', `Event ${seq}'s prev does not match the hash of the previous event of device ${device} (position ${deviceSeq - 1}).`);
        break outer;
      }
      if (hashEventWithPayloadJson(identity, payloadJson) !== hash) {
        broken = link('events', at, 'hash_mismatch', `Event ${seq}'s contents do not match its hash (changed after it was written).`);
        break outer;
      }
      if (identity.hlc <= chain.hlc) {
        broken = link('events', at, 'hlc_not_increasing', `Event ${seq}'s clock ${identity.hlc} is not after its predecessor's ${chain.hlc} in device ${device}'s chain.`);
        break outer;
      }
      const legacy = r['legacy_hash'];
      if (legacy !== null && legacy !== undefined) {
        const old = { id: identity.id, seq, stream, streamSeq, type: identity.type, v: identity.v, at: identity.at, actor: identity.actor, device, prev: legacyPrev };
        if (legacyHash(old, payloadJson) !== String(legacy)) {
          broken = link('events', at, 'legacy_hash_mismatch', `Event ${seq} no longer matches its hash from before the upgrade to per-device chains.`);
          break outer;
        }
        legacyPrev = String(legacy);
      }
      const streamPrev = streamSeqs.get(stream) ?? 0;
      if (streamSeq !== streamPrev + 1) {
        broken = link('events', at, 'stream_seq_mismatch', `Event ${seq} has streamSeq ${streamSeq} in ${stream}; expected ${streamPrev + 1}.`);
        break outer;
      }
      streamSeqs.set(stream, streamSeq);
      if (identity.type === KEY_REGISTERED) {
        const p = JSON.parse(payloadJson) as { keyId: string; publicKey: string; device: string };
        if (p.device === device) keys.set(p.keyId, { publicKey: p.publicKey, device, deviceSeq });
      }
      chains.set(device, { deviceSeq, hash, hlc: identity.hlc });
      const id = `${device}#${deviceSeq}`;
      if (wanted.has(id)) hashes.set(id, { hash, legacy: legacy === null || legacy === undefined ? null : String(legacy), seq });
      if (auditTargets.has(seq)) eventIds.set(seq, identity.id);
      headHash = hash;
      expected++;
      cursor = seq;
    }
    opts.onProgress?.(cursor, total);
  }
  const eventsChecked = expected - 1;

  let auditChecked = 0;
  const auditHashes = new Map<number, string>();
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
          broken = link('audit', { seq: aExpected }, 'missing_audit_entry', `Audit entry ${aExpected} is missing (next stored is ${a.seq}).`);
          break outer2;
        }
        if (a.prev !== aPrev) {
          broken = link('audit', { seq: a.seq }, 'prev_mismatch', `Audit entry ${a.seq}'s prev does not match entry ${a.seq - 1}.`);
          break outer2;
        }
        const { hash, ...rest } = a;
        if (hashAudit(rest) !== hash) {
          broken = link('audit', { seq: a.seq }, 'hash_mismatch', `Audit entry ${a.seq}'s contents do not match its hash.`);
          break outer2;
        }
        if (eventIds.get(a.eventSeq) !== a.eventId) {
          broken = link('audit', { seq: a.seq }, 'audit_event_mismatch', `Audit entry ${a.seq} points to event ${a.eventSeq} (${a.eventId}), which is not in the log.`);
          break outer2;
        }
        auditHashes.set(a.seq, hash);
        aPrev = hash;
        aExpected++;
        aCursor = a.seq;
        auditChecked++;
      }
    }
  }

  let checkpointsChecked = 0;
  if (!broken) {
    for (const c of checkpoints) {
      const problem = await checkCheckpoint(c, hashes, keys, auditHashes, opts.device);
      if (problem) {
        broken = problem;
        break;
      }
      checkpointsChecked++;
    }
  }
  if (!broken && opts.anchor && opts.device) {
    const a = opts.anchor;
    const found = checkpoints.find((c) => c.device === opts.device && c.deviceSeq === a.deviceSeq && c.headHash === a.headHash && c.format === 2);
    if (!found) {
      broken = link('checkpoints', { seq: hashes.get(`${opts.device}#${a.deviceSeq}`)?.seq ?? 0, device: opts.device, deviceSeq: a.deviceSeq }, 'checkpoint_missing',
        `This device signed a checkpoint at position ${a.deviceSeq} of its chain (remembered outside the database), but it is not in the database any more: checkpoints were deleted or the history was rewritten.`);
    }
  }

  return {
    ok: broken === null,
    events: eventsChecked,
    devices: chains.size,
    auditEntries: auditChecked,
    checkpoints: checkpointsChecked,
    headSeq: eventsChecked,
    headHash,
    broken,
    durationMs: Math.round(performance.now() - started),
  };
}

async function checkCheckpoint(
  c: Checkpoint,
  hashes: ReadonlyMap<string, { hash: string; legacy: string | null; seq: number }>,
  keys: ReadonlyMap<string, { publicKey: string; device: string; deviceSeq: number }>,
  auditHashes: ReadonlyMap<number, string>,
  self: string | undefined,
): Promise<BrokenLink | null> {
  const target = hashes.get(`${c.device}#${c.deviceSeq}`);
  const where = { seq: target?.seq ?? 0, device: c.device, deviceSeq: c.deviceSeq };
  const signedHash = c.format === 1 ? target?.legacy : target?.hash;
  if (signedHash !== c.headHash) {
    return link('checkpoints', where, 'checkpoint_hash_mismatch', `The checkpoint at position ${c.deviceSeq} of device ${c.device}'s chain signs a head hash that is not that event's hash.`);
  }
  const key = keys.get(c.keyId);
  if (!key || key.device !== c.device || key.deviceSeq > c.deviceSeq) {
    return link('checkpoints', where, 'checkpoint_unknown_key', `The checkpoint at position ${c.deviceSeq} of device ${c.device}'s chain is signed by key ${c.keyId}, which that device did not register in its chain before it.`);
  }
  const message = c.format === 1 ? legacyCheckpointMessage({ ...c, seq: target!.seq }) : checkpointMessage(c);
  if (!(await verifySignature(key.publicKey, c.signature, message))) {
    return link('checkpoints', where, 'checkpoint_bad_signature', `The checkpoint at position ${c.deviceSeq} of device ${c.device}'s chain has a signature that does not verify with key ${c.keyId}.`);
  }
  if (c.device === self && c.audit && auditHashes.get(c.audit.seq) !== c.audit.hash) {
    return link('checkpoints', where, 'audit_truncated', `The checkpoint at position ${c.deviceSeq} signed audit entry ${c.audit.seq}, which is missing or different: the audit chain was cut or rewritten.`);
  }
  return null;
}

function link(chain: BrokenLink['chain'], at: { seq: number; device?: string; deviceSeq?: number }, reason: BrokenReason, message: string): BrokenLink {
  return { chain, ...at, reason, message };
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
