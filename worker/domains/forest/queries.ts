/**
 * Reads of the Forest, over its own tables only. Archived nodes never appear in lists, links,
 * traversals, tag counts or search; `forest.node.get` still answers for them (status 'archived').
 * Lists, tags and search read one workspace (`workspaceId`, default: the default workspace); reads
 * by node id take an optional `workspaceId` and then answer nothing for a node of another one.
 */
import { z } from 'zod';
import { defineQueries, type Reader } from '../../kernel/module.ts';
import type { Row } from '../../kernel/db/sql.ts';
import { backlinksOf, mentionsOf } from './mentions.ts';
import { BODY_TAGS_OF_N, IS_SUMMARY, RIDS_WITH_TAG, tagKey } from './tags.ts';
import type { SqlValue } from '@sqlite.org/sqlite-wasm';
import { KernelError, type Json } from '../../kernel/errors.ts';
import { direction, id, linkType, MAX_DEPTH, tag } from './schemas.ts';
import { searchQuery } from './search.ts';
import type { NodeState } from './commands.ts';
import { workspaceField, workspaceIdSchema } from '../workspaces/scope.ts';

/** A node as queries answer it: the state commands decide on, plus who, when and its version. */
export interface ForestNode extends NodeState {
  /** `#tags` typed in the body (tags.ts): tags of the node as much as `tags`, which are set explicitly. */
  readonly bodyTags: string[];
  readonly workspaceId: string;
  readonly projectId: string | null;
  readonly createdBy: string;
  readonly updatedBy: string;
  readonly sessionId: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Stream version of `forest:node:<id>`: pass as expectedVersion to change it optimistically. */
  readonly version: number;
}

export type NodeSummary = Omit<ForestNode, 'body'> & { readonly excerpt: string };

export interface ForestLink {
  readonly from: string;
  readonly to: string;
  readonly type: string;
  readonly metadata: { [k: string]: Json };
  readonly createdBy: string;
  readonly sessionId: string | null;
  readonly createdAt: string;
  /** The node at the other end (`to` for outgoing links, `from` for incoming ones). */
  readonly other: { readonly id: string; readonly title: string };
}

const NODE_COLS = `n.id, n.workspace_id, n.project_id, n.title, n.tags, ${BODY_TAGS_OF_N}, n.metadata, n.status, n.created_by, n.updated_by, n.session_id, n.created_at, n.updated_at, n.version`;


export function toNode(r: Row): ForestNode {
  return { ...toSummaryBase(r), body: String(r['body']) };
}

function toSummaryBase(r: Row): Omit<ForestNode, 'body'> {
  const tags = String(r['tags']);
  const bodyTags = r['body_tags'] == null ? '' : String(r['body_tags']);
  return {
    bodyTags: bodyTags ? bodyTags.split(' ') : [],
    id: String(r['id']), workspaceId: String(r['workspace_id']), projectId: r['project_id'] == null ? null : String(r['project_id']), title: String(r['title']), tags: tags ? tags.split(' ') : [],
    metadata: JSON.parse(String(r['metadata'])) as { [k: string]: Json },
    status: r['status'] === 'archived' ? 'archived' : 'active',
    createdBy: String(r['created_by']), updatedBy: String(r['updated_by']),
    sessionId: r['session_id'] == null ? null : String(r['session_id']),
    createdAt: String(r['created_at']), updatedAt: String(r['updated_at']), version: Number(r['version']),
  };
}

function toLink(r: Row): ForestLink {
  return {
    from: String(r['from_id']), to: String(r['to_id']), type: String(r['type']),
    metadata: JSON.parse(String(r['metadata'])) as { [k: string]: Json },
    createdBy: String(r['created_by']), sessionId: r['session_id'] == null ? null : String(r['session_id']),
    createdAt: String(r['created_at']), other: { id: String(r['other_id']), title: String(r['other_title']) },
  };
}

/** Links of a node whose other end is active, ordered by creation. */
export function linksOf(r: Reader, nodeId: string, dir: 'out' | 'in', type?: string): ForestLink[] {
  const [self, other] = dir === 'out' ? ['from_id', 'to_id'] : ['to_id', 'from_id'];
  return r.all(
    `SELECT l.*, o.id AS other_id, o.title AS other_title FROM forest_links l
       JOIN forest_nodes o ON o.id = l.${other} AND o.status = 'active'
      WHERE l.${self} = ?${type ? ' AND l.type = ?' : ''} ORDER BY l.seq`, type ? [nodeId, type] : [nodeId]).map(toLink);
}

function isActive(r: Reader, nodeId: string, workspaceId?: string): boolean {
  return r.value(`SELECT 1 FROM forest_nodes WHERE id = ? AND status = 'active'${workspaceId ? ' AND workspace_id = ?' : ''}`, workspaceId ? [nodeId, workspaceId] : [nodeId]) != null;
}

/** Optional on reads by id: when given, a node of another workspace is not found. */
const inWorkspace = workspaceIdSchema.optional();

const listParams = z.strictObject({
  workspaceId: workspaceField,
  projectId: id.optional(),
  tag: tag.optional(),
  sessionId: id.optional(),
  /** false: leave session summaries out (IS_SUMMARY). */
  summaries: z.boolean().default(true),
  limit: z.number().int().min(1).max(500).default(50),
  offset: z.number().int().min(0).default(0),
});
const traverseParams = z.strictObject({
  workspaceId: inWorkspace,
  from: id,
  depth: z.number().int().min(0).max(MAX_DEPTH).default(2),
  types: z.array(linkType).max(32).optional(),
  direction: direction.default('out'),
  maxNodes: z.number().int().min(1).max(5000).default(1000),
});
type TraverseParams = z.infer<typeof traverseParams>;

export interface TraverseResult {
  readonly nodes: { id: string; title: string; tags: string[]; depth: number }[];
  readonly edges: { from: string; to: string; type: string }[];
  /** True when maxNodes stopped the walk before `depth` was exhausted. */
  readonly truncated: boolean;
}

/** Breadth-first walk over active nodes; each node is visited once (cycles end there). */
export function traverse(r: Reader, p: TraverseParams): TraverseResult {
  const start = r.get(`SELECT id, title, tags FROM forest_nodes WHERE id = ? AND status = 'active'${p.workspaceId ? ' AND workspace_id = ?' : ''}`, p.workspaceId ? [p.from, p.workspaceId] : [p.from]);
  if (!start) throw new KernelError('not_found', `params.from: no active node ${p.from}.`, { field: 'params.from', id: p.from });
  const nodes = new Map<string, { id: string; title: string; tags: string[]; depth: number }>();
  const add = (row: Row, depth: number) => {
    const t = String(row['tags']);
    nodes.set(String(row['id']), { id: String(row['id']), title: String(row['title']), tags: t ? t.split(' ') : [], depth });
  };
  add(start, 0);
  const edges = new Map<string, { from: string; to: string; type: string }>();
  const dirs: ('out' | 'in')[] = p.direction === 'both' ? ['out', 'in'] : [p.direction];
  const typeSql = p.types?.length ? ` AND l.type IN (${p.types.map(() => '?').join(',')})` : '';
  let frontier = [p.from];
  let truncated = false;
  for (let depth = 1; depth <= p.depth && frontier.length > 0 && !truncated; depth++) {
    const next: string[] = [];
    for (let i = 0; i < frontier.length; i += 500) {
      const chunk = frontier.slice(i, i + 500);
      for (const dir of dirs) {
        const [self, other] = dir === 'out' ? ['from_id', 'to_id'] : ['to_id', 'from_id'];
        const bind: SqlValue[] = [...chunk, ...(p.types ?? [])];
        const rows = r.all(
          `SELECT l.from_id, l.to_id, l.type, o.id, o.title, o.tags FROM forest_links l
             JOIN forest_nodes o ON o.id = l.${other} AND o.status = 'active'
            WHERE l.${self} IN (${chunk.map(() => '?').join(',')})${typeSql} ORDER BY l.seq`, bind);
        for (const row of rows) {
          const otherId = String(row['id']);
          if (!nodes.has(otherId)) {
            if (nodes.size >= p.maxNodes) { truncated = true; continue; }
            add(row, depth);
            next.push(otherId);
          }
          const e = { from: String(row['from_id']), to: String(row['to_id']), type: String(row['type']) };
          edges.set(`${e.from} ${e.to} ${e.type}`, e);
        }
      }
    }
    frontier = next;
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()], truncated };
}

export const queries = defineQueries([
  searchQuery,
  {
    name: 'forest.node.get',
    description: 'One node by id with its outgoing links and backlinks (incoming), its [[wiki links]] (resolved by title, or unresolved) and the nodes that mention it, or null (also when workspaceId is given and the node is in another workspace). Links to archived nodes are hidden.',
    schema: z.strictObject({ workspaceId: inWorkspace, id }),
    run: (r, p: { workspaceId?: string; id: string }) => {
      const row = r.get(`SELECT ${NODE_COLS}, n.body FROM forest_nodes n WHERE n.id = ?${p.workspaceId ? ' AND n.workspace_id = ?' : ''}`, p.workspaceId ? [p.id, p.workspaceId] : [p.id]);
      if (!row) return null;
      const node = toNode(row);
      const active = node.status === 'active';
      const ws = String(row['workspace_id']);
      return {
        node, outgoing: active ? linksOf(r, p.id, 'out') : [], incoming: active ? linksOf(r, p.id, 'in') : [],
        mentions: mentionsOf(r, p.id, ws), mentionedBy: active ? backlinksOf(r, node.title, ws, p.id) : [],
      };
    },
  },
  {
    name: 'forest.node.list',
    description: "A workspace's active nodes, most recently updated first, optionally with a tag (set or typed in the body as #tag), of a project or from a workflow session, without session summaries (summaries: false); bodies are cut to a 200-character excerpt. Answers { nodes, total }.",
    schema: listParams,
    run: (r, p: z.infer<typeof listParams>) => {
      const where = ['n.workspace_id = ?', "n.status = 'active'"];
      const bind: SqlValue[] = [p.workspaceId];
      if (p.tag) { where.push(`n.rid IN (${RIDS_WITH_TAG})`); bind.push(tagKey(p.tag), tagKey(p.tag)); }
      if (!p.summaries) where.push(`NOT ${IS_SUMMARY}`);
      if (p.sessionId) { where.push('n.session_id = ?'); bind.push(p.sessionId); }
      if (p.projectId) { where.push('n.project_id = ?'); bind.push(p.projectId); }
      const w = where.join(' AND ');
      const nodes = r.all(`SELECT ${NODE_COLS}, substr(n.body, 1, 200) AS excerpt FROM forest_nodes n WHERE ${w}
                           ORDER BY n.updated_at DESC, n.rid DESC LIMIT ? OFFSET ?`, [...bind, p.limit, p.offset])
        .map((x): NodeSummary => ({ ...toSummaryBase(x), excerpt: String(x['excerpt']) }));
      const total = Number(r.value(`SELECT COUNT(*) FROM forest_nodes n WHERE ${w}`, bind) ?? 0);
      return { nodes, total };
    },
  },
  {
    name: 'forest.links',
    description: 'Links of a node (direction out, in or both; optionally one type) whose other end is active.',
    schema: z.strictObject({ workspaceId: inWorkspace, id, direction: direction.default('both'), type: linkType.optional() }),
    run: (r, p: { workspaceId?: string; id: string; direction: 'out' | 'in' | 'both'; type?: string }) => {
      if (!isActive(r, p.id, p.workspaceId)) return [];
      const out = p.direction === 'in' ? [] : linksOf(r, p.id, 'out', p.type).map((l) => ({ ...l, direction: 'out' as const }));
      const inc = p.direction === 'out' ? [] : linksOf(r, p.id, 'in', p.type).map((l) => ({ ...l, direction: 'in' as const }));
      return [...out, ...inc];
    },
  },
  {
    name: 'forest.traverse',
    description: `Nodes and edges reachable from a node by breadth-first search (depth ≤ ${MAX_DEPTH}, optional link types and direction; cycles visited once). Answers { nodes (with depth), edges, truncated }.`,
    schema: traverseParams,
    run: (r, p: TraverseParams) => traverse(r, p),
  },
  {
    name: 'forest.tags',
    description: "Every tag on a workspace's active nodes (set, or typed in the body as #tag) with its node count, most used first; summaries: false leaves session summaries out.",
    schema: z.strictObject({ workspaceId: workspaceField, summaries: z.boolean().default(true) }),
    run: (r, p: { workspaceId: string; summaries: boolean }) => r.all(`SELECT x.tag AS tag, COUNT(*) AS count FROM (
          SELECT t.tag, t.node_rid AS rid FROM forest_node_tags t
          UNION SELECT bt.tag, bn.rid FROM forest_body_tags bt JOIN forest_nodes bn ON bn.id = bt.node_id) x
        JOIN forest_nodes n ON n.rid = x.rid AND n.status = 'active' AND n.workspace_id = ?${p.summaries ? '' : ` AND NOT ${IS_SUMMARY}`}
        GROUP BY x.tag ORDER BY count DESC, x.tag`, [p.workspaceId]).map((x) => ({ tag: String(x['tag']), count: Number(x['count']) })),
  },
]);
