/**
 * The canvas edits, as pure functions from YAML text to YAML text through the `yaml` package's
 * Document API (parseDocument, setIn, deleteIn, addIn, createNode): add a step from the palette,
 * connect two steps (a `dependsOn` entry), remove an edge, delete a step, rename a step.
 *
 * Invariants:
 * 1. Pure; never throws. A refusal is `{ ok: false, message }`: a sentence saying why and what
 *    to do, and the text is left as it was.
 * 2. Comments, key order and every untouched line are kept (yaml-doc.ts `print`).
 * 3. An edit keeps a valid workflow valid in the usual cases (unit-tested with the worker's
 *    validator); the app still validates every result before it keeps it.
 * 4. Node positions never enter the YAML: the canvas derives them from the layout.
 */
import { isMap, isPair, isScalar, isSeq, visit, type Document, type Scalar } from 'yaml';
import { STEP_ID, stepTemplate, uniqueId, type PaletteItem } from './palette.ts';
import { flowList, idsOf, openDoc, print, setStepKey, type DocStep } from './yaml-doc.ts';

export type EditResult = { ok: true; text: string; id?: string } | { ok: false; message: string };

const REFS = ['dependsOn', 'then', 'else'] as const;
type RefKey = (typeof REFS)[number];

function refuse(message: string): EditResult {
  return { ok: false, message };
}

function opened(text: string): { doc: Document; steps: DocStep[]; byId: Map<string, DocStep> } | EditResult {
  const o = openDoc(text);
  if (!o.ok) return refuse(o.message);
  const byId = new Map<string, DocStep>();
  for (const s of o.steps) if (!byId.has(s.id)) byId.set(s.id, s);
  return { doc: o.doc, steps: o.steps, byId };
}

/** Add a new step of `item.type` at the end of the top-level steps (with its then step for a decision). */
export function addStep(text: string, item: PaletteItem): EditResult {
  const o = opened(text);
  if ('ok' in o) return o;
  if (!isSeq(o.doc.get('steps', true))) return refuse('The workflow has no steps list to add to; add "steps:" in the editor first.');
  const taken = new Set(o.byId.keys());
  const newId = (base: string): string => {
    const id = uniqueId(base, taken);
    taken.add(id);
    return id;
  };
  const t = stepTemplate(item, newId);
  for (const s of [t.step, ...t.siblings]) o.doc.addIn(['steps'], flowSmall(o.doc.createNode(s)));
  return { ok: true, text: print(text, o.doc), id: String(t.step['id']) };
}

/** Short maps and lists of a new step (`with: { value: TODO }`, `then: [task_1]`) print on one line. */
function flowSmall<T>(node: T): T {
  visit(node as never, {
    Map(_k, m) {
      if (m.items.length <= 2 && m.items.every((p) => isScalar(p.value))) m.flow = true;
    },
    Seq(_k, s) {
      if (s.items.every((i) => isScalar(i))) s.flow = true;
    },
  });
  return node;
}

/** `target` depends on `source` (the edge source → target): adds `source` to target.dependsOn. */
export function connect(text: string, source: string, target: string): EditResult {
  const o = opened(text);
  if ('ok' in o) return o;
  const from = o.byId.get(source);
  const to = o.byId.get(target);
  if (from === undefined || to === undefined) return refuse(`There is no step "${from === undefined ? source : target}" in the YAML; it may have been renamed in the editor.`);
  if (from === to) return refuse(`"${target}" cannot depend on itself; pick another step.`);
  if (from.scope !== to.scope) {
    return refuse(`"${target}" and "${source}" are in different step lists; dependsOn names steps of the same list only (to wait for a step outside a loop, parallel or race, make the loop, parallel or race depend on it).`);
  }
  const node = to.map.get('dependsOn', true);
  const current = idsOf(node);
  if (current.includes(source)) return { ok: true, text };
  if (isSeq(node)) node.add(o.doc.createNode(source));
  else setStepKey(o.doc, to, 'dependsOn', flowList(o.doc, [...current, source]));
  return { ok: true, text: print(text, o.doc) };
}

/**
 * Remove the edge source → target: `kind` 'dependsOn' takes `source` out of target.dependsOn;
 * 'then'/'else' take `target` out of decision `source`'s branch (and out of its dependsOn, where
 * it is named as well). An emptied list is removed; a decision keeps at least one then step.
 */
export function disconnect(text: string, source: string, target: string, kind: RefKey): EditResult {
  const o = opened(text);
  if ('ok' in o) return o;
  const from = o.byId.get(source);
  const to = o.byId.get(target);
  if (from === undefined || to === undefined) return refuse(`There is no step "${from === undefined ? source : target}" in the YAML; it may have been renamed in the editor.`);
  if (kind === 'dependsOn') {
    removeRef(o.doc, to, 'dependsOn', source);
  } else {
    if (kind === 'then' && idsOf(from.map.get('then', true)).filter((x) => x !== target).length === 0) {
      return refuse(`"${target}" is the only then step of decision "${source}"; a decision needs one — add another then step in the editor, or delete the decision.`);
    }
    removeRef(o.doc, from, kind, target);
    removeRef(o.doc, to, 'dependsOn', source);
  }
  return { ok: true, text: print(text, o.doc) };
}

/** Take `id` out of step.key (a scalar or a list); an emptied key is deleted. */
function removeRef(doc: Document, step: DocStep, key: RefKey, id: string): void {
  const node: unknown = step.map.get(key, true);
  if (isScalar(node)) {
    if (node.value === id) doc.deleteIn([...step.path, key]);
    return;
  }
  if (!isSeq(node)) return;
  for (let i = node.items.length - 1; i >= 0; i--) {
    const item = node.items[i];
    if (isScalar(item) && item.value === id) doc.deleteIn([...step.path, key, i]);
  }
  if (node.items.length === 0) doc.deleteIn([...step.path, key]);
}

/** Delete step `id` and every dependsOn/then/else entry naming it. */
export function deleteStep(text: string, id: string): EditResult {
  const o = opened(text);
  if ('ok' in o) return o;
  const step = o.byId.get(id);
  if (step === undefined) return refuse(`There is no step "${id}" in the YAML; it may have been renamed in the editor.`);
  if (step.list.items.length === 1) {
    const c = step.container;
    if (c === undefined) return refuse(`"${id}" is the only step; a workflow needs at least one — add another step first.`);
    const where = c.type === 'loop' ? `the body of loop "${c.id}"` : `branch ${(step.branch ?? 0) + 1} of ${c.type ?? 'step'} "${c.id}"`;
    return refuse(`"${id}" is the only step in ${where}; delete "${c.id}" instead, or add another step there first.`);
  }
  for (const s of o.steps) {
    if (s === step) continue;
    const then = idsOf(s.map.get('then', true));
    if (s.type === 'decision' && then.includes(id) && then.length === 1) {
      return refuse(`"${id}" is the only then step of decision "${s.id}"; a decision needs one — give it another then step first, or delete the decision.`);
    }
    const f = s.map.get('onFailure', true);
    if (isMap(f) && f.get('goto') === id) return refuse(`Step "${s.id}" goes back to "${id}" on failure (onFailure.goto); change or remove that first.`);
  }
  const readers = readersOf(o.doc, text, id);
  if (readers.length > 0) {
    const list = readers.slice(0, 3).join(', ') + (readers.length > 3 ? ` and ${readers.length - 3} more` : '');
    return refuse(`"${id}" is read by ${list}; remove ${readers.length === 1 ? 'that reference' : 'those references'} in the editor first, then delete it.`);
  }
  for (const s of o.steps) {
    if (s === step || s.scope !== step.scope) continue;
    for (const key of REFS) removeRef(o.doc, s, key, id);
  }
  o.doc.deleteIn(step.path);
  return { ok: true, text: print(text, o.doc) };
}

/** Keys whose whole string is an expression (elsewhere only `{{ }}` parts are). */
const EXPRESSION_KEYS: ReadonlySet<string> = new Set(['if', 'over', 'check']);

/** Visit every string value that may read `steps.…`, with its key and whether it is a whole expression. */
function eachReader(doc: Document, fn: (node: Scalar, expression: boolean, path: readonly unknown[]) => void): void {
  visit(doc, {
    Scalar(_key, node: Scalar, path) {
      if (typeof node.value !== 'string' || !node.value.includes('steps')) return;
      const parent = path[path.length - 1];
      const isValue = isPair(parent) && parent.value === node;
      const key = isPair(parent) && isScalar(parent.key) ? String(parent.key.value) : '';
      fn(node, isValue && EXPRESSION_KEYS.has(key), path);
    },
  });
}

/** Where `steps.<id>` is read (as `outputs.total (line 20)`), in document order. */
function readersOf(doc: Document, text: string, id: string): string[] {
  const out: string[] = [];
  eachReader(doc, (node, expression, path) => {
    const v = node.value as string;
    const renamed = expression ? renameInExpression(v, id, `${id}_`) : renameInTemplates(v, id, `${id}_`);
    if (renamed === v) return;
    // The innermost step holding the value, and the keys below it: `step "test" (with.value, line 16)`.
    let stepId: string | undefined;
    let keys: string[] = [];
    for (const p of path) {
      if (isMap(p) && typeof p.get('id') === 'string' && p.has('type')) {
        stepId = String(p.get('id'));
        keys = [];
      } else if (isPair(p) && isScalar(p.key)) keys.push(String(p.key.value));
    }
    const line = node.range ? text.slice(0, node.range[0]).split('\n').length : undefined;
    const where = [keys.join('.'), line !== undefined ? `line ${line}` : ''].filter(Boolean).join(', ');
    out.push(stepId !== undefined ? `step "${stepId}" (${where})` : `${keys.join('.') || 'a value'}${line !== undefined ? ` (line ${line})` : ''}`);
  });
  return out;
}

/**
 * Rename step `from` to `to`: its id, every dependsOn/then/else/onFailure.goto naming it, and
 * every `steps.<from>` (or `steps["<from>"]`) in expressions and `{{ }}` templates.
 */
export function renameStep(text: string, from: string, to: string): EditResult {
  const o = opened(text);
  if ('ok' in o) return o;
  const step = o.byId.get(from);
  if (step === undefined) return refuse(`There is no step "${from}" in the YAML; it may have been renamed in the editor.`);
  if (to === from) return { ok: true, text, id: to };
  if (!STEP_ID.test(to)) return refuse(`"${to}" is not a step id: start with a lowercase letter, then up to 63 of a-z, 0-9, _ and -.`);
  if (o.byId.has(to)) return refuse(`A step "${to}" already exists; ids are unique in the whole workflow — pick another name.`);
  o.doc.setIn([...step.path, 'id'], o.doc.createNode(to));
  for (const s of o.steps) {
    for (const key of REFS) {
      const node = s.map.get(key, true);
      if (isScalar(node) && node.value === from) node.value = to;
      if (isSeq(node)) for (const i of node.items) if (isScalar(i) && i.value === from) i.value = to;
    }
    const f = s.map.get('onFailure', true);
    const g = isMap(f) ? f.get('goto', true) : undefined;
    if (isScalar(g) && g.value === from) g.value = to;
  }
  eachReader(o.doc, (node, expression) => {
    const v = node.value as string;
    const next = expression ? renameInExpression(v, from, to) : renameInTemplates(v, from, to);
    if (next === v) return;
    node.value = next;
    // A new `steps["a-b"]` reads better in a single-quoted scalar than with escaped quotes.
    if (node.type === 'QUOTE_DOUBLE' && next.includes('"') && !next.includes("'") && !/[\\\n]/.test(next)) node.type = 'QUOTE_SINGLE';
  });
  return { ok: true, text: print(text, o.doc), id: to };
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `steps.<from>` / `steps["<from>"]` → the same reference to `to` in one expression. */
export function renameInExpression(expr: string, from: string, to: string): string {
  const id = from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`(?<![\\w$.])steps(\\s*)(?:\\.(\\s*)${id}(?![\\w$])|\\[(\\s*)(["'])${id}\\4(\\s*)\\])`, 'g');
  return expr.replace(re, (_m, s1: string, s2: string | undefined, s3: string | undefined, q: string | undefined, s4: string | undefined) => {
    if (q !== undefined) return `steps${s1}[${s3 ?? ''}${q}${to}${q}${s4 ?? ''}]`;
    return IDENTIFIER.test(to) ? `steps${s1}.${s2 ?? ''}${to}` : `steps${s1}["${to}"]`;
  });
}

/** The same, inside each `{{ … }}` of a template only (an escaped `\{{` is literal text). */
export function renameInTemplates(text: string, from: string, to: string): string {
  return text.replace(/(?<!\\)\{\{([\s\S]*?)\}\}/g, (_m, inner: string) => `{{${renameInExpression(inner, from, to)}}}`);
}
