/**
 * Full-text search over the Forest (FTS5, porter + unicode61).
 *
 * Invariants:
 * 1. User text never reaches FTS5 as syntax: `compileQuery` turns it into a conjunction of quoted
 *    strings (double quotes doubled), so operators (OR, AND, NOT, NEAR), parentheses, column
 *    filters, ^ and stray quotes are plain words. Only three things are deliberate syntax:
 *    `"a quoted phrase"`, a trailing `*` on a word (prefix: `deplo*`), and a leading `-` on a word
 *    or phrase (exclude it; ignored when nothing positive remains). Terms without a letter or digit
 *    are dropped; a query with no positive term matches nothing (it never throws).
 * 2. Ranking is bm25 with weights title 10, body 1, tags 4; `score` is −bm25 (higher is better).
 * 3. Snippets are plain text: matches are wrapped in the marker characters « and » (SNIPPET_OPEN /
 *    SNIPPET_CLOSE) and nothing else is marked up. A UI must render them as text (escape
 *    everything) and only then turn the markers into <mark> elements — see `snippetParts`.
 */
import { z } from 'zod';
import type { QueryDefinition, Reader } from '../kernel/module.ts';
import type { SqlValue } from '@sqlite.org/sqlite-wasm';
import { tag } from './schemas.ts';

export const SNIPPET_OPEN = '«';
export const SNIPPET_CLOSE = '»';
const MAX_TERMS = 32;
const WEIGHTS = '10.0, 1.0, 4.0';

interface Term { readonly text: string; readonly prefix: boolean; readonly negate: boolean }

/** Compile user text into a safe FTS5 MATCH expression, or null when it has no positive term. */
export function compileQuery(input: string): string | null {
  const terms: Term[] = [];
  const src = input.normalize('NFC');
  let i = 0;
  while (i < src.length && terms.length < MAX_TERMS) {
    const c = src[i]!;
    if (/\s/u.test(c)) { i++; continue; }
    let negate = false;
    if (c === '-' && i + 1 < src.length && !/\s/u.test(src[i + 1]!)) { negate = true; i++; }
    if (src[i] === '"') {
      const end = src.indexOf('"', i + 1);
      const text = src.slice(i + 1, end === -1 ? src.length : end);
      i = end === -1 ? src.length : end + 1;
      terms.push({ text, prefix: false, negate });
      continue;
    }
    let j = i;
    while (j < src.length && !/\s/u.test(src[j]!) && src[j] !== '"') j++;
    let word = src.slice(i, j);
    i = j;
    const prefix = word.endsWith('*');
    word = word.replace(/\*/g, ' ');
    terms.push({ text: word, prefix, negate });
  }
  const usable = terms.filter((t) => /[\p{L}\p{N}]/u.test(t.text));
  const quote = (t: Term) => `"${t.text.replace(/"/g, '""').trim()}"${t.prefix ? '*' : ''}`;
  const positive = usable.filter((t) => !t.negate).map(quote);
  if (positive.length === 0) return null;
  const negative = usable.filter((t) => t.negate).map(quote);
  const pos = positive.join(' AND ');
  return negative.length === 0 ? pos : `(${pos}) NOT (${negative.join(' OR ')})`;
}

/** Split a marked snippet into text runs; `hit` runs were between « and ». */
export function snippetParts(snippet: string): { text: string; hit: boolean }[] {
  const out: { text: string; hit: boolean }[] = [];
  const re = /«([^«»]*)»/g;
  let last = 0;
  for (let m = re.exec(snippet); m; m = re.exec(snippet)) {
    if (m.index > last) out.push({ text: snippet.slice(last, m.index), hit: false });
    out.push({ text: m[1]!, hit: true });
    last = m.index + m[0].length;
  }
  if (last < snippet.length) out.push({ text: snippet.slice(last), hit: false });
  return out;
}

export interface SearchHit {
  readonly id: string;
  readonly title: string;
  /** The title with matches wrapped in « ». */
  readonly titleHighlighted: string;
  /** Up to ~16 tokens of the body around the best match, matches wrapped in « », elisions as …. */
  readonly snippet: string;
  readonly tags: string[];
  /** −bm25: higher is a better match. */
  readonly score: number;
  readonly updatedAt: string;
}

export interface SearchResult {
  readonly hits: SearchHit[];
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
  /** The FTS5 expression the query compiled to (null: nothing to search for). */
  readonly match: string | null;
}

export const searchParams = z.strictObject({
  query: z.string().max(1000, 'a search query is at most 1000 characters'),
  tags: z.array(tag).max(16).optional(),
  limit: z.number().int().min(1).max(100).default(10),
  offset: z.number().int().min(0).default(0),
});
type SearchParams = z.infer<typeof searchParams>;

export function search(r: Reader, p: SearchParams): SearchResult {
  const match = compileQuery(p.query);
  if (match === null) return { hits: [], total: 0, limit: p.limit, offset: p.offset, match };
  const tags = [...new Set((p.tags ?? []).map((t) => t.trim().toLowerCase().replace(/\s+/g, '-')))];
  const tagSql = tags.map(() => ' AND forest_fts.rowid IN (SELECT node_rid FROM forest_node_tags WHERE tag = ?)').join('');
  const bind: SqlValue[] = [match, ...tags];
  // One MATCH evaluation ranks and counts (window COUNT over the whole match set, before LIMIT);
  // highlights and snippets are then computed for the page's rows only.
  const ranked = r.all(
    `WITH m AS MATERIALIZED (SELECT forest_fts.rowid AS rid, bm25(forest_fts, ${WEIGHTS}) AS bm FROM forest_fts WHERE forest_fts MATCH ?${tagSql})
     SELECT rid, bm, COUNT(*) OVER () AS total FROM m ORDER BY bm, rid LIMIT ? OFFSET ?`, [...bind, p.limit, p.offset]);
  const total = ranked.length > 0 ? Number(ranked[0]!['total'])
    : p.offset === 0 ? 0 : Number(r.value(`SELECT COUNT(*) FROM forest_fts WHERE forest_fts MATCH ?${tagSql}`, bind) ?? 0);
  const hits = ranked.map((x): SearchHit => {
    const row = r.get(
      `SELECT n.id, n.title, n.tags, n.updated_at,
              highlight(forest_fts, 0, '${SNIPPET_OPEN}', '${SNIPPET_CLOSE}') AS title_hl,
              snippet(forest_fts, 1, '${SNIPPET_OPEN}', '${SNIPPET_CLOSE}', '…', 16) AS snip
         FROM forest_fts JOIN forest_nodes n ON n.rid = forest_fts.rowid
        WHERE forest_fts MATCH ? AND forest_fts.rowid = ?`, [match, Number(x['rid'])])!;
    const t = String(row['tags']);
    return {
      id: String(row['id']), title: String(row['title']), titleHighlighted: String(row['title_hl']), snippet: String(row['snip'] ?? ''),
      tags: t ? t.split(' ') : [], score: -Number(x['bm']), updatedAt: String(row['updated_at']),
    };
  });
  return { hits, total, limit: p.limit, offset: p.offset, match };
}

export const searchQuery: QueryDefinition = {
  name: 'forest.search',
  description: 'Full-text search (bm25: title > tags > body) over active nodes; all `tags` must match. Words are ANDed; "quoted phrase", prefix*, -exclude are supported, anything else is literal text. Snippets mark matches with « ».',
  schema: searchParams,
  run: (r, p: SearchParams) => search(r, p),
};
