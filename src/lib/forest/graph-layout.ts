/**
 * Layout of the whole Forest (src/pages/ForestWholeGraph.svelte): ForceAtlas2, then noverlap, then
 * a last pass that makes sure no two discs overlap. Pure (graphology, no DOM), so it runs in the
 * layout worker (graph-layout.worker.ts), in the page when a worker cannot start, and in Node tests.
 *
 * Invariants:
 * 1. Positions and sizes (disc radii) are in the same units, and the graph is drawn with sizes
 *    relative to positions (sigma's itemSizesReference 'positions'), so what holds here holds on
 *    screen at every zoom.
 * 2. No overlap, guaranteed: for every two nodes, distance ≥ r1 + r2 + GAP. noverlap usually gets
 *    there; `separate` then pushes the pairs still too close apart, and if some remain it spreads
 *    every position from the centre by the factor the worst pair needs (sizes unchanged), which
 *    always suffices.
 * 3. Nothing here uses eval, new Function or a blob: worker (the CSP forbids them); the
 *    supervisors of the layout packages that spawn blob: workers are never imported.
 */
import Graph from 'graphology';
import forceAtlas2 from 'graphology-layout-forceatlas2';
import noverlap from 'graphology-layout-noverlap';

export interface LaidNode {
  readonly id: string;
  x: number;
  y: number;
  /** Disc radius, in position units. */
  readonly size: number;
}

/** Clear space between two discs, in position units. */
export const GAP = 4;
const GOLDEN = Math.PI * (3 - Math.sqrt(5));

/** A node's radius by its number of links: 5 alone, up to 16. */
export function nodeSize(degree: number): number {
  return Math.min(16, 5 + 2 * Math.sqrt(degree));
}

export function layoutGraph(nodes: readonly { id: string }[], edges: readonly { from: string; to: string }[], iterations?: number): LaidNode[] {
  const g = new Graph({ type: 'undirected', multi: false, allowSelfLoops: false });
  nodes.forEach((n, i) => {
    if (g.hasNode(n.id)) return;
    // A sunflower spiral to start from: spread out, deterministic.
    const r = 12 * Math.sqrt(i + 0.5);
    g.addNode(n.id, { x: r * Math.cos(i * GOLDEN), y: r * Math.sin(i * GOLDEN), size: 1 });
  });
  for (const e of edges) if (e.from !== e.to && g.hasNode(e.from) && g.hasNode(e.to)) g.mergeEdge(e.from, e.to);
  g.forEachNode((id) => g.setNodeAttribute(id, 'size', nodeSize(g.degree(id))));
  if (g.order > 1) {
    const settings = { ...forceAtlas2.inferSettings(g), barnesHutOptimize: g.order > 400 };
    // Measured on a busy 2-core machine: 200 nodes ~0.3 s, 1,000 ~1.5 s, 2,000 ~2 s in all.
    forceAtlas2.assign(g, { iterations: iterations ?? (g.order > 1000 ? 50 : g.order > 200 ? 80 : 200), settings });
    noverlap.assign(g, { maxIterations: 50, settings: { margin: GAP * 1.5, ratio: 1, speed: 3 } });
  }
  const out = g.mapNodes((id, a): LaidNode => ({ id, x: Number(a['x']), y: Number(a['y']), size: Number(a['size']) }));
  separate(out);
  return out;
}

/** Pairs closer than r1 + r2 + gap (a grid, so about linear). */
export function overlaps(nodes: readonly LaidNode[], gap = GAP): [number, number][] {
  if (nodes.length < 2) return [];
  const cell = 2 * Math.max(...nodes.map((n) => n.size)) + gap;
  const grid = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    const k = `${Math.floor(n.x / cell)} ${Math.floor(n.y / cell)}`;
    grid.get(k)?.push(i) ?? grid.set(k, [i]);
  });
  const out: [number, number][] = [];
  nodes.forEach((a, i) => {
    const cx = Math.floor(a.x / cell);
    const cy = Math.floor(a.y / cell);
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (const j of grid.get(`${cx + dx} ${cy + dy}`) ?? []) {
          if (j <= i) continue;
          const b = nodes[j]!;
          if (Math.hypot(a.x - b.x, a.y - b.y) < a.size + b.size + gap) out.push([i, j]);
        }
      }
    }
  });
  return out;
}

/** Move nodes apart until no two overlap (invariant 2). Mutates `nodes`. */
export function separate(nodes: LaidNode[], gap = GAP): void {
  for (let round = 0; round < 60; round++) {
    const pairs = overlaps(nodes, gap);
    if (pairs.length === 0) return;
    for (const [i, j] of pairs) {
      const a = nodes[i]!;
      const b = nodes[j]!;
      let dx = b.x - a.x;
      let dy = b.y - a.y;
      let d = Math.hypot(dx, dy);
      if (d < 1e-6) {
        // On top of each other: a direction from their indices, the same every time.
        dx = Math.cos(i * GOLDEN + j);
        dy = Math.sin(i * GOLDEN + j);
        d = 1;
      }
      const push = (a.size + b.size + gap - Math.hypot(b.x - a.x, b.y - a.y)) / 2 + 0.01;
      a.x -= (dx / d) * push;
      a.y -= (dy / d) * push;
      b.x += (dx / d) * push;
      b.y += (dy / d) * push;
    }
  }
  const pairs = overlaps(nodes, gap);
  if (pairs.length === 0) return;
  const cx = nodes.reduce((s, n) => s + n.x, 0) / nodes.length;
  const cy = nodes.reduce((s, n) => s + n.y, 0) / nodes.length;
  let factor = 1;
  for (const [i, j] of pairs) {
    const a = nodes[i]!;
    const b = nodes[j]!;
    factor = Math.max(factor, (a.size + b.size + gap) / Math.max(1e-6, Math.hypot(a.x - b.x, a.y - b.y)));
  }
  factor *= 1.001;
  for (const n of nodes) {
    n.x = cx + (n.x - cx) * factor;
    n.y = cy + (n.y - cy) * factor;
  }
}
