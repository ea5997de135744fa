/**
 * Repair of a log that failed verification: an explicit, audited act, never silent.
 *
 * Invariants:
 * 1. `cutLog` moves rows aside, it never deletes them: the events from the first broken one on
 *    (arrival order), the audit entries from the first one that points at a moved event or is
 *    itself broken, and the checkpoints that sign a moved position or a moved audit entry, go to
 *    `events_cut`, `audit_cut` and `checkpoints_cut` with the repair's id, as JSON rows.
 * 2. It runs inside the caller's transaction, with the append-only triggers lifted only there.
 */
import type { Sql, Row } from '../db/sql.ts';
import { APPEND_ONLY_TABLES, restoreAppendOnly } from '../db/append-only.ts';

export interface CutPlan {
  /** First event seq moved aside (events with seq >= it), or null to keep every event. */
  readonly fromSeq: number | null;
  /** First audit seq moved aside, or null. */
  readonly fromAudit: number | null;
  /** Checkpoints (row ids) moved aside. */
  readonly checkpointIds: readonly number[];
}

export interface CutRows {
  readonly events: Row[];
  readonly audit: Row[];
  readonly checkpoints: Row[];
}


export function cutLog(sql: Sql, repair: string, plan: CutPlan): CutRows {
  const events = plan.fromSeq === null ? [] : sql.all('SELECT * FROM events WHERE seq >= ? ORDER BY seq', [plan.fromSeq]);
  let fromAudit = plan.fromAudit;
  if (plan.fromSeq !== null) {
    const first = sql.value('SELECT MIN(seq) FROM audit WHERE event_seq >= ?', [plan.fromSeq]);
    if (typeof first === 'number' && (fromAudit === null || first < fromAudit)) fromAudit = first;
  }
  const audit = fromAudit === null ? [] : sql.all('SELECT * FROM audit WHERE seq >= ? ORDER BY seq', [fromAudit]);
  const ids = new Set(plan.checkpointIds);
  const movedPositions = new Set(events.map((e) => `${String(e['device'])}#${Number(e['device_seq'])}`));
  for (const c of sql.all('SELECT * FROM checkpoints')) {
    const signedMoved = movedPositions.has(`${String(c['device'])}#${Number(c['device_seq'])}`);
    const auditMoved = fromAudit !== null && c['audit_seq'] !== null && Number(c['audit_seq']) >= fromAudit;
    if (signedMoved || auditMoved) ids.add(Number(c['id']));
  }
  const checkpoints = sql.all('SELECT * FROM checkpoints ORDER BY id').filter((c) => ids.has(Number(c['id'])));
  for (const table of APPEND_ONLY_TABLES) sql.exec(`DROP TRIGGER IF EXISTS ${table}_append_only_delete`);
  for (const r of events) sql.run('INSERT INTO events_cut (repair, row) VALUES (?, ?)', [repair, JSON.stringify(r)]);
  for (const r of audit) sql.run('INSERT INTO audit_cut (repair, row) VALUES (?, ?)', [repair, JSON.stringify(r)]);
  for (const r of checkpoints) sql.run('INSERT INTO checkpoints_cut (repair, row) VALUES (?, ?)', [repair, JSON.stringify(r)]);
  if (plan.fromSeq !== null) sql.run('DELETE FROM events WHERE seq >= ?', [plan.fromSeq]);
  if (fromAudit !== null) sql.run('DELETE FROM audit WHERE seq >= ?', [fromAudit]);
  for (const id of ids) sql.run('DELETE FROM checkpoints WHERE id = ?', [id]);
  restoreAppendOnly(sql);
  sql.clearCache();
  return { events, audit, checkpoints };
}
