/**
 * Workflow sources as the session commands read them: a library reference resolved to its source,
 * and sources parsed once (memoised, bounded) or refused with `invalid_workflow`.
 */
import type { Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import type { ParseResult, Workflow } from '../../workflow/index.ts';
import { workflowCode } from '../../workflow/code.ts';

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
