/**
 * Workflow sources as the session commands read them: a library reference resolved to its source,
 * sources parsed once (memoised, bounded) or refused with `invalid_workflow`, and a save into the
 * library (`workflow.save`, and `manifest.apply` of a Workflow manifest: the library is the one
 * home of workflows, docs/manifests.md).
 */
import type { Decision, Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import type { ParseResult, Workflow } from '../../workflow/index.ts';
import { workflowCode } from '../../workflow/code.ts';
import { assertActiveWorkspace, workspaceStatus, type WorkspaceStatus } from '../workspaces/scope.ts';
import { workflowStream } from './events.ts';

/** Resolve `name` (latest revision) or `name@version` (its latest revision) in a workspace's library. */
export function resolveWorkflowSource(r: Reader, workspaceId: string, ref: string): { source: string } | undefined {
  const at = ref.lastIndexOf('@');
  const name = at > 0 ? ref.slice(0, at) : ref;
  const version = at > 0 ? ref.slice(at + 1) : undefined;
  const row = version === undefined
    ? r.get(`SELECT w.source FROM workflows w JOIN workflow_names n ON n.workspace_id = w.workspace_id AND n.name = w.name AND n.latest = w.revision
             WHERE w.workspace_id = ? AND w.name = ?`, [workspaceId, name])
    : r.get('SELECT source FROM workflows WHERE workspace_id = ? AND name = ? AND version = ? ORDER BY revision DESC LIMIT 1', [workspaceId, name, version]);
  return row ? { source: String(row['source']) } : undefined;
}

/** Parsing is pure, so results are memoised by source text (bounded): 1,000 starts parse once. */
const parseCache = new Map<string, ParseResult>();

export function parseCached(source: string): ParseResult {
  let res = parseCache.get(source);
  if (!res) {
    res = workflowCode.get().parseWorkflow(source);
    if (parseCache.size >= 64) parseCache.delete(parseCache.keys().next().value!);
    parseCache.set(source, res);
  }
  return res;
}

export function parsed(source: string): { workflow: Workflow; hash: string } {
  const res = parseCached(source);
  if (!res.ok) {
    const first = res.errors[0]!;
    throw new KernelError('invalid_workflow', `The workflow has ${res.errors.length} problem(s); first: line ${first.line}:${first.column} ${first.path}: ${first.message}`,
      { issues: res.errors as unknown as Json });
  }
  return { workflow: res.workflow, hash: res.hash };
}

/** Every workflow of a workspace's library that is not archived: the latest revision of each name and version. */
export function readLibraryWorkflows(r: Reader, workspaceId: string): { name: string; version: string; hash: string; source: string }[] {
  return r.all(`SELECT w.name, w.version, w.hash, w.source FROM workflows w
      JOIN workflow_names n ON n.workspace_id = w.workspace_id AND n.name = w.name AND n.archived = 0
      WHERE w.workspace_id = ? AND w.revision = (SELECT max(x.revision) FROM workflows x WHERE x.workspace_id = w.workspace_id AND x.name = w.name AND x.version = w.version)
      ORDER BY w.name, w.version`, [workspaceId]).map((x) => ({ name: String(x['name']), version: String(x['version']), hash: String(x['hash']), source: String(x['source']) }));
}

export interface SaveState { readonly latest?: { revision: number; hash: string; archived?: number }; readonly workspace: WorkspaceStatus }

export function loadSave(r: Reader, workspaceId: string, source: string): SaveState {
  const res = parseCached(source);
  const latest = res.ok ? r.get(`SELECT w.revision, w.hash, n.archived FROM workflows w
    JOIN workflow_names n ON n.workspace_id = w.workspace_id AND n.name = w.name AND n.latest = w.revision
    WHERE w.workspace_id = ? AND w.name = ?`, [workspaceId, res.workflow.name]) as { revision: number; hash: string; archived: number } | undefined : undefined;
  return { ...(latest ? { latest } : {}), workspace: workspaceStatus(r, workspaceId) };
}

/** The next revision of the workflow's name; an unchanged definition saves nothing (unless the name is archived: saving brings it back). */
export function decideSave(st: SaveState, workspaceId: string, source: string): Decision {
  assertActiveWorkspace(st.workspace, workspaceId);
  const { workflow, hash } = parsed(source);
  const prev = st.latest;
  if (prev && prev.hash === hash && !prev.archived) return { events: [], value: { name: workflow.name, revision: prev.revision, hash, unchanged: true } };
  const revision = (prev?.revision ?? 0) + 1;
  return {
    events: [{ stream: workflowStream(workspaceId, workflow.name), type: 'workflow.saved', payload: { workspaceId, name: workflow.name, version: workflow.version, revision, hash, source, description: workflow.description ?? '' } }],
    value: { name: workflow.name, revision, hash, unchanged: false },
  };
}
