/**
 * The Kingdom spec's way of writing a workflow (docs/workflows.md, "The spec's form"), read into the
 * one internal model before validation:
 *
 *   - id: validate                      - id: validate
 *     type: llm                           type: llm
 *     llm: { model, prompt, … }     →     model: …, prompt: …
 *   - id: deploy                        - id: deploy
 *     type: task                          type: task
 *     task: { runner, vars }        →     runner: …, with: …
 *   - id: decide                        - id: decide
 *     type: decision                      type: decision
 *     condition:                          if: <expression>
 *       expression: <e>             →     then: [deploy]
 *       then: [<steps>]                   else: [abort]
 *       else: [<steps>]                 - id: deploy …   (the inline steps, hoisted after the decision)
 *                                       - id: abort …
 *
 * and, in a file written this way, the spec's template shorthands: a bare `{{service}}` naming a
 * declared input is `{{inputs.service}}`, and `steps.validate.output.safe` on an llm or agent step
 * (whose output has no field `safe`) is its parsed answer, `steps.validate.output.json.safe`.
 *
 * Invariants:
 * 1. A file without `llm:`, `task:` or `condition:` blocks is returned as it is (`specForm: false`):
 *    the canonical form never changes meaning.
 * 2. `originalPath` maps every path of the normalised value back to where it was written, so each
 *    issue is reported at the line and column the person wrote (a hoisted step's issues at the
 *    step inside `condition.then`).
 * 3. Pure and total: never throws, whatever the value; the input is not modified.
 */
import { RESERVED_ROOTS } from './schema.ts';

type Path = readonly (string | number)[];
type Obj = Record<string, unknown>;

export interface SpecForm {
  readonly value: unknown;
  /** True when the file used the spec's nested blocks (and so its shorthands were read too). */
  readonly specForm: boolean;
  originalPath(path: Path): Path;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const BLOCKS = ['llm', 'task', 'condition'];
/** What an llm or agent step's output holds besides its parsed answer (references.ts). */
const ANSWER_FIELDS = new Set(['text', 'json', 'model', 'provider', 'usage', 'latencyMs', 'finishReason', 'attempts', 'turns', 'toolCalls', 'read', 'wrote']);

export function fromSpecForm(value: unknown): SpecForm {
  const moves = new Map<string, Path>();
  const identity: SpecForm = { value, specForm: false, originalPath: (p) => p };
  if (!isObj(value) || !Array.isArray(value['steps']) || !usesBlocks(value['steps'], 0)) return identity;
  const record = (normalized: Path, original: Path): void => {
    moves.set(JSON.stringify(normalized), original);
  };
  const out: Obj = { ...value, steps: normalizeList(value['steps'], ['steps'], ['steps'], record) };
  const inputs = isObj(value['inputs']) ? new Set(Object.keys(value['inputs'])) : new Set<string>();
  const answers = new Set<string>();
  collectAnswerSteps(out['steps'], answers, 0);
  const rewritten = rewriteStrings(out, (s) => shorthands(s, inputs, answers), 0) as Obj;
  return {
    value: rewritten,
    specForm: true,
    originalPath: (path) => {
      for (let n = path.length; n > 0; n--) {
        const hit = moves.get(JSON.stringify(path.slice(0, n)));
        if (hit !== undefined) return [...hit, ...path.slice(n)];
      }
      return path;
    },
  };
}

function usesBlocks(list: unknown, depth: number): boolean {
  if (!Array.isArray(list) || depth > 32) return false;
  return list.some((s) => isObj(s) && (BLOCKS.some((b) => isObj(s[b])) || nestedLists(s).some((l) => usesBlocks(l, depth + 1))));
}

/** The step lists inside a step (a loop's body, each parallel/race branch). */
function nestedLists(step: Obj): unknown[] {
  const lists: unknown[] = [];
  if (Array.isArray(step['steps'])) lists.push(step['steps']);
  if (Array.isArray(step['branches'])) lists.push(...step['branches']);
  return lists;
}

function normalizeList(list: readonly unknown[], orig: Path, norm: Path, record: (n: Path, o: Path) => void, depth = 0): unknown[] {
  const out: unknown[] = [];
  list.forEach((step, i) => {
    const at = out.length;
    record([...norm, at], [...orig, i]);
    if (!isObj(step) || depth > 32) {
      out.push(step);
      return;
    }
    const hoisted: { step: unknown; orig: Path }[] = [];
    const s = normalizeStep(step, [...orig, i], [...norm, at], record, hoisted);
    for (const [k, v] of Object.entries(s)) {
      if (k === 'steps' && Array.isArray(v)) s[k] = normalizeList(v, [...orig, i, k], [...norm, at, k], record, depth + 1);
      if (k === 'branches' && Array.isArray(v)) {
        s[k] = v.map((b, j) => (Array.isArray(b) ? normalizeList(b, [...orig, i, k, j], [...norm, at, k, j], record, depth + 1) : b));
      }
    }
    out.push(s);
    // Inline branch steps follow their decision in the same list, normalised like any step (as a
    // one-step list whose paths are re-based: its index k is base + k here, its origin is where
    // the step was written).
    for (const h of hoisted) {
      const base = out.length;
      const sub = normalizeList([h.step], [], [], (np, op) => record([...norm, base + (np[0] as number), ...np.slice(1)], [...h.orig, ...op.slice(1)]), depth + 1);
      out.push(...sub);
    }
  });
  return out;
}

/** One step with its `llm:`, `task:` and `condition:` blocks read; inline branch steps go to `hoisted`. */
function normalizeStep(step: Obj, orig: Path, norm: Path, record: (n: Path, o: Path) => void, hoisted: { step: unknown; orig: Path }[]): Obj {
  const s: Obj = { ...step };
  const llm = s['llm'];
  if (isObj(llm)) {
    delete s['llm'];
    for (const [k, v] of Object.entries(llm)) {
      if (s[k] === undefined) s[k] = v;
      record([...norm, k], [...orig, 'llm', k]);
    }
    if (s['type'] === undefined) s['type'] = 'llm';
  }
  const task = s['task'];
  if (isObj(task)) {
    delete s['task'];
    for (const [k, v] of Object.entries(task)) {
      const key = k === 'vars' ? 'with' : k;
      if (s[key] === undefined) s[key] = v;
      record([...norm, key], [...orig, 'task', k]);
    }
    if (s['type'] === undefined) s['type'] = 'task';
  }
  const condition = s['condition'];
  if (isObj(condition)) {
    delete s['condition'];
    if (condition['expression'] !== undefined && s['if'] === undefined) s['if'] = condition['expression'];
    record([...norm, 'if'], [...orig, 'condition', 'expression']);
    for (const branch of ['then', 'else'] as const) {
      const written = condition[branch];
      if (written === undefined) continue;
      record([...norm, branch], [...orig, 'condition', branch]);
      const items = Array.isArray(written) ? written : [written];
      s[branch] = items.map((item, j) => {
        if (!isObj(item)) return item;
        hoisted.push({ step: item, orig: [...orig, 'condition', branch, Array.isArray(written) ? j : 0] });
        return item['id'];
      });
    }
    if (s['type'] === undefined) s['type'] = 'decision';
  }
  return s;
}

export function collectAnswerSteps(list: unknown, into: Set<string>, depth: number): void {
  if (!Array.isArray(list) || depth > 32) return;
  for (const s of list) {
    if (!isObj(s)) continue;
    if ((s['type'] === 'llm' || s['type'] === 'agent') && typeof s['id'] === 'string') into.add(s['id']);
    for (const l of nestedLists(s)) collectAnswerSteps(l, into, depth + 1);
  }
}

function rewriteStrings(v: unknown, f: (s: string) => string, depth: number): unknown {
  if (depth > 64) return v;
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => rewriteStrings(x, f, depth + 1));
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) out[k] = k === 'outputSchema' ? x : rewriteStrings(x, f, depth + 1);
  return out;
}

/** `{{service}}` → `{{inputs.service}}`; `steps.v.output.safe` → `steps.v.output.json.safe` (llm/agent `v`). */
export function shorthands(text: string, inputs: ReadonlySet<string>, answerSteps: ReadonlySet<string>): string {
  const bare = text.replace(/\{\{(\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*)\}\}/g, (all, pre: string, name: string, post: string) =>
    inputs.has(name) && !RESERVED_ROOTS.has(name) ? `{{${pre}inputs.${name}${post}}}` : all);
  return bare.replace(/\bsteps\.([a-z][a-z0-9_-]*)\.output\.([A-Za-z_$][\w$]*)/g, (all, id: string, field: string) =>
    answerSteps.has(id) && !ANSWER_FIELDS.has(field) ? `steps.${id}.output.json.${field}` : all);
}
