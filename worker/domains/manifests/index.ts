/**
 * The manifest registry of a workspace (docs/manifests.md): Tools, Agents, Relics, Monuments and
 * Katas applied as YAML, each change one event; Workflow manifests go to the workflow library (the
 * one home of workflows) through the same decision as `workflow.save`. Queries answer the list,
 * one manifest, the dependency graph (JSON or Mermaid), what depends on a manifest, the highest
 * installed version in a range (execution by name) and a dry-run validation for live editing.
 *
 * Invariants:
 * 1. An invalid source changes nothing (`invalid_manifest`, every issue at its line and column):
 *    the last good version stays active while an edit is invalid.
 * 2. An unchanged source appends nothing; each applied change is exactly one event.
 * 3. A removal that would leave a need unmet (no other installed version satisfies it) is refused
 *    with `has_dependents`, naming what depends on it.
 * 4. Parsing and resolving load on demand (manifestCode, workflowCode): the kernel's first chunk
 *    carries neither.
 */
import { z } from 'zod';
import { defineCommands, defineQueries, type Decision, type KernelModule, type Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import { sha256Hex } from '../../kernel/log/hash.ts';
import { manifestCode } from '../../manifests/code.ts';
import { workflowCode } from '../../workflow/code.ts';
import { decideSave, loadSave, type SaveState } from '../sessions/workflow-source.ts';
import { assertActiveWorkspace, workspaceField, workspaceIdSchema, workspaceStatus, type WorkspaceStatus } from '../workspaces/scope.ts';
import { MANIFEST_KINDS_STORED, parseCachedManifest, parsedManifest, readManifestRows, readRegistry, type StoredKind } from './state.ts';
import { validateDraft } from './validate.ts';
import { relicCommands, relicEvents, relicProjection, relicQueries } from './relics.ts';
import { installedForExecution } from './installed.ts';
import type { Installed } from '../../manifests/index.ts';

const MAX_SOURCE = 256 * 1024;
const origin = z.strictObject({
  /** How the manifest arrived: typed in the app, a picked folder, an uploaded file, a realm install, a program. */
  via: z.enum(['editor', 'folder', 'upload', 'realm', 'api']),
  /** The file's path in the folder or the upload's file name. */
  path: z.string().min(1).max(1000).optional(),
  /** The realm it was installed from. */
  realm: z.string().min(1).max(200).optional(),
});
type Origin = z.infer<typeof origin>;

const schemas = {
  apply: z.strictObject({ workspaceId: workspaceField, source: z.string().min(1).max(MAX_SOURCE), origin: origin.default({ via: 'api' }) }),
  ref: z.strictObject({ workspaceId: workspaceField, kind: z.enum(MANIFEST_KINDS_STORED), name: z.string().min(1).max(300), version: z.string().min(1).max(100) }),
};
export type Apply = z.infer<typeof schemas.apply>;
type Ref = z.infer<typeof schemas.ref>;

export const manifestStream = (workspaceId: string, kind: string, name: string): string => `manifest:${workspaceId}/${kind}/${name}`;
const keyOf = (m: { kind: string; name: string; version: string }): string => `${m.kind}/${m.name}@${m.version}`;

const appliedEvent = z.strictObject({
  workspaceId: workspaceIdSchema, kind: z.enum(MANIFEST_KINDS_STORED), name: z.string(), version: z.string(),
  hash: z.string(), source: z.string(), origin,
});
type Applied = z.infer<typeof appliedEvent>;
const removedEvent = z.strictObject({ workspaceId: workspaceIdSchema, kind: z.enum(MANIFEST_KINDS_STORED), name: z.string(), version: z.string() });

/** What applying one source needs (exported for the realms domain's installs: the same decision, origin realm). */
export type ApplyState =
  | { readonly workflow: true; readonly save: SaveState }
  | { readonly workflow: false; readonly workspace: WorkspaceStatus; readonly current?: string };

export function loadApply(r: Reader, p: Apply): ApplyState {
  const res = parseCachedManifest(p.source);
  if (res.ok && res.manifest.kind === 'Workflow') return { workflow: true, save: loadSave(r, p.workspaceId, p.source) };
  const current = res.ok ? r.value('SELECT hash FROM manifests WHERE workspace_id = ? AND kind = ? AND name = ? AND version = ?', [p.workspaceId, res.manifest.kind, res.manifest.name, res.manifest.version]) : undefined;
  return { workflow: false, workspace: workspaceStatus(r, p.workspaceId), ...(typeof current === 'string' ? { current } : {}) };
}

export function decideApply(st: ApplyState, p: Apply): Decision {
  const { manifest, warnings } = parsedManifest(p.source);
  if (st.workflow) {
    const saved = decideSave(st.save, p.workspaceId, p.source);
    const v = saved.value as { hash: string; unchanged: boolean };
    return { ...saved, value: { kind: 'Workflow', name: manifest.name, version: manifest.version, hash: v.hash, unchanged: v.unchanged, warnings } };
  }
  assertActiveWorkspace(st.workspace, p.workspaceId);
  const hash = sha256Hex(p.source);
  const value = { kind: manifest.kind, name: manifest.name, version: manifest.version, hash, unchanged: st.current === hash, warnings };
  if (st.current === hash) return { events: [], value };
  const payload: Applied = { workspaceId: p.workspaceId, kind: manifest.kind as StoredKind, name: manifest.name, version: manifest.version, hash, source: p.source, origin: p.origin as Origin };
  return { events: [{ stream: manifestStream(p.workspaceId, manifest.kind, manifest.name), type: 'manifest.applied', payload: payload as unknown as Json }], value };
}

/** What a removal breaks: manifests whose need only this one meets (and what depends on those). */
function removalImpact(r: Reader, p: Ref): { found: boolean; breaks: string[]; dependents: string[]; workspace: WorkspaceStatus } {
  const workspace = workspaceStatus(r, p.workspaceId);
  const found = r.value('SELECT 1 FROM manifests WHERE workspace_id = ? AND kind = ? AND name = ? AND version = ?', [p.workspaceId, p.kind, p.name, p.version]) !== undefined;
  if (!found) return { found, breaks: [], dependents: [], workspace };
  const code = manifestCode.get();
  const { manifests, resolution } = readRegistry(r, p.workspaceId);
  const key = keyOf(p);
  const without = code.resolve(manifests.filter((m) => keyOf(m) !== key));
  const before = new Set(resolution.missing.map((m) => `${m.from} ${m.need.via}`));
  const breaks = [...new Set(without.missing.filter((m) => !before.has(`${m.from} ${m.need.via}`)).map((m) => m.from))].sort();
  const dependents = [...new Set(breaks.flatMap((b) => [b, ...code.dependentsOf(resolution, b)]))].sort();
  return { found, breaks, dependents, workspace };
}

export const manifestsModule = {
  name: 'manifests',
  commands: defineCommands([
    {
      type: 'manifest.apply',
      needs: [manifestCode, workflowCode],
      concurrent: 'Two applies of the same kind, name and version: the later in merge order is the active source. A Workflow manifest is a workflow save (both become revisions).',
      description: "Apply a manifest (YAML) to a workspace's registry: a new kind/name/version, or a changed source of one; a Workflow manifest is saved to the workflow library. An unchanged source appends nothing; an invalid one changes nothing (invalid_manifest).",
      schema: schemas.apply,
      mutates: true,
      load: loadApply,
      decide: decideApply,
    },
    {
      type: 'manifest.remove',
      needs: [manifestCode, workflowCode],
      concurrent: 'The later in merge order of an apply and a remove of the same version decides whether it exists; a remove merged after a dependent arrived leaves that need missing (the graph shows it).',
      description: 'Remove one version of a manifest from a workspace, refused (has_dependents) while something needs it that no other installed version satisfies. Workflows are archived in the library instead (workflow.archive).',
      schema: schemas.ref,
      mutates: true,
      load: removalImpact,
      decide: (st: ReturnType<typeof removalImpact>, p: Ref): Decision => {
        assertActiveWorkspace(st.workspace, p.workspaceId);
        if (!st.found) throw new KernelError('not_found', `There is no ${keyOf(p)} in this workspace's registry.`, { kind: p.kind, name: p.name, version: p.version });
        if (st.breaks.length > 0) {
          throw new KernelError('has_dependents', `${keyOf(p)} is still needed by ${st.breaks.join(', ')}; remove or change ${st.breaks.length === 1 ? 'it' : 'them'} first.`,
            { breaks: st.breaks, dependents: st.dependents });
        }
        return { events: [{ stream: manifestStream(p.workspaceId, p.kind, p.name), type: 'manifest.removed', payload: { workspaceId: p.workspaceId, kind: p.kind, name: p.name, version: p.version } }], value: { removed: keyOf(p) } };
      },
    },
    ...relicCommands,
  ]),
  events: [
    { type: 'manifest.applied', version: 1, scope: 'workspace', concurrent: 'The later in merge order is the active source of its kind, name and version.', description: "A manifest (not a Workflow: those are workflow saves) was applied to a workspace's registry: its source, hash and where it came from.", schema: appliedEvent },
    { type: 'manifest.removed', version: 1, scope: 'workspace', concurrent: 'The later in merge order of an apply and a remove decides whether it exists.', description: "One version of a manifest was removed from a workspace's registry.", schema: removedEvent },
    ...relicEvents,
  ],
  projections: [{
    name: 'manifests',
    version: 1,
    tables: ['manifests'],
    createSql: `CREATE TABLE manifests (
      workspace_id TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
      hash TEXT NOT NULL, source TEXT NOT NULL, origin TEXT NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (workspace_id, kind, name, version)) STRICT;`,
    eventTypes: ['manifest.applied', 'manifest.removed'],
    apply(e, w) {
      const p = e.payload as Applied;
      if (e.type === 'manifest.removed') {
        w.run('DELETE FROM manifests WHERE workspace_id = ? AND kind = ? AND name = ? AND version = ?', [p.workspaceId, p.kind, p.name, p.version]);
        return;
      }
      w.run(`INSERT INTO manifests (workspace_id, kind, name, version, hash, source, origin, applied_at) VALUES (?,?,?,?,?,?,?,?)
             ON CONFLICT (workspace_id, kind, name, version) DO UPDATE SET hash = excluded.hash, source = excluded.source, origin = excluded.origin, applied_at = excluded.applied_at`,
        [p.workspaceId, p.kind, p.name, p.version, p.hash, p.source, JSON.stringify(p.origin), e.at]);
    },
  }, relicProjection],
  queries: defineQueries([
    {
      name: 'manifest.list',
      description: "A workspace's registry: every manifest (kind, name, version, hash, origin, when applied; no source) with the library's workflows as kind Workflow.",
      schema: z.strictObject({ workspaceId: workspaceField, kind: z.enum(['Workflow', ...MANIFEST_KINDS_STORED]).optional() }),
      run: (r, p: { workspaceId: string; kind?: string }, ctx) => {
        const own = p.kind === 'Workflow' ? [] : readManifestRows(r, p.workspaceId, p.kind).map(({ source: _s, ...m }) => m);
        const flows = p.kind === undefined || p.kind === 'Workflow'
          ? (ctx.query('workflow.list', { workspaceId: p.workspaceId }) as { name: string; version: string; hash: string; savedAt: string }[])
            .map((w) => ({ kind: 'Workflow', name: w.name, version: w.version, hash: w.hash, origin: { via: 'library' } as Json, appliedAt: w.savedAt }))
          : [];
        return [...own, ...flows].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
      },
    },
    {
      name: 'manifest.get',
      description: 'One manifest of a workspace with its source: the given version, or the highest installed one.',
      schema: z.strictObject({ workspaceId: workspaceField, kind: z.enum(MANIFEST_KINDS_STORED), name: z.string().min(1).max(300), version: z.string().min(1).max(100).optional() }),
      needs: [manifestCode],
      run: (r, p: { workspaceId: string; kind: StoredKind; name: string; version?: string }) => {
        const rows = readManifestRows(r, p.workspaceId, p.kind).filter((m) => m.name === p.name && (p.version === undefined || m.version === p.version));
        const { compare } = manifestCode.get();
        return rows.length === 0 ? null : rows.reduce((a, b) => (compare(b.version, a.version) > 0 ? b : a));
      },
    },
    {
      name: 'manifest.resolve',
      description: 'The highest installed version of a kind and name within a semver range (default any), parsed: what execution by name uses (a Tool for runner: runner.deploy, an Agent by name).',
      schema: z.strictObject({ workspaceId: workspaceField, kind: z.enum(MANIFEST_KINDS_STORED), name: z.string().min(1).max(300), range: z.string().min(1).max(200).default('*') }),
      needs: [manifestCode],
      run: (r, p: { workspaceId: string; kind: StoredKind; name: string; range: string }) => {
        const rows = readManifestRows(r, p.workspaceId, p.kind).filter((m) => m.name === p.name);
        const best = manifestCode.get().maxSatisfying(rows.map((m) => m.version), p.range);
        const row = rows.find((m) => m.version === best);
        if (!row) return null;
        const res = parseCachedManifest(row.source);
        return res.ok ? { kind: row.kind, name: row.name, version: row.version, hash: row.hash, manifest: res.manifest as unknown as Json } : null;
      },
    },
    {
      name: 'manifest.tools',
      description: "The installed Tools of a workspace, the highest version of each: name, version, runner, description and parameters (type, required, description, enum, default) — the editor completes a task step's with: from them.",
      schema: z.strictObject({ workspaceId: workspaceField }),
      needs: [manifestCode],
      run: (r, p: { workspaceId: string }) => {
        const { compare } = manifestCode.get();
        const best = new Map<string, Installed & { kind: 'Tool' }>();
        for (const m of installedForExecution(r, p.workspaceId)) {
          if (m.kind !== 'Tool') continue;
          const prev = best.get(m.name);
          if (!prev || compare(m.version, prev.version) > 0) best.set(m.name, m);
        }
        return [...best.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((m) => ({
          name: m.name, version: m.version, runner: m.manifest.runner, description: m.manifest.description ?? '',
          parameters: JSON.parse(JSON.stringify(m.manifest.parameters)) as { [name: string]: { type: string; required: boolean; description?: string; enum?: Json[]; default?: Json } },
        }));
      },
    },
    {
      name: 'manifest.graph',
      description: "The dependency graph of a workspace's registry: nodes, edges (what was needed and which version meets it), missing needs with their path, cycles; or the same as a Mermaid flowchart.",
      schema: z.strictObject({ workspaceId: workspaceField, format: z.enum(['json', 'mermaid']).default('json') }),
      needs: [manifestCode, workflowCode],
      run: (r, p: { workspaceId: string; format: 'json' | 'mermaid' }) => {
        const code = manifestCode.get();
        const { resolution, unreadable } = readRegistry(r, p.workspaceId);
        if (p.format === 'mermaid') return { mermaid: code.graphMermaid(resolution) };
        return { ...code.graphJson(resolution), missing: resolution.missing.map((m) => ({ from: m.from, need: `${m.need.kind}/${m.need.name} ${m.need.version}`, via: m.need.via, path: [...m.path] })), cycles: resolution.cycles.map((c) => [...c]), unreadable };
      },
    },
    {
      name: 'manifest.dependents',
      description: 'What depends on a manifest (before an uninstall or upgrade): direct, all (through others), and which needs its removal would leave unmet.',
      schema: schemas.ref,
      needs: [manifestCode, workflowCode],
      run: (r, p: Ref) => {
        const { resolution } = readRegistry(r, p.workspaceId);
        const key = keyOf(p);
        const direct = [...resolution.edges].filter(([, list]) => list.some((e) => e.to === key)).map(([from]) => from).sort();
        const impact = removalImpact(r, p);
        return { key, direct, all: manifestCode.get().dependentsOf(resolution, key), breaks: impact.breaks };
      },
    },
    {
      name: 'manifest.validate',
      description: 'Validate a manifest without applying it (live editing): every issue with line and column, or what it is, whether it changes or adds a version, its needs and which are missing, and cycles through it.',
      schema: z.strictObject({ workspaceId: workspaceField, source: z.string().max(MAX_SOURCE) }),
      needs: [manifestCode, workflowCode],
      run: (r, p: { workspaceId: string; source: string }) => validateDraft(r, p.workspaceId, p.source),
    },
    ...relicQueries,
  ]),
} satisfies KernelModule;
