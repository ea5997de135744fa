/**
 * One "Verify log" on the Integrity screen: the last report, when it was made, and the progress
 * of a verify in flight. The verify panel runs it; the chain picture colours its links from it.
 *
 * Invariants:
 * 1. `progress` is non-null exactly while a verify runs; `total` is 0 until the kernel reports
 *    (a follower tab never does: its verify runs in the leader's tab).
 * 2. A failed verify keeps the previous report (its error shows under `SCOPE`).
 */
import type { VerifyReport } from '../../worker/api.ts';
import { kernel } from './kernel.svelte.ts';

export const VERIFY_SCOPE = 'verify';

export interface VerifyProgress {
  readonly checked: number;
  readonly total: number;
}

export class VerifyRun {
  report = $state.raw<VerifyReport | null>(null);
  checkedAt = $state.raw<Date | null>(null);
  progress = $state.raw<VerifyProgress | null>(null);

  get busy(): boolean {
    return kernel.busy.has(VERIFY_SCOPE);
  }

  async run(): Promise<void> {
    if (this.busy) return;
    let running = true;
    this.progress = { checked: 0, total: 0 };
    const r = await kernel.verify(VERIFY_SCOPE, (checked, total) => {
      // A progress message may arrive after the answer (another channel): ignore it then.
      if (running) this.progress = { checked, total };
    });
    running = false;
    this.progress = null;
    if (r) {
      this.report = r;
      this.checkedAt = new Date();
    }
  }
}
