/**
 * The workflow YAML as a `yaml` Document, for the canvas edits (yaml-edit.ts): open it, find its
 * steps (nested ones included) as Document nodes, and print it back so that comments, key order
 * and the formatting of every untouched line survive.
 *
 * This is not a second validator: it only walks `steps`, a loop's `steps` and each branch of a
 * parallel/race, the same lists worker/workflow/model.ts walks, to reach the nodes to edit. Every
 * edited text still goes through the worker's `workflow.validate` before the app keeps it.
 *
 * Invariants:
 * 1. Pure: text in, text out; never throws (a broken text gives `{ ok: false, message }`).
 * 2. `print` changes only the lines the edit touched (text-merge.ts), and returns the document
 *    re-printed whole when the merged text would not mean exactly what the edited document means.
 * 3. Scope keys match the canvas graph (graph.ts): '' for the top level, the loop's id for its
 *    body, `<id>#<n>` for branch n (0-based) of a parallel or race.
 */
import { Document, isAlias, isMap, isScalar, isSeq, parseDocument, Scalar, type Node, type Pair, type ToStringOptions, YAMLMap, YAMLSeq } from 'yaml';
import { carryEdit } from './text-merge.ts';

export type Path = (string | number)[];

export interface DocStep {
  readonly id: string;
  readonly type: string | undefined;
  readonly map: YAMLMap;
  /** Path of the step's mapping in the document. */
  readonly path: Path;
  /** The list holding it and its position there. */
  readonly list: YAMLSeq;
  readonly index: number;
  /** Scope key of the list (see invariant 3). */
  readonly scope: string;
  /** The loop/parallel/race step holding the list (undefined at the top level), and the branch number. */
  readonly container: DocStep | undefined;
  readonly branch: number | undefined;
}

export type Opened = { ok: true; doc: Document; steps: DocStep[] } | { ok: false; message: string };

/** Parse `text` and list its steps; refuses a text with YAML errors (the canvas is then read-only). */
export function openDoc(text: string): Opened {
  let doc: Document;
  try {
    doc = parseDocument(text, { prettyErrors: false });
  } catch (err) {
    return { ok: false, message: `The YAML could not be read (${err instanceof Error ? err.message : String(err)}); fix it in the editor first.` };
  }
  if (doc.errors.length > 0) return { ok: false, message: 'The YAML has errors; fix them in the editor first.' };
  if (!isMap(doc.contents)) return { ok: false, message: 'The YAML is not a workflow (a mapping with name, version and steps); fix it in the editor first.' };
  return { ok: true, doc, steps: findSteps(doc) };
}

/** Every step mapping with a string id, in document order (a container before its inner steps). */
export function findSteps(doc: Document): DocStep[] {
  const out: DocStep[] = [];
  const walk = (list: unknown, path: Path, scope: string, container: DocStep | undefined, branch: number | undefined, depth: number): void => {
    if (!isSeq(list) || depth > 64) return;
    list.items.forEach((item, index) => {
      if (!isMap(item)) return;
      const id = read(doc, item, 'id');
      if (typeof id !== 'string') return;
      const type = read(doc, item, 'type');
      const step: DocStep = { id, type: typeof type === 'string' ? type : undefined, map: item, path: [...path, index], list, index, scope, container, branch };
      out.push(step);
      if (step.type === 'loop') walk(item.get('steps', true), [...step.path, 'steps'], id, step, undefined, depth + 1);
      if (step.type === 'parallel' || step.type === 'race') {
        const branches = item.get('branches', true);
        if (isSeq(branches)) branches.items.forEach((b, n) => walk(b, [...step.path, 'branches', n], `${id}#${n}`, step, n, depth + 1));
      }
    });
  };
  walk(doc.get('steps', true), ['steps'], '', undefined, undefined, 0);
  return out;
}

/** A key's plain value on a mapping, looking through `<<` merge keys (read only). */
export function read(doc: Document, map: YAMLMap, key: string): unknown {
  const own = map.get(key, true);
  if (own !== undefined) return isScalar(own) ? own.value : own;
  for (const pair of map.items) {
    if (!isScalar(pair.key) || pair.key.value !== '<<') continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const s of sources) {
      const target = isAlias(s) ? s.resolve(doc) : s;
      if (isMap(target)) {
        const v = read(doc, target, key);
        if (v !== undefined) return v;
      }
    }
  }
  return undefined;
}

/** The ids a `dependsOn`/`then`/`else` node names (a scalar or a list of scalars). */
export function idsOf(node: unknown): string[] {
  if (isScalar(node)) return typeof node.value === 'string' ? [node.value] : [];
  if (isSeq(node)) return node.items.flatMap((i) => (isScalar(i) && typeof i.value === 'string' ? [i.value] : []));
  return [];
}

/**
 * Put `key: value` on a step mapping: replaced in place when present; otherwise inserted after
 * the step's leading keys (id, name, type, runner — where the examples keep dependsOn).
 */
export function setStepKey(doc: Document, step: DocStep, key: string, value: Node): void {
  if (step.map.has(key)) {
    doc.setIn([...step.path, key], value);
    return;
  }
  const lead = ['id', 'name', 'type', 'runner'];
  let at = 0;
  step.map.items.forEach((p: Pair, i) => {
    if (isScalar(p.key) && lead.includes(String(p.key.value))) at = i + 1;
  });
  step.map.items.splice(at, 0, doc.createPair(key, value));
}

/** A flow list (`[a, b]`) of plain scalars. */
export function flowList(doc: Document, values: readonly string[]): YAMLSeq {
  const seq = doc.createNode([...values], { flow: true }) as YAMLSeq;
  return seq;
}

/** Print the edited document back over `original` (see invariant 2). */
export function print(original: string, edited: Document): string {
  const options = styleOf(original);
  const before = parseDocument(original).toString(options);
  const after = edited.toString(options);
  const merged = carryEdit(original, before, after);
  if (merged === after) return after;
  const check = parseDocument(merged);
  const same = check.errors.length === 0 && JSON.stringify(check.toJS({ maxAliasCount: -1 })) === JSON.stringify(edited.toJS({ maxAliasCount: -1 }));
  return same ? merged : after;
}

/** Printing options that match the file's own style where the printer has a choice. */
export function styleOf(text: string): ToStringOptions {
  const padded = (text.match(/[[{] \S/g) ?? []).length;
  const tight = (text.match(/[[{][^\s\]}]/g) ?? []).length;
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  const indents = lines.map((l) => l.length - l.trimStart().length).filter((n) => n > 0);
  const indent = indents.length > 0 ? Math.max(1, Math.min(8, Math.min(...indents))) : 2;
  // `key:` followed by `- item` at the same column: sequences are not indented under their key.
  let flush = 0;
  let nested = 0;
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!/:\s*$/.test(lines[i]!)) continue;
    const here = lines[i]!.length - lines[i]!.trimStart().length;
    const next = lines[i + 1]!;
    if (!next.trimStart().startsWith('- ')) continue;
    if (next.length - next.trimStart().length === here) flush++;
    else nested++;
  }
  return { lineWidth: 0, minContentWidth: 0, flowCollectionPadding: padded >= tight, indent, indentSeq: flush <= nested };
}

export { Scalar };
