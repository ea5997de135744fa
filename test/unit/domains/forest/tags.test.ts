/**
 * `#tags` typed in a node's body (worker/domains/forest/tags.ts): the grammar (code, URLs, anchors,
 * entities and wiki links are not tags; unicode tags are), the node's tags on save, lists, search,
 * tag counts and the graph filtering by them, session summaries left out on request, and a
 * rebuild deriving the same rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bodyTags } from '../../../../worker/domains/forest/tags.ts';
import { cmd, createNode, link, withMem } from './helpers.ts';

test('bodyTags: words after #, lower-cased, each once, in order', () => {
  assert.deepEqual(bodyTags('#ops and #Deploy, then #ops again.'), ['ops', 'deploy']);
  assert.deepEqual(bodyTags('Nested #ops/deploy/ and #team_a-b'), ['ops/deploy', 'team_a-b']);
  assert.deepEqual(bodyTags('**#bold** _#em_ ~~#gone~~ > #quoted\n| #cell |'), ['bold', 'em', 'gone', 'quoted', 'cell']);
  assert.deepEqual(bodyTags('#tag.'), ['tag'], 'punctuation ends a tag');
});

test('bodyTags: unicode letters and marks, NFC', () => {
  assert.deepEqual(bodyTags('#日本語 #café #Ωmega #über'), ['日本語', 'café', 'ωmega', 'über']);
  assert.deepEqual(bodyTags('#cafe\u0301'), ['caf\u00e9'], 'a combining accent is part of the tag, composed (NFC)');
  assert.deepEqual(bodyTags('#Привет #مرحبا'), ['привет', 'مرحبا']);
});

test('bodyTags: not tags', () => {
  assert.deepEqual(bodyTags('# Heading\n## Sub'), [], 'headings');
  assert.deepEqual(bodyTags('#1984 #2024'), [], 'numbers only');
  assert.deepEqual(bodyTags('a#b c##d'), [], 'inside a word');
  assert.deepEqual(bodyTags('[x](#anchor) [y](https://host/page#frag) https://host/#/forest?tag=x'), [], 'anchors and URLs');
  assert.deepEqual(bodyTags('&#39; &#x27; \\#escaped'), [], 'entities and escapes');
  assert.deepEqual(bodyTags('`#code` and ``a `#b` c``'), [], 'code spans of any length');
  assert.deepEqual(bodyTags('```\n#fenced\n```\n~~~js\n#tilde\n~~~\n#after'), ['after'], 'fenced blocks (both kinds)');
  assert.deepEqual(bodyTags('```\n#unclosed fence runs to the end'), []);
  assert.deepEqual(bodyTags('[[Note#Heading]] [[#Heading]] [[A|label #x]]'), [], 'inside wiki links');
  assert.deepEqual(bodyTags('`code`#right-after'), [], 'after code, not a boundary');
  assert.deepEqual(bodyTags(`#${'a'.repeat(65)} #${'b'.repeat(64)}`), ['b'.repeat(64)], 'at most 64 characters');
  assert.deepEqual(bodyTags('<a href="#x">#y</a> <b>#z</b>'), [], 'not in an attribute, nor right after markup');
  assert.equal(bodyTags(Array.from({ length: 80 }, (_, i) => `#t${i}`).join(' ')).length, 64, 'at most 64 tags');
});

interface Node { tags: string[]; bodyTags: string[] }
const get = (k: import('../../../helpers/kernel.ts').Kernel, id: string) => (k.query('forest.node.get', { id }) as { node: Node }).node;

test('typed tags are the node\'s tags on save: lists, counts, search and the graph filter by them', () => withMem((k) => {
  const a = createNode(k, 'Runbook', 'Steps for #ops and #Deploy.', ['manual']);
  const b = createNode(k, 'Notes', 'Nothing tagged here.', ['ops']);
  const c = createNode(k, 'Other', 'About `#ops` only in code.');
  assert.deepEqual(get(k, a).tags, ['manual'], 'tags stay the ones set');
  assert.deepEqual(get(k, a).bodyTags, ['ops', 'deploy']);
  const list = (tag: string) => (k.query('forest.node.list', { tag }) as { nodes: { id: string; bodyTags: string[] }[] }).nodes.map((n) => n.id).sort();
  assert.deepEqual(list('ops'), [a, b].sort(), 'set or typed, both count; code does not');
  assert.deepEqual(list('deploy'), [a]);
  assert.deepEqual(list('DEPLOY'), [a], 'a filter is normalised like a tag');
  const counts = k.query('forest.tags', {}) as { tag: string; count: number }[];
  assert.deepEqual(counts.find((t) => t.tag === 'ops'), { tag: 'ops', count: 2 });
  assert.deepEqual(counts.find((t) => t.tag === 'deploy'), { tag: 'deploy', count: 1 });
  const search = (tags: string[]) => (k.query('forest.search', { query: 'ops', tags }) as { hits: { id: string; bodyTags: string[] }[] }).hits;
  assert.deepEqual(search(['deploy']).map((h) => h.id), [a]);
  assert.deepEqual(search(['deploy'])[0]!.bodyTags, ['ops', 'deploy']);
  assert.deepEqual(search(['nowhere']), []);
  const graph = k.query('forest.graph', { tag: 'ops' }) as { nodes: { id: string; tags: string[] }[] };
  assert.deepEqual(graph.nodes.map((n) => n.id).sort(), [a, b].sort());
  assert.deepEqual(graph.nodes.find((n) => n.id === a)!.tags, ['manual', 'ops', 'deploy']);
  // Editing the body changes them; a body-less update keeps them; a delete drops them.
  cmd(k, 'forest.node.update', { nodeId: a, body: 'Now only #deploy.' });
  assert.deepEqual(list('ops'), [b]);
  cmd(k, 'forest.node.update', { nodeId: a, title: 'Runbook v2' });
  assert.deepEqual(get(k, a).bodyTags, ['deploy']);
  const before = k.digest(['forest_body_tags']);
  k.rebuild(['forest_body_tags']);
  assert.deepEqual(k.digest(['forest_body_tags']), before, 'a rebuild derives the same rows');
  cmd(k, 'forest.node.delete', { nodeId: a });
  assert.deepEqual(list('deploy'), []);
  assert.equal((k.query('forest.tags', {}) as { tag: string }[]).some((t) => t.tag === 'deploy'), false);
  void c;
}));

test('summaries: false leaves session summaries out of lists, search, counts and the graph', () => withMem((k) => {
  const sessionId = '0b9e8c3a-54a1-4d7e-9a51-3f1f6a2b7c10';
  const summary = createNode(k, 'hello run 1: succeeded', 'hello went well', ['session', 'workflow:hello', 'succeeded'], { metadata: { sessionId, outcome: 'succeeded' }, sessionId });
  const note = createNode(k, 'Hello notes', 'hello by hand', ['session']); // tagged session, but no sessionId: a note
  const ids = (v: unknown) => (v as { id: string }[]).map((n) => n.id).sort();
  assert.deepEqual(ids((k.query('forest.node.list', {}) as { nodes: unknown }).nodes), [summary, note].sort());
  assert.deepEqual(ids((k.query('forest.node.list', { summaries: false }) as { nodes: unknown }).nodes), [note]);
  assert.equal((k.query('forest.node.list', { summaries: false }) as { total: number }).total, 1);
  assert.deepEqual(ids((k.query('forest.search', { query: 'hello', summaries: false }) as { hits: unknown }).hits), [note]);
  assert.deepEqual(ids((k.query('forest.search', { query: 'hello' }) as { hits: unknown }).hits), [summary, note].sort());
  assert.deepEqual(ids((k.query('forest.graph', { summaries: false }) as { nodes: unknown }).nodes), [note]);
  const tags = (summaries: boolean) => (k.query('forest.tags', { summaries }) as { tag: string }[]).map((t) => t.tag).sort();
  assert.deepEqual(tags(false), ['session']);
  assert.deepEqual(tags(true), ['session', 'succeeded', 'workflow:hello']);
}));

test('forest.graph: explicit links and resolved wiki links among the nodes answered; forest.resolve', () => withMem((k) => {
  const a = createNode(k, 'Alpha', 'See [[Beta]], [[beta|again]], [[Nowhere]] and [[Alpha]].');
  const b = createNode(k, 'Beta', '');
  const c = createNode(k, 'Gamma', 'Links to [[Alpha]].', ['far']);
  link(k, b, c, 'relates_to');
  const g = k.query('forest.graph', {}) as { nodes: { id: string }[]; edges: { from: string; to: string; type: string }[]; total: number; truncated: boolean };
  assert.equal(g.nodes.length, 3);
  assert.deepEqual(g.edges.map((e) => `${e.from === a ? 'A' : e.from === b ? 'B' : 'C'}>${e.to === a ? 'A' : e.to === b ? 'B' : 'C'}:${e.type}`).sort(),
    ['A>B:wiki', 'B>C:relates_to', 'C>A:wiki'], 'each edge once, no self-edge, no unresolved target');
  const capped = k.query('forest.graph', { maxNodes: 2 }) as typeof g;
  assert.equal(capped.nodes.length, 2);
  assert.equal(capped.total, 3);
  assert.equal(capped.truncated, true);
  for (const e of capped.edges) assert.ok(capped.nodes.some((n) => n.id === e.from) && capped.nodes.some((n) => n.id === e.to), 'edges stay among the nodes answered');
  assert.deepEqual(k.query('forest.resolve', { titles: ['beta', 'Nowhere', ' Gamma '] }), [{ title: 'beta', id: b }, { title: 'Nowhere', id: null }, { title: 'Gamma', id: c }]);
}));
