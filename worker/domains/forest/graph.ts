/**
 * Reads for the Forest as linked notes: the whole Forest as one graph (`forest.graph`) and wiki-link
 * targets resolved by title (`forest.resolve`, for text whose mentions are not stored, e.g. a
 * search snippet or an LLM answer).
 *
 * Invariants:
 * 1. One workspace: nodes are the active nodes of `workspaceId`; an edge joins two of the nodes
 *    answered (an edge to a node left out by the filters or the cap is not answered).
 * 2. Edges are the explicit links (their type) and the resolved `[[wiki links]]` (type `wiki`),
 *    each (from, to, type) once, never a node to itself.
 * 3. A title resolves exactly as mentions do (mentions.ts): the oldest active node of the workspace
 *    with that title, ASCII case-insensitive.
 */
import { z } from 'zod';
import { defineQueries } from '../../kernel/module.ts';
import { workspaceField } from '../workspaces/scope.ts';
import { tag } from './schemas.ts';
import { BODY_TAGS_OF_N, IS_SUMMARY, RIDS_WITH_TAG, tagKey } from './tags.ts';

export const MAX_GRAPH_NODES = 5000;

const graphParams = z.strictObject({
  workspaceId: workspaceField,
  tag: tag.optional(),
  /** false: leave session summaries out. */
  summaries: z.boolean().default(true),
  maxNodes: z.number().int().min(1).max(MAX_GRAPH_NODES).default(2000),
});
type GraphParams = z.infer<typeof graphParams>;

export interface GraphNode {
  readonly id: string;
  readonly title: string;
  /** Tags set and typed in the body, each once. */
  readonly tags: string[];
}

export interface ForestGraph {
  readonly nodes: GraphNode[];
  readonly edges: { from: string; to: string; type: string }[];
  /** Active nodes that passed the filters (nodes beyond maxNodes are not answered). */
  readonly total: number;
  readonly truncated: boolean;
}

/** SQL: the id of the node titled `m.target` in workspace `?`, as mentions resolve. */
const RESOLVE = `(SELECT t.id FROM forest_nodes t WHERE t.title = m.target COLLATE NOCASE AND t.workspace_id = ? AND t.status = 'active' ORDER BY t.rid LIMIT 1)`;

const resolveParams = z.strictObject({
  workspaceId: workspaceField,
  titles: z.array(z.string().min(1).max(300)).max(500),
});

export const graphQueries = defineQueries([
  {
    name: 'forest.graph',
    description: `The whole Forest of a workspace as a graph: its active nodes (optionally with a tag, without session summaries when summaries: false; the most recently updated first, up to maxNodes ≤ ${MAX_GRAPH_NODES}) and the edges among them — explicit links and resolved [[wiki links]] (type wiki). Answers { nodes, edges, total, truncated }.`,
    schema: graphParams,
    run: (r, p: GraphParams): ForestGraph => {
      const where = ['n.workspace_id = ?', "n.status = 'active'"];
      const bind: (string | number)[] = [p.workspaceId];
      if (p.tag) { where.push(`n.rid IN (${RIDS_WITH_TAG})`); bind.push(tagKey(p.tag), tagKey(p.tag)); }
      if (!p.summaries) where.push(`NOT ${IS_SUMMARY}`);
      const w = where.join(' AND ');
      const rows = r.all(`SELECT n.id, n.title, n.tags, ${BODY_TAGS_OF_N} FROM forest_nodes n WHERE ${w}
                          ORDER BY n.updated_at DESC, n.rid DESC LIMIT ?`, [...bind, p.maxNodes]);
      const nodes = rows.map((x): GraphNode => {
        const tags = [String(x['tags']), x['body_tags'] == null ? '' : String(x['body_tags'])].join(' ').split(' ').filter(Boolean);
        return { id: String(x['id']), title: String(x['title']), tags: [...new Set(tags)] };
      });
      const total = nodes.length < p.maxNodes ? nodes.length : Number(r.value(`SELECT COUNT(*) FROM forest_nodes n WHERE ${w}`, bind) ?? 0);
      const ids = new Set(nodes.map((n) => n.id));
      const list = JSON.stringify([...ids]);
      const edges = new Map<string, { from: string; to: string; type: string }>();
      const add = (from: string, to: string, type: string) => {
        if (from !== to && ids.has(from) && ids.has(to)) edges.set(`${from} ${to} ${type}`, { from, to, type });
      };
      for (const l of r.all(`SELECT l.from_id, l.to_id, l.type FROM forest_links l
          WHERE l.from_id IN (SELECT value FROM json_each(?)) AND l.to_id IN (SELECT value FROM json_each(?)) ORDER BY l.seq`, [list, list])) {
        add(String(l['from_id']), String(l['to_id']), String(l['type']));
      }
      for (const m of r.all(`SELECT m.from_id, ${RESOLVE} AS to_id FROM forest_mentions m
          WHERE m.from_id IN (SELECT value FROM json_each(?)) ORDER BY m.from_id, m.pos`, [p.workspaceId, list])) {
        if (m['to_id'] != null) add(String(m['from_id']), String(m['to_id']), 'wiki');
      }
      return { nodes, edges: [...edges.values()], total, truncated: total > nodes.length };
    },
  },
  {
    name: 'forest.resolve',
    description: 'Wiki-link targets resolved by title as [[links]] in a body are (the oldest active node of the workspace with that title, case-insensitive): { title, id } each, id null when no node has it.',
    schema: resolveParams,
    run: (r, p: z.infer<typeof resolveParams>) => [...new Set(p.titles.map((t) => t.trim()).filter(Boolean))].map((title) => {
      const id = r.value(`SELECT t.id FROM forest_nodes t WHERE t.title = ? COLLATE NOCASE AND t.workspace_id = ? AND t.status = 'active' ORDER BY t.rid LIMIT 1`, [title, p.workspaceId]);
      return { title, id: id == null ? null : String(id) };
    }),
  },
]);
