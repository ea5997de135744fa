/**
 * The kernel's option and report shapes (worker/kernel/kernel.ts re-exports them).
 */
import type { StorageAdapter } from './db/adapter.ts';
import type { KernelErrorData } from './errors.ts';
import type { KeyStore } from './log/keys.ts';
import type { KernelModule } from './module.ts';
import type { ProjectionStatus } from './projections/registry.ts';
import type { CutRows } from './recovery.ts';

export interface KernelOptions {
  readonly storage: StorageAdapter;
  /** Where the device's private signing key lives (default: memory, lost on close). */
  readonly keys?: KeyStore;
  /** Domain modules; the kernel's own core module is always added first. */
  readonly modules?: readonly KernelModule[];
  /** Epoch-ms clock (tests inject a fake one). */
  readonly clock?: () => number;
  /** Default actor for commands that name none. */
  readonly actor?: string;
  /** Sign a checkpoint whenever this many events were appended since the last one (default 100). */
  readonly checkpointEvery?: number;
  /**
   * A database that takes in other devices' events snapshots its projections after an ingest
   * once this many events came since the last snapshot (default 2,000): a late event then
   * re-derives from the snapshot before it, not from the first event.
   */
  readonly snapshotEvery?: number;
  readonly appVersion?: string;
  /**
   * Leave the modules' on-demand code (code-part.ts) unloaded at open; callers then load what a
   * command or query needs before running it (the browser's API does). Default false: all loaded.
   */
  readonly lazyCode?: boolean;
}

export interface KernelStatus {
  readonly kernelVersion: string;
  readonly schemaVersion: number;
  readonly storage: { kind: string; location: string; durable: boolean; bytes: number };
  readonly deviceId: string;
  readonly keyId: string;
  readonly headSeq: number;
  readonly headHash: string;
  readonly auditSeq: number;
  /** Position in this device's chain of its newest checkpoint. */
  readonly lastCheckpointSeq: number;
  /** This device's position in its own chain. */
  readonly deviceSeq: number;
  /** Devices whose events are here (this one included), with their chain heads. */
  readonly devices: readonly { device: string; deviceSeq: number; hash: string }[];
  readonly projections: readonly ProjectionStatus[];
  readonly openedAt: string;
  readonly bootMs: number;
  /** Set when the database failed its integrity check at open: read-only until repaired. */
  readonly recovery: KernelErrorData | null;
}

export interface RepairReport {
  readonly action: 'rebuild' | 'cut';
  /** True when the log verifies and the kernel accepts commands again. */
  readonly recovered: boolean;
  /** The problem that is left (null when recovered). */
  readonly recovery: KernelErrorData | null;
  /** What was cut off the log, exactly as it was stored (kept aside in *_cut tables too). */
  readonly cut: CutRows;
  /** A cut continues this device under a new chain (other devices may hold the cut events). */
  readonly device: string;
  readonly previousDevice: string | null;
}

export interface RebuildReport {
  readonly projections: readonly { name: string; before: string; after: string; identical: boolean }[];
  readonly events: number;
  readonly durationMs: number;
}
