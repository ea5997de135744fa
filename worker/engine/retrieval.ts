/**
 * Forest retrieval for an llm or agent step's `context` (docs/workflows.md, "Retrieval into
 * prompts"): run when the step starts, recorded in its `step.started` event, read in the prompt
 * as `{{ context.<name> }}`. Expressions stay pure (no function reads the Forest); retrieval is
 * declared on the step, so what the model saw is in the log and a replay never searches again.
 *
 * - `forest: { query, tags?, topK, budget }`: a full-text search (forest.search), best first.
 * - `history: { query?, outcome, topK, budget }`: the summary nodes earlier sessions of this
 *   workflow wrote (tag `workflow:<name>`; outcome `succeeded` / `failed` narrows them), newest
 *   first, or best first when a query is given. The session's own node never exists yet.
 *
 * Invariants: bounded (topK ≤ 50 nodes, `budget` characters of text); never writes; reads only the
 * session's workspace.
 */
import { forestSearch, nodesText, type ForestAccess } from './forest-runners.ts';
import type { SessionState } from '../domains/sessions/fold.ts';
import type { Retrieved } from './planner/planner-base.ts';
import type { Retrieval } from '../workflow/types.ts';

interface Listed { id: string; title: string; tags: string[]; excerpt: string }

export function retrieve(access: ForestAccess, spec: Retrieval, state: SessionState): Retrieved {
  if ('forest' in spec) {
    const f = spec.forest;
    const out = forestSearch(access, { query: f.query, topK: f.topK, budget: f.budget, ...(f.tags ? { tags: f.tags } : {}) }, state.workspaceId) as { text: string; read: string[]; total: number };
    return { text: out.text, read: out.read, total: out.total };
  }
  const h = spec.history;
  const tags = [`workflow:${state.workflow.name}`, ...(h.outcome === 'any' ? [] : [h.outcome])];
  if (h.query !== undefined) {
    const out = forestSearch(access, { query: h.query, topK: h.topK, budget: h.budget, tags }, state.workspaceId) as { text: string; read: string[]; total: number };
    return { text: out.text, read: out.read, total: out.total };
  }
  // Newest first; an outcome narrows the list (read a few more, then keep the ones with the tag).
  const listed = access.query('forest.node.list', { workspaceId: state.workspaceId, tag: tags[0], limit: Math.min(200, h.topK * (tags.length > 1 ? 8 : 1)) }) as { nodes: Listed[]; total: number };
  const nodes = listed.nodes.filter((n) => tags.every((t) => n.tags.includes(t))).slice(0, h.topK);
  return { text: nodesText(access, nodes, h.budget, state.workspaceId), read: nodes.map((n) => n.id), total: tags.length > 1 ? nodes.length : listed.total };
}
