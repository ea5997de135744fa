/**
 * The installed Tools and Agents of a workspace, parsed: what execution by name pins from
 * (worker/manifests/execution.ts). Read by session.start and its siblings (through this reader, so
 * the manifests table stays this slice's) and by `workflow.check`.
 *
 * Invariants:
 * 1. Pure read of this slice's own table; a stored source that no longer parses is left out (the
 *    registry's graph names it as unreadable).
 * 2. Needs the manifest reader loaded (manifestCode): callers name it in `needs`.
 */
import type { Reader } from '../../kernel/module.ts';
import type { Installed } from '../../manifests/index.ts';
import type { AgentManifest, ToolManifest } from '../../manifests/schema.ts';
import { parseCachedManifest, readManifestRows } from './state.ts';

export function installedForExecution(r: Reader, workspaceId: string): Installed[] {
  const out: Installed[] = [];
  for (const kind of ['Tool', 'Agent'] as const) {
    for (const row of readManifestRows(r, workspaceId, kind)) {
      const res = parseCachedManifest(row.source);
      if (!res.ok || res.manifest.kind !== kind) continue;
      const base = { name: row.name, version: row.version, hash: row.hash, source: row.source };
      out.push(kind === 'Tool' ? { kind, ...base, manifest: res.manifest as ToolManifest } : { kind, ...base, manifest: res.manifest as AgentManifest });
    }
  }
  return out;
}
