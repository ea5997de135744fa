/**
 * The registry as the manifests domain reads it: the manifests of a workspace (its own table) and
 * the workflows of the workspace's library (the one home of Workflow manifests, read through the
 * sessions slice's reader), parsed once per source text (memoised, bounded) and resolved.
 *
 * Invariants:
 * 1. Only applied (valid) sources are stored, so every stored manifest parses; one that stops
 *    parsing after an upgrade of the reader is left out of the graph and named in `unreadable`.
 * 2. Pure reads: nothing here writes.
 */
import type { Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import { manifestCode } from '../../manifests/code.ts';
import type { Manifest, ManifestResult, Resolution } from '../../manifests/index.ts';
import { parseCached, readLibraryWorkflows } from '../sessions/workflow-source.ts';

export const MANIFEST_KINDS_STORED = ['Kata', 'Agent', 'Tool', 'Relic', 'Monument'] as const;
export type StoredKind = (typeof MANIFEST_KINDS_STORED)[number];

export interface ManifestRow {
  readonly kind: string;
  readonly name: string;
  readonly version: string;
  readonly hash: string;
  readonly source: string;
  readonly origin: Json;
  readonly appliedAt: string;
}

const cache = new Map<string, ManifestResult>();
const CACHE_MAX = 4096;

/** Parse once per source text (the registry re-reads the same texts on every query). */
export function parseCachedManifest(source: string): ManifestResult {
  let res = cache.get(source);
  if (!res) {
    res = manifestCode.get().parseManifest(source);
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(source, res);
  }
  return res;
}

/** The manifest, or `invalid_manifest` with every issue (the first in the message). */
export function parsedManifest(source: string): { manifest: Manifest; warnings: Json } {
  const res = parseCachedManifest(source);
  if (!res.ok) {
    const first = res.errors[0]!;
    throw new KernelError('invalid_manifest', `The manifest has ${res.errors.length} problem(s); first: line ${first.line}:${first.column} ${first.path}: ${first.message}`,
      { issues: res.errors as unknown as Json });
  }
  return { manifest: res.manifest, warnings: res.warnings as unknown as Json };
}

export function readManifestRows(r: Reader, workspaceId: string, kind?: string): ManifestRow[] {
  return r.all(`SELECT kind, name, version, hash, source, origin, applied_at FROM manifests WHERE workspace_id = ? ${kind ? 'AND kind = ?' : ''} ORDER BY kind, name, version`,
    kind ? [workspaceId, kind] : [workspaceId]).map((x) => ({
    kind: String(x['kind']), name: String(x['name']), version: String(x['version']), hash: String(x['hash']), source: String(x['source']),
    origin: JSON.parse(String(x['origin'])) as Json, appliedAt: String(x['applied_at']),
  }));
}

export interface Registry {
  readonly manifests: readonly Manifest[];
  readonly resolution: Resolution;
  /** Stored sources that no longer parse (left out of the graph). */
  readonly unreadable: readonly { kind: string; name: string; version: string; message: string }[];
}

/** Every manifest of a workspace (its own and its library's workflows), parsed and resolved. */
export function readRegistry(r: Reader, workspaceId: string): Registry {
  const manifests: Manifest[] = [];
  const unreadable: { kind: string; name: string; version: string; message: string }[] = [];
  for (const m of readManifestRows(r, workspaceId)) {
    const res = parseCachedManifest(m.source);
    if (res.ok) manifests.push(res.manifest);
    else unreadable.push({ kind: m.kind, name: m.name, version: m.version, message: res.errors[0]!.message });
  }
  for (const w of readLibraryWorkflows(r, workspaceId)) {
    const res = parseCached(w.source);
    if (res.ok) manifests.push({ kind: 'Workflow', name: res.workflow.name, version: res.workflow.version, imports: res.workflow.imports ?? [], workflow: res.workflow, hash: res.hash });
    else unreadable.push({ kind: 'Workflow', name: w.name, version: w.version, message: res.errors[0]!.message });
  }
  return { manifests, resolution: manifestCode.get().resolve(manifests), unreadable };
}
