/**
 * Recovery: the integrity check at open, what a person can take away (exportLog), and the two
 * repairs (re-derive projections; cut the log back to its last verified event). The kernel decides
 * when it is in recovery mode and records the repair; this module does the reading and cutting.
 *
 * Invariants:
 * 1. Nothing here deletes silently: a cut moves rows to the *_cut tables (log/repair.ts) and
 *    returns them.
 * 2. `problem()` is the open-time check (bounded); `problemAfterRepair()` adds a full verify, so a
 *    repair never declares recovered a log that still fails verification.
 */
import { KernelError } from './errors.ts';
import type { Row, Sql } from './db/sql.ts';
import type { EventStore } from './log/event-store.ts';
import type { EventEnvelope } from './log/envelope.ts';
import type { AuditEntry, AuditLog } from './log/audit.ts';
import { listCheckpoints, type Checkpoint } from './log/checkpoint.ts';
import type { KeyStore } from './log/keys.ts';
import { checkAtOpen } from './log/open-check.ts';
import { cutLog, type CutRows } from './log/repair.ts';
import { restoreAppendOnly } from './db/append-only.ts';
import { verifyLog } from './log/verify.ts';
import type { ProjectionRegistry } from './projections/registry.ts';

/** Everything the database holds, as stored: what recovery mode lets a person take away. */
export interface LogExport {
  readonly format: 'kingdom.log/2';
  readonly exportedAt: string;
  readonly device: string;
  readonly events: EventEnvelope[];
  readonly audit: AuditEntry[];
  readonly checkpoints: Checkpoint[];
}

export type { CutRows };

export interface RecoveryParts {
  readonly sql: Sql;
  readonly store: EventStore;
  readonly audit: AuditLog;
  readonly projections: ProjectionRegistry;
  readonly keys: KeyStore;
}

/** The open-time integrity check (anchor, unsigned tail, projections at the log head), or null. */
export async function problem(k: RecoveryParts, device: string): Promise<KernelError | null> {
  const broken = checkAtOpen(k.sql, device, await k.keys.loadAnchor(device));
  if (broken) {
    return new KernelError('integrity_error',
      `The database failed its integrity check: ${broken.message} It is open read-only: verify it, export everything, then repair.`,
      { ...broken });
  }
  try {
    k.projections.ensure(k.store);
  } catch (err) {
    const e = KernelError.from(err);
    // A missing upcaster is this code's problem, not the database's: refuse to open, unchanged.
    if (e.code === 'upcast_failed') throw e;
    return new KernelError('integrity_error',
      `The projections cannot be brought to the end of the log (${e.message}). It is open read-only: verify, export, then repair (rebuild, or cut the log back).`,
      { cause: e.code });
  }
  return null;
}

/**
 * After a repair: the open-time check and a full verify (the open check alone misses a change
 * under a checkpoint, which a failed verify may be what put the kernel in recovery mode).
 */
export async function problemAfterRepair(k: RecoveryParts, device: string): Promise<KernelError | null> {
  const open = await problem(k, device);
  if (open) return open;
  const report = await verifyLog(k.sql, { device, anchor: await k.keys.loadAnchor(device) });
  if (report.ok) return null;
  return new KernelError('integrity_error',
    `The log still fails verification after the repair: ${report.broken!.message} Repair with "cut" to move the broken part aside.`,
    { ...report.broken! });
}

/** Re-derive every projection from the log, with the append-only guards back in place. */
export function rederive(k: RecoveryParts): void {
  k.sql.transaction(() => {
    restoreAppendOnly(k.sql);
    k.projections.rebuild(k.store);
  });
}

/**
 * Cut the log back until it verifies: each round moves aside what the first broken link names
 * (events from it on, audit entries from it on, or that checkpoint). A missing anchored
 * checkpoint cuts nothing: what it signed is gone, and the device continues on a new chain.
 */
export async function cutBack(k: RecoveryParts, device: string, repairId: string): Promise<CutRows> {
  const cut: { events: Row[]; audit: Row[]; checkpoints: Row[] } = { events: [], audit: [], checkpoints: [] };
  let anchor = await k.keys.loadAnchor(device);
  for (let round = 0; round < 1000; round++) {
    const report = await verifyLog(k.sql, { device, anchor });
    if (report.ok) break;
    const b = report.broken!;
    if (b.reason === 'checkpoint_missing') {
      anchor = null;
      continue;
    }
    const plan = b.chain === 'events' ? { fromSeq: b.seq, fromAudit: null, checkpointIds: [] }
      : b.chain === 'audit' ? { fromSeq: null, fromAudit: b.seq, checkpointIds: [] }
      : { fromSeq: null, fromAudit: null, checkpointIds: k.sql.all('SELECT id FROM checkpoints WHERE device = ? AND device_seq = ?', [b.device ?? '', b.deviceSeq ?? 0]).map((r) => Number(r['id'])) };
    const moved = k.sql.transaction(() => cutLog(k.sql, repairId, plan));
    cut.events.push(...moved.events);
    cut.audit.push(...moved.audit);
    cut.checkpoints.push(...moved.checkpoints);
    k.store.reloadHead();
    k.audit.reload();
  }
  return cut;
}

/** Everything the database holds, as stored (events with their hashes, audit, checkpoints). */
export function exportLog(k: RecoveryParts, device: string, nowMs: number): LogExport {
  const events: EventEnvelope[] = [];
  for (let cursor = 0; ;) {
    const page = k.sql.all('SELECT seq FROM events WHERE seq > ? ORDER BY seq LIMIT 5000', [cursor]);
    if (page.length === 0) break;
    for (const r of page) events.push(k.store.readStored(Number(r['seq']))!);
    cursor = Number(page[page.length - 1]!['seq']);
  }
  return {
    format: 'kingdom.log/2', exportedAt: new Date(nowMs).toISOString(), device,
    events, audit: k.audit.list(0, Number.MAX_SAFE_INTEGER), checkpoints: listCheckpoints(k.sql, -1, Number.MAX_SAFE_INTEGER),
  };
}

/** What a repair needs from the kernel besides its parts. */
export interface RepairHost {
  readonly parts: RecoveryParts;
  /** The current device id (it changes when a cut continues under a new chain). */
  device(): string;
  /** Continue under a new device id and key. */
  rotateDevice(): Promise<void>;
  /** Move every subscriber's cursor back to `headSeq` (positions after a cut are reused). */
  rewind(headSeq: number): void;
}

/**
 * Do the repair: `rebuild` re-derives the projections; `cut` cuts the log back until it verifies,
 * re-derives and continues under a new device chain. Then the whole log is checked again: `still`
 * is the problem left (null: recovered). Recording the repair is the kernel's.
 */
export async function repairLog(h: RepairHost, action: 'rebuild' | 'cut', repairId: string): Promise<{ cut: CutRows; previousDevice: string | null; still: KernelError | null }> {
  const k = h.parts;
  let cut: CutRows = { events: [], audit: [], checkpoints: [] };
  let previousDevice: string | null = null;
  if (action === 'rebuild') {
    try {
      rederive(k);
    } catch (err) {
      throw new KernelError('integrity_error',
        `Rebuilding the projections failed (${KernelError.from(err).message}): the log itself is damaged. Export it, then repair with "cut".`,
        { action });
    }
  } else {
    cut = await cutBack(k, h.device(), repairId);
    rederive(k);
    previousDevice = h.device();
    await h.rotateDevice();
  }
  k.store.reloadHead();
  k.audit.reload();
  // Positions after the cut are taken again by new events: subscribers must see them.
  if (cut.events.length > 0) h.rewind(k.store.committedHead.seq);
  return { cut, previousDevice, still: await problemAfterRepair(k, h.device()) };
}
