/**
 * The canvas layout: a deterministic layered drawing of a workflow graph (graph.ts), left to right
 * or top down. Pure: the same graph and sizes give the same boxes; positions never come from, or
 * go to, the YAML.
 *
 * Per step list (scope), innermost first:
 * 1. Layers by longest path: a step with no edge into it is in layer 0; any other sits one layer
 *    after the furthest step it waits for (dependsOn, or its decision for a branch step). Found
 *    with Kahn's algorithm, ties in document order (a step in a cycle, which a valid workflow
 *    never has, goes to a last layer). Then a step that waits for nothing moves up to the layer
 *    just before its first dependent, so its edge does not cross the layers in between.
 * 2. An edge that spans several layers gets a slot in each layer between (a dummy node, as in
 *    Sugiyama's method): the slot takes room there, so no step sits on the edge, and the edge is
 *    drawn through its slots (`waypoints`).
 * 3. Order within a layer: the first layer in document order; each later one by the mean position
 *    of what it waits for (barycentre; slots included), ties in document order, a step that waits
 *    for nothing last.
 * 4. Layers are columns (rows top down), centred across; a loop is a box around its body, a
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
  /**
   * Edges that cross layers: the points (flow coordinates) where they enter and leave each layer
   * in between, through the room kept for them there; other edges have none.
   */
  readonly waypoints: ReadonlyMap<string, readonly { readonly x: number; readonly y: number }[]>;
  readonly width: number;
  readonly height: number;
}

/** Spacing, in px. */
export const SPACING = { main: 64, cross: 24, header: 34, pad: 14, laneHeader: 26, laneGap: 12 } as const;
/** Room across the flow kept in a layer for an edge passing through it. */
const SLOT = 8;

export function layoutGraph(graph: CanvasGraph, opts: LayoutOptions): Layout {
  const boxes = new Map<string, Box>();
  const sizes = new Map<string, Size>();
  const routes = new Map<string, { holder: string; points: { x: number; y: number }[] }>();
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
    const inList = new Set(ids);
    const layers = layer(graph, ids);
    // Items per layer: the steps, plus one slot per layer an edge passes through (module header, 3).
    interface Item { readonly id: string; readonly node?: CanvasNode; readonly index: number }
    const perLayer: Item[][] = [];
    const put = (k: number, item: Item): number => (perLayer[k] ??= []).push(item);
    for (const id of ids) {
      const n = graph.byId.get(id);
      if (n !== undefined) put(layers.get(id) ?? 0, { id, node: n, index: n.index });
    }
    const preds = new Map<string, string[]>();
    const addPred = (to: string, from: string): void => void preds.set(to, [...(preds.get(to) ?? []), from]);
    const slots = new Map<string, string[]>();
    for (const e of graph.edges) {
      if (!inList.has(e.source) || !inList.has(e.target) || e.source === e.target) continue;
      const a = layers.get(e.source)!;
      const b = layers.get(e.target)!;
      let prev = e.source;
      const chain: string[] = [];
      for (let k = a + 1; k < b; k++) {
        const slot = `${e.id}~${k}`;
        put(k, { id: slot, index: (graph.byId.get(e.source)?.index ?? 0) + 0.5 });
        addPred(slot, prev);
        chain.push(slot);
        prev = slot;
      }
      addPred(e.target, prev);
      if (chain.length > 0) slots.set(e.id, chain);
    }
    const rank = new Map<string, number>();
    perLayer.forEach((list, k) => {
      if (k > 0) {
        const bary = (n: Item): number => {
          const ps = (preds.get(n.id) ?? []).map((p) => rank.get(p)).filter((r): r is number => r !== undefined);
          return ps.length === 0 ? Number.MAX_SAFE_INTEGER : ps.reduce((a, b) => a + b, 0) / ps.length;
        };
        const keyed = list.map((n) => ({ n, b: bary(n) }));
        keyed.sort((a, b) => a.b - b.b || a.n.index - b.n.index);
        list.splice(0, list.length, ...keyed.map((x) => x.n));
      }
      list.forEach((n, i) => rank.set(n.id, i));
    });
    const sizeOfItem = (n: Item): Size => (n.node !== undefined ? sizeOf(n.node) : sizeFromAxes(0, SLOT));
    const columns = perLayer.filter((l) => l !== undefined && l.length > 0);
    const extents = columns.map((col) => {
      const s = col.map(sizeOfItem);
      return { long: Math.max(...s.map(main)), across: s.reduce((a, x) => a + cross(x), 0) + SPACING.cross * (col.length - 1) };
    });
    const across = Math.max(0, ...extents.map((e) => e.across));
    const origin = key === '' ? { x: 0, y: 0 } : { x: SPACING.pad, y: top };
    const passes = new Map<string, { x: number; y: number }[]>();
    let along = 0;
    columns.forEach((col, k) => {
      let at = (across - extents[k]!.across) / 2;
      for (const n of col) {
        const s = sizeOfItem(n);
        if (n.node !== undefined) {
          const p = fromAxes(along + (extents[k]!.long - main(s)) / 2, at);
          boxes.set(n.id, { x: p.x + origin.x, y: p.y + origin.y, ...s });
        } else {
          // An edge crosses this layer through its slot: in at one side, out at the other.
          const c = at + SLOT / 2;
          const enter = fromAxes(along, c);
          const leave = fromAxes(along + extents[k]!.long, c);
          passes.set(n.id, [{ x: enter.x + origin.x, y: enter.y + origin.y }, { x: leave.x + origin.x, y: leave.y + origin.y }]);
        }
        at += cross(s) + SPACING.cross;
      }
      along += extents[k]!.long + SPACING.main;
    });
    for (const [edge, chain] of slots) routes.set(edge, { holder: key, points: chain.flatMap((id) => passes.get(id) ?? []) });
    return sizeFromAxes(Math.max(0, along - SPACING.main), across);
  }

  const total = placeScope('', 0);
  // Waypoints were placed relative to the node holding their list; the edges need flow coordinates.
  const absolute = (id: string): { x: number; y: number } => {
    const b = boxes.get(id);
    const parent = graph.byId.get(id)?.parent ?? null;
    if (b === undefined) return { x: 0, y: 0 };
    const p = parent === null ? { x: 0, y: 0 } : absolute(parent);
    return { x: b.x + p.x, y: b.y + p.y };
  };
  const waypoints = new Map<string, readonly { x: number; y: number }[]>();
  for (const [edge, r] of routes) {
    const o = r.holder === '' ? { x: 0, y: 0 } : absolute(r.holder);
    waypoints.set(edge, r.points.map((pt) => ({ x: pt.x + o.x, y: pt.y + o.y })));
  }
  return { boxes, width: total.w, height: total.h, waypoints };
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
  // A step that waits for nothing moves right up to just before its first dependent, so its edge
  // does not run across the layers in between (in document order, so the result is stable).
  for (const id of ids) {
    const next = succs.get(id);
    if ((preds.get(id) ?? []).length > 0 || next === undefined) continue;
    out.set(id, Math.max(out.get(id)!, Math.min(...next.map((s) => out.get(s)!)) - 1));
  }
  return out;
}

/**
 * The direction that shows the graph biggest in a `width` × `height` canvas once fit to view:
 * left to right unless top down is clearly (5 %) bigger — a chain on a phone, a wide fan-out on a
 * laptop. Pure: both layouts are computed and compared.
 */
export function bestDirection(graph: CanvasGraph, width: number, height: number, stepSize: LayoutOptions['stepSize']): Direction {
  if (!(width > 0 && height > 0)) return 'LR';
  const scale = (direction: Direction): number => {
    const l = layoutGraph(graph, { direction, stepSize });
    return Math.min(width / Math.max(1, l.width), height / Math.max(1, l.height));
  };
  return scale('TB') > scale('LR') * 1.05 ? 'TB' : 'LR';
}
