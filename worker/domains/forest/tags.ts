/**
 * `#tags` typed in a node's body, as Obsidian users expect: derived on save, next to the
 * `[[wiki links]]` (mentions.ts), and counted as the node's tags by every read (lists, the tag
 * counts, search's tag filter, the graph). `forest.node.get` answers them as `bodyTags`, apart from
 * the tags set explicitly (`tags`), which stay what `forest.node.update` edits.
 *
 * Grammar (the UI's renderer, src/lib/markdown/syntax.ts, follows the same one; a unit test holds
 * them together): `#` then letters, marks, digits, `_`, `-` or `/` (nested: `#ops/deploy`), at
 * least one letter (`#1984` is not a tag), at most 64 characters, trailing `/` and `_` left out
 * (`_#tag_` is emphasis). The `#`
 * must start the text or follow whitespace, `*`, `_`, `~` or `|` (emphasis, a table cell): `a#b`,
 * `[x](#anchor)`, `&#39;`, `https://host/#frag`, `<b>#x` and `\#escaped` are not tags. Text in
 * code (inline spans of any number of backticks, ``` and ~~~ fences) and inside `[[wiki links]]`
 * is not read. Tags are lower-cased (NFC), each once, in order, at most MAX_TAGS.
 *
 * Invariants:
 * 1. Deterministic: a node's body tags are a pure function of its latest body in merge order
 *    (a body-less update leaves them as they are; a delete removes them).
 * 2. Reads join on active nodes, so an archived node's rows are never seen.
 */
import type { Projection } from '../../kernel/module.ts';
import { MAX_TAGS } from './schemas.ts';

/** Characters a tag is made of (after the `#`). */
const TAG_RUN = /^[\p{L}\p{M}\p{N}_\-/]+/u;
/** What may come right before the `#` of a tag (nothing, i.e. the start, is fine too). */
export const TAG_BOUNDARY = /[\s*_~|]/u;
const MAX_TAG_CHARS = 64;
const FENCE = /^ {0,3}((`|~)\2{2,})[^\n]*(?:\n[\s\S]*?)?(?:\n {0,3}\1\2*[ \t]*(?=\n|$)|(?![\s\S]))/gm;
const SPAN = /(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g;
const WIKI = /\[\[[^\]\n]+\]\]/g;

/** `#` + the rest of a tag at the start of `src` → the tag as stored (or null: not a tag). */
export function readTag(src: string): { raw: string; tag: string } | null {
  if (src[0] !== '#') return null;
  const run = TAG_RUN.exec(src.slice(1))?.[0].replace(/[/_]+$/, '');
  if (!run || !/\p{L}/u.test(run)) return null;
  const tag = run.normalize('NFC').toLowerCase();
  if (tag.length > MAX_TAG_CHARS) return null;
  return { raw: `#${run}`, tag };
}

/** Code and wiki links blanked out with a character that is neither a boundary nor a tag character. */
function blankOut(body: string): string {
  const blank = (m: string) => '\u0000'.repeat(m.length);
  return body.replace(FENCE, blank).replace(SPAN, blank).replace(WIKI, blank);
}

/** The `#tags` of a body, lower-cased, each once, in order of first appearance (at most MAX_TAGS). */
export function bodyTags(body: string): string[] {
  if (!body.includes('#')) return [];
  const text = blankOut(body);
  const out: string[] = [];
  for (let i = text.indexOf('#'); i !== -1 && out.length < MAX_TAGS; i = text.indexOf('#', i + 1)) {
    if (i > 0 && !TAG_BOUNDARY.test(text[i - 1]!)) continue;
    const t = readTag(text.slice(i, i + 2 + MAX_TAG_CHARS * 2));
    if (t && !out.includes(t.tag)) out.push(t.tag);
  }
  return out;
}

export const forestBodyTagsProjection: Projection = {
  name: 'forest_body_tags',
  version: 1,
  tables: ['forest_body_tags'],
  eventTypes: ['forest.node_created', 'forest.node_updated', 'forest.node_deleted'],
  createSql: `CREATE TABLE forest_body_tags (
      node_id TEXT NOT NULL,
      tag     TEXT NOT NULL,
      pos     INTEGER NOT NULL,
      PRIMARY KEY (node_id, tag)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX forest_body_tags_tag ON forest_body_tags (tag, node_id);`,
  apply(e, w) {
    const p = e.payload as { nodeId: string; body?: string };
    if (e.type === 'forest.node_updated' && p.body === undefined) return;
    w.run('DELETE FROM forest_body_tags WHERE node_id = ?', [p.nodeId]);
    if (e.type === 'forest.node_deleted') return;
    bodyTags(p.body ?? '').forEach((t, i) => w.run('INSERT INTO forest_body_tags (node_id, tag, pos) VALUES (?, ?, ?)', [p.nodeId, t, i]));
  },
};

/** SQL: the rids of the nodes that carry tag `?` (set explicitly or typed in the body). */
export const RIDS_WITH_TAG = `SELECT node_rid FROM forest_node_tags WHERE tag = ?
  UNION SELECT bn.rid FROM forest_body_tags bt JOIN forest_nodes bn ON bn.id = bt.node_id WHERE bt.tag = ?`;

/** SQL: the space-separated body tags of the node aliased `n`, in order (NULL when none). */
export const BODY_TAGS_OF_N = `(SELECT group_concat(tag, ' ') FROM (SELECT tag FROM forest_body_tags bt WHERE bt.node_id = n.id ORDER BY bt.pos)) AS body_tags`;

/** A tag as typed in a filter, as stored (trimmed, lower-case, inner whitespace → '-'). */
export const tagKey = (t: string): string => t.trim().toLowerCase().replace(/\s+/g, '-');

/**
 * SQL: the node aliased `n` is a session summary (worker/engine/learning.ts writes them): the
 * explicit tag `session` and a `sessionId` in its metadata. Lists, search, tag counts and the graph
 * leave them out when asked to (`summaries: false`).
 */
export const IS_SUMMARY = `(EXISTS (SELECT 1 FROM forest_node_tags st WHERE st.node_rid = n.rid AND st.tag = 'session') AND json_extract(n.metadata, '$.sessionId') IS NOT NULL)`;
