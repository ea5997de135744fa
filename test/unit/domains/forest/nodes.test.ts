/**
 * Forest nodes and links (worker/forest): commands, validation, backlinks, traversal, rebuild.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { ForestLink, ForestNode, NodeSummary, TraverseResult } from '../../../../worker/domains/forest/index.ts';
import { eventCount, newKey } from '../../../helpers/kernel.ts';
import { cmd, createNode, expectCode, link, withMem } from './helpers.ts';

type Got = { node: ForestNode; outgoing: ForestLink[]; incoming: ForestLink[] } | null;
const get = (k: Parameters<typeof createNode>[0], id: string) => k.query('forest.node.get', { id }) as Got;

describe('forest nodes', () => {
  test('create stores the node with normalised tags, actor, session and version 1 on forest:node:<id>', () =>
    withMem((k) => {
      const sessionId = crypto.randomUUID();
      const r = k.command({ type: 'forest.node.create', payload: { title: '  Deploy guide ', body: '# Deploy\ntext', tags: ['Ops', 'ops', ' CI  CD '], metadata: { a: [1, { b: null }] }, sessionId }, idempotencyKey: 'c1', actor: 'alice' });
      const nodeId = (r.value as { nodeId: string }).nodeId;
      assert.equal(r.events[0]!.stream, `forest:node:${nodeId}`);
      assert.equal(r.events[0]!.type, 'forest.node_created');
      const n = get(k, nodeId)!.node;
      assert.equal(n.title, 'Deploy guide');
      assert.deepEqual(n.tags, ['ops', 'ci-cd']);
      assert.deepEqual(n.metadata, { a: [1, { b: null }] });
      assert.equal(n.createdBy, 'alice');
      assert.equal(n.sessionId, sessionId);
      assert.equal(n.version, 1);
      assert.equal(n.status, 'active');
    }));

  test('validation errors are typed and append nothing', () =>
    withMem((k) => {
      const id = createNode(k, 'A');
      const before = eventCount(k);
      expectCode(() => cmd(k, 'forest.node.create', { title: '' }), 'invalid_payload');
      expectCode(() => cmd(k, 'forest.node.create', { title: 'x'.repeat(301) }), 'invalid_payload');
      expectCode(() => cmd(k, 'forest.node.create', { title: 'a\nb' }), 'invalid_payload');
      expectCode(() => cmd(k, 'forest.node.create', { title: 'T', body: 'é'.repeat(600_000) }), 'invalid_payload');
      expectCode(() => cmd(k, 'forest.node.create', { title: 'T', tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }), 'invalid_payload');
      expectCode(() => cmd(k, 'forest.node.create', { title: 'T', metadata: [1] }), 'invalid_payload');
      expectCode(() => cmd(k, 'forest.node.create', { title: 'T', extra: 1 }), 'invalid_payload');
      expectCode(() => cmd(k, 'forest.node.create', { title: 'T', nodeId: id }), 'already_exists');
      expectCode(() => cmd(k, 'forest.node.update', { nodeId: crypto.randomUUID(), title: 'x' }), 'not_found');
      expectCode(() => cmd(k, 'forest.link.create', { from: id, to: crypto.randomUUID(), type: 'relates_to' }), 'not_found');
      expectCode(() => cmd(k, 'forest.link.create', { from: id, to: id, type: 'relates_to' }), 'invalid_payload');
      expectCode(() => cmd(k, 'forest.link.create', { from: id, to: id, type: 'Bad Type' }), 'invalid_payload');
      expectCode(() => cmd(k, 'forest.link.delete', { from: id, to: crypto.randomUUID(), type: 'relates_to' }), 'not_found');
      expectCode(() => k.query('forest.traverse', { from: id, depth: 5 }), 'invalid_query');
      assert.equal(eventCount(k), before);
    }));

  test('update is partial, skips no-ops and honours expectedVersion', () =>
    withMem((k) => {
      const id = createNode(k, 'A', 'body', ['x'], { metadata: { m: 1 } });
      const r = cmd(k, 'forest.node.update', { nodeId: id, body: 'new body' }, { expectedVersion: 1 });
      assert.deepEqual(r.value, { nodeId: id, changed: true });
      const n = get(k, id)!.node;
      assert.equal(n.title, 'A');
      assert.equal(n.body, 'new body');
      assert.deepEqual(n.tags, ['x']);
      assert.deepEqual(n.metadata, { m: 1 });
      assert.equal(n.version, 2);
      const same = cmd(k, 'forest.node.update', { nodeId: id, title: 'A', tags: ['X'], metadata: { m: 1 } });
      assert.deepEqual(same.value, { nodeId: id, changed: false });
      assert.equal(same.events.length, 0);
      expectCode(() => cmd(k, 'forest.node.update', { nodeId: id, title: 'B' }, { expectedVersion: 1 }), 'version_conflict');
      cmd(k, 'forest.node.update', { nodeId: id, tags: ['Y', 'z'], metadata: {} });
      assert.deepEqual(get(k, id)!.node.tags, ['y', 'z']);
      assert.deepEqual(get(k, id)!.node.metadata, {});
      assert.deepEqual(k.query('forest.tags'), [{ tag: 'y', count: 1 }, { tag: 'z', count: 1 }]);
    }));

  test('delete archives: hidden from list, search, tags, links; further changes are refused', () =>
    withMem((k) => {
      const a = createNode(k, 'Alpha note', 'alpha', ['t']);
      const b = createNode(k, 'Beta note', 'beta', ['t']);
      link(k, a, b);
      link(k, b, a, 'derived_from');
      cmd(k, 'forest.node.delete', { nodeId: b });
      assert.equal(get(k, b)!.node.status, 'archived');
      assert.deepEqual(get(k, a)!.outgoing, []);
      assert.deepEqual(get(k, a)!.incoming, []);
      assert.deepEqual(k.query('forest.links', { id: a }), []);
      const list = k.query('forest.node.list', {}) as { nodes: NodeSummary[]; total: number };
      assert.deepEqual(list.nodes.map((n) => n.id), [a]);
      assert.equal((k.query('forest.search', { query: 'beta' }) as { total: number }).total, 0);
      assert.deepEqual(k.query('forest.tags'), [{ tag: 't', count: 1 }]);
      expectCode(() => cmd(k, 'forest.node.update', { nodeId: b, title: 'x' }), 'archived');
      expectCode(() => cmd(k, 'forest.node.delete', { nodeId: b }), 'archived');
      expectCode(() => link(k, a, b, 'mentions'), 'archived');
      assert.equal(k.query('forest.node.get', { id: crypto.randomUUID() }), null);
    }));

  test('links: idempotent create, backlinks, delete, filters by direction and type', () =>
    withMem((k) => {
      const a = createNode(k, 'A');
      const b = createNode(k, 'B');
      const c = createNode(k, 'C');
      assert.deepEqual((link(k, a, b).value as { created: boolean }).created, true);
      const again = link(k, a, b);
      assert.equal((again.value as { created: boolean }).created, false);
      assert.equal(again.events.length, 0);
      link(k, a, b, 'mentions');
      link(k, c, b, 'wrote');
      const got = get(k, b)!;
      assert.deepEqual(got.incoming.map((l) => [l.from, l.type, l.other.title]), [[a, 'relates_to', 'A'], [a, 'mentions', 'A'], [c, 'wrote', 'C']]);
      assert.deepEqual(get(k, a)!.outgoing.map((l) => l.to), [b, b]);
      assert.equal((k.query('forest.links', { id: b, direction: 'in', type: 'wrote' }) as ForestLink[]).length, 1);
      assert.equal((k.query('forest.links', { id: b, direction: 'out' }) as ForestLink[]).length, 0);
      cmd(k, 'forest.link.delete', { from: a, to: b, type: 'mentions' });
      assert.deepEqual(get(k, b)!.incoming.map((l) => l.type), ['relates_to', 'wrote']);
      // The link lives on the from-node's stream, so it bumps that node's version.
      assert.equal(get(k, a)!.node.version, 4);
    }));

  test('list filters by tag and session, with total and paging', () =>
    withMem((k) => {
      const s1 = crypto.randomUUID();
      for (let i = 0; i < 5; i++) createNode(k, `N${i}`, '', i % 2 ? ['odd'] : ['even'], i < 2 ? { sessionId: s1 } : {});
      const odd = k.query('forest.node.list', { tag: 'ODD' }) as { nodes: NodeSummary[]; total: number };
      assert.deepEqual(odd.nodes.map((n) => n.title), ['N3', 'N1']);
      const page = k.query('forest.node.list', { limit: 2, offset: 2 }) as { nodes: NodeSummary[]; total: number };
      assert.deepEqual(page.nodes.map((n) => n.title), ['N2', 'N1']);
      assert.equal(page.total, 5);
      const bySession = k.query('forest.node.list', { sessionId: s1 }) as { nodes: NodeSummary[]; total: number };
      assert.deepEqual(bySession.nodes.map((n) => n.title).sort(), ['N0', 'N1']);
    }));
});

describe('forest traversal', () => {
  test('BFS with a cycle visits each node once, respects depth, types and direction', () =>
    withMem((k) => {
      const [a, b, c, d, e] = ['A', 'B', 'C', 'D', 'E'].map((t) => createNode(k, t)) as [string, string, string, string, string];
      link(k, a, b); link(k, b, c); link(k, c, a); // cycle
      link(k, c, d, 'derived_from'); link(k, d, e);
      const t = (p: Record<string, unknown>) => k.query('forest.traverse', { from: a, ...p }) as TraverseResult;
      const all = t({ depth: 4 });
      assert.deepEqual(all.nodes.map((n) => [n.title, n.depth]), [['A', 0], ['B', 1], ['C', 2], ['D', 3], ['E', 4]]);
      assert.equal(all.edges.length, 5);
      assert.equal(all.truncated, false);
      assert.deepEqual(t({ depth: 2 }).nodes.map((n) => n.title), ['A', 'B', 'C']);
      assert.deepEqual(t({ depth: 4, types: ['relates_to'] }).nodes.map((n) => n.title), ['A', 'B', 'C']);
      assert.deepEqual(t({ depth: 1, direction: 'in' }).nodes.map((n) => n.title), ['A', 'C']);
      assert.deepEqual(t({ depth: 1, direction: 'both' }).nodes.map((n) => n.title).sort(), ['A', 'B', 'C']);
      assert.equal(t({ depth: 4, maxNodes: 2 }).truncated, true);
      cmd(k, 'forest.node.delete', { nodeId: c });
      assert.deepEqual(t({ depth: 4 }).nodes.map((n) => n.title), ['A', 'B']);
      assert.deepEqual(t({ depth: 0 }).nodes.map((n) => n.title), ['A']);
      void e;
    }));
});

describe('forest rebuild', () => {
  test('a mixed workload rebuilds to identical digests and a consistent FTS index', () =>
    withMem((k) => {
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push(createNode(k, `Node ${i} ${i % 3 ? 'deploy' : 'design'}`, `body ${i} about pipelines «x»`, [`t${i % 4}`, 'all']));
      for (let i = 0; i < 40; i += 3) cmd(k, 'forest.node.update', { nodeId: ids[i]!, body: `rewritten ${i}`, tags: ['changed'] });
      for (let i = 0; i < 39; i++) link(k, ids[i]!, ids[i + 1]!, i % 2 ? 'mentions' : 'relates_to');
      for (let i = 0; i < 40; i += 7) cmd(k, 'forest.node.delete', { nodeId: ids[i]! });
      for (let i = 1; i < 39; i += 5) cmd(k, 'forest.link.delete', { from: ids[i]!, to: ids[i + 1]!, type: i % 2 ? 'mentions' : 'relates_to' });
      k.commandBatch(Array.from({ length: 10 }, (_, i) => ({ type: 'forest.node.create', payload: { title: `Batch ${i}` }, idempotencyKey: newKey() })));
      const names = ['forest_nodes', 'forest_links'];
      const before = k.digest(names);
      const search = k.query('forest.search', { query: 'deploy', limit: 100 });
      k.rebuild(names);
      assert.deepEqual(k.digest(names), before);
      assert.deepEqual(k.query('forest.search', { query: 'deploy', limit: 100 }), search);
      k.sql.run("INSERT INTO forest_fts (forest_fts) VALUES ('integrity-check')");
      k.rebuild();
      assert.deepEqual(k.digest(names), before);
    }));
});
