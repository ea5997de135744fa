/**
 * `forest` benchmark (Node only, in-memory kernel): insert N knowledge nodes with seeded generated
 * text (commandBatch of 500), then time 200 `forest.search` queries against the same MATCH run
 * raw on the same FTS5 table (rowid + bm25 ORDER BY LIMIT 10, no join/snippet/count).
 * Target: forest.search p95 ≤ 20 ms. Insert rate is informational.
 */
import { openKernel } from '../../../worker/node.ts';
import { compileQuery } from '../../../worker/forest/search.ts';
import { mulberry32 } from '../../helpers/prng.ts';
import { figure, type Figure } from './scenarios.ts';
import { now, percentile, round } from './stats.ts';

export const FOREST_SEARCH_P95_MS = 20;
const BATCH = 500;
const QUERIES = 200;

function vocabulary(rand: () => number, n: number): string[] {
  const syl = ['ka', 'lo', 'mi', 'ren', 'tor', 'sa', 'vel', 'qu', 'ion', 'dep', 'loy', 'graph', 'node', 'ar', 'es', 'ti', 'um', 'ber', 'nos', 'pha'];
  const words = new Set<string>();
  while (words.size < n) {
    let w = '';
    const len = 2 + Math.floor(rand() * 3);
    for (let i = 0; i < len; i++) w += syl[Math.floor(rand() * syl.length)];
    words.add(w);
  }
  return [...words];
}

export async function benchForest(opts: { nodes: number }, log: (m: string) => void): Promise<Figure[]> {
  const rand = mulberry32(0xf0 + opts.nodes);
  const vocab = vocabulary(rand, 5000);
  // Zipf-like: low indexes are common words.
  const word = () => vocab[Math.floor(vocab.length * rand() ** 2.5)]!;
  const words = (n: number) => Array.from({ length: n }, word).join(' ');
  const tags = Array.from({ length: 50 }, (_, i) => `tag${i}`);
  const k = await openKernel({ storage: 'memory' });
  try {
    log(`forest: inserting ${opts.nodes.toLocaleString('en-US')} nodes in batches of ${BATCH}`);
    const t0 = now();
    for (let i = 0; i < opts.nodes; i += BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(opts.nodes, i + BATCH); j++) {
        batch.push({
          type: 'forest.node.create',
          payload: { title: words(3 + Math.floor(rand() * 5)), body: words(40 + Math.floor(rand() * 80)), tags: [tags[Math.floor(rand() * 50)]!, tags[Math.floor(rand() * 50)]!] },
          idempotencyKey: `forest-bench-${j}`,
        });
      }
      k.commandBatch(batch);
    }
    const insertMs = now() - t0;
    const rate = opts.nodes / (insertMs / 1000);
    log(`forest: ${Math.round(rate).toLocaleString('en-US')} nodes/s`);

    const queries: { query: string; tags?: string[] }[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const kind = i % 5;
      if (kind === 0) queries.push({ query: word() });
      else if (kind === 1) queries.push({ query: `${word()} ${word()}` });
      else if (kind === 2) queries.push({ query: `${word().slice(0, 4)}*` });
      else if (kind === 3) queries.push({ query: `"${word()} ${word()}"` });
      else queries.push({ query: word(), tags: [tags[i % 50]!] });
    }
    const kernelMs: number[] = [];
    const rawMs: number[] = [];
    let hits = 0;
    for (const q of queries) k.query('forest.search', q); // warm-up
    for (const q of queries) {
      const match = compileQuery(q.query)!;
      let t = now();
      const r = k.query('forest.search', q) as { total: number };
      kernelMs.push(now() - t);
      hits += r.total;
      t = now();
      k.sql.all('SELECT rowid, bm25(forest_fts, 10.0, 1.0, 4.0) AS bm FROM forest_fts WHERE forest_fts MATCH ? ORDER BY bm LIMIT 10', [match]);
      rawMs.push(now() - t);
    }
    const p50 = percentile(kernelMs, 50);
    const p95 = percentile(kernelMs, 95);
    const rawP50 = percentile(rawMs, 50);
    const rawP95 = percentile(rawMs, 95);
    log(`forest: search p50 ${p50.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms (raw FTS5 p50 ${rawP50.toFixed(3)}, p95 ${rawP95.toFixed(3)}); mean total ${Math.round(hits / QUERIES)}`);
    const extra = { nodes: opts.nodes, queries: QUERIES, meanTotalHits: round(hits / QUERIES, 1), insertMs: round(insertMs, 1) };
    return [
      figure({ id: 'forest-search-p95', storage: 'node-memory', title: `forest.search p95 over ${QUERIES} queries, ${opts.nodes} nodes`, unit: 'ms', kernel: round(p95), baseline: round(rawP95), baselineName: 'raw FTS5 MATCH p95', target: { on: 'kernel', op: '<=', value: FOREST_SEARCH_P95_MS }, samples: { kernel: kernelMs.map((x) => round(x)), baseline: rawMs.map((x) => round(x)) }, extra }),
      figure({ id: 'forest-search-p50', storage: 'node-memory', title: `forest.search p50, ${opts.nodes} nodes`, unit: 'ms', kernel: round(p50), baseline: round(rawP50), baselineName: 'raw FTS5 MATCH p50', target: null, samples: { kernel: [], baseline: [] }, extra }),
      figure({ id: 'forest-insert', storage: 'node-memory', title: `forest.node.create in commandBatch of ${BATCH}`, unit: 'nodes/s', kernel: Math.round(rate), baseline: Math.round(rate), baselineName: 'itself (informational)', target: null, samples: { kernel: [round(insertMs, 1)], baseline: [] }, extra }),
    ];
  } finally {
    await k.close();
  }
}
