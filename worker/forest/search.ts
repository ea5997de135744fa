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
 * 5. Bounded ranking: when more than CANDIDATE_CAP rows pass MATCH and the tag filters, bm25 ranks
 *    only the newest CANDIDATE_CAP of them (highest rowids: a node's rowid is the `seq` of its
 *    creation event, so rowid order is creation order) and the result says `ranking: 'recent'`
 *    with `rankedWithin: CANDIDATE_CAP`. Up to the cap, ranking is exact (`ranking: 'exact'`) and
 *    identical to ranking every match. FTS5 has no top-k pruning (no WAND / block-max), so bm25
 *    otherwise scores every row a common word or a short prefix matches.
 */
import { z } from 'zod';
import type { QueryDefinition, Reader } from '../kernel/module.ts';
import type { Row } from '../kernel/db/sql.ts';
import type { SqlValue } from '@sqlite.org/sqlite-wasm';
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
  /**
   * 'exact': every match was ranked. 'recent': more than `rankedWithin` rows matched, and only the
   * newest `rankedWithin` of them (by creation) were ranked; older matches are not in `hits`.
   */
  readonly ranking: 'exact' | 'recent';
  /** The size of the ranked window when `ranking` is 'recent' (CANDIDATE_CAP), else null. */
  readonly rankedWithin: number | null;
}

/** Counting stops here: `total` is exact below it, and `totalCapped` says when it was reached. */
export const TOTAL_CAP = 1001;
/**
 * Bounded ranking: above this many matching rows (after tag filters), bm25 ranks only the newest
 * CANDIDATE_CAP of them. Tuned with `npm run bench -- --only=forest` (docs/benchmarks.md).
 */
export const CANDIDATE_CAP = 2000;

export const searchParams = z.strictObject({
  query: z.string().max(1000, 'a search query is at most 1000 characters'),
  tags: z.array(tag).max(16).optional(),
  limit: z.number().int().min(1).max(100).default(10),
  offset: z.number().int().min(0).default(0),
});
type SearchParams = z.infer<typeof searchParams>;

/**
 * Up to four statements: the window, the ranked page, the page's details, and (only when it
 * cannot be read off the window) a capped count.
 *
 * 1. The window: `SELECT count(*), min(rid) FROM (SELECT rowid … MATCH ? ORDER BY rowid DESC
 *    LIMIT cap+1)`. FTS5 walks its doclists in rowid order without computing any rank, so this
 *    costs at most cap+1 matches. More than `cap` rows means bounded: the page query gets
 *    `AND rowid > lo` (lo = the (cap+1)-th newest match), so exactly the newest `cap` matches are
 *    ranked. With tags, the window is the rowid list itself (tag filters as `EXISTS` lookups,
 *    newest first, at most cap+1 rows) and the page query ranks `+rowid IN (that list)`: the tag
 *    filter applies before the bound, and is evaluated once per candidate.
 * 2. The page ranks rowids only (bm25, ORDER BY … LIMIT keeps the top offset+limit in a bounded
 *    sorter). Ties in score are broken by rowid (older node first). A second FTS5 statement over
 *    the page's rowid range fetches highlight()/snippet() and the node row for those rowids only.
 * 3. `total`: the window's count unless the window was bounded below TOTAL_CAP (then a count that
 *    stops at TOTAL_CAP; never with CANDIDATE_CAP ≥ TOTAL_CAP).
 *
 * `cap` is a parameter for tests; the query uses CANDIDATE_CAP.
 */
export function search(r: Reader, p: SearchParams, cap: number = CANDIDATE_CAP): SearchResult {
  const match = compileQuery(p.query);
  const base = { limit: p.limit, offset: p.offset, match };
  if (match === null) return { hits: [], total: 0, totalCapped: false, ...base, ranking: 'exact', rankedWithin: null };
  const tags = [...new Set((p.tags ?? []).map((t) => t.trim().toLowerCase().replace(/\s+/g, '-')))];
  const tagSql = tags.map(() => ' AND EXISTS (SELECT 1 FROM forest_node_tags t WHERE t.tag = ? AND t.node_rid = forest_fts.rowid)').join('');
  let n: number;
  let rank: { sql: string; bind: SqlValue[] };
  if (tags.length === 0) {
    const win = r.get(
      `SELECT count(*) AS n, min(rid) AS lo FROM (SELECT forest_fts.rowid AS rid FROM forest_fts WHERE forest_fts MATCH ?
        ORDER BY forest_fts.rowid DESC LIMIT ?)`, [match, cap + 1]);
    n = Number(win?.['n'] ?? 0);
    rank = n > cap ? { sql: ' AND forest_fts.rowid > ?', bind: [Number(win?.['lo'])] } : { sql: '', bind: [] };
  } else {
    // With tags the window itself is the list of candidates (newest first), so the ranked query
    // tests membership in it instead of looking every match up in forest_node_tags again.
    const win = r.all(`SELECT forest_fts.rowid AS rid FROM forest_fts WHERE forest_fts MATCH ?${tagSql} ORDER BY forest_fts.rowid DESC LIMIT ?`, [match, ...tags, cap + 1]);
    n = win.length;
    const ids = win.slice(0, cap).map((x) => Number(x['rid']));
    rank = { sql: ' AND forest_fts.rowid >= ? AND +forest_fts.rowid IN (SELECT value FROM json_each(?))', bind: [ids[ids.length - 1] ?? 0, JSON.stringify(ids)] };
  }
  if (n === 0) return { hits: [], total: 0, totalCapped: false, ...base, ranking: 'exact', rankedWithin: null };
  const bounded = n > cap;
  const page = r.all(
    `SELECT forest_fts.rowid AS rid, ${BM25} AS bm FROM forest_fts WHERE forest_fts MATCH ?${rank.sql}
      ORDER BY bm, rid LIMIT ? OFFSET ?`, [match, ...rank.bind, p.limit, p.offset]);
  const rids = page.map((x) => Number(x['rid']));
  // One FTS5 scan over the page's rowid range: `+rowid IN (…)` is not offered to FTS5 (one
  // xFilter, one expression evaluation — a per-row rowid seek would redo a prefix merge per row),
  // and it filters before highlight()/snippet() run.
  const detail = new Map<number, Row>();
  if (rids.length > 0) {
    const rows = r.all(
      `SELECT forest_fts.rowid AS rid, n.id, n.title, n.tags, n.updated_at,
              highlight(forest_fts, 0, '${SNIPPET_OPEN}', '${SNIPPET_CLOSE}') AS title_hl,
              snippet(forest_fts, 1, '${SNIPPET_OPEN}', '${SNIPPET_CLOSE}', '…', 16) AS snip
         FROM forest_fts CROSS JOIN forest_nodes n ON n.rid = forest_fts.rowid
        WHERE forest_fts MATCH ? AND forest_fts.rowid BETWEEN ? AND ? AND +forest_fts.rowid IN (SELECT value FROM json_each(?))`,
      [match, Math.min(...rids), Math.max(...rids), JSON.stringify(rids)]);
    for (const row of rows) detail.set(Number(row['rid']), row);
  }
  const hits = page.flatMap((x): SearchHit[] => {
    const row = detail.get(Number(x['rid']));
    if (!row) return [];
    const t = String(row['tags']);
    return [{
      id: String(row['id']), title: String(row['title']), titleHighlighted: String(row['title_hl']), snippet: String(row['snip'] ?? ''),
      tags: t ? t.split(' ') : [], score: -Number(x['bm']), updatedAt: String(row['updated_at']),
    }];
  });
  // Below the cap the window counted every match; above it, count on (stopping at TOTAL_CAP).
  const total = n >= TOTAL_CAP ? TOTAL_CAP : !bounded ? n
    : Number(r.value(`SELECT count(*) FROM (SELECT 1 FROM forest_fts WHERE forest_fts MATCH ?${tagSql} LIMIT ${TOTAL_CAP})`, [match, ...tags]) ?? 0);
  return { hits, total, totalCapped: total >= TOTAL_CAP, ...base, ranking: bounded ? 'recent' : 'exact', rankedWithin: bounded ? cap : null };
}

export const searchQuery: QueryDefinition = {
  name: 'forest.search',
  description: `Full-text search (bm25: title > tags > body) over active nodes; all \`tags\` must match. Words are ANDed; "quoted phrase", prefix*, -exclude are supported, anything else is literal text. Snippets mark matches with « ». Above ${CANDIDATE_CAP} matches only the newest ${CANDIDATE_CAP} are ranked (ranking: 'recent', rankedWithin).`,
  schema: searchParams,
  run: (r, p: SearchParams) => search(r, p),
};
