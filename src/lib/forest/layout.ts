/**
 * Layout of a node's neighbourhood (a few dozen nodes at depth 2) with d3-force: rings by depth
 * as the start, then links, many-body repulsion, collision and a pull to the centre, run for a
 * fixed number of ticks. Deterministic (d3-force's own seeded random source), no DOM, no eval.
 *
 * No two discs overlap: d3's collision force is approximate and keeping nodes inside the box
 * pushes them together again, so `separate` then moves the pairs still too close apart (inside the
 * box, pinned nodes staying put) and says whether it got there; the graph grows the box when not.
 */
import { forceCenter, forceCollide, forceLink, forceManyBody, forceSimulation, type SimulationNodeDatum } from 'd3-force';

export interface LayoutNode {
  readonly id: string;
  readonly depth: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface LayoutOptions {
  readonly width: number;
  readonly height: number;
  readonly steps?: number;
  /** This node stays at the centre. */
  readonly pinned?: string;
  /** Disc radius of a node (default 16) and the clear space kept between two discs (default 8). */
  readonly radius?: (id: string) => number;
  readonly gap?: number;
}

/** Margins from the box's edges: room for a disc and its label. */
export const MARGIN_X = 40;
export const MARGIN_Y = 30;

interface SimNode extends SimulationNodeDatum {
  id: string;
}

export function forceLayout(nodes: readonly LayoutNode[], edges: readonly { from: string; to: string }[], o: LayoutOptions): Map<string, Point> {
  const cx = o.width / 2;
  const cy = o.height / 2;
  const ringStep = Math.min(o.width, o.height) / 5;
  const byDepth = new Map<number, LayoutNode[]>();
  for (const n of nodes) byDepth.set(n.depth, [...(byDepth.get(n.depth) ?? []), n]);
  const sim: SimNode[] = [];
  for (const [depth, ring] of byDepth) {
    ring.forEach((n, i) => {
      const a = (2 * Math.PI * i) / ring.length + depth * 0.5;
      const r = depth * ringStep;
      const node: SimNode = { id: n.id, x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) };
      if (n.id === o.pinned) {
        node.fx = cx;
        node.fy = cy;
      }
      sim.push(node);
    });
  }
  const ids = new Set(sim.map((n) => n.id));
  const links = edges.filter((e) => ids.has(e.from) && ids.has(e.to) && e.from !== e.to).map((e) => ({ source: e.from, target: e.to }));
  const simulation = forceSimulation(sim)
    .force('link', forceLink<SimNode, { source: string; target: string }>(links).id((d) => d.id).distance(ringStep * 0.9))
    .force('charge', forceManyBody().strength(-ringStep * 2))
    .force('collide', forceCollide<SimNode>((d) => (o.radius?.(d.id) ?? 16) + (o.gap ?? 8) / 2 + 2))
    .force('center', forceCenter(cx, cy))
    .stop();
  simulation.tick(o.steps ?? 300);
  const pos = new Map<string, Point>();
  for (const n of sim) pos.set(n.id, { x: clamp(n.x ?? cx, MARGIN_X, o.width - MARGIN_X), y: clamp(n.y ?? cy, MARGIN_Y, o.height - MARGIN_Y) });
  separate(pos, o, o.pinned ? [o.pinned] : []);
  return pos;
}

/** Pairs of discs closer than their radii plus the gap. */
export function overlapping(pos: ReadonlyMap<string, Point>, radius: (id: string) => number, gap: number): [string, string][] {
  const ids = [...pos.keys()];
  const out: [string, string][] = [];
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const a = pos.get(ids[i]!)!;
      const b = pos.get(ids[j]!)!;
      if (Math.hypot(a.x - b.x, a.y - b.y) < radius(ids[i]!) + radius(ids[j]!) + gap - 1e-9) out.push([ids[i]!, ids[j]!]);
    }
  }
  return out;
}

/**
 * Push overlapping discs apart inside the box (`fixed` ones do not move); true when none overlap.
 * Deterministic. Mutates `pos`.
 */
export function separate(pos: Map<string, Point>, o: Pick<LayoutOptions, 'width' | 'height' | 'radius' | 'gap'>, fixed: readonly string[] = []): boolean {
  const radius = o.radius ?? (() => 16);
  const gap = o.gap ?? 8;
  for (let round = 0; round < 300; round++) {
    const pairs = overlapping(pos, radius, gap);
    if (pairs.length === 0) return true;
    pairs.forEach(([i, j], k) => {
      const a = pos.get(i)!;
      const b = pos.get(j)!;
      let dx = b.x - a.x;
      let dy = b.y - a.y;
      let d = Math.hypot(dx, dy);
      if (d < 1e-6) {
        dx = Math.cos(k + round);
        dy = Math.sin(k + round);
        d = 1;
      }
      const need = radius(i) + radius(j) + gap - Math.hypot(b.x - a.x, b.y - a.y) + 0.5;
      const fa = fixed.includes(i);
      const fb = fixed.includes(j);
      if (fa && fb) return;
      const [sa, sb] = fa ? [0, need] : fb ? [need, 0] : [need / 2, need / 2];
      pos.set(i, { x: clamp(a.x - (dx / d) * sa, MARGIN_X, o.width - MARGIN_X), y: clamp(a.y - (dy / d) * sa, MARGIN_Y, o.height - MARGIN_Y) });
      pos.set(j, { x: clamp(b.x + (dx / d) * sb, MARGIN_X, o.width - MARGIN_X), y: clamp(b.y + (dy / d) * sb, MARGIN_Y, o.height - MARGIN_Y) });
    });
  }
  return overlapping(pos, radius, gap).length === 0;
}

export function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
