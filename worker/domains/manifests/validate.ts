/**
 * `manifest.validate`: a draft judged as if it were applied, without applying it (live editing,
 * hot reload's preview): its issues, or what it is, whether it adds or changes a version, each need
 * with the version that would meet it, the needs left missing and the cycles through it.
 */
import type { Reader } from '../../kernel/module.ts';
import type { Json } from '../../kernel/errors.ts';
import { sha256Hex } from '../../kernel/log/hash.ts';
import { manifestCode } from '../../manifests/code.ts';
import { parseCachedManifest, readRegistry } from './state.ts';

export function validateDraft(r: Reader, workspaceId: string, source: string): Json {
  const res = parseCachedManifest(source);
  if (!res.ok) return { ok: false, errors: res.errors as unknown as Json };
  const draft = res.manifest;
  const code = manifestCode.get();
  const key = code.keyOf(draft);
  const { manifests } = readRegistry(r, workspaceId);
  const current = manifests.find((m) => code.keyOf(m) === key);
  const hash = draft.kind === 'Workflow' ? draft.hash : sha256Hex(source);
  const currentHash = current === undefined ? undefined : current.kind === 'Workflow' ? current.hash
    : r.value('SELECT hash FROM manifests WHERE workspace_id = ? AND kind = ? AND name = ? AND version = ?', [workspaceId, draft.kind, draft.name, draft.version]);
  const sameName = manifests.some((m) => m.kind === draft.kind && m.name === draft.name);
  const unchanged = current !== undefined && currentHash === hash;
  const resolution = code.resolve([...manifests.filter((m) => code.keyOf(m) !== key), draft]);
  return {
    ok: true,
    kind: draft.kind, name: draft.name, version: draft.version, hash,
    change: unchanged ? 'unchanged' : current !== undefined ? 'changed' : sameName ? 'new_version' : 'new',
    warnings: res.warnings as unknown as Json,
    needs: (resolution.edges.get(key) ?? []).map((e) => ({ need: `${e.need.kind}/${e.need.name} ${e.need.version}`, via: e.need.via, to: e.to })),
    missing: resolution.missing.filter((m) => m.path.includes(key)).map((m) => ({ from: m.from, need: `${m.need.kind}/${m.need.name} ${m.need.version}`, via: m.need.via, path: [...m.path] })),
    cycles: resolution.cycles.filter((c) => c.includes(key)).map((c) => [...c]),
  };
}
