/**
 * The manifests screen's data, typed from the kernel's own query definitions (worker/api.ts).
 */
import type { QueryResult } from '../../../worker/api.ts';

export type ManifestSummary = QueryResult<'manifest.list'>[number];
export type ManifestGraph = Extract<QueryResult<'manifest.graph'>, { nodes: unknown }>;
export type RelicHealth = QueryResult<'relic.health'>[number];
export type BringUp = NonNullable<QueryResult<'monument.bring_up.get'>>;

export interface DraftIssue {
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly message: string;
}

/** What `manifest.validate` answers for a draft. */
export type Draft =
  | { readonly ok: false; readonly errors: readonly DraftIssue[] }
  | {
    readonly ok: true;
    readonly kind: string;
    readonly name: string;
    readonly version: string;
    readonly change: 'new' | 'new_version' | 'changed' | 'unchanged';
    readonly warnings: readonly DraftIssue[];
    readonly needs: readonly { readonly need: string; readonly via: string; readonly to: string | null }[];
    readonly missing: readonly { readonly from: string; readonly need: string; readonly via: string; readonly path: readonly string[] }[];
    readonly cycles: readonly (readonly string[])[];
  };

/** The kinds in the order the list shows them. */
export const KIND_ORDER = ['Monument', 'Kata', 'Workflow', 'Agent', 'Tool', 'Relic'] as const;
