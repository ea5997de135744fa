/**
 * `manifest.apply` for hot reload and uploads, answered in the folder log's terms (applied,
 * unchanged, refused with the issues at their lines, failed) instead of the screen's one error
 * slot: many files are applied in a row, and each file's answer belongs next to its path.
 *
 * Invariant: one call is one command with its own idempotency key; the open workspace is added by
 * the kernel client (`kernel.scoped`), as for every other command.
 */
import { kernel } from '../kernel.svelte.ts';
import { newKey } from '../idempotency.ts';
import { fromKernel, describe } from '../ui-error.ts';
import type { ApplyAnswer } from './folder-sync.ts';

export async function applyManifest(source: string, origin: { via: 'folder' | 'upload'; path: string }): Promise<ApplyAnswer> {
  const api = kernel.api;
  if (!api) return { outcome: 'failed', detail: 'The kernel is not running in this tab; reload the page.' };
  try {
    const res = await api.command(kernel.scoped({ type: 'manifest.apply', payload: { source, origin }, idempotencyKey: newKey() }));
    if (res.ok) {
      const v = res.value.value as { kind: string; name: string; version: string; unchanged: boolean };
      return { outcome: v.unchanged ? 'unchanged' : 'applied', detail: `${v.kind}/${v.name}@${v.version}` };
    }
    if (res.error.code === 'invalid_manifest' || res.error.code === 'invalid_workflow') {
      const issues = ((res.error.details?.['issues'] ?? res.error.details?.['errors'] ?? []) as { line: number; column: number; message: string }[])
        .map((i) => ({ line: i.line, column: i.column, message: i.message }));
      const first = issues[0];
      return { outcome: 'refused', detail: first ? `${first.line}:${first.column} ${first.message}` : res.error.message, issues };
    }
    return { outcome: 'failed', detail: fromKernel('manifests.folder', res.error, 'manifest.apply').message };
  } catch (err) {
    return { outcome: 'failed', detail: describe(err) };
  }
}
