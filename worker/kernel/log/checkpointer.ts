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
import type { Head } from './event-store.ts';
import { checkpointMessage, insertCheckpoint, lastCheckpointSeq, type Checkpoint } from './checkpoint.ts';
import { sign, type DeviceKeyPair } from './keys.ts';

const FLUSH_AFTER_MS = 1000;

export class Checkpointer {
  private inFlight: Promise<void> | null = null;
  private pending: Checkpoint | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private last: number;
  private stopped = false;

  constructor(
    private readonly sql: Sql,
    private readonly key: DeviceKeyPair,
    private readonly deviceId: string,
    private readonly clock: () => number,
    private readonly every: number,
  ) {
    this.last = lastCheckpointSeq(sql);
  }

  /** Seq of the newest written checkpoint. */
  get lastSeq(): number {
    return this.last;
  }

  /** After a commit: start signing when `every` events have passed since the last checkpoint. */
  maybeSign(head: Head): void {
    if (this.inFlight || this.pending || this.stopped) return;
    if (head.seq - this.last < this.every) return;
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

  /** The signed checkpoint the next write transaction should insert (see `written`). */
  get pendingCheckpoint(): Checkpoint | null {
    return this.pending;
  }

  /** Insert a checkpoint inside the caller's transaction. */
  insert(c: Checkpoint): void {
    insertCheckpoint(this.sql, c);
  }

  /** After COMMIT of a transaction that inserted `c`. */
  written(c: Checkpoint): void {
    this.last = Math.max(this.last, c.seq);
    if (this.pending === c) this.pending = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Wait for a signature in flight, then write any pending checkpoint in its own transaction. */
  async settle(): Promise<void> {
    await this.inFlight?.catch(() => {});
    this.flush();
  }

  /** Sign the head now and write it (explicit `kernel.checkpoint()`). */
  async now(head: Head): Promise<Checkpoint | null> {
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

  private async sign(head: Head): Promise<Checkpoint | null> {
    if (head.seq === 0 || head.seq <= Math.max(this.last, this.pending?.seq ?? 0)) return null;
    const base = { seq: head.seq, headHash: head.hash, device: this.deviceId, keyId: this.key.keyId };
    const signature = await sign(this.key.privateKey, checkpointMessage(base));
    return { ...base, signature, at: new Date(this.clock()).toISOString() };
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
