/**
 * Signed checkpoints: every N events a device signs the head of ITS OWN chain (device, deviceSeq,
 * head hash) and the head of this database's audit chain with its Ed25519 key.
 *
 * Invariants:
 * 1. The signed message is `"kingdom.checkpoint/2\n" + canonicalJson({audit, device, deviceSeq,
 *    headHash, keyId})`, `audit` being `{seq, hash}` of the audit head or null. Checkpoints of an
 *    upgraded format-1 log keep their own message (`/1`, over the database seq and format-1 hash).
 * 2. A checkpoint is written after the events it covers have committed; a crash in between only
 *    delays it (the next open signs the head).
 * 3. The public key that verifies it is in the device's own chain (`device.key_registered`).
 * 4. Checkpoints are append-only (triggers), like events and audit.
 */
import type { Sql, Row } from '../db/sql.ts';
import { canonicalJson } from './canonical.ts';

export interface Checkpoint {
  /** This database's seq of the signed event (0 when it is not here). */
  readonly seq: number;
  readonly device: string;
  readonly deviceSeq: number;
  readonly headHash: string;
  /** Audit head signed with it (null: none, or another device's checkpoint). */
  readonly audit: { readonly seq: number; readonly hash: string } | null;
  readonly keyId: string;
  readonly signature: string;
  readonly at: string;
  /** 2 = per-device chain; 1 = a format-1 checkpoint kept from before the upgrade. */
  readonly format: 1 | 2;
}

export type SignedFields = Pick<Checkpoint, 'device' | 'deviceSeq' | 'headHash' | 'audit' | 'keyId'>;

export const CHECKPOINT_DOMAIN = 'kingdom.checkpoint/2\n';
export const LEGACY_CHECKPOINT_DOMAIN = 'kingdom.checkpoint/1\n';

export function checkpointMessage(c: SignedFields): string {
  return CHECKPOINT_DOMAIN + canonicalJson({ audit: c.audit, device: c.device, deviceSeq: c.deviceSeq, headHash: c.headHash, keyId: c.keyId });
}

/** Format 1 signed the database's seq (equal to deviceSeq in an upgraded single-device log). */
export function legacyCheckpointMessage(c: Pick<Checkpoint, 'device' | 'headHash' | 'keyId'> & { seq: number }): string {
  return LEGACY_CHECKPOINT_DOMAIN + canonicalJson({ device: c.device, headHash: c.headHash, keyId: c.keyId, seq: c.seq });
}

export function insertCheckpoint(sql: Sql, c: Omit<Checkpoint, 'seq'>): void {
  sql.run(
    `INSERT OR IGNORE INTO checkpoints (device, device_seq, head_hash, audit_seq, audit_hash, key_id, signature, at, format)
     VALUES (?,?,?,?,?,?,?,?,?)`,
    [c.device, c.deviceSeq, c.headHash, c.audit?.seq ?? null, c.audit?.hash ?? null, c.keyId, c.signature, c.at, c.format],
  );
}

/** The newest checkpointed position of `device`'s chain (0 when none). */
export function lastCheckpointDeviceSeq(sql: Sql, device: string): number {
  return Number(sql.value('SELECT COALESCE(MAX(device_seq), 0) FROM checkpoints WHERE device = ?', [device]) ?? 0);
}

const SELECT = `SELECT c.*, COALESCE(e.seq, 0) AS seq FROM checkpoints c
  LEFT JOIN events e ON e.device = c.device AND e.device_seq = c.device_seq`;

/** Checkpoints whose signed event is after local seq `afterSeq`, in seq order. */
export function listCheckpoints(sql: Sql, afterSeq = 0, limit = 1000): Checkpoint[] {
  return sql.all(`${SELECT} WHERE COALESCE(e.seq, 0) > ? ORDER BY COALESCE(e.seq, 0), c.id LIMIT ?`, [afterSeq, limit]).map(rowToCheckpoint);
}

/** Every checkpoint of `device`, oldest first. */
export function deviceCheckpoints(sql: Sql, device: string): Checkpoint[] {
  return sql.all(`${SELECT} WHERE c.device = ? ORDER BY c.device_seq, c.format`, [device]).map(rowToCheckpoint);
}

export function rowToCheckpoint(r: Row): Checkpoint {
  const auditSeq = r['audit_seq'];
  return {
    seq: Number(r['seq'] ?? 0), device: String(r['device']), deviceSeq: Number(r['device_seq']), headHash: String(r['head_hash']),
    audit: auditSeq === null || auditSeq === undefined ? null : { seq: Number(auditSeq), hash: String(r['audit_hash']) },
    keyId: String(r['key_id']), signature: String(r['signature']), at: String(r['at']), format: Number(r['format']) === 1 ? 1 : 2,
  };
}
