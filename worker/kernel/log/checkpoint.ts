/**
 * Signed checkpoints: every N events the device signs (seq, head hash) with its Ed25519 key.
 *
 * Invariants:
 * 1. The signed message is `"kingdom.checkpoint/1\n" + canonicalJson({device, headHash, keyId, seq})`.
 * 2. A checkpoint is written after the events it covers have committed, in its own transaction;
 *    a crash in between only delays it (the next open or commit writes the missing one).
 * 3. The public key that verifies it is in the log (`device.key_registered`), covered by the chain.
 */
import type { Sql, Row } from '../db/sql.ts';
import { canonicalJson } from './canonical.ts';

export interface Checkpoint {
  readonly seq: number;
  readonly headHash: string;
  readonly device: string;
  readonly keyId: string;
  readonly signature: string;
  readonly at: string;
}

export const CHECKPOINT_DOMAIN = 'kingdom.checkpoint/1\n';

export function checkpointMessage(c: Pick<Checkpoint, 'seq' | 'headHash' | 'device' | 'keyId'>): string {
  return CHECKPOINT_DOMAIN + canonicalJson({ device: c.device, headHash: c.headHash, keyId: c.keyId, seq: c.seq });
}

export function insertCheckpoint(sql: Sql, c: Checkpoint): void {
  sql.run(
    'INSERT OR IGNORE INTO checkpoints (seq, head_hash, device, key_id, signature, at) VALUES (?,?,?,?,?,?)',
    [c.seq, c.headHash, c.device, c.keyId, c.signature, c.at],
  );
}

export function lastCheckpointSeq(sql: Sql): number {
  return Number(sql.value('SELECT COALESCE(MAX(seq), 0) FROM checkpoints') ?? 0);
}

export function listCheckpoints(sql: Sql, afterSeq = 0, limit = 1000): Checkpoint[] {
  return sql.all('SELECT * FROM checkpoints WHERE seq > ? ORDER BY seq ASC LIMIT ?', [afterSeq, limit]).map(rowToCheckpoint);
}

export function rowToCheckpoint(r: Row): Checkpoint {
  return {
    seq: Number(r['seq']), headHash: String(r['head_hash']), device: String(r['device']),
    keyId: String(r['key_id']), signature: String(r['signature']), at: String(r['at']),
  };
}
