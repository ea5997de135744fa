/**
 * Keeps the Forest's full-text index merged while the app is quiet.
 *
 * FTS5 writes a new index segment per transaction and merges segments lazily (automerge), so an
 * index built by many small commands holds many segments: every query term is then looked up in
 * each one, and the page rows' highlight()/snippet() seeks repeat that per row. At 50,000 nodes
 * written in batches, search p95 was ~20 ms on the fragmented index and ~12 ms once merged
 * (docs/benchmarks.md, Forest). This runs FTS5's incremental `merge` command in small steps
 * (`MERGE_PAGES` pages each) after Forest writes, whenever the engine has nothing to do, until a
 * step finds nothing left to merge (`usermerge` 2: merge as soon as two segments share a level).
 *
 * Invariants:
 * 1. Only the physical layout changes: the index's content, search answers and projection digests
 *    are the same before and after (the digest reads `forest_fts` through its content table).
 * 2. Never inside a command's transaction: each step is one statement between commands, run from a
 *    timer, skipped (and retried later) while `busy()` says other work waits.
 * 3. Runs only where the engine runs (the one writer); stops when the kernel closes.
 */
import type { Kernel } from '../../kernel/kernel.ts';

/** Pages of merge work per step: keeps one step to a few milliseconds. */
export const MERGE_PAGES = 64;
const QUIET_MS = 250;

export interface IndexMaintenanceOptions {
  /** Other work is waiting: try again later. */
  readonly busy?: () => boolean;
  readonly onError?: (err: unknown) => void;
  /** Wait this long after a Forest write (or a busy check) before merging (default 250 ms). */
  readonly quietMs?: number;
}

export class ForestIndexMaintenance {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private configured = false;
  private readonly close: () => void;
  /** Merge steps that did work (for tests and diagnostics). */
  steps = 0;

  constructor(private readonly kernel: Kernel, private readonly options: IndexMaintenanceOptions = {}) {
    const sub = kernel.subscribe((events) => {
      if (events.some((e) => e.stream.startsWith('forest:'))) this.kick();
    });
    this.close = () => sub.close();
    kernel.onClose(() => this.stop());
    this.kick(); // an index written before this start may still be fragmented
  }

  /** Resolves once a merge step finds nothing left to do (tests, benchmarks). */
  async settle(): Promise<void> {
    while (!this.stopped && this.step(false)) await Promise.resolve();
  }

  stop(): void {
    this.stopped = true;
    this.close();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private kick(delay = this.options.quietMs ?? QUIET_MS): void {
    if (this.stopped || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.options.busy?.()) return this.kick();
      if (this.step(true)) this.kick(0);
    }, delay);
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** One merge step; true when it did work (more may be left). */
  private step(report: boolean): boolean {
    if (this.stopped || this.kernel.isClosed) return false;
    const sql = this.kernel.sql;
    try {
      if (!this.configured) {
        if (sql.value("SELECT 1 FROM sqlite_master WHERE name = 'forest_fts'") === undefined) {
          this.stop(); // a kernel without the Forest module
          return false;
        }
        // A config row, written once per database (not on every start).
        if (sql.value("SELECT v FROM forest_fts_config WHERE k = 'usermerge'") !== 2) sql.exec("INSERT INTO forest_fts(forest_fts, rank) VALUES('usermerge', 2)");
        this.configured = true;
      }
      const before = Number(sql.value('SELECT total_changes()'));
      sql.exec(`INSERT INTO forest_fts(forest_fts, rank) VALUES('merge', ${MERGE_PAGES})`);
      // FTS5: a difference of 2 or more means the merge command did work.
      const worked = Number(sql.value('SELECT total_changes()')) - before >= 2;
      if (worked) this.steps++;
      return worked;
    } catch (err) {
      if (report) this.options.onError?.(err);
      return false;
    }
  }
}
