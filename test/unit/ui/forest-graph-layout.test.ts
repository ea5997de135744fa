/**
 * The whole-Forest layout (src/lib/forest/graph-layout.ts, ForceAtlas2 + noverlap + a last pass):
 * every node placed, and no two discs overlapping — on random graphs, on a crowded star, on a graph
 * with no edges, and when `separate` is handed every node on one point.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GAP, layoutGraph, nodeSize, overlaps, separate, type LaidNode } from '../../../src/lib/forest/graph-layout.ts';
import { mulberry32 } from '../../helpers/prng.ts';

function clashes(laid: readonly LaidNode[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < laid.length; i++) {
    for (let j = i + 1; j < laid.length; j++) {
      const a = laid[i]!;
      const b = laid[j]!;
      if (Math.hypot(a.x - b.x, a.y - b.y) < a.size + b.size + GAP - 1e-9) out.push(`${a.id}/${b.id}`);
    }
  }
  return out;
}

test('random graphs: every node placed, no two discs overlap (checked pair by pair)', () => {
  for (const seed of [1, 2, 3]) {
    const rnd = mulberry32(seed);
    const n = 20 + Math.floor(rnd() * 120);
    const nodes = Array.from({ length: n }, (_, i) => ({ id: `n${i}` }));
    const edges = Array.from({ length: Math.floor(n * 1.5) }, () => ({ from: `n${Math.floor(rnd() * n)}`, to: `n${Math.floor(rnd() * n)}` }));
    const laid = layoutGraph(nodes, edges, 60);
    assert.equal(laid.length, n);
    assert.ok(laid.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && p.size >= 5), `seed ${seed}: finite positions`);
    assert.deepEqual(clashes(laid), [], `seed ${seed}`);
    assert.deepEqual(overlaps(laid), [], 'the grid check agrees');
  }
});

test('a crowded star and a graph without edges', () => {
  const star = Array.from({ length: 80 }, (_, i) => ({ id: `s${i}` }));
  const laid = layoutGraph(star, star.slice(1).map((s) => ({ from: 's0', to: s.id })), 60);
  assert.deepEqual(clashes(laid), []);
  assert.equal(laid.find((p) => p.id === 's0')!.size, nodeSize(79), 'the hub is the biggest disc');
  assert.deepEqual(clashes(layoutGraph(star, [], 30)), []);
  assert.equal(layoutGraph([{ id: 'alone' }], []).length, 1);
});

test('separate: even every node on one point ends with no overlap', () => {
  const laid: LaidNode[] = Array.from({ length: 50 }, (_, i) => ({ id: `p${i}`, x: 3, y: 3, size: 4 + (i % 5) }));
  separate(laid);
  assert.deepEqual(clashes(laid), []);
});
