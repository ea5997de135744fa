/**
 * A tolerant view of the steps of a workflow file, built from the raw data before (and whatever)
 * the schema says, so cross-step checks can report their issues next to the schema's.
 *
 * Invariants:
 * 1. Never throws on any input: a value of the wrong shape is skipped, not trusted.
 * 2. Every step object found in `steps`, a loop's `steps` or a parallel/race branch becomes one
 *    `StepNode`, with the path of its object in the document.
 * 3. A scope is one step list: `dependsOn`, `then`, `else` and `onFailure.goto` name steps of the
 *    same list only.
 */
import type { Path } from './issues.ts';

export interface StepNode {
  /** The `id` when it is a string (valid or not). */
  readonly id: string | undefined;
  readonly type: string | undefined;
  readonly path: Path;
  readonly raw: { readonly [key: string]: unknown };
  readonly scope: Scope;
  /** Position in its list. */
  readonly index: number;
  /** The step lists it contains: a loop's body, each branch of a parallel or race. */
  readonly children: Scope[];
}

export interface Scope {
  /** Path of the list itself (`steps`, `steps[3].branches[1]`). */
  readonly path: Path;
  readonly steps: StepNode[];
  /** The loop/parallel/race step holding this list; undefined for the top level. */
  readonly container: StepNode | undefined;
  /** Loop variable names in scope here, innermost last (from enclosing loops' `as`). */
  readonly loopVars: readonly string[];
}

export interface IdRef {
  readonly id: string;
  readonly path: Path;
}

export interface Model {
  readonly root: Scope;
  readonly scopes: Scope[];
  readonly all: StepNode[];
  /** First step with each id. */
  readonly byId: Map<string, StepNode>;
  /** Declared input names, or undefined when `inputs` is not a mapping (then inputs are not checked). */
  readonly inputs: ReadonlySet<string> | undefined;
}

export function buildModel(raw: unknown): Model {
  const doc = isObject(raw) ? raw : {};
  const all: StepNode[] = [];
  const scopes: Scope[] = [];
  const root = collectScope(doc['steps'], ['steps'], undefined, [], all, scopes, 0);
  const byId = new Map<string, StepNode>();
  for (const s of all) if (s.id !== undefined && !byId.has(s.id)) byId.set(s.id, s);
  const inputs = doc['inputs'] === undefined ? new Set<string>() : isObject(doc['inputs']) ? new Set(Object.keys(doc['inputs'])) : undefined;
  return { root, scopes, all, byId, inputs };
}

/** The step ids a `dependsOn`/`then`/`else` value names: one string or a list of strings. */
export function idRefs(value: unknown, path: Path): IdRef[] {
  if (typeof value === 'string') return [{ id: value, path }];
  if (!Array.isArray(value)) return [];
  const out: IdRef[] = [];
  value.forEach((v, i) => {
    if (typeof v === 'string') out.push({ id: v, path: [...path, i] });
  });
  return out;
}

/** The `onFailure.goto` of a step, when it is a string. */
export function gotoRef(step: StepNode): IdRef | undefined {
  const f = step.raw['onFailure'];
  return isObject(f) && typeof f['goto'] === 'string' ? { id: f['goto'], path: [...step.path, 'onFailure', 'goto'] } : undefined;
}

/** A human name for a step in messages: `"build"` or `steps[2]`. */
export function label(step: StepNode): string {
  return step.id !== undefined ? `"${step.id}"` : pathText(step.path);
}

export function isObject(v: unknown): v is { readonly [key: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function collectScope(list: unknown, path: Path, container: StepNode | undefined, loopVars: readonly string[], all: StepNode[], scopes: Scope[], depth: number): Scope {
  const scope: Scope = { path, steps: [], container, loopVars };
  scopes.push(scope);
  if (!Array.isArray(list) || depth > 64) return scope;
  list.forEach((item, index) => {
    if (!isObject(item)) return;
    const step: StepNode = {
      id: typeof item['id'] === 'string' ? item['id'] : undefined,
      type: typeof item['type'] === 'string' ? item['type'] : undefined,
      path: [...path, index],
      raw: item,
      scope,
      index,
      children: [],
    };
    scope.steps.push(step);
    all.push(step);
    if (step.type === 'loop') {
      const as = typeof item['as'] === 'string' ? item['as'] : 'item';
      step.children.push(collectScope(item['steps'], [...step.path, 'steps'], step, [...loopVars, as], all, scopes, depth + 1));
    } else if ((step.type === 'parallel' || step.type === 'race') && Array.isArray(item['branches'])) {
      item['branches'].forEach((branch: unknown, b: number) => {
        step.children.push(collectScope(branch, [...step.path, 'branches', b], step, loopVars, all, scopes, depth + 1));
      });
    }
  });
  return scope;
}

function pathText(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
