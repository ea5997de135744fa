/**
 * Messages between the bench page and its worker, and the page's result slot read by run.ts.
 */
import type { Figure } from '../lib/scenarios.ts';

export interface BrowserBenchConfig {
  readonly quick: boolean;
  /** Which parts to run: batch, single, boot, engine-steps. */
  readonly parts: readonly string[];
}

export type WorkerMessage =
  | { readonly kind: 'log'; readonly message: string }
  | { readonly kind: 'done'; readonly figures: Figure[]; readonly info: Record<string, unknown> }
  | { readonly kind: 'error'; readonly message: string };

export interface PageResult {
  readonly done: boolean;
  readonly figures?: Figure[];
  readonly info?: Record<string, unknown>;
  readonly error?: string;
}
