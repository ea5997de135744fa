/**
 * The kernel's integrity side: recovery mode (read-only after a failed check), verify, the audited
 * rebuild, export of everything, and the explicit repair. The Kernel delegates to it; the reading
 * and cutting itself is recovery.ts's.
 *
 * Invariants:
 * 1. In recovery mode nothing is written but what a repair writes: commands and ingest get
 *    `read_only`, no checkpoint is signed (it would sign what failed the check). A device that
 *    another device removed gets `read_only` too.
 * 2. A failed verify puts an open kernel in recovery mode; only a repair after which the whole log
 *    verifies takes it out.
 * 3. Every rebuild and repair is recorded as an audited event of this device's chain.
 */
import { KernelError, type Json, type KernelErrorData } from './errors.ts';
import type { CommandInput, CommandResult } from './commands/envelope.ts';
import { exportLog, problem, repairLog, type LogExport, type RecoveryParts } from './recovery.ts';
import { advisory, verifyLog, type VerifyReport } from './log/verify.ts';
import type { OwnDevice } from './identity.ts';
import { LOG_REPAIR_COMMAND, REBUILT_COMMAND } from './core-module.ts';
import type { RebuildReport, RepairReport } from './types.ts';

/** What the integrity side needs of its kernel. */
export interface IntegrityHost {
  readonly parts: RecoveryParts;
  readonly own: OwnDevice;
  readonly clock: () => number;
  readonly closed: () => boolean;
  newId(): string;
  systemBatch(inputs: readonly CommandInput[]): CommandResult[];
  /** Normal mode: a replaced key registered (a new chain's comes with its first write), an upgrade recorded, the head signed. */
  startWriting(): void;
  /** Continue under a new device id and key (after a cut). */
  rotateDevice(): Promise<void>;
  /** Subscribers move back to `seq` (a cut freed the positions after it). */
  rewind(seq: number): void;
}

export class KernelIntegrity {
  private error: KernelError | null = null;

  constructor(private readonly h: IntegrityHost) {}

  /** The open-time check: recovery mode when it fails, normal mode otherwise. */
  async open(): Promise<void> {
    this.error = await problem(this.h.parts, this.h.own.id);
    if (!this.error) this.h.startWriting();
    else console.warn('kingdom: the database failed its integrity check and opened read-only (recovery mode)', this.error);
  }

  /** Whether the database is in recovery mode. */
  get inRecovery(): boolean {
    return this.error !== null;
  }

  /** The problem that put it in recovery mode, or null. */
  get recovery(): KernelErrorData | null {
    return this.error ? this.error.toJSON() : null;
  }

  /** Throws `read_only` in recovery mode, or when another device removed this one. */
  assertWritable(): void {
    if (this.error) {
      throw new KernelError('read_only',
        `The database is in recovery mode and accepts no changes: ${this.error.message}`,
        { problem: this.error.toJSON() as unknown as Json });
    }
    if (this.h.parts.projections.revokedFrom(this.h.own.id) !== undefined) {
      throw new KernelError('read_only',
        'This device was removed from the workspace on another device: it keeps what it had but can no longer change anything. Pair it again to rejoin.',
        { device: this.h.own.id });
    }
  }

  async verify(onProgress?: (checked: number, total: number) => void): Promise<VerifyReport> {
    await this.h.own.checkpointer.settle();
    const device = this.h.own.id;
    const anchor = await this.h.parts.keys.loadAnchor(device);
    const report = await verifyLog(this.h.parts.sql, { device, anchor, ...(onProgress ? { onProgress: advisory(onProgress) } : {}) });
    if (!report.ok && !this.error && !this.h.closed()) {
      // Writing on would sign what failed: stop accepting changes until it is repaired.
      this.error = new KernelError('integrity_error',
        `The log failed verification: ${report.broken!.message} It is read-only now: export everything, then repair.`,
        { ...report.broken! });
      this.h.own.checkpointer.stop();
    }
    return report;
  }

  rebuild(names?: readonly string[]): RebuildReport {
    if (this.error) {
      throw new KernelError('read_only', 'The database is in recovery mode: rebuild through repair("rebuild"), which records the repair.', { problem: this.error.toJSON() as unknown as Json });
    }
    const started = performance.now();
    const { projections, store } = this.h.parts;
    const report = projections.rebuildCompared(store, names);
    this.h.systemBatch([{
      type: REBUILT_COMMAND,
      payload: { projections: report.map((r) => ({ name: r.name, digest: r.after, identical: r.identical })) },
      idempotencyKey: `rebuild:${this.h.newId()}`,
      actor: 'system',
    }]);
    return { projections: report, events: store.committedHead.seq, durationMs: Math.round(performance.now() - started) };
  }

  exportLog(): LogExport {
    return exportLog(this.h.parts, this.h.own.id, this.h.clock());
  }

  async repair(action: 'rebuild' | 'cut'): Promise<RepairReport> {
    if (action !== 'rebuild' && action !== 'cut') {
      throw new KernelError('invalid_command', `repair: unknown action "${String(action)}"; use "rebuild" or "cut".`, { action: String(action) });
    }
    await this.h.own.checkpointer.settle();
    const before = this.error?.message ?? null;
    const repairId = `repair-${this.h.newId()}`;
    const { cut, previousDevice, still } = await repairLog({
      parts: this.h.parts, device: () => this.h.own.id, rotateDevice: () => this.h.rotateDevice(), rewind: (seq) => this.h.rewind(seq),
    }, action, repairId);
    this.error = still;
    if (!still) {
      this.h.own.restartSigning();
      this.h.startWriting();
      this.h.systemBatch([{
        type: LOG_REPAIR_COMMAND,
        payload: { action, repairId, problem: before, cut: { events: cut.events.length, audit: cut.audit.length, checkpoints: cut.checkpoints.length }, previousDevice },
        idempotencyKey: repairId,
        actor: 'system',
      }]);
      await this.h.own.checkpointer.now(this.h.parts.store.chainHead(this.h.own.id));
      await this.h.own.checkpointer.settle();
    }
    return { action, recovered: !still, recovery: still ? still.toJSON() : null, cut, device: this.h.own.id, previousDevice };
  }
}
