/**
 * Cross-step rules of the step graph: unique ids, step references, cycles, reachability and
 * which steps run before which (the upstream closure that template references are checked
 * against).
 *
 * Definitions (docs/workflows.md, "Validation rules"):
 * - Edges of a step list: each `dependsOn` entry, plus an implicit edge from every step named in a
 *   decision's `then`/`else` to that decision (a branch step runs after its decision).
 * - Upstream of a step: every step reachable over those edges, plus everything upstream of the
 *   loop/parallel/race holding its list (not the holder itself: it has not finished).
 * - Unreachable: a step that needs some decision to take both its `then` and its `else` branch.
 *   A step needs its own branch (if it is named in one) plus, with `join: all` (the default),
 *   everything each dependency needs — a skipped dependency skips it — or, with `join: any`,
 *   only what every dependency that can run needs. Decisions are exclusive, so no run can ever
 *   start such a step. Only the root cause is reported, with the steps unreachable through it.
 *
 * Invariants:
 * 1. Works on the tolerant model: never throws, whatever the raw data.
 * 2. Each cycle is reported once, named along its edges (`a → b → c → a`: a depends on b …).
 * 3. No recursion over the graph (explicit stacks), so 500 steps in a chain cannot overflow.
 */
import { MAX_STEPS } from './schema.ts';
import type { Path, RawIssue } from './issues.ts';
import { buildModel, gotoRef, idRefs, label, type IdRef, type Model, type Scope, type StepNode } from './model.ts';
import { didYouMean } from './suggest.ts';

export interface Edge {
  readonly to: StepNode;
  readonly path: Path;
  /** Set for the implicit edge of a decision branch. */
  readonly branch?: 'then' | 'else';
}

export interface Graph {
  readonly model: Model;
  /** Upstream steps of `step` (see the definition above); empty for unknown shapes. */
  upstream(step: StepNode): ReadonlySet<StepNode>;
}

export function analyseGraph(raw: unknown): { graph: Graph; issues: RawIssue[] } {
  const model = buildModel(raw);
  const issues: RawIssue[] = [];
  if (model.all.length > MAX_STEPS) {
    issues.push({ path: ['steps'], code: 'too_many_steps', message: `the workflow has ${model.all.length} steps (nested ones included); the limit is ${MAX_STEPS} — move parts into child workflows` });
  }
  duplicateIds(model, issues);
  const edges = new Map<StepNode, Edge[]>();
  const branchOf = new Map<StepNode, { decision: StepNode; branch: 'then' | 'else' }>();
  for (const scope of model.scopes) resolveEdges(model, scope, edges, branchOf, issues);
  const closures = new Map<StepNode, Set<StepNode>>();
  const local = (s: StepNode): Set<StepNode> => {
    let c = closures.get(s);
    if (c === undefined) {
      c = reach(s, edges);
      closures.set(s, c);
    }
    return c;
  };
  const full = new Map<StepNode, Set<StepNode>>();
  const upstream = (s: StepNode): Set<StepNode> => {
    let u = full.get(s);
    if (u === undefined) {
      u = new Set(local(s));
      for (let c = s.scope.container; c !== undefined; c = c.scope.container) for (const x of local(c)) u.add(x);
      full.set(s, u);
    }
    return u;
  };
  for (const scope of model.scopes) {
    const cyclic = cycles(scope, edges, issues);
    unreachable(scope, edges, branchOf, cyclic, issues);
    for (const step of scope.steps) {
      const g = gotoRef(step);
      if (g === undefined) continue;
      const target = scope.steps.find((s) => s.id === g.id);
      if (target === undefined) issues.push(unknownStep(model, scope, g, 'onFailure.goto'));
      else if (target !== step && !local(step).has(target)) {
        issues.push({ path: g.path, code: 'invalid_route', message: `onFailure.goto "${g.id}" is not upstream of ${label(step)}; name this step or one it depends on (directly or indirectly), so the route loops back` });
      }
    }
  }
  return { graph: { model, upstream }, issues };
}

function duplicateIds(model: Model, issues: RawIssue[]): void {
  for (const step of model.all) {
    if (step.id === undefined) continue;
    const first = model.byId.get(step.id);
    if (first !== undefined && first !== step) {
      issues.push({ path: [...step.path, 'id'], code: 'duplicate_id', message: `the step id "${step.id}" is already used by ${fmt(first.path)}; ids must be unique in the whole workflow — rename one` });
    }
  }
}

function resolveEdges(model: Model, scope: Scope, edges: Map<StepNode, Edge[]>, branchOf: Map<StepNode, { decision: StepNode; branch: 'then' | 'else' }>, issues: RawIssue[]): void {
  const find = (id: string): StepNode | undefined => scope.steps.find((s) => s.id === id);
  for (const step of scope.steps) if (!edges.has(step)) edges.set(step, []);
  for (const step of scope.steps) {
    for (const ref of idRefs(step.raw['dependsOn'], [...step.path, 'dependsOn'])) {
      const to = find(ref.id);
      if (to === undefined) issues.push(unknownStep(model, scope, ref, 'dependsOn'));
      else edges.get(step)!.push({ to, path: ref.path });
    }
    if (step.type !== 'decision') continue;
    for (const branch of ['then', 'else'] as const) {
      for (const ref of idRefs(step.raw[branch], [...step.path, branch])) {
        const member = find(ref.id);
        if (member === undefined) {
          issues.push(unknownStep(model, scope, ref, branch));
        } else if (member === step) {
          issues.push({ path: ref.path, code: 'invalid_branch', message: `decision "${ref.id}" names itself in ${branch}; name the steps to run when the condition is ${branch === 'then' ? 'true' : 'false'}` });
        } else if (branchOf.has(member)) {
          const prev = branchOf.get(member)!;
          issues.push({ path: ref.path, code: 'invalid_branch', message: `"${ref.id}" already belongs to the ${prev.branch} branch of decision ${label(prev.decision)}; a step can be in one branch only — make a second step, or let it depend on both paths through a join step` });
        } else {
          branchOf.set(member, { decision: step, branch });
          edges.get(member)!.push({ to: step, path: ref.path, branch });
        }
      }
    }
  }
}

function unknownStep(model: Model, scope: Scope, ref: IdRef, field: string): RawIssue {
  const elsewhere = model.byId.get(ref.id);
  if (elsewhere !== undefined) {
    const where = elsewhere.scope.container === undefined ? 'at the top level' : `inside ${elsewhere.scope.container.type} ${label(elsewhere.scope.container)}`;
    const fix = scope.container !== undefined && field === 'dependsOn' && isInside(scope, elsewhere.scope)
      ? ` — to wait for it, add it to ${label(scope.container)}.dependsOn (the steps inside start when ${label(scope.container)} starts)`
      : '';
    return { path: ref.path, code: 'unknown_step', message: `"${ref.id}" is ${where}, not in this step list; ${field} can only name steps of the same list${fix}` };
  }
  const names = scope.steps.map((s) => s.id).filter((x): x is string => x !== undefined);
  const hint = didYouMean(ref.id, names.length > 0 ? names : [...model.byId.keys()]);
  return { path: ref.path, code: 'unknown_step', message: `no step "${ref.id}" in this step list${hint}${hint ? '' : names.length > 0 ? `; steps here: ${names.slice(0, 12).join(', ')}` : ''}` };
}

/** Whether scope `a` is nested (at any depth) inside scope `b`. */
function isInside(a: Scope, b: Scope): boolean {
  for (let c = a.container; c !== undefined; c = c.scope.container) if (c.scope === b) return true;
  return false;
}

/** Steps reachable from `start` over `edges` (dependencies, or dependents when reversed). */
function reach(start: StepNode, edges: Map<StepNode, readonly (Edge | StepNode)[]>): Set<StepNode> {
  const seen = new Set<StepNode>();
  const stack = [start];
  while (stack.length > 0) {
    const s = stack.pop()!;
    for (const e of edges.get(s) ?? []) {
      const to = 'to' in e ? e.to : e;
      if (!seen.has(to)) {
        seen.add(to);
        stack.push(to);
      }
    }
  }
  seen.delete(start);
  return seen;
}

/** Tarjan's strongly connected components, iteratively; reports each cyclic component once. */
function cycles(scope: Scope, edges: Map<StepNode, Edge[]>, issues: RawIssue[]): Set<StepNode> {
  const index = new Map<StepNode, number>();
  const low = new Map<StepNode, number>();
  const onStack = new Set<StepNode>();
  const stack: StepNode[] = [];
  const cyclic = new Set<StepNode>();
  let counter = 0;
  for (const root of scope.steps) {
    if (index.has(root)) continue;
    const work: { node: StepNode; edge: number }[] = [{ node: root, edge: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const out = edges.get(frame.node) ?? [];
      if (frame.edge < out.length) {
        const to = out[frame.edge++]!.to;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const component: StepNode[] = [];
      let s: StepNode;
      do {
        s = stack.pop()!;
        onStack.delete(s);
        component.push(s);
      } while (s !== frame.node);
      const selfLoop = component.length === 1 && (edges.get(component[0]!) ?? []).some((e) => e.to === component[0]);
      if (component.length > 1 || selfLoop) {
        for (const c of component) cyclic.add(c);
        issues.push(describeCycle(component, edges));
      }
    }
  }
  return cyclic;
}

function describeCycle(component: StepNode[], edges: Map<StepNode, Edge[]>): RawIssue {
  const members = new Set(component);
  const start = component.reduce((a, b) => (b.index < a.index ? b : a));
  // Shortest way back to `start` inside the component (breadth-first), as the named cycle.
  const prev = new Map<StepNode, { from: StepNode; edge: Edge }>();
  const queue: StepNode[] = [start];
  let closing: { from: StepNode; edge: Edge } | undefined;
  for (let q = 0; q < queue.length && closing === undefined; q++) {
    const s = queue[q]!;
    for (const e of edges.get(s) ?? []) {
      if (!members.has(e.to)) continue;
      if (e.to === start) {
        closing = { from: s, edge: e };
        break;
      }
      if (!prev.has(e.to)) {
        prev.set(e.to, { from: s, edge: e });
        queue.push(e.to);
      }
    }
  }
  const chain: Edge[] = [];
  if (closing !== undefined) {
    chain.unshift(closing.edge);
    for (let s = closing.from; s !== start; s = prev.get(s)!.from) chain.unshift(prev.get(s)!.edge);
  }
  const names = [name(start), ...chain.map((e, i) => name(e.to) + (e.branch ? ` (${name(i === 0 ? start : chain[i - 1]!.to)} is in its ${e.branch})` : ''))];
  const first = chain[0];
  return {
    path: first?.path ?? start.path,
    code: 'cycle',
    message: `dependsOn cycle: ${names.join(' → ')} (each step waits for the next); remove one of these dependencies`,
  };
}

/** Report steps that need both branches of one decision (see the module header). */
function unreachable(scope: Scope, edges: Map<StepNode, Edge[]>, branchOf: Map<StepNode, { decision: StepNode; branch: 'then' | 'else' }>, cyclic: Set<StepNode>, issues: RawIssue[]): void {
  type Needs = Map<StepNode, { branch: 'then' | 'else'; via: StepNode }>;
  const needs = new Map<StepNode, Needs>();
  const dead = new Map<StepNode, { decision: StepNode; then: StepNode; else: StepNode } | 'inherited'>();
  const order = topological(scope, edges, cyclic);
  for (const step of order) {
    const mine: Needs = new Map();
    let conflict: { decision: StepNode; then: StepNode; else: StepNode } | undefined;
    let inherited = false;
    const add = (decision: StepNode, branch: 'then' | 'else', via: StepNode): void => {
      const had = mine.get(decision);
      if (had === undefined) mine.set(decision, { branch, via });
      else if (had.branch !== branch && conflict === undefined) {
        conflict = { decision, then: branch === 'then' ? via : had.via, else: branch === 'else' ? via : had.via };
      }
    };
    const own = branchOf.get(step);
    if (own !== undefined) add(own.decision, own.branch, step);
    const all = edges.get(step) ?? [];
    const joinAny = step.raw['join'] === 'any';
    // join: all needs every dependency; join: any needs one of them, so only what all share.
    const required = joinAny ? all.filter((e) => e.branch !== undefined) : all;
    for (const e of required) {
      if (dead.has(e.to)) inherited = true;
      for (const [d, n] of needs.get(e.to) ?? []) add(d, n.branch, n.via);
    }
    if (joinAny) {
      const alternatives = all.filter((e) => e.branch === undefined && !dead.has(e.to));
      if (alternatives.length === 0 && all.some((e) => e.branch === undefined)) inherited = true;
      const [first, ...rest] = alternatives.map((e) => needs.get(e.to) ?? new Map<StepNode, { branch: 'then' | 'else'; via: StepNode }>());
      for (const [d, n] of first ?? []) if (rest.every((r) => r.get(d)?.branch === n.branch)) add(d, n.branch, n.via);
    }
    needs.set(step, mine);
    if (inherited) dead.set(step, 'inherited');
    else if (conflict !== undefined) dead.set(step, conflict);
  }
  const dependents = new Map<StepNode, StepNode[]>();
  for (const s of scope.steps) for (const e of edges.get(s) ?? []) dependents.set(e.to, [...(dependents.get(e.to) ?? []), s]);
  for (const [step, why] of dead) {
    if (why === 'inherited') continue;
    const followers = [...reach(step, dependents)].filter((s) => dead.get(s) === 'inherited').map(name);
    const also = followers.length > 0 ? `; ${followers.slice(0, 8).map((f) => `"${f}"`).join(', ')} ${followers.length === 1 ? 'depends' : 'depend'} on it and cannot run either` : '';
    issues.push({
      path: step.path,
      code: 'unreachable',
      message: `${label(step)} can never run: it needs decision "${why.decision.id ?? '?'}" to take both branches (then via "${why.then.id ?? '?'}", else via "${why.else.id ?? '?'}")${also} — add join: any to run after whichever branch ran, or depend on one branch only`,
    });
  }
}

/** Steps of `scope` with every dependency before its dependents; cyclic steps are left out. */
function topological(scope: Scope, edges: Map<StepNode, Edge[]>, cyclic: Set<StepNode>): StepNode[] {
  const order: StepNode[] = [];
  const done = new Set<StepNode>();
  for (const root of scope.steps) {
    if (done.has(root) || cyclic.has(root)) continue;
    const work: { node: StepNode; edge: number }[] = [{ node: root, edge: 0 }];
    done.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const out = edges.get(frame.node) ?? [];
      if (frame.edge < out.length) {
        const to = out[frame.edge++]!.to;
        if (!done.has(to) && !cyclic.has(to)) {
          done.add(to);
          work.push({ node: to, edge: 0 });
        }
        continue;
      }
      work.pop();
      order.push(frame.node);
    }
  }
  return order;
}

function name(s: StepNode): string {
  return s.id ?? fmt(s.path);
}

function fmt(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

