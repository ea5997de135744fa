/**
 * The canvas graph and its layout as xyflow nodes and edges (pure; type-only imports of xyflow, so
 * the first screen never loads it through this file).
 *
 * Invariants:
 * 1. Parents come before their children (xyflow needs it); child positions are relative to the
 *    parent, as the layout gives them.
 * 2. Every node and edge has an accessible name and test ids: nodes `canvas-node` with data-step
 *    and data-type, edges `canvas-edge` with data-kind, data-source, data-target.
 * 3. Nothing is draggable (positions come from the layout only); lanes are not focusable.
 */
import type { Edge, Node } from '@xyflow/svelte';
import type { CanvasEdge, CanvasGraph, CanvasNode } from './graph.ts';
import type { Direction, Layout } from './layout.ts';

/** What a step's node shows beyond its id and type (the session canvas). */
export interface NodeStatus {
  /** Status in words (status-words.ts): "done", "retrying in 12 s". */
  readonly label: string;
  /** The step status, for the colour. */
  readonly tone: string;
  readonly attempts: number;
  /** "1.2 s", or '' when it never ran. */
  readonly duration: string;
  /** Loop iterations seen (a step inside a loop), when more than one. */
  readonly runs?: number;
}

export interface NodeData {
  [key: string]: unknown;
  readonly node: CanvasNode;
  readonly direction: Direction;
  readonly editable: boolean;
  readonly status?: NodeStatus;
}

export type FlowNode = Node<NodeData>;

export function flowNodes(graph: CanvasGraph, layout: Layout, opts: { direction: Direction; editable: boolean; selected: string | null; status?: (node: CanvasNode) => NodeStatus | undefined }): FlowNode[] {
  return graph.nodes.map((n): FlowNode => {
    const box = layout.boxes.get(n.id) ?? { x: 0, y: 0, w: 180, h: 60 };
    const status = n.kind === 'step' ? opts.status?.(n) : undefined;
    const type = n.kind === 'lane' ? 'lane' : n.holds.length > 0 ? 'container' : 'step';
    const words = status ? `: ${status.label}${status.attempts > 0 ? `, ${status.attempts} attempt${status.attempts === 1 ? '' : 's'}` : ''}${status.duration ? `, ${status.duration}` : ''}` : '';
    return {
      id: n.id,
      type,
      position: { x: box.x, y: box.y },
      width: box.w,
      height: box.h,
      ...(n.parent !== null ? { parentId: n.parent } : {}),
      data: { node: n, direction: opts.direction, editable: opts.editable, ...(status ? { status } : {}) },
      draggable: false,
      selectable: n.kind === 'step',
      focusable: n.kind === 'step',
      connectable: opts.editable && n.kind === 'step',
      deletable: false,
      selected: opts.selected === n.id,
      ariaLabel: n.kind === 'lane' ? `${n.name ?? 'branch'} of ${n.parent ?? ''}` : `${n.type} step ${n.id}${words}`,
      domAttributes: n.kind === 'lane'
        ? { 'data-testid': 'canvas-lane', 'data-lane': n.id } as FlowNode['domAttributes']
        : { 'data-testid': 'canvas-node', 'data-step': n.id, 'data-type': n.type, ...(status ? { 'data-status': status.tone } : {}) } as FlowNode['domAttributes'],
    };
  });
}

/** How an edge reads aloud: "summary depends on quick", "choose then quick". */
export function edgeName(e: CanvasEdge): string {
  return e.kind === 'dependsOn' ? `${e.target} depends on ${e.source}` : `decision ${e.source}: ${e.kind} ${e.target}`;
}

export function flowEdges(graph: CanvasGraph, layout: Layout, opts: { direction: Direction; editable: boolean; selected: string | null }): Edge[] {
  return graph.edges.map((e): Edge => ({
    id: e.id,
    source: e.source,
    target: e.target,
    type: 'routed',
    data: { direction: opts.direction, waypoints: layout.waypoints.get(e.id) ?? [] },
    ...(e.kind !== 'dependsOn' ? { label: e.kind } : {}),
    markerEnd: { type: 'arrowclosed' as never, width: 18, height: 18 },
    class: `canvas-edge-${e.kind}`,
    selectable: opts.editable,
    focusable: opts.editable,
    deletable: false,
    selected: opts.selected === e.id,
    ariaLabel: edgeName(e),
    domAttributes: { 'data-testid': 'canvas-edge', 'data-kind': e.kind, 'data-source': e.source, 'data-target': e.target } as Edge['domAttributes'],
  }));
}
