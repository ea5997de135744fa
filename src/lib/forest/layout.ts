/**
 * Layout of a node's neighbourhood (a few dozen nodes at depth 2) with d3-force: rings by depth
 * as the start, then links, many-body repulsion, collision and a pull to the centre, run for a
 * fixed number of ticks. Deterministic (d3-force's own seeded random source), no DOM, no eval.
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
}

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
    .force('collide', forceCollide(24))
    .force('center', forceCenter(cx, cy))
    .stop();
  simulation.tick(o.steps ?? 300);
  const pos = new Map<string, Point>();
  for (const n of sim) pos.set(n.id, { x: clamp(n.x ?? cx, 40, o.width - 40), y: clamp(n.y ?? cy, 30, o.height - 30) });
  return pos;
}

export function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
