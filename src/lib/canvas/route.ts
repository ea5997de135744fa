/**
 * The path of one canvas edge (pure): from the source's out side to the target's in side, through
 * the waypoints the layout kept for it (layout.ts), as SVG path data. Between points it bends in
 * smooth S-curves that leave and arrive along the flow (horizontal tangents left to right,
 * vertical top down); inside a layer it runs straight through its slot.
 */
import type { Direction } from './layout.ts';

export interface Point {
  readonly x: number;
  readonly y: number;
}

export function routePath(direction: Direction, source: Point, target: Point, waypoints: readonly Point[]): { path: string; labelX: number; labelY: number } {
  const pts = [source, ...waypoints, target];
  const lr = direction === 'LR';
  const n = (v: number): string => String(Math.round(v * 10) / 10);
  let d = `M ${n(source.x)} ${n(source.y)}`;
  for (let i = 1; i < pts.length; i++) {
    const p = pts[i - 1]!;
    const q = pts[i]!;
    // Aligned across the flow (through a slot, or straight ahead): a line.
    if (lr ? p.y === q.y : p.x === q.x) {
      d += ` L ${n(q.x)} ${n(q.y)}`;
    } else if (lr) {
      const mx = (p.x + q.x) / 2;
      d += ` C ${n(mx)} ${n(p.y)} ${n(mx)} ${n(q.y)} ${n(q.x)} ${n(q.y)}`;
    } else {
      const my = (p.y + q.y) / 2;
      d += ` C ${n(p.x)} ${n(my)} ${n(q.x)} ${n(my)} ${n(q.x)} ${n(q.y)}`;
    }
  }
  // The label sits halfway along the first stretch (near the source: "then", "else").
  const first = pts[1]!;
  return { path: d, labelX: (source.x + first.x) / 2, labelY: (source.y + first.y) / 2 };
}
