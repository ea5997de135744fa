/**
 * `[[wiki links]]` typed in a node's body, as Obsidian users expect: derived on save, resolved by
 * title when read. `[[Target]]` and `[[Target|label]]` in a body become mentions of the active
 * node titled Target in the same workspace (ASCII case-insensitive); a target with no such node is
 * shown as unresolved, and turns into a link the moment a node with that title exists. The node
 * mentioned lists where it is mentioned from (backlinks).
 *
 * Invariants:
 * 1. Deterministic: the mentions of a node are a pure function of its latest body in merge order
 *    (events only: a body-less update leaves them as they are; a delete removes them).
 * 2. Resolution happens at query time, so creating, renaming or archiving the target needs no
 *    change to the mentions table.
 * 3. Text inside code (`inline` and fenced blocks) is not a link.
 */
import type { Projection, Reader } from '../../kernel/module.ts';

const WIKI = /\[\[([^\]|\n]+)(?:\|([^\]\n]*))?\]\]/g;
const CODE = /```[\s\S]*?(?:```|$)|`[^`\n]*`/g;

/** The wiki links of a body, in order, each target once: `{ target, label }`. */
export function wikiLinks(body: string): { target: string; label: string }[] {
  const text = body.replace(CODE, (m) => ' '.repeat(m.length));
  const out = new Map<string, { target: string; label: string }>();
  for (const m of text.matchAll(WIKI)) {
    const target = m[1]!.trim();
    if (!target || out.has(target.toLowerCase())) continue;
    out.set(target.toLowerCase(), { target, label: (m[2] ?? '').trim() || target });
  }
  return [...out.values()];
}

export const forestMentionsProjection: Projection = {
  name: 'forest_mentions',
  version: 1,
  tables: ['forest_mentions'],
  eventTypes: ['forest.node_created', 'forest.node_updated', 'forest.node_deleted'],
  createSql: `CREATE TABLE forest_mentions (
      from_id TEXT NOT NULL,
      target  TEXT NOT NULL COLLATE NOCASE,
      label   TEXT NOT NULL,
      pos     INTEGER NOT NULL,
      PRIMARY KEY (from_id, target)
    ) STRICT;
    CREATE INDEX forest_mentions_target ON forest_mentions (target);`,
  apply(e, w) {
    const p = e.payload as { nodeId: string; body?: string };
    if (e.type === 'forest.node_updated' && p.body === undefined) return;
    w.run('DELETE FROM forest_mentions WHERE from_id = ?', [p.nodeId]);
    if (e.type === 'forest.node_deleted') return;
    wikiLinks(p.body ?? '').forEach((l, i) => w.run('INSERT INTO forest_mentions (from_id, target, label, pos) VALUES (?, ?, ?, ?)', [p.nodeId, l.target, l.label, i]));
  },
};

export interface Mention { readonly target: string; readonly label: string; readonly id: string | null }
export interface Backlink { readonly id: string; readonly title: string }

/** A node's wiki links, each resolved to an active node of `workspaceId` (or `id: null`). */
export function mentionsOf(r: Reader, nodeId: string, workspaceId: string): Mention[] {
  return r.all(`SELECT m.target, m.label, (SELECT t.id FROM forest_nodes t WHERE t.title = m.target COLLATE NOCASE AND t.workspace_id = ? AND t.status = 'active'
      ORDER BY t.rid LIMIT 1) AS id FROM forest_mentions m WHERE m.from_id = ? ORDER BY m.pos`, [workspaceId, nodeId])
    .map((x) => ({ target: String(x['target']), label: String(x['label']), id: x['id'] == null ? null : String(x['id']) }));
}

/** Active nodes of `workspaceId` whose body mentions `title`. */
export function backlinksOf(r: Reader, title: string, workspaceId: string, self: string): Backlink[] {
  return r.all(`SELECT n.id, n.title FROM forest_mentions m JOIN forest_nodes n ON n.id = m.from_id
      WHERE m.target = ? COLLATE NOCASE AND n.workspace_id = ? AND n.status = 'active' AND n.id != ? ORDER BY n.updated_at DESC, n.rid DESC LIMIT 200`, [title, workspaceId, self])
    .map((x) => ({ id: String(x['id']), title: String(x['title']) }));
}
