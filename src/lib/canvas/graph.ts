/**
 * A workflow as a graph for the canvas, built from the normalised workflow the worker's validator
 * returns (`workflow.validate` → `workflow`; nothing here parses YAML): one node per step,
 * one `dependsOn` edge per entry (dependency → dependent), one labelled edge per decision branch
 * entry (decision → step, "then"/"else"), and the structure of loop/parallel/race: a loop holds
 * its body, a parallel or race holds one lane per branch, each lane holding that branch's steps.
 *
 * Invariants:
 * 1. Pure and deterministic; nodes come in document order, every parent before its children.
 * 2. Node ids are step ids; lanes are `<id>#<n>` (n from 0), which no step id can be.
 * 3. A scope is one step list, keyed by the id of the node holding it ('' for the top level);
 *    edges only join steps of the same scope (the validator guarantees it).
 * 4. A `then`/`else` entry whose step also names the decision in `dependsOn` is one edge, labelled.
 */
import type { Step } from '../../../worker/workflow/types.ts';

export type EdgeKind = 'dependsOn' | 'then' | 'else';

export interface CanvasNode {
  readonly id: string;
  readonly kind: 'step' | 'lane';
  /** The step type ('lane' for a lane). */
  readonly type: string;
  readonly name?: string;
  /** The node holding this one (a loop for its body, a lane for a branch), null at the top level. */
  readonly parent: string | null;
  /** Key of the step list holding it (invariant 3). */
  readonly scope: string;
  /** Position in that list. */
  readonly index: number;
  /** Keys of the step lists it holds: a loop's body (its own id) or its lanes' ids. */
  readonly holds: readonly string[];
  /** Step key prefix pattern of this node's list in a session (`loop[2].` for a loop body); see `keyPattern`. */
  readonly framePattern: string;
}

export interface CanvasEdge {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly kind: EdgeKind;
  /** A branch edge whose target also lists the decision in dependsOn (invariant 4). */
  readonly alsoDependsOn: boolean;
}

export interface CanvasGraph {
  readonly nodes: readonly CanvasNode[];
  readonly byId: ReadonlyMap<string, CanvasNode>;
  /** Step ids (and lane ids) of each list, in document order. */
  readonly scopes: ReadonlyMap<string, readonly string[]>;
  readonly edges: readonly CanvasEdge[];
}

/** The least of a step the graph reads (the normalised `Step`, or a test's literal). */
export interface GraphStep {
  readonly id: string;
  readonly type: string;
  readonly name?: string;
  readonly dependsOn?: readonly string[];
  readonly then?: readonly string[];
  readonly else?: readonly string[];
  readonly steps?: readonly GraphStep[];
  readonly branches?: readonly (readonly GraphStep[])[];
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function buildGraph(workflow: { readonly steps: readonly (GraphStep | Step)[] }): CanvasGraph {
  const nodes: CanvasNode[] = [];
  const scopes = new Map<string, string[]>();
  const edges: CanvasEdge[] = [];
  const walk = (list: readonly GraphStep[], scope: string, parent: string | null, frame: string, depth: number): void => {
    if (depth > 64) return;
    const ids: string[] = [];
    scopes.set(scope, ids);
    list.forEach((step, index) => {
      ids.push(step.id);
      const holds: string[] = [];
      const node: CanvasNode = { id: step.id, kind: 'step', type: step.type, ...(step.name ? { name: step.name } : {}), parent, scope, index, holds, framePattern: frame };
      nodes.push(node);
      if (step.type === 'loop' && step.steps) {
        holds.push(step.id);
        walk(step.steps, step.id, step.id, `${frame}${escape(step.id)}\\[\\d+\\]\\.`, depth + 1);
      }
      if ((step.type === 'parallel' || step.type === 'race') && step.branches) {
        step.branches.forEach((branch, n) => {
          const lane = `${step.id}#${n}`;
          holds.push(lane);
          nodes.push({ id: lane, kind: 'lane', type: 'lane', name: `branch ${n + 1}`, parent: step.id, scope: `${step.id}/lanes`, index: n, holds: [lane], framePattern: frame });
          walk(branch, lane, lane, frame, depth + 1);
        });
      }
    });
    const inList = new Set(ids);
    const branchOf = new Map<string, { decision: string; kind: 'then' | 'else' }>();
    for (const step of list) {
      if (step.type !== 'decision') continue;
      for (const kind of ['then', 'else'] as const) {
        for (const target of step[kind] ?? []) if (inList.has(target) && !branchOf.has(target)) branchOf.set(target, { decision: step.id, kind });
      }
    }
    for (const step of list) {
      for (const dep of step.dependsOn ?? []) {
        if (!inList.has(dep) || branchOf.get(step.id)?.decision === dep) continue;
        edges.push({ id: `${dep}->${step.id}`, source: dep, target: step.id, kind: 'dependsOn', alsoDependsOn: false });
      }
    }
    for (const step of list) {
      const b = branchOf.get(step.id);
      if (b === undefined) continue;
      edges.push({ id: `${b.decision}-${b.kind}->${step.id}`, source: b.decision, target: step.id, kind: b.kind, alsoDependsOn: (step.dependsOn ?? []).includes(b.decision) });
    }
  };
  walk(workflow.steps as readonly GraphStep[], '', null, '', 0);
  const lanes = new Map<string, string[]>();
  for (const n of nodes) if (n.kind === 'lane') lanes.set(n.parent!, [...(lanes.get(n.parent!) ?? []), n.id]);
  for (const [holder, ids] of lanes) scopes.set(`${holder}/lanes`, ids);
  return { nodes, byId: new Map(nodes.map((n) => [n.id, n])), scopes, edges };
}

/** A regular expression matching the session step keys of `node` (`build`, `loop[0].inner`, …). */
export function keyPattern(node: CanvasNode): RegExp {
  return new RegExp(`^${node.framePattern}${escape(node.id)}$`);
}

/**
 * Steps `id` may depend on from the canvas: the other steps of its list that it does not depend on
 * yet and that do not already wait for it (directly or not), so no cycle can form.
 */
export function dependencyChoices(graph: CanvasGraph, id: string): string[] {
  const node = graph.byId.get(id);
  if (node === undefined || node.kind !== 'step') return [];
  const current = new Set(graph.edges.filter((e) => e.target === id).map((e) => e.source));
  const downstream = reachable(graph, id);
  return (graph.scopes.get(node.scope) ?? []).filter((s) => s !== id && !current.has(s) && !downstream.has(s));
}

/** Steps that run after `id` over the graph's edges (its dependents, theirs, …). */
export function reachable(graph: CanvasGraph, id: string): Set<string> {
  const out = new Map<string, string[]>();
  for (const e of graph.edges) out.set(e.source, [...(out.get(e.source) ?? []), e.target]);
  const seen = new Set<string>();
  const stack = [id];
  while (stack.length > 0) {
    for (const next of out.get(stack.pop()!) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return seen;
}
