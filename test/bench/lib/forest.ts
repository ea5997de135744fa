/**
 * `forest` benchmark (Node only, in-memory kernel).
 *
 * Corpus (deterministic, seeded mulberry32): a vocabulary of 20,000 pronounceable made-up words
 * whose frequencies follow Zipf's law (rank r has weight 1/r^1.07, like English; the common words
 * are the short ones). Each node gets a title of 3–8 words, a body of 50–300 words and 1–3 tags
 * from a set of 200 (tags are Zipf-distributed too). Inserted with commandBatch of 500.
 *
 * Queries (200, a fixed interleaved mix, words drawn from the same Zipf distribution, so common
 * and rare words both occur): 1-word, 2-word, 3-word, prefix (first 3–5 letters of a word of ≥ 4
 * letters + `*`), phrase (2–3 consecutive words taken from a generated body) and 1 word + tag.
 *
 * Each query is timed through `forest.search` (window + ranked page + highlight/snippet + count)
 * and against two raw FTS5 baselines on the same table, with the same tag filter, no join, no
 * snippet, no count:
 *  - raw bounded (the same strategy, hand-written, the figure's baseline): the window statement
 *    `SELECT count(*), min(rid) FROM (SELECT rowid … MATCH ? ORDER BY rowid DESC LIMIT cap+1)`, then
 *    `SELECT rowid, bm25(…) AS bm … MATCH ? [AND rowid > lo] ORDER BY bm, rowid LIMIT 10`; with a
 *    tag, the window is the list of the newest `cap` tagged matches and the ranked statement
 *    tests `+rowid IN (SELECT value FROM json_each(?))`, as forest.search does;
 *  - raw unbounded (informational): the ranked statement alone, bm25 over every match.
 * Recall of the approximate ranking: for the queries the module did not rank exactly (`ranking`
 * 'recent' or 'newest', or common words left out of the ranking), the share of the exact top 10
 * (unbounded bm25 with every word) that is in the module's top 10.
 * The raw bounded baseline keeps the plain strategy (EXISTS tag filter, phrase ranked as a phrase);
 * forest.search also drives rare tags from their node list and ranks a bounded phrase window by its
 * words (docs/forest.md). Both run on the same forest_fts (with its prefix index).
 * Target: forest.search p95 ≤ 20 ms. Insert rate is informational.
 */
import { openKernel } from '../../../worker/node/index.ts';
import { compileQuery, BM25, CANDIDATE_CAP, type SearchResult } from '../../../worker/domains/forest/search.ts';
import { ForestIndexMaintenance, MERGE_PAGES } from '../../../worker/domains/forest/maintenance.ts';
import { mulberry32 } from '../../helpers/prng.ts';
import { figure, type Figure } from './scenarios.ts';
import { now, percentile, round } from './stats.ts';

export const FOREST_SEARCH_P95_MS = 20;
const BATCH = 500;
const QUERIES = 200;
const VOCAB = 20_000;
const ZIPF_S = 1.07;
const TAGS = 200;
/** The content-word query variant leaves out this many most frequent words. */
const STOPWORDS = 100;

type Rand = () => number;

/** Pronounceable words, unique, shorter ones first (so common words are short, as in real text). */
function vocabulary(rand: Rand, n: number): string[] {
  const onset = ['', 'b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z', 'br', 'ch', 'cl', 'dr', 'fl', 'gr', 'pl', 'pr', 'sh', 'st', 'th', 'tr'];
  const nucleus = ['a', 'e', 'i', 'o', 'u', 'y', 'ai', 'ea', 'ee', 'ie', 'oa', 'ou'];
  const coda = ['', '', '', 'n', 'r', 's', 't', 'l', 'm', 'nd', 'st', 'ck', 'ng', 'x'];
  const pick = (xs: readonly string[]) => xs[Math.floor(rand() * xs.length)]!;
  const words = new Set<string>();
  for (let attempts = 0; words.size < n; attempts++) {
    // Syllable count grows slowly with the rank being filled: 1–2 for the head, up to 4 in the tail.
    const target = words.size / n;
    const syllables = 1 + Math.floor(rand() * (1 + target * 2.5)) + (target > 0.02 ? 1 : 0);
    let w = '';
    for (let i = 0; i < syllables; i++) w += pick(onset) + pick(nucleus) + pick(coda);
    if (w.length >= 2) words.add(w);
    if (attempts > n * 50) throw new Error('vocabulary: too many collisions');
  }
  return [...words];
}

/** Sample ranks 0..n-1 with P(r) ∝ 1/(r+1)^s (inverse CDF by binary search). */
function zipf(rand: Rand, n: number, s: number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) cdf[r] = sum += 1 / (r + 1) ** s;
  return () => {
    const x = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < x) lo = mid + 1; else hi = mid;
    }
    return lo;
  };
}

interface BenchQuery { readonly kind: string; readonly query: string; readonly tags?: string[] }
const KINDS = ['1 word', '2 words', '3 words', 'prefix*', '"phrase"', 'word + tag'] as const;
/** Out of every 20 queries: 5 one-word, 4 two-word, 2 three-word, 3 prefix, 3 phrase, 3 word+tag. */
const MIX: readonly (typeof KINDS)[number][] = [
  '1 word', '2 words', 'prefix*', '"phrase"', 'word + tag', '1 word', '2 words', '3 words', 'prefix*', '1 word',
  '"phrase"', 'word + tag', '2 words', '1 word', 'prefix*', '3 words', '"phrase"', '2 words', 'word + tag', '1 word',
];

export async function benchForest(opts: { nodes: number }, log: (m: string) => void): Promise<Figure[]> {
  const rand = mulberry32(0xf0 + opts.nodes);
  const vocab = vocabulary(rand, VOCAB);
  const rank = zipf(rand, VOCAB, ZIPF_S);
  const word = () => vocab[rank()]!;
  const words = (n: number) => Array.from({ length: n }, word).join(' ');
  const tagNames = Array.from({ length: TAGS }, (_, i) => `${vocab[(i * 37) % 2000]!}-${i}`);
  const tagRank = zipf(rand, TAGS, 1);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const phraseSources: string[] = [];
  const k = await openKernel({ storage: 'memory' });
  try {
    log(`forest: corpus: ${opts.nodes.toLocaleString('en-US')} nodes, vocabulary ${VOCAB.toLocaleString('en-US')} words (Zipf s=${ZIPF_S}), titles 3–8 words, bodies 50–300 words, 1–3 of ${TAGS} tags; commandBatch of ${BATCH}`);
    let tokens = 0;
    let genMs = 0;
    let insertMs = 0;
    for (let i = 0; i < opts.nodes; i += BATCH) {
      const g = now();
      const batch = [];
      for (let j = i; j < Math.min(opts.nodes, i + BATCH); j++) {
        const bodyLen = int(50, 300);
        const titleLen = int(3, 8);
        tokens += bodyLen + titleLen;
        const body = words(bodyLen);
        if (j % 97 === 0) phraseSources.push(body);
        const tags = [...new Set(Array.from({ length: int(1, 3) }, () => tagNames[tagRank()]!))];
        batch.push({ type: 'forest.node.create', payload: { title: words(titleLen), body, tags }, idempotencyKey: `forest-bench-${j}` });
      }
      const t = now();
      genMs += t - g;
      k.commandBatch(batch);
      insertMs += now() - t;
    }
    const rate = opts.nodes / (insertMs / 1000);
    // What the app does when it is quiet after writes: merge the index in small steps (not counted
    // in the insert rate; its time is reported).
    const merging = now();
    const maintenance = new ForestIndexMaintenance(k);
    await maintenance.settle();
    maintenance.stop();
    const mergeMs = now() - merging;
    log(`forest: index merged while quiet: ${maintenance.steps} steps of ${MERGE_PAGES} pages, ${round(mergeMs / 1000, 1)} s`);
    log(`forest: ${Math.round(rate).toLocaleString('en-US')} nodes/s (${Math.round(tokens / opts.nodes)} words/node; ${round(insertMs / 1000, 1)} s inserting, ${round(genMs / 1000, 1)} s generating text, not counted)`);

    const makeQueries = (word: () => string): BenchQuery[] => {
      const words = (n: number) => Array.from({ length: n }, word).join(' ');
      const queries: BenchQuery[] = [];
      for (let i = 0; i < QUERIES; i++) {
        const kind = MIX[i % MIX.length]!;
        if (kind === '1 word') queries.push({ kind, query: word() });
        else if (kind === '2 words') queries.push({ kind, query: words(2) });
        else if (kind === '3 words') queries.push({ kind, query: words(3) });
        else if (kind === 'prefix*') {
          let w = word();
          while (w.length < 4) w = word();
          queries.push({ kind, query: `${w.slice(0, Math.min(w.length - 1, int(3, 5)))}*` });
        } else if (kind === '"phrase"') {
          const src = phraseSources[int(0, phraseSources.length - 1)]!.split(' ');
          const n = int(2, 3);
          const at = int(0, src.length - n);
          queries.push({ kind, query: `"${src.slice(at, at + n).join(' ')}"` });
        } else queries.push({ kind, query: word(), tags: [tagNames[tagRank()]!] });
      }
      return queries;
    };
    const queries = makeQueries(word);
    const contentQueries = makeQueries(() => { let r = rank(); while (r < STOPWORDS) r = rank(); return vocab[r]!; });
    const mix = KINDS.map((kd) => `${queries.filter((q) => q.kind === kd).length} ${kd}`).join(', ');
    log(`forest: ${QUERIES} queries: ${mix}; words drawn from the corpus' Zipf distribution`);

    const tagSql = (tagCount: number) => ' AND EXISTS (SELECT 1 FROM forest_node_tags t WHERE t.tag = ? AND t.node_rid = forest_fts.rowid)'.repeat(tagCount);
    const rankSql = (tagCount: number, bounded: boolean) =>
      `SELECT rowid, ${BM25} AS bm FROM forest_fts WHERE forest_fts MATCH ?${bounded ? ' AND rowid > ?' : ''}${tagSql(tagCount)} ORDER BY bm, rowid LIMIT 10`;
    const windowSql = (tagCount: number) =>
      `SELECT count(*) AS n, min(rid) AS lo FROM (SELECT rowid AS rid FROM forest_fts WHERE forest_fts MATCH ?${tagSql(tagCount)} ORDER BY rowid DESC LIMIT ${CANDIDATE_CAP + 1})`;
    const run = (q: BenchQuery) => k.query('forest.search', q.tags ? { query: q.query, tags: q.tags } : { query: q.query }) as SearchResult;
    const raw = (q: BenchQuery) => k.sql.all(rankSql(q.tags?.length ?? 0, false), [compileQuery(q.query)!, ...(q.tags ?? [])]);
    const rawBounded = (q: BenchQuery) => {
      const m = compileQuery(q.query)!;
      const tags = q.tags ?? [];
      if (tags.length > 0) { // the window is the candidate list; rank membership in it
        const ids = k.sql.all(`SELECT rowid AS rid FROM forest_fts WHERE forest_fts MATCH ?${tagSql(tags.length)} ORDER BY rowid DESC LIMIT ${CANDIDATE_CAP}`, [m, ...tags]).map((x) => Number(x['rid']));
        if (ids.length === 0) return [];
        return k.sql.all(`SELECT rowid, ${BM25} AS bm FROM forest_fts WHERE forest_fts MATCH ? AND rowid >= ? AND +rowid IN (SELECT value FROM json_each(?)) ORDER BY bm, rowid LIMIT 10`, [m, ids[ids.length - 1]!, JSON.stringify(ids)]);
      }
      const w = k.sql.get(windowSql(0), [m]);
      const n = Number(w?.['n'] ?? 0);
      if (n === 0) return [];
      return n > CANDIDATE_CAP ? k.sql.all(rankSql(0, true), [m, w?.['lo'] ?? 0]) : k.sql.all(rankSql(0, false), [m]);
    };
    const time = (f: () => unknown) => { const t = now(); f(); return now() - t; };
    const measure = (name: string, qs: BenchQuery[]) => {
      for (const q of qs) { run(q); raw(q); rawBounded(q); } // warm-up
      const kernelMs: number[] = [];
      const rawMs: number[] = [];
      const boundedMs: number[] = [];
      const byKind = new Map<string, number[]>();
      let hits = 0;
      let capped = 0;
      let empty = 0;
      let recent = 0;
      let inTop = 0;
      let topN = 0;
      let firstSame = 0;
      for (const q of qs) {
        let t = now();
        const r = run(q);
        const ms = now() - t;
        kernelMs.push(ms);
        byKind.set(q.kind, [...(byKind.get(q.kind) ?? []), ms]);
        hits += r.total;
        if (r.totalCapped) capped++;
        if (r.total === 0) empty++;
        t = now();
        const exact = raw(q);
        rawMs.push(now() - t);
        boundedMs.push(time(() => rawBounded(q)));
        if (r.ranking !== 'exact' || r.commonTerms.length > 0) {
          // Recall (untimed): the exact top 10 by id vs the module's bounded top 10.
          const exactIds = exact.map((x) => String(k.sql.value('SELECT id FROM forest_nodes WHERE rid = ?', [Number(x['rowid'])])));
          const got = new Set(r.hits.slice(0, 10).map((h) => h.id));
          recent++;
          topN += exactIds.length;
          inTop += exactIds.filter((id) => got.has(id)).length;
          if (exactIds[0] === r.hits[0]?.id) firstSame++;
        }
      }
      const m = {
        kernelMs, rawMs, boundedMs, p50: percentile(kernelMs, 50), p95: percentile(kernelMs, 95), rawP50: percentile(rawMs, 50), rawP95: percentile(rawMs, 95),
        boundedP50: percentile(boundedMs, 50), boundedP95: percentile(boundedMs, 95), meanTotal: round(hits / qs.length, 1), capped, empty,
        recent, recall: topN === 0 ? 1 : round(inTop / topN, 3), firstSame,
      };
      log(`forest: ${name}: search p50 ${m.p50.toFixed(3)} ms, p95 ${m.p95.toFixed(3)} ms — target p95 ≤ ${FOREST_SEARCH_P95_MS} ms ${m.p95 <= FOREST_SEARCH_P95_MS ? 'REACHED' : 'NOT reached'}`);
      log(`forest: ${name}: raw FTS5 bounded (same strategy, cap ${CANDIDATE_CAP}) p50 ${m.boundedP50.toFixed(3)}, p95 ${m.boundedP95.toFixed(3)} (module/raw p95 ${(m.p95 / m.boundedP95).toFixed(2)}); raw unbounded p50 ${m.rawP50.toFixed(3)}, p95 ${m.rawP95.toFixed(3)}`);
      log(`forest: ${name}: ${recent} of ${qs.length} queries ranked approximately (within the newest ${CANDIDATE_CAP}, or without their common words); recall of the exact top 10 in their top 10: ${(m.recall * 100).toFixed(1)}% (${inTop}/${topN}); same best hit ${firstSame}/${recent}`);
      log(`forest: ${name}: totals mean ${Math.round(m.meanTotal)}, ${capped} capped at 1001, ${empty} empty; p95 by kind: ${[...byKind].map(([kd, xs]) => `${kd} ${percentile(xs, 95).toFixed(2)} ms`).join(', ')}`);
      return m;
    };
    const all = measure('all words', queries);
    log(`forest: content-word variant: the same mix, query words drawn from the same Zipf distribution minus its ${STOPWORDS} most frequent words (stop words, each in most nodes)`);
    const content = measure('content words', contentQueries);
    const { p50, p95, boundedP50, boundedP95, kernelMs, boundedMs } = all;
    const extra = {
      nodes: opts.nodes, queries: QUERIES, mix, vocabulary: VOCAB, zipfS: ZIPF_S, meanWordsPerNode: Math.round(tokens / opts.nodes), meanTotalHits: all.meanTotal, cappedTotals: all.capped, emptyResults: all.empty, insertMs: round(insertMs, 1), mergeMs: round(mergeMs, 1),
      candidateCap: CANDIDATE_CAP, boundedQueries: all.recent, recallTop10: all.recall, sameBestHit: all.firstSame, rawUnboundedP50: round(all.rawP50), rawUnboundedP95: round(all.rawP95),
    };
    const contentExtra = {
      ...extra, stopwordsExcluded: STOPWORDS, meanTotalHits: content.meanTotal, cappedTotals: content.capped, emptyResults: content.empty,
      boundedQueries: content.recent, recallTop10: content.recall, sameBestHit: content.firstSame, rawUnboundedP50: round(content.rawP50), rawUnboundedP95: round(content.rawP95),
    };
    const rawName = `raw FTS5 bounded MATCH (cap ${CANDIDATE_CAP})`;
    return [
      figure({ id: 'forest-search-p95', storage: 'node-memory', title: `forest.search p95 over ${QUERIES} queries, ${opts.nodes} nodes`, unit: 'ms', kernel: round(p95), baseline: round(boundedP95), baselineName: `${rawName} p95`, target: { on: 'kernel', op: '<=', value: FOREST_SEARCH_P95_MS }, samples: { kernel: kernelMs.map((x) => round(x)), baseline: boundedMs.map((x) => round(x)) }, extra }),
      figure({ id: 'forest-search-p50', storage: 'node-memory', title: `forest.search p50, ${opts.nodes} nodes`, unit: 'ms', kernel: round(p50), baseline: round(boundedP50), baselineName: `${rawName} p50`, target: null, samples: { kernel: [], baseline: [] }, extra }),
      figure({ id: 'forest-search-raw-unbounded-p95', storage: 'node-memory', title: `raw FTS5 ranked MATCH over every match vs bounded, p95, ${opts.nodes} nodes`, unit: 'ms', kernel: round(all.rawP95), baseline: round(boundedP95), baselineName: `${rawName} p95`, target: null, samples: { kernel: all.rawMs.map((x) => round(x)), baseline: [] }, extra }),
      figure({ id: 'forest-search-content-p95', storage: 'node-memory', title: `forest.search p95, content-word queries (top ${STOPWORDS} words excluded), ${opts.nodes} nodes`, unit: 'ms', kernel: round(content.p95), baseline: round(content.boundedP95), baselineName: `${rawName} p95`, target: null, samples: { kernel: content.kernelMs.map((x) => round(x)), baseline: content.boundedMs.map((x) => round(x)) }, extra: contentExtra }),
    figure({ id: 'forest-insert', storage: 'node-memory', title: `forest.node.create in commandBatch of ${BATCH}`, unit: 'nodes/s', kernel: Math.round(rate), baseline: Math.round(rate), baselineName: 'itself (informational)', target: null, samples: { kernel: [round(insertMs, 1)], baseline: [] }, extra }),
    ];
  } finally {
    await k.close();
  }
}
