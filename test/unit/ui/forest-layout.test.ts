/**
 * The Forest graph layout (d3-force): inside the box, the pinned node at the centre, the same
 * picture every time, linked nodes closer together than unlinked ones, and no two discs overlapping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forceLayout, overlapping, separate } from '../../../src/lib/forest/layout.ts';

const nodes = [{ id: 'c', depth: 0 }, ...Array.from({ length: 12 }, (_, i) => ({ id: `n${i}`, depth: 1 + (i % 2) }))];
const edges = nodes.slice(1).map((n, i) => ({ from: i % 2 === 0 ? 'c' : `n${i - 1}`, to: n.id }));
const o = { width: 640, height: 420, pinned: 'c' };

test('every node is inside the box and the pinned node is at the centre', () => {
  const pos = forceLayout(nodes, edges, o);
  assert.equal(pos.size, nodes.length);
  for (const p of pos.values()) {
    assert.ok(p.x >= 40 && p.x <= o.width - 40 && p.y >= 30 && p.y <= o.height - 30, JSON.stringify(p));
  }
  assert.deepEqual(pos.get('c'), { x: o.width / 2, y: o.height / 2 });
});

test('the layout is deterministic', () => {
  assert.deepEqual([...forceLayout(nodes, edges, o)], [...forceLayout(nodes, edges, o)]);
});

test('linked nodes end up closer than unlinked pairs on average', () => {
  const pos = forceLayout(nodes, edges, o);
  const d = (a: string, b: string): number => Math.hypot(pos.get(a)!.x - pos.get(b)!.x, pos.get(a)!.y - pos.get(b)!.y);
  const linked = new Set(edges.map((e) => `${e.from}|${e.to}`));
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  const pairs = nodes.flatMap((a, i) => nodes.slice(i + 1).map((b) => [a.id, b.id] as const));
  const near = mean(pairs.filter(([a, b]) => linked.has(`${a}|${b}`) || linked.has(`${b}|${a}`)).map(([a, b]) => d(a, b)));
  const far = mean(pairs.filter(([a, b]) => !linked.has(`${a}|${b}`) && !linked.has(`${b}|${a}`)).map(([a, b]) => d(a, b)));
  assert.ok(near < far, `linked ${near.toFixed(1)} vs unlinked ${far.toFixed(1)}`);
});

test('a crowded neighbourhood: no two discs overlap, and `separate` says when the box is too small', () => {
  const many = [{ id: 'c', depth: 0 }, ...Array.from({ length: 40 }, (_, i) => ({ id: `m${i}`, depth: 1 }))];
  const star = many.slice(1).map((n) => ({ from: 'c', to: n.id }));
  const radius = (id: string) => (id === 'c' ? 21 : 16);
  const pos = forceLayout(many, star, { ...o, radius, gap: 8 });
  assert.deepEqual(overlapping(pos, radius, 8), []);
  assert.deepEqual(pos.get('c'), { x: o.width / 2, y: o.height / 2 }, 'the pinned node did not move');
  // 200 discs cannot fit apart in a 200 × 150 box: separate reports it (the graph then grows its box).
  const crowd = new Map(Array.from({ length: 200 }, (_, i) => [`k${i}`, { x: 100, y: 75 }] as const));
  assert.equal(separate(crowd, { width: 200, height: 150 }), false);
});
