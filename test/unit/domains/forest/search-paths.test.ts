/**
 * forest.search strategy paths that must not change answers: a bounded phrase window is ranked by
 * the phrase's words but holds phrase matches only; a rare tag drives the window from the tag's
 * node list and answers exactly what the per-row EXISTS filter answers; the prefix index is used;
 * common words match without ranking.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { BM25, search, searchParams, wordsExpression, type SearchResult } from '../../../../worker/domains/forest/search.ts';
import { createNode, withMem } from './helpers.ts';
import type { Kernel } from '../../../helpers/kernel.ts';

const run = (k: Kernel, query: string, extra: Record<string, unknown> = {}, cap = 2000, rareTagMax?: number): SearchResult =>
  search(k.sql, searchParams.parse({ query, ...extra }), { cap, rareTagMax });
const ids = (r: SearchResult) => r.hits.map((h) => h.id);

describe('forest.search paths', () => {
  test('wordsExpression splits phrases into ANDed words, keeps prefixes, drops exclusions', () => {
    assert.equal(wordsExpression('"red apple" pie* -"green pear"'), '"red" AND "apple" AND "pie"*');
    assert.equal(wordsExpression('red apple'), null);
    assert.equal(wordsExpression('"apple"'), null);
    assert.equal(wordsExpression('-"red apple" pie'), null);
  });

  test('a bounded phrase window holds phrase matches only, the newest cap of them', () =>
    withMem((k) => {
      const phrase: string[] = [];
      const words: string[] = [];
      for (let i = 0; i < 24; i++) {
        // Interleaved: rows with the words but not the phrase score higher on the words alone.
        phrase.push(createNode(k, `P ${i}`, `a red apple ${'filler '.repeat(i % 5)}`));
        words.push(createNode(k, `W ${i}`, 'red x apple x red x apple x red'));
      }
      const r = run(k, '"red apple"', { limit: 100 }, 5);
      assert.equal(r.ranking, 'recent');
      assert.equal(r.rankedWithin, 5);
      assert.equal(r.total, 24);
      assert.deepEqual(new Set(ids(r)), new Set(phrase.slice(-5)));
      assert.ok(r.hits.every((h) => h.snippet.includes('«red apple»')), JSON.stringify(r.hits.map((h) => h.snippet)));
      // Paging and exclusions stay inside the phrase window.
      assert.deepEqual(ids(run(k, '"red apple"', { limit: 2, offset: 2 }, 5)), ids(r).slice(2, 4));
      const ex = run(k, '"red apple" -filler', { limit: 100 }, 3);
      assert.equal(ex.ranking, 'recent');
      assert.ok(ex.hits.every((h) => !h.snippet.includes('filler') && h.snippet.includes('«red apple»')));
      // Below the cap every phrase match is ranked, by bm25 of the phrase's words (no phrase-frequency pass).
      const exact = run(k, '"red apple"', { limit: 100 }, 2000);
      assert.equal(exact.ranking, 'exact');
      const raw = k.sql.all(`SELECT n.id FROM forest_fts JOIN forest_nodes n ON n.rid = forest_fts.rowid WHERE forest_fts MATCH '"red" AND "apple"'
        AND forest_fts.rowid IN (SELECT rowid FROM forest_fts WHERE forest_fts MATCH '"red apple"') ORDER BY ${BM25}, forest_fts.rowid`);
      assert.deepEqual(ids(exact), raw.map((x) => String(x['id'])));
    }));

  test('a rare tag drives the window and answers what the EXISTS filter answers', () =>
    withMem((k) => {
      const nodes: { id: string; tags: string[]; beta: boolean }[] = [];
      for (let i = 0; i < 40; i++) {
        const tags = ['all', ...(i % 10 === 3 ? ['rare'] : []), ...(i % 3 === 0 ? ['mid'] : [])];
        const beta = i % 2 === 0;
        nodes.push({ id: createNode(k, `Alpha ${i}`, `alpha text ${beta ? 'beta' : ''} ${'x '.repeat(i % 7)}`, tags), tags, beta });
      }
      for (const [q, tags] of [['alpha', ['rare']], ['alpha', ['mid', 'all']], ['beta', ['rare', 'mid']], ['alph*', ['mid']], ['"alpha text" beta', ['all', 'rare']], ['alpha', ['nope']], ['alpha', ['rare', 'nope']]] as const) {
        const want = nodes.filter((n) => tags.every((t) => n.tags.includes(t)) && (q !== 'beta' && !q.includes('beta') || n.beta)).map((n) => n.id);
        for (const cap of [2000, 3]) {
          const driven = run(k, q, { tags: [...tags], limit: 100 }, cap);
          const exists = run(k, q, { tags: [...tags], limit: 100 }, cap, 0);
          assert.deepEqual(driven, exists, `${q} ${tags.join()} cap ${cap}`);
          if (cap === 2000) assert.deepEqual(new Set(ids(driven)), new Set(want), `${q} ${tags.join()}`);
          else assert.deepEqual(new Set(ids(driven)), new Set(want.slice(-3)), `${q} ${tags.join()} bounded`);
        }
      }
    }));

  test('common words must match but do not rank; a query of common words only is newest first', () =>
    withMem((k) => {
      const plain: string[] = [];
      const rare: string[] = [];
      for (let i = 0; i < 12; i++) plain.push(createNode(k, `Plain ${i}`, `the cat sat ${'the '.repeat(i)}`));
      // "zebra" ranks by its own weight: more zebras, better; "the" (in every node) must not matter.
      rare.push(createNode(k, 'Zebra one', 'the zebra'), createNode(k, 'Zebra three', 'zebra zebra zebra and the the the the the the the the'), createNode(k, 'Stripes only', 'zebra zebra'));
      const limits = { commonRows: 10 };
      const q = (query: string, extra: Record<string, unknown> = {}): SearchResult => search(k.sql, searchParams.parse({ query, limit: 100, ...extra }), limits);

      const mixed = q('the zebra');
      assert.deepEqual(mixed.commonTerms, ['the']);
      assert.equal(mixed.ranking, 'exact');
      assert.deepEqual(new Set(ids(mixed)), new Set(rare.slice(0, 2)), 'both words must match');
      const byZebra = k.sql.all(`SELECT n.id FROM forest_fts JOIN forest_nodes n ON n.rid = forest_fts.rowid WHERE forest_fts MATCH 'zebra'
        AND forest_fts.rowid IN (SELECT rowid FROM forest_fts WHERE forest_fts MATCH 'the AND zebra') ORDER BY ${BM25}, forest_fts.rowid`).map((x) => String(x['id']));
      assert.deepEqual(ids(mixed), byZebra, 'ranked by the rare word alone');

      const common = q('the');
      assert.equal(common.ranking, 'newest');
      assert.deepEqual(common.commonTerms, ['the']);
      const newestFirst = k.sql.all("SELECT n.id FROM forest_fts JOIN forest_nodes n ON n.rid = forest_fts.rowid WHERE forest_fts MATCH 'the' ORDER BY forest_fts.rowid DESC").map((x) => String(x['id']));
      assert.deepEqual(ids(common), newestFirst);
      assert.deepEqual(ids(q('the', { limit: 3, offset: 2 })), newestFirst.slice(2, 5), 'paging');
      assert.deepEqual(ids(q('the -cat')), newestFirst.filter((id) => !plain.includes(id)), 'exclusions still apply');

      const exact = search(k.sql, searchParams.parse({ query: 'the zebra', limit: 100 }));
      assert.deepEqual([exact.commonTerms, exact.ranking], [[], 'exact'], 'below the threshold every word ranks');
    }));

  test('forest_fts keeps 3- and 4-character prefix indexes; short and long prefixes still work', () =>
    withMem((k) => {
      const sql = String(k.sql.value("SELECT sql FROM sqlite_master WHERE name = 'forest_fts'"));
      assert.match(sql, /prefix\s*=\s*'3 4'/);
      const a = createNode(k, 'Deployment guide', 'how to deploy the kingdom');
      createNode(k, 'Other', 'nothing here');
      for (const q of ['d*', 'de*', 'dep*', 'depl*', 'deplo*', 'kingdo*']) assert.deepEqual(ids(run(k, q)), [a], q);
      assert.equal(run(k, 'dex*').total, 0);
    }));
});
