/**
 * When and how signed checkpoints get written.
 *
 * Invariants:
 * 1. Every `every` events the head is signed in the background (WebCrypto is async); the signed
 *    checkpoint then rides in the next write transaction (`takePending` + `written`), or is written
 *    on its own after a second of quiet, so checkpoints cost no extra durable commit while commands
 *    keep coming.
 * 2. At most one signature in flight and one checkpoint pending; a failed write is dropped and the
 *    head is signed again later (nothing is lost: checkpoints only attest, the log is the truth).
 */
import type { Sql } from '../db/sql.ts';
import type { ChainHead } from './event-store.ts';
import { checkpointMessage, insertCheckpoint, lastCheckpointDeviceSeq, type Checkpoint } from './checkpoint.ts';
import { sign, type Anchor, type DeviceKeyPair } from './keys.ts';

type NewCheckpoint = Omit<Checkpoint, 'seq'>;

/** What a checkpoint signs besides the chain head: this database's audit head. */
export type AuditHead = () => { seq: number; hash: string };

const FLUSH_AFTER_MS = 1000;

export class Checkpointer {
  private inFlight: Promise<void> | null = null;
  private pending: NewCheckpoint | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private last: number;
  private stopped = false;
  private anchorWrites: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: Sql,
    private readonly key: DeviceKeyPair,
    private readonly deviceId: string,
    private readonly clock: () => number,
    private readonly every: number,
    private readonly auditHead: AuditHead,
    /** Remember the newest checkpoint outside the database (the key store's anchor). */
    private readonly saveAnchor: (a: Anchor) => Promise<void> = async () => {},
  ) {
    this.last = lastCheckpointDeviceSeq(sql, deviceId);
  }

  /** Nothing is being signed and nothing waits to be written (or signing stopped). */
  get settled(): boolean {
    return this.stopped || (this.inFlight === null && this.pending === null);
  }

  /** Position in this device's chain of the newest written checkpoint. */
  get lastSeq(): number {
    return this.last;
  }

  /** After a commit: start signing when `every` events have passed since the last checkpoint. */
  maybeSign(head: ChainHead): void {
    if (this.inFlight || this.pending || this.stopped) return;
    if (head.deviceSeq - this.last < this.every) return;
    this.inFlight = this.sign(head)
      .then((c) => {
        if (!c || this.stopped) return;
        this.pending = c;
        this.timer = setTimeout(() => this.flush(), FLUSH_AFTER_MS);
        (this.timer as { unref?: () => void }).unref?.();
      }, (err: unknown) => console.warn('kingdom: checkpoint signing failed', err))
      .finally(() => {
        this.inFlight = null;
      });
  }

  /**
   * Back-pressure: when the chain ran twice `every` past the last checkpoint (commands back to
   * back never gave the signature a turn of the event loop), a promise that resolves once the
   * signature in flight is written; null when not overdue.
   */
  overdue(head: ChainHead): Promise<void> | null {
    if (this.stopped || head.deviceSeq - this.last < 2 * this.every) return null;
    this.maybeSign(head);
    return this.settle();
  }

  /** The signed checkpoint the next write transaction should insert (see `written`). */
  get pendingCheckpoint(): NewCheckpoint | null {
    return this.pending;
  }

  /** Insert a checkpoint inside the caller's transaction. */
  insert(c: NewCheckpoint): void {
    insertCheckpoint(this.sql, c);
  }

  /** After COMMIT of a transaction that inserted `c`. */
  written(c: NewCheckpoint): void {
    if (c.deviceSeq > this.last) {
      const anchor = { deviceSeq: c.deviceSeq, headHash: c.headHash };
      this.anchorWrites = this.anchorWrites.then(() => this.saveAnchor(anchor))
        .catch((err: unknown) => console.warn('kingdom: saving the checkpoint anchor failed', err));
    }
    this.last = Math.max(this.last, c.deviceSeq);
    if (this.pending === c) this.pending = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Wait for a signature in flight, then write any pending checkpoint in its own transaction. */
  async settle(): Promise<void> {
    await this.inFlight?.catch(() => {});
    this.flush();
    await this.anchorWrites;
  }

  /** Sign the head now and write it (explicit `kernel.checkpoint()`). */
  async now(head: ChainHead): Promise<NewCheckpoint | null> {
    await this.settle();
    const c = await this.sign(head);
    if (!c) return null;
    this.pending = c;
    this.flush();
    return c;
  }

  /** Stop scheduling (before close); call `settle()` first to keep what was signed. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async sign(head: ChainHead): Promise<NewCheckpoint | null> {
    if (head.deviceSeq === 0 || head.deviceSeq <= Math.max(this.last, this.pending?.deviceSeq ?? 0)) return null;
    const audit = this.auditHead();
    const base = {
      device: this.deviceId, deviceSeq: head.deviceSeq, headHash: head.hash,
      audit: audit.seq > 0 ? audit : null, keyId: this.key.keyId,
    };
    const signature = await sign(this.key.privateKey, checkpointMessage(base));
    return { ...base, signature, at: new Date(this.clock()).toISOString(), format: 2 };
  }

  private flush(): void {
    const c = this.pending;
    if (!c || this.stopped) return;
    try {
      this.sql.transaction(() => insertCheckpoint(this.sql, c));
      this.written(c);
    } catch (err) {
      console.warn('kingdom: writing a checkpoint failed; it is signed again later', err);
      this.pending = null;
    }
  }
}
