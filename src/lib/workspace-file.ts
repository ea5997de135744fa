/**
 * A workspace as one file (docs/workspace-file.md): the actions the Workspaces screen offers —
 * export the open workspace, open a file someone sent (verified in the kernel before anything is
 * written), remove an imported copy — and how a copy is labelled.
 *
 * Invariants:
 * 1. The file's bytes go to the kernel as they are (gzip or not); this module never parses them.
 * 2. Failures land in `kernel.lastError` under the action's scope, with the kernel's sentence
 *    (which names the first broken item of a file that did not verify).
 * 3. Downloads are blob URLs clicked from an anchor (no server, no inline script: CSP-safe).
 */
import type { WorkspaceCopy, WorkspaceImport } from '../../worker/api.ts';
import { kernel } from './kernel.svelte.ts';
import { downloadBlob } from './download.ts';

export const EXPORT_SCOPE = 'workspace.file.export';
export const IMPORT_SCOPE = 'workspace.file.import';
export const removeScope = (workspaceId: string): string => `workspace:${workspaceId}:remove-copy`;

/** "Imported from Ada's laptop on 3 Feb 2026, verified" (the device id when it had no name). */
export function importedLabel(copy: Pick<WorkspaceCopy, 'source' | 'importedAt'>): string {
  const from = copy.source.name ?? copy.source.device;
  const on = new Date(copy.importedAt).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
  return `Imported from ${from} on ${on}, verified`;
}

/** Offer `bytes` as a file download. */
export function downloadBytes(fileName: string, bytes: Uint8Array, mediaType: string): void {
  downloadBlob(fileName, new Blob([bytes as BlobPart], { type: mediaType }));
}

/** Export workspace `workspaceId` and download the file; its name, or null (the error is shown). */
export async function exportWorkspace(workspaceId: string): Promise<string | null> {
  const out = await kernel.call(EXPORT_SCOPE, (api) => api.exportWorkspace(workspaceId, { gzip: true }));
  if (!out) return null;
  downloadBytes(out.fileName, out.bytes, out.mediaType);
  return out.fileName;
}

/** Open a workspace file: verified, then imported as a read-only copy; the report, or null. */
export async function openWorkspaceFile(file: File): Promise<WorkspaceImport | null> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const report = await kernel.call(IMPORT_SCOPE, (api) => api.importWorkspace(bytes));
  if (report) await kernel.refreshWorkspaces();
  return report;
}

/** Remove an imported copy (audited); if it was open, the default workspace opens instead. */
export async function removeCopy(workspaceId: string): Promise<boolean> {
  const r = await kernel.run(removeScope(workspaceId), { type: 'workspace.remove_copy', payload: { workspaceId } });
  if (r) await kernel.refreshWorkspaces();
  return r !== null;
}
