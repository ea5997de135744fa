/**
 * The integrity check a kernel runs when it opens: cheap (bounded by the unsigned tail, not by
 * the log), so boot stays fast, yet it catches what an attacker with the database file does
 * between two opens.
 *
 * Invariants:
 * 1. The newest checkpoint this device remembers outside the database (its anchor) must still be
 *    in the database, signing the hash its chain still has at that position: deleted checkpoints
 *    and any history rewritten and re-hashed up to there are caught.
 * 2. This device's events after the anchor (the part no signature covers yet) must link and hash
 *    correctly, with clocks increasing.
 * 3. Read-only; a problem is returned as the first broken link, never thrown.
 */
import type { Sql } from '../db/sql.ts';
import { hashEventWithPayloadJson } from './envelope.ts';
import { GENESIS } from './hash.ts';
import type { Anchor } from './keys.ts';
import type { BrokenLink } from './verify.ts';
import { rowIdentity } from './event-store.ts';

export function checkAtOpen(sql: Sql, device: string, anchor: Anchor | null): BrokenLink | null {
  let from = 0;
  let prev = GENESIS;
  let prevHlc = '';
  if (anchor) {
    const cp = sql.get('SELECT head_hash FROM checkpoints WHERE device = ? AND device_seq = ? AND format = 2', [device, anchor.deviceSeq]);
    const ev = sql.get('SELECT seq, hash, hlc FROM events WHERE device = ? AND device_seq = ?', [device, anchor.deviceSeq]);
    if (!cp || String(cp['head_hash']) !== anchor.headHash || !ev || String(ev['hash']) !== anchor.headHash) {
      return {
        chain: 'checkpoints', seq: ev ? Number(ev['seq']) : 0, device, deviceSeq: anchor.deviceSeq, reason: 'checkpoint_missing',
        message: `This device signed its chain at position ${anchor.deviceSeq} (remembered beside its key), but that checkpoint or the event it signed is missing or different: checkpoints were deleted or the history was rewritten.`,
      };
    }
    from = anchor.deviceSeq;
    prev = anchor.headHash;
    prevHlc = String(ev['hlc']);
  }
  let expected = from + 1;
  for (const r of sql.all('SELECT * FROM events WHERE device = ? AND device_seq > ? ORDER BY device_seq', [device, from])) {
    const seq = Number(r['seq']);
    const deviceSeq = Number(r['device_seq']);
    const at = { chain: 'events' as const, seq, device, deviceSeq };
    const identity = rowIdentity(r);
    if (deviceSeq !== expected) return { ...at, reason: 'device_seq_gap', message: `Position ${expected} of this device's chain is missing (event ${seq} is at ${deviceSeq}).` };
    if (identity.prev !== prev) return { ...at, reason: 'prev_mismatch', message: `Event ${seq}'s prev does not match the hash of this device's previous event.` };
    if (hashEventWithPayloadJson(identity, String(r['payload'])) !== String(r['hash'])) {
      return { ...at, reason: 'hash_mismatch', message: `Event ${seq}'s contents do not match its hash (changed after it was written).` };
    }
    if (identity.hlc <= prevHlc) return { ...at, reason: 'hlc_not_increasing', message: `Event ${seq}'s clock is not after its predecessor's.` };
    prev = String(r['hash']);
    prevHlc = identity.hlc;
    expected++;
  }
  return null;
}
