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
 *    otherwise scores every row a common word or a short prefix matches. A query with a phrase is
 *    ranked by bm25 of the phrase's words (`wordsExpression`); its rows all contain the phrase.
 * 6. Common words: a word or prefix in more than COMMON_TERM_ROWS nodes must match but does not
 *    rank (`commonTerms`); when every word is common, matches come newest first (`ranking:
 *    'newest'`). bm25 would pay a full pass over such a word's doclist for a near-zero weight.
 * 7. Workspace scope: only nodes of `workspaceId` match. The index is shared by all workspaces, so
 *    the workspace is a filter like a tag (one rowid lookup in forest_nodes per candidate), applied
 *    only when some other workspace has nodes at all (two index seeks decide): a single-workspace
 *    Forest searches exactly as before. Which words are common (6) is counted over all workspaces.
 * 8. A tag filter matches tags set explicitly and `#tags` typed in the body (tags.ts) alike;
 *    `summaries: false` leaves session summaries out (a filter only when some node is tagged
 *    `session`).
 */
import { z } from 'zod';
import { defineQuery, type Reader } from '../../kernel/module.ts';
import type { Row } from '../../kernel/db/sql.ts';
import type { SqlValue } from '@sqlite.org/sqlite-wasm';
import { tag } from './schemas.ts';
import { BODY_TAGS_OF_N, IS_SUMMARY, RIDS_WITH_TAG, tagKey } from './tags.ts';
import { workspaceField } from '../workspaces/scope.ts';

export const SNIPPET_OPEN = '«';
export const SNIPPET_CLOSE = '»';
const MAX_TERMS = 32;
/** bm25 with column weights title 10, body 1, tags 4 (ascending: best first). */
export const BM25 = 'bm25(forest_fts, 10.0, 1.0, 4.0)';

interface Term { readonly text: string; readonly prefix: boolean; readonly negate: boolean }

/** Split user text into terms (see invariant 1); at most MAX_TERMS, unusable ones dropped. */
function parseTerms(input: string): Term[] {
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
  return terms.filter((t) => /[\p{L}\p{N}]/u.test(t.text));
}

const quote = (t: Term) => `"${t.text.replace(/"/g, '""').trim()}"${t.prefix ? '*' : ''}`;

/** Compile user text into a safe FTS5 MATCH expression, or null when it has no positive term. */
export function compileQuery(input: string): string | null {
  const usable = parseTerms(input);
  const positive = usable.filter((t) => !t.negate).map(quote);
  if (positive.length === 0) return null;
  const negative = usable.filter((t) => t.negate).map(quote);
  const pos = positive.join(' AND ');
  return negative.length === 0 ? pos : `(${pos}) NOT (${negative.join(' OR ')})`;
}

/**
 * The expression a bounded window is ranked with when the query has a phrase: every positive
 * term with each phrase split into its words (ANDed), exclusions left out. Every row of a phrase
 * window matches it (a row with the phrase has its words), and bm25 then needs no document
 * frequency of the phrase — a full pass over the phrase's matches (`xQueryPhrase`) that no rowid
 * bound shortens. Null when the query has no phrase (rank with the query itself).
 */
export function wordsExpression(input: string): string | null {
  const positive = parseTerms(input).filter((t) => !t.negate);
  if (!positive.some((t) => !t.prefix && /\S\s+\S/u.test(t.text.trim()))) return null;
  const words = positive.flatMap((t) => t.prefix ? [t] : t.text.trim().split(/\s+/u).map((w): Term => ({ text: w, prefix: false, negate: false })));
  return words.filter((t) => /[\p{L}\p{N}]/u.test(t.text)).map(quote).join(' AND ') || null;
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
  /** `#tags` typed in the body (tags.ts). */
  readonly bodyTags: string[];
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
   * 'newest': every word is common (`commonTerms`), so nothing ranks: newest matches first.
   */
  readonly ranking: 'exact' | 'recent' | 'newest';
  /** The size of the ranked window when `ranking` is 'recent' (CANDIDATE_CAP), else null. */
  readonly rankedWithin: number | null;
  /** Words that had to match but did not rank, being in more than COMMON_TERM_ROWS nodes. */
  readonly commonTerms: string[];
}

/** Counting stops here: `total` is exact below it, and `totalCapped` says when it was reached. */
export const TOTAL_CAP = 1001;
/**
 * Bounded ranking: above this many matching rows (after tag filters), bm25 ranks only the newest
 * CANDIDATE_CAP of them. Tuned with `npm run bench -- --only=forest` (docs/benchmarks.md).
 */
export const CANDIDATE_CAP = 2000;
/**
 * A positive word or prefix matching more rows than this is common: it must still match, but it
 * does not rank (Lucene's CommonTermsQuery, Elasticsearch's cutoff_frequency). Its bm25 weight is
 * near zero — it is in a large share of the nodes — while FTS5's bm25 pays a full pass over the
 * word's whole doclist, per query, to compute that weight.
 */
export const COMMON_TERM_ROWS = 2500;

/** Test knobs; the query uses the exported constants. */
export interface SearchLimits {
  readonly cap?: number;
  readonly rareTagMax?: number;
  readonly commonRows?: number;
}

export const searchParams = z.strictObject({
  workspaceId: workspaceField,
  query: z.string().max(1000, 'a search query is at most 1000 characters'),
  tags: z.array(tag).max(16).optional(),
  /** false: leave session summaries out (tags.ts, IS_SUMMARY). */
  summaries: z.boolean().default(true),
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
 * `cap` and `rareTagMax` are parameters for tests; the query uses CANDIDATE_CAP and RARE_TAG_MAX.
 */
export function search(r: Reader, p: SearchParams, limits: SearchLimits = {}): SearchResult {
  const cap = limits.cap ?? CANDIDATE_CAP;
  const match = compileQuery(p.query);
  const base = { limit: p.limit, offset: p.offset, match };
  const none: SearchResult = { hits: [], total: 0, totalCapped: false, ...base, ranking: 'exact', rankedWithin: null, commonTerms: [] };
  if (match === null) return none;
  const tags = [...new Set((p.tags ?? []).map(tagKey))];
  const tagged = tagFilter(r, tags, limits.rareTagMax ?? RARE_TAG_MAX);
  if (tagged === null) return none;
  const scoped = othersHaveNodes(r, p.workspaceId) ? { sql: tagged.sql + IN_WORKSPACE, bind: [...tagged.bind, p.workspaceId] } : tagged;
  // Leaving summaries out is a filter only when some node is tagged `session` at all (one index seek).
  const filter = p.summaries || r.value("SELECT 1 FROM forest_node_tags WHERE tag = 'session' LIMIT 1") == null ? scoped : { sql: scoped.sql + NO_SUMMARY, bind: scoped.bind };
  const ranked = rankWords(r, p.query, limits.commonRows ?? COMMON_TERM_ROWS);
  // What ranks: the query itself, or the phrase's words, or the words that are not common (null: none).
  const ranks = ranked.common.length > 0 ? ranked.expr : wordsExpression(p.query) ?? match;
  let n: number;
  let rank: { sql: string; bind: SqlValue[]; match: string | null };
  let page: Row[] | undefined;
  if (filter.sql === '' && ranks === match) {
    const win = r.get(
      `SELECT count(*) AS n, min(rid) AS lo FROM (SELECT forest_fts.rowid AS rid FROM forest_fts WHERE forest_fts MATCH ?
        ORDER BY forest_fts.rowid DESC LIMIT ?)`, [match, cap + 1]);
    n = Number(win?.['n'] ?? 0);
    rank = n > cap ? { sql: ' AND forest_fts.rowid > ?', bind: [Number(win?.['lo'])], match } : { sql: '', bind: [], match };
  } else {
    // With tags, a phrase or common words the window itself is the list of candidates (newest
    // first), so the ranked query tests membership in it instead of looking every match up in
    // forest_node_tags again; a phrase is ranked by its words (see `wordsExpression`), and common
    // words do not rank (`rankWords`).
    const win = r.all(`SELECT forest_fts.rowid AS rid FROM forest_fts WHERE forest_fts MATCH ?${filter.sql} ORDER BY forest_fts.rowid DESC LIMIT ?`, [match, ...filter.bind, cap + 1]);
    n = win.length;
    const ids = win.slice(0, cap).map((x) => Number(x['rid']));
    rank = { sql: ' AND forest_fts.rowid >= ? AND +forest_fts.rowid IN (SELECT value FROM json_each(?))', bind: [ids[ids.length - 1] ?? 0, JSON.stringify(ids)], match: ranks };
    // Every word common: nothing to rank with — the window is already newest first.
    if (rank.match === null) page = ids.slice(p.offset, p.offset + p.limit).map((rid) => ({ rid, bm: 0 }));
  }
  if (n === 0) return none;
  const bounded = n > cap;
  page ??= r.all(
    `SELECT forest_fts.rowid AS rid, ${BM25} AS bm FROM forest_fts WHERE forest_fts MATCH ?${rank.sql}
      ORDER BY bm, rid LIMIT ? OFFSET ?`, [rank.match, ...rank.bind, p.limit, p.offset]);
  const hits = details(r, match, page, filter.sql !== '' || ranks !== match);
  // Below the cap the window counted every match; above it, count on (stopping at TOTAL_CAP).
  const total = n >= TOTAL_CAP ? TOTAL_CAP : !bounded ? n
    : Number(r.value(`SELECT count(*) FROM (SELECT 1 FROM forest_fts WHERE forest_fts MATCH ?${filter.sql} LIMIT ${TOTAL_CAP})`, [match, ...filter.bind]) ?? 0);
  const ranking = rank.match === null ? 'newest' : bounded ? 'recent' : 'exact';
  return { hits, total, totalCapped: total >= TOTAL_CAP, ...base, ranking, rankedWithin: ranking === 'recent' ? cap : null, commonTerms: ranked.common };
}

/**
 * Which positive words rank: each word and prefix (phrases split into their words) is counted up
 * to `commonRows + 1` matching rows (a bounded walk of its doclist, no rank); the common ones are
 * left out. `expr`: the others ANDed (null when none is left). Nothing common: `common` is empty
 * and the caller ranks with the query as it is.
 */
function rankWords(r: Reader, input: string, commonRows: number): { expr: string | null; common: string[] } {
  const seen = new Set<string>();
  const words = parseTerms(input).filter((t) => !t.negate)
    .flatMap((t) => (t.prefix ? [t] : t.text.trim().split(/\s+/u).map((w): Term => ({ text: w, prefix: false, negate: false }))))
    .filter((t) => /[\p{L}\p{N}]/u.test(t.text) && !seen.has(quote(t)) && seen.add(quote(t)));
  const common = words.filter((t) => Number(r.value('SELECT count(*) FROM (SELECT 1 FROM forest_fts WHERE forest_fts MATCH ? LIMIT ?)', [quote(t), commonRows + 1]) ?? 0) > commonRows);
  if (common.length === 0) return { expr: null, common: [] };
  const rest = words.filter((t) => !common.includes(t));
  return { expr: rest.length > 0 ? rest.map(quote).join(' AND ') : null, common: common.map((t) => `${t.text.trim()}${t.prefix ? '*' : ''}`) };
}

/**
 * A tag is "rare" up to this many nodes: the rarest tag's node list then becomes an ephemeral
 * `+rowid IN (…)` set that each match is tested against, instead of one correlated `EXISTS`
 * b-tree lookup per match (a common word + a rare tag walks the word's whole doclist looking for
 * tagged rows). Measured in docs/benchmarks.md (Forest).
 */
export const RARE_TAG_MAX = 4096;
// A tag is set explicitly (forest_node_tags) or typed in the body (forest_body_tags): each filter
// takes the tag twice.
const TAG_EXISTS = ` AND (EXISTS (SELECT 1 FROM forest_node_tags t WHERE t.tag = ? AND t.node_rid = forest_fts.rowid)
  OR EXISTS (SELECT 1 FROM forest_nodes bn JOIN forest_body_tags bt ON bt.node_id = bn.id AND bt.tag = ? WHERE bn.rid = forest_fts.rowid))`;
const TAG_IN = ` AND +forest_fts.rowid IN (${RIDS_WITH_TAG})`;
const NO_SUMMARY = ` AND NOT EXISTS (SELECT 1 FROM forest_nodes n WHERE n.rid = forest_fts.rowid AND ${IS_SUMMARY})`;

const IN_WORKSPACE = ' AND EXISTS (SELECT 1 FROM forest_nodes wn WHERE wn.rid = forest_fts.rowid AND wn.workspace_id = ?)';

/** Whether any node (active or not) belongs to a workspace other than this one: two index seeks. */
function othersHaveNodes(r: Reader, workspaceId: string): boolean {
  return r.value('SELECT 1 FROM forest_nodes WHERE workspace_id < ? LIMIT 1', [workspaceId]) != null
    || r.value('SELECT 1 FROM forest_nodes WHERE workspace_id > ? LIMIT 1', [workspaceId]) != null;
}

/** The tag filter as SQL over `forest_fts.rowid`; null when some tag is on no active node. */
function tagFilter(r: Reader, tags: readonly string[], rareMax: number): { sql: string; bind: SqlValue[] } | null {
  if (tags.length === 0) return { sql: '', bind: [] };
  // Set and typed counts added up: an upper bound, which is all "rare" needs (0 only when neither has it).
  const count = (table: string, t: string) => Number(r.value(`SELECT count(*) FROM (SELECT 1 FROM ${table} WHERE tag = ? LIMIT ?)`, [t, rareMax + 1]) ?? 0);
  const counts = tags.map((t) => count('forest_node_tags', t) + count('forest_body_tags', t));
  if (counts.some((c) => c === 0)) return null;
  const rarest = counts.indexOf(Math.min(...counts));
  const drive = counts[rarest]! <= rareMax ? rarest : -1;
  const rest = tags.filter((_, i) => i !== drive);
  const twice = (list: readonly string[]) => list.flatMap((t) => [t, t]);
  return { sql: (drive >= 0 ? TAG_IN : '') + rest.map(() => TAG_EXISTS).join(''), bind: twice(drive >= 0 ? [tags[drive]!, ...rest] : rest) };
}

/**
 * The page's details (node row, highlight(), snippet()) for the page's rowids only. Default: one
 * FTS5 scan over the page's rowid range, `+rowid IN (…)` kept away from FTS5 (one xFilter, one
 * expression evaluation; a prefix longer than the prefix index would be merged again per seek).
 * `seek`: one FTS5 rowid lookup per page row (`rowid IN (…)` offered to FTS5) — cheaper when the
 * range holds many matches that are not on the page (a tag filter, an expensive phrase), unless a
 * prefix term would re-merge its doclists for each row.
 */
function details(r: Reader, match: string, page: readonly Row[], seek: boolean): SearchHit[] {
  const rids = page.map((x) => Number(x['rid']));
  if (rids.length === 0) return [];
  const detail = new Map<number, Row>();
  const where = seek && !match.includes('*')
    ? 'forest_fts.rowid IN (SELECT value FROM json_each(?))'
    : 'forest_fts.rowid BETWEEN ? AND ? AND +forest_fts.rowid IN (SELECT value FROM json_each(?))';
  const rows = r.all(
    `SELECT forest_fts.rowid AS rid, n.id, n.title, n.tags, ${BODY_TAGS_OF_N}, n.updated_at,
            highlight(forest_fts, 0, '${SNIPPET_OPEN}', '${SNIPPET_CLOSE}') AS title_hl,
            snippet(forest_fts, 1, '${SNIPPET_OPEN}', '${SNIPPET_CLOSE}', '…', 16) AS snip
       FROM forest_fts CROSS JOIN forest_nodes n ON n.rid = forest_fts.rowid
      WHERE forest_fts MATCH ? AND ${where}`,
    where.startsWith('forest_fts.rowid IN') ? [match, JSON.stringify(rids)] : [match, Math.min(...rids), Math.max(...rids), JSON.stringify(rids)]);
  for (const row of rows) detail.set(Number(row['rid']), row);
  return page.flatMap((x): SearchHit[] => {
    const row = detail.get(Number(x['rid']));
    if (!row) return [];
    const t = String(row['tags']);
    const b = row['body_tags'] == null ? '' : String(row['body_tags']);
    return [{
      id: String(row['id']), title: String(row['title']), titleHighlighted: String(row['title_hl']), snippet: String(row['snip'] ?? ''),
      tags: t ? t.split(' ') : [], bodyTags: b ? b.split(' ') : [], score: -Number(x['bm']), updatedAt: String(row['updated_at']),
    }];
  });
}

export const searchQuery = defineQuery(
  'forest.search', `Full-text search (bm25: title > tags > body) over a workspace's active nodes; all \`tags\` must match. Words are ANDed; "quoted phrase", prefix*, -exclude are supported, anything else is literal text. Snippets mark matches with « ». Above ${CANDIDATE_CAP} matches only the newest ${CANDIDATE_CAP} are ranked (ranking: 'recent', rankedWithin); words in more than ${COMMON_TERM_ROWS} nodes must match but do not rank (commonTerms; only such words: ranking 'newest', newest first).`,
  searchParams,
  (r, p: SearchParams) => search(r, p),
);
