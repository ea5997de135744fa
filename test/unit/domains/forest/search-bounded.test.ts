/**
 * forest.search bounded ranking: above the candidate cap only the newest `cap` matches (after tag
 * filters) are ranked and the result says so; at or below it ranking is exact and unchanged.
 * The cap is injected through `search(reader, params, { cap })` so the corpus stays small.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CANDIDATE_CAP, search, searchParams, type SearchResult } from '../../../../worker/domains/forest/search.ts';
import { createNode, withMem } from './helpers.ts';
import type { Kernel } from '../../../helpers/kernel.ts';

const CAP = 10;
const capped = (k: Kernel, query: string, extra: Record<string, unknown> = {}, cap = CAP): SearchResult =>
  search(k.sql, searchParams.parse({ query, ...extra }), { cap });
const full = (k: Kernel, query: string, extra: Record<string, unknown> = {}) => k.query('forest.search', { query, ...extra }) as SearchResult;
const ids = (r: SearchResult) => r.hits.map((h) => h.id);

/** 31 nodes match "alpha", in creation order; every third one is tagged `x`. */
function corpus(k: Kernel) {
  const alpha: string[] = [];
  const tagged: string[] = [];
  // The best "alpha" match overall is the OLDEST node: a title hit, plus the body.
  const oldBest = createNode(k, 'Alpha handbook', 'alpha alpha alpha', ['x']);
  alpha.push(oldBest);
  tagged.push(oldBest);
  let newBest = '';
  for (let i = 1; i <= 30; i++) {
    const tags = i % 3 === 0 ? ['x'] : [];
    // Node 25 is the best match among the newest ten: two body hits in a short body, no title hit.
    const id = i === 25 ? (newBest = createNode(k, `Note ${i}`, 'alpha alpha', tags))
      : createNode(k, `Note ${i}`, `alpha and some longer filler text number ${i} ${i % 2 === 0 ? 'beta' : ''}`, tags);
    alpha.push(id);
    if (tags.length) tagged.push(id);
  }
  for (let i = 0; i < 5; i++) createNode(k, `Gamma ${i}`, `gamma ${'gamma '.repeat(i)}`);
  return { alpha, tagged, oldBest, newBest };
}

describe('forest.search bounded ranking', () => {
  test('the cap is a named constant', () => assert.equal(CANDIDATE_CAP, 2000));

  test('(a) a query matching at most cap rows is ranked exactly as without a cap', () =>
    withMem((k) => {
      corpus(k);
      for (const [q, extra] of [['gamma', {}], ['beta', { limit: 5 }], ['beta', { limit: 5, offset: 5 }], ['alpha', { tags: ['x'] }]] as const) {
        const exact = full(k, q, extra);
        const small = capped(k, q, extra, q === 'beta' ? 15 : q === 'alpha' ? 11 : CAP); // beta: 15 matches, alpha+x: 11
        assert.equal(small.ranking, 'exact', q);
        assert.equal(small.rankedWithin, null);
        assert.deepEqual(small, exact, q);
      }
      assert.equal(full(k, 'alpha').ranking, 'exact');
    }));

  test('(b) a query matching more than cap rows ranks the newest cap only, best of them first', () =>
    withMem((k) => {
      const c = corpus(k);
      const exact = full(k, 'alpha', { limit: 100 });
      assert.equal(exact.hits[0]!.id, c.oldBest); // without the bound the old title hit wins
      assert.equal(exact.hits.length, 31);

      const r = capped(k, 'alpha', { limit: 100 });
      assert.equal(r.ranking, 'recent');
      assert.equal(r.rankedWithin, CAP);
      assert.equal(r.total, 31); // the total still counts every match
      assert.equal(r.totalCapped, false);
      const newest = new Set(c.alpha.slice(-CAP));
      assert.equal(r.hits.length, CAP);
      assert.deepEqual(new Set(ids(r)), newest);
      assert.equal(r.hits[0]!.id, c.newBest);
      // Inside the window the order is the exact order restricted to the window.
      assert.deepEqual(ids(r), ids(exact).filter((id) => newest.has(id)));
      // Paging stays inside the window.
      assert.deepEqual(ids(capped(k, 'alpha', { limit: 5, offset: 5 })), ids(r).slice(5, 10));
      assert.deepEqual(capped(k, 'alpha', { offset: CAP }).hits, []);
      // One more than the cap is bounded; exactly the cap is not.
      assert.equal(capped(k, 'alpha', {}, 30).ranking, 'recent');
      assert.equal(capped(k, 'alpha', {}, 31).ranking, 'exact');
    }));

  test('(c) tag filters apply before the bound: only tagged rows, the newest cap of them', () =>
    withMem((k) => {
      const c = corpus(k);
      const r = capped(k, 'alpha', { tags: ['x'], limit: 100 }, 4);
      assert.equal(r.ranking, 'recent');
      assert.equal(r.total, c.tagged.length);
      assert.ok(r.hits.every((h) => h.tags.includes('x')));
      assert.deepEqual(new Set(ids(r)), new Set(c.tagged.slice(-4)));
      assert.equal(capped(k, 'alpha', { tags: ['x', 'nope'] }).total, 0);
      assert.deepEqual(capped(k, 'alpha', { tags: ['nope'] }).hits, []);
    }));

  test('(d) hostile queries never throw with a bound', () =>
    withMem((k) => {
      corpus(k);
      const hostile = ['', '"', 'foo" OR (', 'NEAR(a b, 2)', '*', 'alph*', 'a*', '-alpha', 'alpha -"filler text"', '"alpha alpha"', "'; DROP TABLE forest_nodes; --",
        '\u0000', 'x'.repeat(1000), Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '), 'alpha OR', '{title}: alpha', '^alpha'];
      for (const q of hostile) {
        for (const cap of [1, CAP, 1000]) {
          const r = capped(k, q, {}, cap);
          assert.ok(Array.isArray(r.hits), q);
          assert.ok(r.hits.length <= cap, q);
        }
      }
      assert.equal(capped(k, 'alph*', {}, 1).ranking, 'recent');
      assert.equal(capped(k, '-alpha').match, null);
    }));
});
