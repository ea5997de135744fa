/**
 * The registry's dependency graph (manifest.graph) as the canvas draws it: one node per manifest
 * (its kind, name and version), one node per missing need (drawn dashed and red), an edge from
 * each manifest to what meets its need, labelled with the range asked for, and the manifests and
 * edges on a cycle marked. Laid out by the workflow canvas's layered layout (canvas/layout.ts):
 * what nothing depends on comes first, what everything needs last.
 *
 * Pure: the same graph gives the same nodes, edges and marks (type-only imports).
 */
import type { CanvasGraph, CanvasNode } from '../canvas/graph.ts';
import type { ManifestGraph } from './types.ts';

export interface NodeInfo {
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly version: string;
  readonly missing: boolean;
  readonly cycle: boolean;
}

export interface EdgeInfo {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly range: string;
  readonly via: string;
  readonly missing: boolean;
  readonly cycle: boolean;
}

export interface GraphView {
  readonly canvas: CanvasGraph;
  readonly nodes: readonly NodeInfo[];
  readonly edges: readonly EdgeInfo[];
}

/** `Tool/runner.deploy *` → { kind, name, range }. */
function splitNeed(need: string): { kind: string; name: string; range: string } {
  const slash = need.indexOf('/');
  const space = need.indexOf(' ', slash);
  return { kind: need.slice(0, slash), name: need.slice(slash + 1, space < 0 ? undefined : space), range: space < 0 ? '*' : need.slice(space + 1) };
}

export function graphView(graph: ManifestGraph): GraphView {
  const onCycle = new Set<string>();
  const cycleEdges = new Set<string>();
  for (const c of graph.cycles) {
    for (let i = 0; i + 1 < c.length; i++) {
      onCycle.add(c[i]!);
      cycleEdges.add(`${c[i]}->${c[i + 1]}`);
    }
  }
  const nodes: NodeInfo[] = graph.nodes.map((n) => ({ id: n.key, kind: n.kind, name: n.name, version: n.version, missing: false, cycle: onCycle.has(n.key) }));
  const edges: EdgeInfo[] = [];
  const missingIds = new Map<string, string>();
  for (const e of graph.edges) {
    const need = splitNeed(e.need);
    let target = e.to;
    if (target === null) {
      const label = `${need.kind}/${need.name} ${need.range}`;
      target = missingIds.get(label) ?? `missing:${label}`;
      if (!missingIds.has(label)) {
        missingIds.set(label, target);
        nodes.push({ id: target, kind: need.kind, name: need.name, version: need.range, missing: true, cycle: false });
      }
    }
    const id = `${e.from}->${target}`;
    if (edges.some((x) => x.id === id)) continue;
    edges.push({ id, source: e.from, target, range: need.range, via: e.via, missing: e.to === null, cycle: cycleEdges.has(`${e.from}->${e.to}`) });
  }
  const canvasNodes: CanvasNode[] = nodes.map((n, index) => ({ id: n.id, kind: 'step', type: n.kind, name: n.name, parent: null, scope: '', index, holds: [], framePattern: '' }));
  const canvas: CanvasGraph = {
    nodes: canvasNodes,
    byId: new Map(canvasNodes.map((n) => [n.id, n])),
    scopes: new Map([['', canvasNodes.map((n) => n.id)]]),
    edges: edges.map((e) => ({ id: e.id, source: e.source, target: e.target, kind: 'dependsOn' as const, alsoDependsOn: false })),
  };
  return { canvas, nodes, edges };
}

/** How a node reads aloud and in the list beside the canvas. */
export function nodeName(n: NodeInfo): string {
  return n.missing ? `missing: ${n.kind} ${n.name} ${n.version}` : `${n.kind} ${n.name} ${n.version}${n.cycle ? ', on a cycle' : ''}`;
}
