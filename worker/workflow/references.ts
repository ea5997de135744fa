/**
 * Static checks of every expression (`if`, `over`, gate `check`) and `{{ }}` template in a
 * workflow: they must parse, and every name they read must exist where they run.
 *
 * Scope of a step's fields (docs/workflows.md, "Expressions and templates"):
 * - always: `inputs.<declared name>`, `workflow.name|version`, `session.id|startedAt`, `env.<name>`
 *   (runtime environment, e.g. env.origin), `secrets.<NAME>` in templates only,
 *   `failure` (why an onFailure route re-runs this step; null otherwise), and `steps.<id>` for
 *   every step upstream of the step (graph.ts);
 * - inside a loop body: the loop variable (`as`, default `item`) and `loop.index`;
 * - `outputs` mapping: `result` (the runner's raw result);
 * - `gate` and `hooks.onComplete`: `output` and `steps.<own id>` (the step has finished);
 * - `hooks.onError`: `error` (message, type, retryable, details);
 * - an llm/agent step's `prompt` and `system`: `context.<name>` for each retrieval it declares.
 * Workflow `outputs` and `hooks.onComplete`/`onError` may read every top-level step
 * (plus `output`/`error`); the workflow's `hooks.onStart` only inputs, workflow and session.
 *
 * Warnings (never block saving; `warning: true` on the raw issue, code `output_field`): a
 * reference into the output of an llm or agent step whose shape is fixed by its runner —
 * `steps.<id>.output.<field>` (and, on the step itself, `output.<field>` in gate/onComplete and
 * `result.<field>` in its outputs mapping) — that names a field the output never has, e.g.
 * `steps.validate.output.safe` (the answer is `output.json.safe`), or `output.json` on a step
 * without an outputSchema. A step with an `outputs` mapping shapes its own output: not checked.
 *
 * Invariants:
 * 1. Parsing only (the expression module's `expressionReferences`/`templateReferences`); nothing
 *    is evaluated.
 * 2. Never throws: any error from the expression module becomes an issue.
 */
import { ExpressionError } from './expr/index.ts';
import { expressionReferences, templateReferences } from './templates.ts';
import type { Graph } from './graph.ts';
import type { Path, RawIssue } from './issues.ts';
import { isObject, label, type Scope, type StepNode } from './model.ts';
import { suggest } from './suggest.ts';

const STEP_FIELDS = ['output', 'status', 'error', 'attempts'];
/** The top-level fields of an llm / agent step's output (worker/engine/llm/runner.ts, agent/runner.ts). */
const RUNNER_OUTPUT_FIELDS: { readonly [type: string]: readonly string[] | undefined } = {
  llm: ['text', 'json', 'model', 'provider', 'usage', 'latencyMs', 'finishReason', 'attempts'],
  agent: ['text', 'json', 'turns', 'toolCalls', 'model', 'provider', 'usage', 'latencyMs', 'finishReason', 'read', 'wrote'],
};
const ROOT_FIELDS: { readonly [root: string]: readonly string[] | undefined } = {
  workflow: ['name', 'version'],
  session: ['id', 'startedAt'],
  loop: ['index'],
  error: ['message', 'type', 'retryable', 'details'],
  failure: ['step', 'reasons', 'loop', 'error'],
};

interface Ctx {
  /** The step whose field this is; undefined for workflow-level fields. */
  readonly step: StepNode | undefined;
  /** Ids of the steps this field may read. */
  readonly visible: ReadonlySet<string>;
  /** The step's own id, when this field runs after the step (gate, onComplete). */
  readonly self: string | undefined;
  /** Roots beyond inputs, steps, workflow and session. */
  readonly roots: ReadonlySet<string>;
  /** Why no step is readable, for workflow-level fields that run before any step. */
  readonly noSteps?: string;
  /** The names an llm/agent step's `context` declares (its prompt reads `context.<name>`). */
  readonly context?: readonly string[];
}

export function checkReferences(graph: Graph, raw: unknown): RawIssue[] {
  const out: RawIssue[] = [];
  const { model } = graph;
  for (const step of model.all) {
    const visible = new Set<string>();
    for (const s of graph.upstream(step)) if (s.id !== undefined) visible.add(s.id);
    const loopRoots = step.scope.loopVars.length > 0 ? ['loop', ...step.scope.loopVars] : [];
    const base: Ctx = { step, visible, self: undefined, roots: new Set(['failure', ...loopRoots]) };
    const after: Ctx = { ...base, self: step.id, roots: new Set([...base.roots, 'output']) };
    const r = step.raw;
    const p = step.path;
    expression(r['if'], [...p, 'if'], base, graph, out);
    if (step.type === 'loop') expression(r['over'], [...p, 'over'], base, graph, out);
    const context = isObject(r['context']) ? Object.keys(r['context']) : undefined;
    for (const field of ['with', 'prompt', 'system', 'model', 'approvers', 'inputs', 'until', 'tools', 'context', 'query', 'tags']) {
      if (field === 'inputs' && step.type !== 'workflow') continue;
      const reads = context && (field === 'prompt' || field === 'system') ? { ...base, roots: new Set([...base.roots, 'context']), context } : base;
      templates(r[field], [...p, field], reads, graph, out);
    }
    templates(r['outputs'], [...p, 'outputs'], { ...base, roots: new Set([...base.roots, 'result']) }, graph, out);
    const gate = r['gate'];
    const checks = Array.isArray(gate) ? gate.map((g, i) => [g, [...p, 'gate', i]] as const) : [[gate, [...p, 'gate']] as const];
    for (const [g, gp] of checks) {
      if (!isObject(g)) continue;
      expression(g['check'], [...gp, 'check'], after, graph, out);
      templates(g['reason'], [...gp, 'reason'], after, graph, out);
    }
    hooks(r['hooks'], [...p, 'hooks'], { onStart: base, onComplete: after, onError: { ...base, roots: new Set([...base.roots, 'error']) } }, graph, out);
  }
  const doc = isObject(raw) ? raw : {};
  const top = new Set(model.root.steps.map((s) => s.id).filter((x): x is string => x !== undefined));
  const wf: Ctx = { step: undefined, visible: top, self: undefined, roots: new Set() };
  templates(doc['outputs'], ['outputs'], wf, graph, out);
  hooks(doc['hooks'], ['hooks'], { onStart: { ...wf, visible: new Set(), noSteps: 'the workflow hooks.onStart runs before any step; it can read inputs, workflow and session only' }, onComplete: { ...wf, roots: new Set(['output']) }, onError: { ...wf, roots: new Set(['error']) } }, graph, out);
  return out;
}

function hooks(value: unknown, path: Path, contexts: { onStart: Ctx; onComplete: Ctx; onError: Ctx }, graph: Graph, out: RawIssue[]): void {
  if (!isObject(value)) return;
  for (const name of ['onStart', 'onComplete', 'onError'] as const) {
    const hook = value[name];
    if (isObject(hook)) templates(hook['config'], [...path, name, 'config'], contexts[name], graph, out);
  }
}

function expression(source: unknown, path: Path, ctx: Ctx, graph: Graph, out: RawIssue[]): void {
  if (typeof source !== 'string' || source === '') return;
  let refs: string[];
  try {
    refs = expressionReferences(source);
  } catch (err) {
    out.push(parseIssue(err, path, 'invalid_expression'));
    return;
  }
  for (const ref of refs) checkRef(ref, path, ctx, graph, out, false);
}

function templates(value: unknown, path: Path, ctx: Ctx, graph: Graph, out: RawIssue[]): void {
  const stack: { v: unknown; path: Path; depth: number }[] = [{ v: value, path, depth: 0 }];
  while (stack.length > 0) {
    const { v, path: at, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (!v.includes('{{')) continue;
      let refs: string[];
      try {
        refs = templateReferences(v);
      } catch (err) {
        out.push(parseIssue(err, at, 'invalid_template'));
        continue;
      }
      for (const ref of refs) checkRef(ref, at, ctx, graph, out, true);
    } else if (depth < 70 && Array.isArray(v)) {
      v.forEach((x, i) => stack.push({ v: x, path: [...at, i], depth: depth + 1 }));
    } else if (depth < 70 && isObject(v)) {
      for (const [k, x] of Object.entries(v)) stack.push({ v: x, path: [...at, k], depth: depth + 1 });
    }
  }
}

function parseIssue(err: unknown, path: Path, code: 'invalid_expression' | 'invalid_template'): RawIssue {
  if (err instanceof ExpressionError) return { path, code, offset: err.position, message: err.message };
  return { path, code, message: `could not be read: ${err instanceof Error ? err.message : String(err)}` };
}

function checkRef(ref: string, at: Path, ctx: Ctx, graph: Graph, issues: RawIssue[], inTemplate: boolean): void {
  const { names: segs, ends } = segments(ref);
  const root = segs[0] ?? '';
  const field = segs[1];
  const { model } = graph;
  const path = at;
  // Point each issue at the reference's text inside the scalar (locate() searches for it).
  const needle = ref.slice(0, ends[Math.min(1, ends.length - 1)] ?? ref.length);
  const out = { push: (i: RawIssue): void => void issues.push({ ...i, needle }) };
  if (root === 'inputs') {
    if (field !== undefined && model.inputs !== undefined && !model.inputs.has(field)) {
      const hint = suggest(field, model.inputs);
      out.push({ path, code: 'undeclared_input', message: `inputs.${field} is not a declared input${hint ? ` (did you mean inputs.${hint}?)` : ''}; declare it under inputs: or fix the name (declared: ${[...model.inputs].join(', ') || 'none'})` });
    }
    return;
  }
  if (root === 'env') return; // read when the step runs; an unset name reads as null
  if (root === 'context' && ctx.context) {
    if (field === undefined) out.push({ path, code: 'unknown_reference', message: `name the retrieval: {{ context.<name> }} (declared: ${ctx.context.join(', ')})` });
    else if (!ctx.context.includes(field)) out.push({ path, code: 'unknown_reference', message: `context.${field} is not declared under context:${suggest(field, ctx.context) ? ` — did you mean context.${suggest(field, ctx.context)}?` : ''} (declared: ${ctx.context.join(', ')})` });
    return;
  }
  if (root === 'secrets') {
    if (!inTemplate) out.push({ path, code: 'unknown_reference', message: 'secrets are readable in {{ }} templates only (with, headers, hook configs), never in conditions' });
    else if (field === undefined) out.push({ path, code: 'unknown_reference', message: 'name the secret literally: {{ secrets.NAME }}' });
    return;
  }
  if (root === 'steps') {
    if (field === undefined) {
      out.push({ path, code: 'unknown_reference', message: 'name the step with a literal id: steps.<id>.output (a computed steps[...] cannot be checked)' });
      return;
    }
    stepRef(field, segs[2], path, ctx, graph, out);
    if (segs[2] === 'output') outputField(model.byId.get(field), `steps.${field}.output`, segs[3], path, out, true);
    return;
  }
  if ((root === 'output' || root === 'result') && ctx.step !== undefined && ctx.roots.has(root) && (root === 'result' || ctx.self === ctx.step.id)) {
    outputField(ctx.step, root, field, path, out, root === 'output');
  }
  const fields = Object.hasOwn(ROOT_FIELDS, root) ? ROOT_FIELDS[root] : undefined;
  const always = root === 'workflow' || root === 'session';
  if (always || ctx.roots.has(root)) {
    if (fields !== undefined && field !== undefined && !fields.includes(field)) {
      out.push({ path, code: 'unknown_reference', message: `${root}.${field} does not exist; ${root} has ${fields.join(', ')}` });
    }
    return;
  }
  const available = ['inputs', 'steps', 'workflow', 'session', 'env', ...(inTemplate ? ['secrets'] : []), ...ctx.roots];
  let hint = '';
  if (model.inputs?.has(root)) hint = ` — did you mean inputs.${root}?`;
  else if (model.byId.has(root)) hint = ` — did you mean steps.${root}.output?`;
  else {
    const s = suggest(root, available);
    if (s !== undefined) hint = ` — did you mean ${s}?`;
  }
  out.push({ path, code: 'unknown_reference', message: `"${root}" is not defined here${hint}; available: ${available.join(', ')}` });
}

function stepRef(id: string, field: string | undefined, path: Path, ctx: Ctx, graph: Graph, out: { push(i: RawIssue): void }): void {
  const { model } = graph;
  const target = model.byId.get(id);
  const reader = ctx.step === undefined ? 'the workflow' : label(ctx.step);
  if (target === undefined) {
    const hint = suggest(id, ctx.visible.size > 0 ? ctx.visible : model.byId.keys());
    out.push({ path, code: 'unknown_step', message: `steps.${id}: there is no step "${id}"${hint ? ` — did you mean steps.${hint}?` : ''}` });
    return;
  }
  if (field !== undefined && !STEP_FIELDS.includes(field)) {
    out.push({ path, code: 'unknown_reference', message: `steps.${id}.${field} does not exist; a step has ${STEP_FIELDS.join(', ')} (e.g. steps.${id}.output.${field})` });
  }
  if (ctx.visible.has(id) || (ctx.self !== undefined && ctx.self === id)) return;
  if (ctx.step !== undefined && target === ctx.step) {
    out.push({ path, code: 'not_upstream', message: `${reader} reads its own steps.${id} before it has run; use output in gate or hooks.onComplete, result in outputs` });
    return;
  }
  if (ctx.noSteps !== undefined) {
    out.push({ path, code: 'not_upstream', message: `steps.${id}: ${ctx.noSteps}` });
    return;
  }
  const holder = target.scope.container;
  if (holder !== undefined && ctx.step !== undefined && !within(ctx.step.scope, target.scope) && containerChain(ctx.step).includes(holder)) {
    out.push({ path, code: 'not_upstream', message: `steps.${id} is in another branch of ${holder.type} ${label(holder)}; branches run independently and cannot read each other — pass data through steps.${holder.id ?? '?'}.output to a later step` });
    return;
  }
  if (holder !== undefined && (ctx.step === undefined || !within(ctx.step.scope, target.scope))) {
    out.push({ path, code: 'not_upstream', message: `steps.${id} is inside ${holder.type} ${label(holder)}, so ${reader} cannot read it; read steps.${holder.id ?? '?'}.output instead` });
    return;
  }
  if (ctx.step !== undefined && containerChain(ctx.step).includes(target)) {
    out.push({ path, code: 'not_upstream', message: `${reader} runs inside ${target.type} "${id}", which finishes after it; read steps.${id} only after "${id}"` });
    return;
  }
  const fix = ctx.step?.id !== undefined ? `add "${id}" to ${ctx.step.id}.dependsOn (or to a step it depends on)` : `make "${id}" run first`;
  out.push({ path, code: 'not_upstream', message: `${reader} reads steps.${id}, but "${id}" is not upstream of it (it may not have run yet); ${fix}` });
}

/**
 * Warn when `<prefix>.<field>` reads a field that the output of `step` (an llm or agent step) can
 * never have. `shaped`: the reference sees the step's `outputs` mapping when it has one.
 */
function outputField(step: StepNode | undefined, prefix: string, field: string | undefined, path: Path, out: { push(i: RawIssue): void }, shaped: boolean): void {
  if (step === undefined || field === undefined || step.type === undefined) return;
  const fields = Object.hasOwn(RUNNER_OUTPUT_FIELDS, step.type) ? RUNNER_OUTPUT_FIELDS[step.type] : undefined;
  if (fields === undefined || (shaped && step.raw['outputs'] !== undefined)) return;
  const who = `${step.type} step ${label(step)}`;
  const hasSchema = step.raw['outputSchema'] !== undefined;
  if (field === 'json' && !hasSchema) {
    out.push({ path, code: 'output_field', warning: true, message: `${prefix}.json is never set: ${who} has no outputSchema, so its answer is ${prefix}.text; add an outputSchema to get ${prefix}.json` });
    return;
  }
  if (fields.includes(field)) return;
  const fix = hasSchema ? `did you mean ${prefix}.json.${field}?` : `add an outputSchema and read ${prefix}.json.${field}, or read ${prefix}.text`;
  out.push({ path, code: 'output_field', warning: true, message: `${prefix}.${field} is always undefined: the output of ${who} has ${fields.join(', ')}; its structured answer is ${prefix}.json — ${fix}` });
}

/** Whether `inner` is `outer` or nested inside it. */
function within(inner: Scope, outer: Scope): boolean {
  for (let s: Scope | undefined = inner; s !== undefined; s = s.container?.scope) if (s === outer) return true;
  return false;
}

function containerChain(step: StepNode): StepNode[] {
  const out: StepNode[] = [];
  for (let c = step.scope.container; c !== undefined; c = c.scope.container) out.push(c);
  return out;
}

/**
 * `steps.build.output["x-y"][0]` → names ['steps', 'build', 'output', 'x-y', '0'] and, for each,
 * where its text ends in `ref` (to find the reference in the source).
 */
function segments(ref: string): { names: string[]; ends: number[] } {
  const head = /^[^.[]+/.exec(ref);
  if (head === null) return { names: [], ends: [] };
  const names = [head[0]];
  const ends = [head[0].length];
  const part = /\.([^.[]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  part.lastIndex = head[0].length;
  for (let m = part.exec(ref); m !== null; m = part.exec(ref)) {
    if (m[1] !== undefined) names.push(m[1]);
    else if (m[2] !== undefined) names.push(m[2]);
    else names.push(JSON.parse(m[3]!) as string);
    ends.push(part.lastIndex);
  }
  return { names, ends };
}
