/**
 * "Show as canonical YAML": a workflow written in either form (the spec's nested `llm:`, `task:`
 * and `condition:` blocks with its shorthands, or Kingdom's flat form) → the same workflow in
 * Kingdom's flat form (docs/workflows.md, "Canonical YAML"), edited as a `yaml` Document so that
 * comments, anchors, quoting and blank lines stay where they were written:
 *
 *   - the spec's blocks are read as spec-form.ts reads them: `llm:` keys onto the step, `task:`
 *     → `runner` and `with`, `condition:` → `if`, `then`/`else` as ids with the inline steps
 *     placed right after their decision, `type:` added where missing; the shorthands
 *     (`{{service}}`, `steps.validate.output.safe`) written out in full;
 *   - keys in one order (below): the schema's, with each step's `id`, `name`, `type` first.
 *
 * A comment stays with the key or step it was written at; a comment on a dissolved block
 * (`llm:`, `task:`, `condition:`) moves to the first key taken out of it; a comment above a
 * mapping's first key stays above the mapping when the keys are reordered.
 *
 * Invariants:
 * 1. Same workflow: for every valid source, `parseWorkflow(text)` is ok with the SAME hash as
 *    `parseWorkflow(source)` — checked here on every call; a source that cannot be written so
 *    (e.g. anchors that the new order would place after their aliases, tried once without
 *    reordering) is `{ ok: false }`, never a text that means something else.
 * 2. Idempotent: `canonicalYaml(canonicalYaml(s).text).text === canonicalYaml(s).text`.
 * 3. Pure and total: never throws; an invalid source is `{ ok: false, message }`.
 */
import { Document, isAlias, isMap, isScalar, isSeq, Pair, parseDocument, Scalar, YAMLMap, YAMLSeq, type Node } from 'yaml';
import { parseWorkflow } from './parse.ts';
import { loadYaml } from './source.ts';
import { collectAnswerSteps, fromSpecForm, shorthands } from './spec-form.ts';

export type CanonicalResult =
  | { readonly ok: true; readonly text: string; readonly specForm: boolean; readonly changed: boolean }
  | { readonly ok: false; readonly message: string };

const TOP = ['kind', 'name', 'version', 'description', 'author', 'imports', '*x-', 'inputs', 'outputs', 'timeout', 'hooks', 'steps'];
const LEAD = ['id', 'name', 'type', 'dependsOn', 'join', 'if'];
const TAIL = ['retry', 'timeout', 'hooks', 'gate', 'onFailure', 'outputs'];
const LLM = ['model', 'prompt', 'system', 'outputSchema', 'temperature', 'maxTokens'];
/** Each step type's own fields, in the schema's order (schema.ts). */
export const STEP_FIELDS: Readonly<Record<string, readonly string[]>> = {
  task: ['runner', 'with'],
  llm: [...LLM, 'context'],
  agent: [...LLM, 'context', 'tools', 'maxTurns'],
  forest: ['query', 'tags', 'topK', 'budget'],
  decision: ['then', 'else'],
  parallel: ['branches'],
  race: ['branches'],
  loop: ['over', 'as', 'concurrency', 'steps'],
  wait: ['duration', 'until'],
  approval: ['prompt', 'approvers', 'onTimeout'],
  workflow: ['workflow', 'inputs'],
};
const NESTED: Readonly<Record<string, readonly string[]>> = {
  input: ['type', 'required', 'default', 'enum', 'description'],
  retry: ['maxAttempts', 'backoff', 'initialDelay', 'maxDelay', 'retryOn'],
  hooks: ['onStart', 'onComplete', 'onError'],
  hook: ['type', 'config'],
  config: ['url', 'method', 'headers', 'body', 'runner', 'with', ...LLM],
  onFailure: ['goto', 'maxLoops'],
  gate: ['check', 'reason'],
};
const PRINT = { lineWidth: 0, minContentWidth: 0, indent: 2, indentSeq: true } as const;
/** Flow collections keep the file's spacing, `[ a ]` or `[a]` (the more frequent; `{{ }}` templates aside). */
function padded(text: string): boolean {
  const t = text.replace(/\{\{[^}]*\}\}/g, '');
  return (t.match(/[[{] \S/g) ?? []).length >= (t.match(/[[{][^\s\]}]/g) ?? []).length;
}

export function canonicalYaml(source: string): CanonicalResult {
  try {
    return canonical(source);
  } catch (err) {
    return { ok: false, message: `The canonical form could not be written (${err instanceof Error ? err.message.slice(0, 200) : String(err)}); the workflow is unchanged.` };
  }
}

function canonical(source: string): CanonicalResult {
  const original = parseWorkflow(source);
  if (!original.ok) return { ok: false, message: 'The workflow has problems; fix them first (the canonical form is written from a valid workflow).' };
  const loaded = loadYaml(source);
  if (!loaded.ok || loaded.source === undefined) return { ok: false, message: 'The YAML could not be read.' };
  const spec = fromSpecForm(loaded.value);
  for (const reorder of [true, false]) {
    const doc = parseDocument(source, { uniqueKeys: true, prettyErrors: false, strict: true, merge: true, logLevel: 'error', resolveKnownTags: false, version: '1.2', schema: 'core' });
    if (!isMap(doc.contents)) break;
    if (spec.specForm) {
      const steps = doc.contents.get('steps', true);
      if (isSeq(steps)) flattenList(doc, steps, 0);
      const inputs = isObj(loaded.value) && isObj(loaded.value['inputs']) ? new Set(Object.keys(loaded.value['inputs'])) : new Set<string>();
      const answers = new Set<string>();
      collectAnswerSteps(isObj(spec.value) ? spec.value['steps'] : undefined, answers, 0);
      rewrite(doc, doc.contents, (s) => shorthands(s, inputs, answers));
    }
    if (reorder) orderDocument(doc.contents);
    let text: string;
    try {
      text = doc.toString({ ...PRINT, flowCollectionPadding: padded(source) });
    } catch {
      continue; // e.g. an alias printed before its anchor
    }
    const again = parseWorkflow(text);
    if (again.ok && again.hash === original.hash) return { ok: true, text, specForm: spec.specForm, changed: text !== source };
  }
  return { ok: false, message: 'This workflow cannot be written in the canonical form without changing what it means (its anchors or merge keys would have to move); it is unchanged.' };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A pair's key as text; a merge key (yaml's Symbol(<<)) is `<<`. */
const keyOf = (p: Pair): string | undefined => (!isScalar(p.key) ? undefined : typeof p.key.value === 'symbol' ? '<<' : String(p.key.value));
const indexOf = (map: YAMLMap, key: string): number => map.items.findIndex((p) => keyOf(p) === key);

/** The mapping a node stands for (an alias's target copied, so the anchor's other uses keep it). */
function mapOf(doc: Document, node: unknown): YAMLMap | undefined {
  if (isMap(node)) return node;
  if (!isAlias(node)) return undefined;
  const target = node.resolve(doc);
  if (!isMap(target)) return undefined;
  const copy = target.clone() as YAMLMap;
  copy.anchor = undefined;
  return copy;
}

/** True when the step has `key`, its own or through a `<<` merge (as the value spec-form sees). */
function has(doc: Document, map: YAMLMap, key: string, depth = 0): boolean {
  if (indexOf(map, key) >= 0) return true;
  if (depth > 8) return false;
  return map.items.some((p) => keyOf(p) === '<<' && (isSeq(p.value) ? p.value.items : [p.value]).some((s) => {
    const target = isAlias(s) ? s.resolve(doc) : s;
    return isMap(target) && has(doc, target, key, depth + 1);
  }));
}

/** Comments of a dissolved block's pair, to put above the first key taken out of it. */
function carriedComment(pair: Pair): string | undefined {
  const parts = [isScalar(pair.key) ? pair.key.commentBefore : undefined, isScalar(pair.key) ? pair.key.comment : undefined,
    (pair.value as Node | null)?.commentBefore, (pair.value as Node | null)?.comment].filter((c): c is string => typeof c === 'string' && c !== '');
  return parts.length > 0 ? parts.join('\n') : undefined;
}

function addCommentBefore(pair: Pair | undefined, comment: string | undefined): void {
  if (pair === undefined || comment === undefined || !isScalar(pair.key)) return;
  pair.key.commentBefore = pair.key.commentBefore ? `${comment}\n${pair.key.commentBefore}` : comment;
}

/** A step list with every step's blocks read; inline branch steps follow their decision. */
function flattenList(doc: Document, seq: YAMLSeq, depth: number): void {
  if (depth > 32) return;
  const out: unknown[] = [];
  for (const item of seq.items) {
    if (!isMap(item)) {
      out.push(item);
      continue;
    }
    const hoisted: YAMLMap[] = [];
    flattenStep(doc, item, hoisted);
    const steps = item.get('steps', true);
    if (isSeq(steps)) flattenList(doc, steps, depth + 1);
    const branches = item.get('branches', true);
    if (isSeq(branches)) for (const b of branches.items) if (isSeq(b)) flattenList(doc, b, depth + 1);
    out.push(item);
    for (const h of hoisted) {
      h.spaceBefore = item.spaceBefore;
      const one = new YAMLSeq();
      one.items = [h];
      flattenList(doc, one, depth + 1);
      out.push(...one.items);
    }
  }
  seq.items = out;
}

function flattenStep(doc: Document, step: YAMLMap, hoisted: YAMLMap[]): void {
  for (const [block, type] of [['llm', 'llm'], ['task', 'task']] as const) {
    const at = indexOf(step, block);
    const body = at < 0 ? undefined : mapOf(doc, step.items[at]!.value);
    if (body === undefined) continue;
    const comment = carriedComment(step.items[at]!);
    step.items.splice(at, 1);
    const moved: Pair[] = [];
    for (const p of body.items) {
      const k = keyOf(p);
      const key = block === 'task' && k === 'vars' ? 'with' : k;
      if (key === undefined || has(doc, step, key) || moved.some((m) => keyOf(m) === key)) continue;
      if (key !== k && isScalar(p.key)) p.key.value = key;
      moved.push(p);
    }
    // In the order they will be printed, so the block's comment lands above the first of them.
    const order = STEP_FIELDS[type]!;
    const rank = (p: Pair): number => { const i = order.indexOf(keyOf(p) ?? ''); return i < 0 ? order.length : i; };
    moved.sort((a, b) => rank(a) - rank(b));
    addCommentBefore(moved[0], comment);
    step.items.splice(at, 0, ...moved);
    if (!has(doc, step, 'type')) step.items.push(doc.createPair('type', type) as Pair);
  }
  const at = indexOf(step, 'condition');
  const condition = at < 0 ? undefined : mapOf(doc, step.items[at]!.value);
  if (condition === undefined) return;
  const comment = carriedComment(step.items[at]!);
  step.items.splice(at, 1);
  const added: Pair[] = [];
  const expression = condition.items.find((p) => keyOf(p) === 'expression');
  if (expression !== undefined && !has(doc, step, 'if')) {
    if (isScalar(expression.key)) expression.key.value = 'if';
    added.push(expression);
  }
  for (const branch of ['then', 'else'] as const) {
    const written = condition.items.find((p) => keyOf(p) === branch);
    if (written === undefined) continue;
    const items = isSeq(written.value) ? written.value.items : [written.value];
    const ids = new YAMLSeq();
    ids.flow = true;
    ids.items = items.map((item) => {
      const inline = mapOf(doc, item);
      if (inline === undefined) return item;
      hoisted.push(inline);
      const id = inline.get('id', true);
      return isScalar(id) ? new Scalar(id.value) : id;
    });
    written.value = ids;
    const own = indexOf(step, branch);
    if (own >= 0) step.items.splice(own, 1);
    added.push(written);
  }
  addCommentBefore(added[0], comment);
  step.items.splice(at, 0, ...added);
  if (!has(doc, step, 'type')) step.items.push(doc.createPair('type', 'decision') as Pair);
}

/** Every string value (not keys, not inside `outputSchema`, not top-level `x-` keys) through `f`. */
function rewrite(doc: Document, root: YAMLMap, f: (s: string) => string): void {
  const seen = new Set<unknown>();
  const visit = (node: unknown, depth: number): void => {
    if (depth > 64 || seen.has(node)) return;
    seen.add(node);
    if (isAlias(node)) visit(node.resolve(doc), depth + 1);
    else if (isScalar(node)) {
      if (typeof node.value === 'string') node.value = f(node.value);
    } else if (isSeq(node)) for (const i of node.items) visit(i, depth + 1);
    else if (isMap(node)) for (const p of node.items) if (keyOf(p) !== 'outputSchema') visit(p.value, depth + 1);
  };
  for (const p of root.items) if (!keyOf(p)?.startsWith('x-')) visit(p.value, 0);
}

/** Sort a mapping's pairs by `order` (`<<` first, unknown keys after the known ones, as written). */
function sortMap(map: YAMLMap, order: readonly string[]): void {
  const rank = (p: Pair): number => {
    const k = keyOf(p);
    if (k === '<<') return -1;
    if (k === undefined) return order.length;
    const at = order.indexOf(k);
    if (at >= 0) return at;
    const wildcard = order.findIndex((o) => o.startsWith('*') && k.startsWith(o.slice(1)));
    return wildcard >= 0 ? wildcard : order.length;
  };
  const first = map.items[0];
  const sorted = map.items.map((p, i) => ({ p, i, r: rank(p) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.p);
  // A comment above the first key belongs to the mapping (the step, the file): it stays on top.
  if (first !== undefined && sorted[0] !== first && isScalar(first.key) && first.key.commentBefore) {
    const comment = first.key.commentBefore;
    first.key.commentBefore = undefined;
    addCommentBefore(sorted[0], comment);
  }
  map.items = sorted;
}

function orderDocument(root: YAMLMap): void {
  sortMap(root, TOP);
  const inputs = root.get('inputs', true);
  if (isMap(inputs)) for (const p of inputs.items) if (isMap(p.value)) sortMap(p.value, NESTED['input']!);
  orderHooks(root.get('hooks', true));
  const steps = root.get('steps', true);
  if (isSeq(steps)) orderSteps(steps, 0);
}

function orderHooks(hooks: unknown): void {
  if (!isMap(hooks)) return;
  sortMap(hooks, NESTED['hooks']!);
  for (const p of hooks.items) {
    if (!isMap(p.value)) continue;
    sortMap(p.value, NESTED['hook']!);
    const config = p.value.get('config', true);
    if (isMap(config)) sortMap(config, NESTED['config']!);
  }
}

function orderSteps(seq: YAMLSeq, depth: number): void {
  if (depth > 32) return;
  for (const step of seq.items) {
    if (!isMap(step)) continue;
    const type = step.get('type');
    sortMap(step, [...LEAD, ...(STEP_FIELDS[typeof type === 'string' ? type : ''] ?? []), ...TAIL]);
    for (const key of ['retry', 'onFailure'] as const) {
      const v = step.get(key, true);
      if (isMap(v)) sortMap(v, NESTED[key]!);
    }
    const gate = step.get('gate', true);
    for (const g of isSeq(gate) ? gate.items : [gate]) if (isMap(g)) sortMap(g, NESTED['gate']!);
    orderHooks(step.get('hooks', true));
    const steps = step.get('steps', true);
    if (isSeq(steps)) orderSteps(steps, depth + 1);
    const branches = step.get('branches', true);
    if (isSeq(branches)) for (const b of branches.items) if (isSeq(b)) orderSteps(b, depth + 1);
  }
}
