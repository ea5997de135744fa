/**
 * The canvas layout: a deterministic layered drawing of a workflow graph (graph.ts), left to right
 * or top down. Pure: the same graph and sizes give the same boxes; positions never come from, or
 * go to, the YAML.
 *
 * Per step list (scope), innermost first:
 * 1. Layers by longest path: a step with no edge into it is in layer 0; any other sits one layer
 *    after the furthest step it waits for (dependsOn, or its decision for a branch step). Found
 *    with Kahn's algorithm, ties in document order (a step in a cycle, which a valid workflow
 *    never has, goes to a last layer).
 * 2. Order within a layer: the first layer in document order; each later one by the mean position
 *    of the steps it waits for (barycentre), ties in document order.
 * 3. Layers are columns (rows top down), centred across; a loop is a box around its body, a
 *    parallel or race a box around its lanes (one per branch, stacked across the flow).
 *
 * Boxes are relative to the node holding them (what xyflow wants for child nodes); top-level ones
 * to the origin.
 */
import type { CanvasGraph, CanvasNode } from './graph.ts';

export type Direction = 'LR' | 'TB';

export interface Size {
  readonly w: number;
  readonly h: number;
}

export interface Box extends Size {
  readonly x: number;
  readonly y: number;
}

export interface LayoutOptions {
  readonly direction: Direction;
  /** Size of a plain step node. */
  readonly stepSize: (node: CanvasNode) => Size;
}

export interface Layout {
  readonly boxes: ReadonlyMap<string, Box>;
  readonly width: number;
  readonly height: number;
}

/** Spacing, in px. */
export const SPACING = { main: 64, cross: 24, header: 34, pad: 14, laneHeader: 26, laneGap: 12 } as const;

export function layoutGraph(graph: CanvasGraph, opts: LayoutOptions): Layout {
  const boxes = new Map<string, Box>();
  const sizes = new Map<string, Size>();
  const lr = opts.direction === 'LR';
  const main = (s: Size): number => (lr ? s.w : s.h);
  const cross = (s: Size): number => (lr ? s.h : s.w);
  const fromAxes = (m: number, c: number): { x: number; y: number } => (lr ? { x: m, y: c } : { x: c, y: m });
  const sizeFromAxes = (m: number, c: number): Size => (lr ? { w: m, h: c } : { w: c, h: m });

  const sizeOf = (node: CanvasNode): Size => {
    const known = sizes.get(node.id);
    if (known !== undefined) return known;
    let size: Size;
    const base = opts.stepSize(node);
    if (node.kind === 'lane' || (node.type === 'loop' && node.holds.length > 0)) {
      const inner = placeScope(node.kind === 'lane' ? node.id : node.holds[0]!, node.kind === 'lane' ? SPACING.laneHeader : SPACING.header);
      size = { w: Math.max(node.kind === 'lane' ? 0 : base.w, inner.w + 2 * SPACING.pad), h: (node.kind === 'lane' ? SPACING.laneHeader : SPACING.header) + inner.h + SPACING.pad };
    } else if (node.holds.length > 0) {
      // Lanes stacked across the flow, all as long (along the flow) as the longest.
      const lanes = node.holds.map((id) => graph.byId.get(id)).filter((n): n is CanvasNode => n !== undefined);
      const laneSizes = lanes.map(sizeOf);
      const long = Math.max(0, ...laneSizes.map(main));
      let at = 0;
      lanes.forEach((lane, i) => {
        const s = sizeFromAxes(long, cross(laneSizes[i]!));
        sizes.set(lane.id, s);
        const p = fromAxes(0, at);
        boxes.set(lane.id, { x: SPACING.pad + p.x, y: SPACING.header + p.y, ...s });
        at += cross(laneSizes[i]!) + SPACING.laneGap;
      });
      const across = Math.max(0, at - SPACING.laneGap);
      const inner = sizeFromAxes(long, across);
      size = { w: Math.max(base.w, inner.w + 2 * SPACING.pad), h: SPACING.header + inner.h + SPACING.pad };
    } else {
      size = base;
    }
    sizes.set(node.id, size);
    return size;
  };

  /** Place the members of one list with their top-left at (pad, top); returns the list's extent. */
  function placeScope(key: string, top: number): Size {
    const ids = graph.scopes.get(key) ?? [];
    const members = ids.map((id) => graph.byId.get(id)).filter((n): n is CanvasNode => n !== undefined);
    const layers = layer(graph, ids);
    const perLayer: CanvasNode[][] = [];
    members.forEach((n) => (perLayer[layers.get(n.id) ?? 0] ??= []).push(n));
    const rank = new Map<string, number>();
    const preds = predecessors(graph, ids);
    perLayer.forEach((list, k) => {
      if (k > 0) {
        const bary = (n: CanvasNode): number => {
          const ps = (preds.get(n.id) ?? []).map((p) => rank.get(p)).filter((r): r is number => r !== undefined);
          return ps.length === 0 ? n.index : ps.reduce((a, b) => a + b, 0) / ps.length;
        };
        const keyed = list.map((n) => ({ n, b: bary(n) }));
        keyed.sort((a, b) => a.b - b.b || a.n.index - b.n.index);
        list.splice(0, list.length, ...keyed.map((x) => x.n));
      }
      list.forEach((n, i) => rank.set(n.id, i));
    });
    const columns = perLayer.filter((l) => l !== undefined && l.length > 0);
    const extents = columns.map((col) => {
      const s = col.map(sizeOf);
      return { long: Math.max(...s.map(main)), across: s.reduce((a, x) => a + cross(x), 0) + SPACING.cross * (col.length - 1) };
    });
    const across = Math.max(0, ...extents.map((e) => e.across));
    let along = 0;
    columns.forEach((col, k) => {
      let at = (across - extents[k]!.across) / 2;
      for (const n of col) {
        const s = sizeOf(n);
        const p = fromAxes(along + (extents[k]!.long - main(s)) / 2, at);
        boxes.set(n.id, { x: p.x + (key === '' ? 0 : SPACING.pad), y: p.y + (key === '' ? 0 : top), ...s });
        at += cross(s) + SPACING.cross;
      }
      along += extents[k]!.long + SPACING.main;
    });
    return sizeFromAxes(Math.max(0, along - SPACING.main), across);
  }

  const total = placeScope('', 0);
  return { boxes, width: total.w, height: total.h };
}

function predecessors(graph: CanvasGraph, ids: readonly string[]): Map<string, string[]> {
  const inList = new Set(ids);
  const preds = new Map<string, string[]>();
  for (const e of graph.edges) {
    if (!inList.has(e.source) || !inList.has(e.target) || e.source === e.target) continue;
    preds.set(e.target, [...(preds.get(e.target) ?? []), e.source]);
  }
  return preds;
}

/** Longest-path layer of each step of one list (see the module header, 1). */
export function layer(graph: CanvasGraph, ids: readonly string[]): Map<string, number> {
  const preds = predecessors(graph, ids);
  const succs = new Map<string, string[]>();
  for (const [t, ps] of preds) for (const p of ps) succs.set(p, [...(succs.get(p) ?? []), t]);
  const waiting = new Map(ids.map((id) => [id, (preds.get(id) ?? []).length]));
  const index = new Map(ids.map((id, i) => [id, i]));
  const out = new Map<string, number>();
  const ready = ids.filter((id) => waiting.get(id) === 0);
  while (ready.length > 0) {
    ready.sort((a, b) => index.get(a)! - index.get(b)!);
    const id = ready.shift()!;
    out.set(id, Math.max(0, ...(preds.get(id) ?? []).map((p) => (out.get(p) ?? 0) + 1)));
    for (const s of succs.get(id) ?? []) {
      const left = waiting.get(s)! - 1;
      waiting.set(s, left);
      if (left === 0) ready.push(s);
    }
  }
  const last = Math.max(-1, ...out.values()) + 1;
  for (const id of ids) if (!out.has(id)) out.set(id, last);
  return out;
}
