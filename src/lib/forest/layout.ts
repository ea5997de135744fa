/**
 * A small force layout for a node's neighbourhood (a few dozen nodes at depth 2): rings by depth
 * as the start, then a fixed number of steps of repulsion, springs along edges and a pull to the
 * centre. Deterministic (no randomness), pure, no DOM.
 */
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

export function forceLayout(nodes: readonly LayoutNode[], edges: readonly { from: string; to: string }[], o: LayoutOptions): Map<string, Point> {
  const cx = o.width / 2;
  const cy = o.height / 2;
  const ringStep = Math.min(o.width, o.height) / 5;
  const pos = new Map<string, Point>();
  const byDepth = new Map<number, LayoutNode[]>();
  for (const n of nodes) byDepth.set(n.depth, [...(byDepth.get(n.depth) ?? []), n]);
  for (const [depth, ring] of byDepth) {
    ring.forEach((n, i) => {
      const a = (2 * Math.PI * i) / ring.length + depth * 0.5;
      const r = depth * ringStep;
      pos.set(n.id, { x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) });
    });
  }
  const list = nodes.map((n) => n.id);
  const links = edges.filter((e) => pos.has(e.from) && pos.has(e.to) && e.from !== e.to);
  const ideal = ringStep * 0.9;
  const steps = o.steps ?? 300;
  for (let step = 0; step < steps; step++) {
    const cool = 1 - step / steps;
    const force = new Map<string, Point>(list.map((id) => [id, { x: 0, y: 0 }]));
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = pos.get(list[i]!)!;
        const b = pos.get(list[j]!)!;
        let dx = a.x - b.x;
        let dy = a.y - b.y;
        let d2 = dx * dx + dy * dy;
        if (d2 < 0.01) {
          dx = (i - j) * 0.1;
          dy = 0.1;
          d2 = dx * dx + dy * dy;
        }
        const d = Math.sqrt(d2);
        const f = (ideal * ideal) / d;
        const fa = force.get(list[i]!)!;
        const fb = force.get(list[j]!)!;
        fa.x += (dx / d) * f;
        fa.y += (dy / d) * f;
        fb.x -= (dx / d) * f;
        fb.y -= (dy / d) * f;
      }
    }
    for (const e of links) {
      const a = pos.get(e.from)!;
      const b = pos.get(e.to)!;
      const dx = b.x - a.x;
      const dy = b.y - a.y;
      const d = Math.max(0.1, Math.hypot(dx, dy));
      const f = (d * d) / ideal;
      const fa = force.get(e.from)!;
      const fb = force.get(e.to)!;
      fa.x += (dx / d) * f;
      fa.y += (dy / d) * f;
      fb.x -= (dx / d) * f;
      fb.y -= (dy / d) * f;
    }
    const maxMove = ringStep * 0.5 * cool + 1;
    for (const id of list) {
      if (id === o.pinned) continue;
      const p = pos.get(id)!;
      const f = force.get(id)!;
      f.x += (cx - p.x) * 0.05;
      f.y += (cy - p.y) * 0.05;
      const len = Math.hypot(f.x, f.y);
      if (len > 0) {
        const m = Math.min(len, maxMove);
        p.x += (f.x / len) * m;
        p.y += (f.y / len) * m;
      }
      p.x = clamp(p.x, 40, o.width - 40);
      p.y = clamp(p.y, 30, o.height - 30);
    }
  }
  return pos;
}

export function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
