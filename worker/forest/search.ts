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
 * 4. `total` is exact below TOTAL_CAP (1001); from there on it is TOTAL_CAP with
 *    `totalCapped: true` (counting every match of a common word would cost more than the page).
 */
import { z } from 'zod';
import type { QueryDefinition, Reader } from '../kernel/module.ts';
import { tag } from './schemas.ts';

export const SNIPPET_OPEN = '«';
export const SNIPPET_CLOSE = '»';
const MAX_TERMS = 32;
/** bm25 with column weights title 10, body 1, tags 4 (ascending: best first). */
export const BM25 = 'bm25(forest_fts, 10.0, 1.0, 4.0)';

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
  /** Number of matches, counted up to TOTAL_CAP; when `totalCapped` it is a lower bound. */
  readonly total: number;
  /** True when there are at least TOTAL_CAP matches and counting stopped there. */
  readonly totalCapped: boolean;
  readonly limit: number;
  readonly offset: number;
  /** The FTS5 expression the query compiled to (null: nothing to search for). */
  readonly match: string | null;
}

/** Counting stops here: `total` is exact below it, and `totalCapped` says when it was reached. */
export const TOTAL_CAP = 1001;

export const searchParams = z.strictObject({
  query: z.string().max(1000, 'a search query is at most 1000 characters'),
  tags: z.array(tag).max(16).optional(),
  limit: z.number().int().min(1).max(100).default(10),
  offset: z.number().int().min(0).default(0),
});
type SearchParams = z.infer<typeof searchParams>;

/**
 * One ranked query for the page, one capped COUNT for the total.
 *
 * The page query first ranks rowids only (bm25 over every match, ORDER BY … LIMIT keeps just the
 * top offset+limit in a bounded sorter — the same work as a raw ranked FTS5 query), then joins
 * that page back to `forest_fts` (MATCH + rowid seek, so highlight()/snippet() run on the page's
 * rows only) and to `forest_nodes`. Ties in score are broken by rowid (older node first).
 */
export function search(r: Reader, p: SearchParams): SearchResult {
  const match = compileQuery(p.query);
  if (match === null) return { hits: [], total: 0, totalCapped: false, limit: p.limit, offset: p.offset, match };
  const tags = [...new Set((p.tags ?? []).map((t) => t.trim().toLowerCase().replace(/\s+/g, '-')))];
  const tagSql = tags.map(() => ' AND EXISTS (SELECT 1 FROM forest_node_tags t WHERE t.tag = ? AND t.node_rid = forest_fts.rowid)').join('');
  const rows = r.all(
    `WITH page AS MATERIALIZED (
       SELECT forest_fts.rowid AS rid, ${BM25} AS bm FROM forest_fts WHERE forest_fts MATCH ?${tagSql}
        ORDER BY bm, rid LIMIT ? OFFSET ?)
     SELECT n.id, n.title, n.tags, n.updated_at, page.bm,
            highlight(forest_fts, 0, '${SNIPPET_OPEN}', '${SNIPPET_CLOSE}') AS title_hl,
            snippet(forest_fts, 1, '${SNIPPET_OPEN}', '${SNIPPET_CLOSE}', '…', 16) AS snip
       FROM page CROSS JOIN forest_fts ON forest_fts.rowid = page.rid CROSS JOIN forest_nodes n ON n.rid = page.rid
      WHERE forest_fts MATCH ?
      ORDER BY page.bm, page.rid`, [match, ...tags, p.limit, p.offset, match]);
  const hits = rows.map((row): SearchHit => {
    const t = String(row['tags']);
    return {
      id: String(row['id']), title: String(row['title']), titleHighlighted: String(row['title_hl']), snippet: String(row['snip'] ?? ''),
      tags: t ? t.split(' ') : [], score: -Number(row['bm']), updatedAt: String(row['updated_at']),
    };
  });
  // A short last page already knows the exact total; otherwise count, stopping at the cap.
  let total: number;
  if (hits.length < p.limit && (hits.length > 0 || p.offset === 0)) total = p.offset + hits.length;
  else {
    total = Number(r.value(`SELECT count(*) FROM (SELECT 1 FROM forest_fts WHERE forest_fts MATCH ?${tagSql} LIMIT ${TOTAL_CAP})`, [match, ...tags]) ?? 0);
  }
  return { hits, total, totalCapped: total >= TOTAL_CAP, limit: p.limit, offset: p.offset, match };
}

export const searchQuery: QueryDefinition = {
  name: 'forest.search',
  description: 'Full-text search (bm25: title > tags > body) over active nodes; all `tags` must match. Words are ANDed; "quoted phrase", prefix*, -exclude are supported, anything else is literal text. Snippets mark matches with « ».',
  schema: searchParams,
  run: (r, p: SearchParams) => search(r, p),
};
