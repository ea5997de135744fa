/**
 * Dependencies between manifests (docs/manifests.md, "Dependencies"): what each one needs, which
 * installed version satisfies it (the highest matching the semver range), what is missing and
 * what forms a cycle — each named with its path from a manifest nothing depends on — what depends
 * on a manifest (before an uninstall or an upgrade), and the graph as JSON or Mermaid.
 *
 * Needs of a manifest: its `imports`; a Kata's `workflow`; a Monument's `components`; an Agent's
 * `tools` (any version); a Workflow's task steps whose runner names a Tool (`runner.deploy`),
 * when such a Tool is installed or the name is not a built-in runner (an import of that Tool states
 * the version range; without one any version does).
 *
 * Invariants:
 * 1. Pure and deterministic: manifests are visited in key order, so the same set always gives the
 *    same answer; no recursion (explicit stacks), so deep chains cannot overflow.
 * 2. Each cycle is reported once, starting at its smallest key.
 */
import { maxSatisfying } from 'semver';
import type { Step } from '../workflow/types.ts';
import type { Manifest } from './parse.ts';
import type { ManifestImport, ManifestKind } from './schema.ts';

/** `Kind/name@version`. */
export type Key = string;
export const keyOf = (m: { readonly kind: string; readonly name: string; readonly version: string }): Key => `${m.kind}/${m.name}@${m.version}`;

export interface Need extends ManifestImport {
  /** Where the need comes from, for messages: `imports[2]`, `workflow`, `steps.deploy.runner`. */
  readonly via: string;
}

export interface Resolution {
  /** Each manifest's needs and the key that satisfies each (null when missing). */
  readonly edges: ReadonlyMap<Key, readonly { readonly need: Need; readonly to: Key | null }[]>;
  readonly missing: readonly { readonly from: Key; readonly need: Need; readonly path: readonly Key[] }[];
  readonly cycles: readonly (readonly Key[])[];
}

/** Runners every Kingdom has; a task step naming one of these needs no Tool. */
export const BUILTIN_RUNNERS: ReadonlySet<string> = new Set(['http', 'transform', 'noop', 'demo.sleep', 'demo.flaky', 'demo.fail', 'forest.write', 'forest.search']);

export function needsOf(m: Manifest, tools: ReadonlySet<string>): Need[] {
  const needs: Need[] = m.imports.map((i, n) => ({ ...i, via: `imports[${n}]` }));
  if (m.kind === 'Kata') needs.push({ kind: 'Workflow', name: m.workflow, version: '*', via: 'workflow' });
  if (m.kind === 'Monument') m.components.forEach((c, n) => needs.push({ ...c, via: `components[${n}]` }));
  if (m.kind === 'Agent') m.tools.forEach((t, n) => needs.push({ kind: 'Tool', name: t, version: '*', via: `tools[${n}]` }));
  if (m.kind === 'Workflow') {
    for (const s of allSteps(m.workflow.steps)) {
      const runner = s.type === 'task' ? s.runner : undefined;
      const imported = m.imports.some((i) => i.kind === 'Tool' && i.name === runner);
      if (runner !== undefined && !imported && (tools.has(runner) || !BUILTIN_RUNNERS.has(runner))) needs.push({ kind: 'Tool', name: runner, version: '*', via: `steps.${s.id}.runner` });
    }
  }
  // One need per target (a workflow calling runner.deploy from three steps needs it once).
  const seen = new Set<string>();
  return needs.filter((n) => {
    const k = `${n.kind}/${n.name}/${n.version}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Every step of a workflow, nested ones (loop bodies, parallel and race branches) included, by id. */
export function allSteps(steps: readonly Step[]): Step[] {
  const out: Step[] = [];
  const stack = [...steps];
  while (stack.length > 0) {
    const s = stack.pop()!;
    out.push(s);
    if (s.type === 'loop') stack.push(...s.steps);
    if (s.type === 'parallel' || s.type === 'race') for (const b of s.branches) stack.push(...b);
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function resolve(manifests: readonly Manifest[]): Resolution {
  const byKey = new Map<Key, Manifest>();
  for (const m of manifests) byKey.set(keyOf(m), m);
  const keys = [...byKey.keys()].sort();
  const versions = new Map<string, string[]>();
  for (const m of byKey.values()) {
    const k = `${m.kind}/${m.name}`;
    versions.set(k, [...(versions.get(k) ?? []), m.version]);
  }
  const tools = new Set([...byKey.values()].filter((m) => m.kind === 'Tool').map((m) => m.name));
  const edges = new Map<Key, { need: Need; to: Key | null }[]>();
  for (const key of keys) {
    const m = byKey.get(key)!;
    edges.set(key, needsOf(m, tools).map((need) => {
      const best = maxSatisfying(versions.get(`${need.kind}/${need.name}`) ?? [], need.version);
      return { need, to: best === null ? null : `${need.kind}/${need.name}@${best}` };
    }));
  }
  return { edges, missing: missingWithPaths(keys, edges), cycles: findCycles(keys, edges) };
}

/** For each unmet need, the path to its manifest from a manifest nothing depends on (or from itself). */
function missingWithPaths(keys: readonly Key[], edges: ReadonlyMap<Key, readonly { need: Need; to: Key | null }[]>): Resolution['missing'] {
  const parent = new Map<Key, Key>();
  const depended = new Set<Key>();
  for (const list of edges.values()) for (const e of list) if (e.to !== null) depended.add(e.to);
  const roots = keys.filter((k) => !depended.has(k));
  // Breadth first from the roots (then from whatever only cycles reach): shortest paths.
  for (const root of [...roots, ...keys]) {
    if (parent.has(root)) continue;
    parent.set(root, root);
    const queue = [root];
    while (queue.length > 0) {
      const at = queue.shift()!;
      for (const e of edges.get(at) ?? []) {
        if (e.to !== null && !parent.has(e.to)) {
          parent.set(e.to, at);
          queue.push(e.to);
        }
      }
    }
  }
  const out: { from: Key; need: Need; path: Key[] }[] = [];
  for (const key of keys) {
    for (const e of edges.get(key) ?? []) {
      if (e.to !== null) continue;
      const path = [key];
      for (let at = key; parent.get(at) !== at && parent.get(at) !== undefined && path.length < 64;) {
        at = parent.get(at)!;
        path.unshift(at);
      }
      out.push({ from: key, need: e.need, path });
    }
  }
  return out;
}

function findCycles(keys: readonly Key[], edges: ReadonlyMap<Key, readonly { need: Need; to: Key | null }[]>): Key[][] {
  const state = new Map<Key, 1 | 2>(); // 1 on the stack, 2 done
  const found = new Map<string, Key[]>();
  for (const start of keys) {
    if (state.has(start)) continue;
    const stack: { key: Key; next: number }[] = [{ key: start, next: 0 }];
    const onPath: Key[] = [start];
    state.set(start, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const out = edges.get(top.key) ?? [];
      if (top.next >= out.length) {
        state.set(top.key, 2);
        stack.pop();
        onPath.pop();
        continue;
      }
      const to = out[top.next++]!.to;
      if (to === null || !edges.has(to)) continue;
      if (state.get(to) === 1) {
        const cycle = onPath.slice(onPath.indexOf(to));
        const min = cycle.reduce((a, b) => (b < a ? b : a));
        const rotated = [...cycle.slice(cycle.indexOf(min)), ...cycle.slice(0, cycle.indexOf(min))];
        found.set(rotated.join(' '), [...rotated, min]);
      } else if (!state.has(to)) {
        state.set(to, 1);
        stack.push({ key: to, next: 0 });
        onPath.push(to);
      }
    }
  }
  return [...found.values()];
}

/** Every manifest that needs `key`, directly or through others (what an uninstall or upgrade touches). */
export function dependentsOf(resolution: Resolution, key: Key): Key[] {
  const reverse = new Map<Key, Key[]>();
  for (const [from, list] of resolution.edges) for (const e of list) if (e.to !== null) reverse.set(e.to, [...(reverse.get(e.to) ?? []), from]);
  const seen = new Set<Key>();
  const stack = [...(reverse.get(key) ?? [])];
  while (stack.length > 0) {
    const k = stack.pop()!;
    if (seen.has(k) || k === key) continue;
    seen.add(k);
    stack.push(...(reverse.get(k) ?? []));
  }
  return [...seen].sort();
}

/** The graph as plain JSON: nodes with kind, name and version; edges with what was needed. */
export function graphJson(resolution: Resolution): { nodes: { key: Key; kind: ManifestKind; name: string; version: string }[]; edges: { from: Key; to: Key | null; need: string; via: string }[] } {
  const nodes = [...resolution.edges.keys()].map((key) => {
    const m = /^([A-Za-z]+)\/(.+)@([^@]+)$/.exec(key)!;
    return { key, kind: m[1] as ManifestKind, name: m[2]!, version: m[3]! };
  });
  const edges = [...resolution.edges].flatMap(([from, list]) => list.map((e) => ({ from, to: e.to, need: `${e.need.kind}/${e.need.name} ${e.need.version}`, via: e.need.via })));
  return { nodes, edges };
}

/** The graph as a Mermaid flowchart (missing needs drawn as dashed, red-outlined nodes). */
export function graphMermaid(resolution: Resolution): string {
  const { nodes, edges } = graphJson(resolution);
  const id = new Map(nodes.map((n, i) => [n.key, `m${i}`]));
  const lines = ['flowchart LR'];
  for (const n of nodes) lines.push(`  ${id.get(n.key)}["${n.kind}: ${n.name}@${n.version}"]`);
  let missing = 0;
  for (const e of edges) {
    if (e.to !== null) lines.push(`  ${id.get(e.from)} --> ${id.get(e.to)}`);
    else {
      const m = `x${missing++}`;
      lines.push(`  ${m}["missing: ${e.need.replace(/"/g, "'")}"]:::missing`, `  ${id.get(e.from)} -.-> ${m}`);
    }
  }
  if (missing > 0) lines.push('  classDef missing stroke:#b91c1c,stroke-dasharray:4 2');
  return `${lines.join('\n')}\n`;
}
