/**
 * forest.search: bm25 ranking (title > body, more matches > fewer), tag filters, snippets with «»
 * markers, prefix and phrase search, and hostile input that must never throw.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileQuery, snippetParts, type SearchResult } from '../../../../worker/domains/forest/index.ts';
import { cmd, createNode, withMem } from './helpers.ts';
import type { Kernel } from '../../../helpers/kernel.ts';

const search = (k: Kernel, query: string, extra: Record<string, unknown> = {}) => k.query('forest.search', { query, ...extra }) as SearchResult;

function corpus(k: Kernel) {
  for (let i = 0; i < 20; i++) createNode(k, `Filler ${i}`, `unrelated text number ${i} about gardening and cooking`);
  return {
    title: createNode(k, 'Kubernetes rollout', 'A short note.', ['ops']),
    body: createNode(k, 'Weekly notes', 'We talked about the kubernetes cluster today.', ['ops', 'meetings']),
    many: createNode(k, 'Cluster diary', 'kubernetes here, kubernetes there, kubernetes everywhere with kubernetes.', ['journal']),
    phrase: createNode(k, 'Deployment checklist', 'Before you deploy the service, run the smoke tests. Deploying late is risky.', ['ops']),
  };
}

describe('forest.search', () => {
  test('a title match outranks a body-only match; more body matches rank higher than fewer', () =>
    withMem((k) => {
      const n = corpus(k);
      const r = search(k, 'kubernetes');
      assert.equal(r.total, 3);
      assert.equal(r.hits[0]!.id, n.title);
      assert.deepEqual(r.hits.slice(1).map((h) => h.id), [n.many, n.body]);
      assert.ok(r.hits[0]!.score > r.hits[1]!.score && r.hits[1]!.score > r.hits[2]!.score);
    }));

  test('snippets and titles mark matches with « » and split into parts', () =>
    withMem((k) => {
      const n = corpus(k);
      const hit = search(k, 'cluster').hits.find((h) => h.id === n.body)!;
      assert.match(hit.snippet, /«cluster»/);
      assert.equal(search(k, 'rollout').hits[0]!.titleHighlighted, 'Kubernetes «rollout»');
      assert.deepEqual(snippetParts('a «b» c'), [{ text: 'a ', hit: false }, { text: 'b', hit: true }, { text: ' c', hit: false }]);
    }));

  test('tag filters require every tag; paging keeps the total', () =>
    withMem((k) => {
      const n = corpus(k);
      assert.deepEqual(search(k, 'kubernetes', { tags: ['ops'] }).hits.map((h) => h.id), [n.title, n.body]);
      assert.deepEqual(search(k, 'kubernetes', { tags: ['OPS', 'meetings'] }).hits.map((h) => h.id), [n.body]);
      assert.equal(search(k, 'kubernetes', { tags: ['nope'] }).total, 0);
      const page = search(k, 'kubernetes', { limit: 1, offset: 1 });
      assert.equal(page.hits.length, 1);
      assert.equal(page.total, 3);
      assert.equal(search(k, 'kubernetes', { offset: 10 }).total, 3);
    }));

  test('prefix, phrase, stemming and exclusion', () =>
    withMem((k) => {
      const n = corpus(k);
      assert.deepEqual(search(k, 'kuber*').hits.length, 3);
      assert.deepEqual(search(k, 'deplo*').hits.map((h) => h.id), [n.phrase]);
      assert.deepEqual(search(k, '"deploy the service"').hits.map((h) => h.id), [n.phrase]);
      assert.equal(search(k, '"the deploy service"').total, 0);
      assert.deepEqual(search(k, 'deploying').hits.map((h) => h.id), [n.phrase]); // porter stemming
      assert.deepEqual(search(k, 'kubernetes -diary').hits.map((h) => h.id).sort(), [n.title, n.body].sort());
    }));

  test('updates and deletes keep the index in step', () =>
    withMem((k) => {
      const n = corpus(k);
      cmd(k, 'forest.node.update', { nodeId: n.title, title: 'Helm rollout' });
      assert.equal(search(k, 'kubernetes').total, 2);
      assert.equal(search(k, 'helm').hits[0]!.id, n.title);
      cmd(k, 'forest.node.delete', { nodeId: n.many });
      assert.deepEqual(search(k, 'kubernetes').hits.map((h) => h.id), [n.body]);
    }));

  test('hostile queries never throw', () =>
    withMem((k) => {
      corpus(k);
      const hostile = ['', '   ', 'foo" OR (', '"', '""', '"(', '(', ')', 'a AND', 'OR', 'NOT kubernetes', 'NEAR(a b, 2)', 'NEAR', '*', '**', 'kub**', '*kub',
        '-', '--', '-kubernetes', 'title:kubernetes', '{title body}: x', '^kubernetes', 'a + b', ':', '\\', "'; DROP TABLE forest_nodes; --",
        'ünïcödé 中文 кириллица', '🚀 emoji', '\u0000', 'x'.repeat(1000), Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '), '"unterminated phrase', 'a"b"c'];
      for (const q of hostile) {
        const r = search(k, q);
        assert.ok(Array.isArray(r.hits), q);
      }
      assert.equal(search(k, 'NOT kubernetes').total, 0); // NOT is a literal word, ANDed
      assert.equal(search(k, 'title:kubernetes').total, 0);
      assert.equal(search(k, '').match, null);
      assert.ok(search(k, 'kubernetes OR').total === 0);
    }));

  test('compileQuery quotes every term', () => {
    assert.equal(compileQuery('foo" OR ('), '"foo" AND "OR ("');
    assert.equal(compileQuery('deplo*'), '"deplo"*');
    assert.equal(compileQuery('"a b" c'), '"a b" AND "c"');
    assert.equal(compileQuery('a -b'), '("a") NOT ("b")');
    assert.equal(compileQuery('-b'), null);
    assert.equal(compileQuery('( ) *'), null);
  });
});
