/**
 * Completion for workflow YAML, without CodeMirror (pure, unit-tested): what to offer at a cursor.
 *
 * - keys at the start of a line, at any depth, from the JSON Schema along the key path to the
 *   cursor (schema-walk.ts): the root keys, a step's keys (of its `type:` when written), an
 *   input's keys, `retry:`'s, `hooks: onError: config:`'s (of the hook's type), `gate:`'s, …;
 *   nothing in free-form mappings (`with:`, `outputs:`);
 * - values after `key: ` where the schema names them: step and input types, enum members
 *   (`backoff: exponential | linear | fixed`, `join: all | any`, methods), booleans;
 * - inside `{{ … }}`: the roots (docs/workflows.md, "What a template may read"), then the
 *   workflow's own step ids after `steps.`, its declared inputs after `inputs.`, a step's fields
 *   after `steps.<id>.`, and the fields of `workflow.`, `session.`, `failure.`, `loop.`, `error.`.
 *
 * - under a task step's `with:` (or the spec form's `task: { vars: }`) whose `runner:` names an
 *   installed Tool: its parameter names (type, required, description) and, after `name: `, the
 *   parameter's enum values.
 *
 * The vocabulary is the JSON Schema the worker answers (`workflow.schema`), read by
 * `vocabularyFromSchema`, and the workspace's Tools (`manifest.tools`); nothing here validates
 * (the worker does).
 */
import { keysOf, schemasAt, valuesOf, type KeyItem, type Segment } from './schema-walk.ts';

export type Item = KeyItem;

export interface Vocabulary {
  /** The workflow JSON Schema everything below is read from. */
  readonly schema: unknown;
  readonly rootKeys: readonly Item[];
  readonly stepTypes: readonly Item[];
  /** Keys of each step type. */
  readonly stepKeys: { readonly [type: string]: readonly Item[] };
  readonly inputKeys: readonly Item[];
  readonly inputTypes: readonly Item[];
  /** The workspace's installed Tools by name (manifest.tools), for `with:`. */
  readonly tools?: { readonly [name: string]: ToolInfo };
}

/** A Tool as the editor completes it. */
export interface ToolInfo {
  readonly parameters: { readonly [name: string]: { readonly type: string; readonly required: boolean; readonly description?: string; readonly enum?: readonly unknown[] } };
}

export interface Completion {
  /** Offset where the replaced word starts. */
  readonly from: number;
  readonly options: readonly { readonly label: string; readonly type: 'keyword' | 'property' | 'variable'; readonly detail?: string }[];
}

/** What the editor offers, read from the workflow JSON Schema (and the workspace's Tools, by name). */
export function vocabularyFromSchema(schema: unknown, tools: readonly ({ readonly name: string } & ToolInfo)[] = []): Vocabulary {
  const steps = schemasAt(schema, [{ key: 'steps' }, { item: true }], [undefined, undefined, undefined]);
  const stepTypes = valuesOf(schema, steps, 'type');
  const stepKeys: Record<string, Item[]> = {};
  for (const t of stepTypes) stepKeys[t.label] = keysOf(schema, schemasAt(schema, [{ key: 'steps' }, { item: true }], [undefined, undefined, t.label]));
  const input = schemasAt(schema, [{ key: 'inputs' }, { key: 'x' }], [undefined, undefined, undefined]);
  return {
    schema,
    rootKeys: keysOf(schema, schemasAt(schema, [], [undefined])),
    stepTypes,
    stepKeys,
    inputKeys: keysOf(schema, input),
    inputTypes: valuesOf(schema, input, 'type'),
    tools: Object.fromEntries(tools.map((t) => [t.name, { parameters: t.parameters }])),
  };
}

interface Line {
  readonly text: string;
  /** 0-based column of its key (after indentation and `- ` markers); -1 without content. */
  readonly keyCol: number;
  /** 0-based column of its last `- ` marker, or -1. */
  readonly dashCol: number;
  readonly key: string | undefined;
}

function readLine(text: string): Line {
  const m = /^((?:\s*-\s+)*)(\s*)(.*)$/.exec(text)!;
  const lead = m[1]! + m[2]!;
  const content = m[3]!;
  if (content === '' && m[1] === '' || content.startsWith('#')) return { text, keyCol: -1, dashCol: -1, key: undefined };
  const dash = m[1] === '' ? -1 : m[1]!.lastIndexOf('-');
  const key = /^([^\s#:'"][^:#]*?)\s*:(?:\s|$)/.exec(content)?.[1];
  return { text, keyCol: lead.length, dashCol: dash, key };
}

interface Mapping {
  /** Its first line and the column of its keys. */
  readonly start: number;
  /** The line holding the key whose value it is (or whose list it is an item of); -1 at the root; -2 when unknown. */
  readonly owner: number;
  readonly item: boolean;
}

/** The mapping holding the key at column `col` of line `index`. */
function mappingOf(lines: readonly Line[], index: number, col: number): Mapping {
  let start = index;
  for (let i = index; i >= 0; i--) {
    const l = lines[i]!;
    if (l.keyCol < 0 || l.keyCol > col) continue;
    if (l.keyCol === col) {
      start = i;
      if (l.dashCol < 0) continue;
      // A list item starts here: its list's key is the nearest line above indented at most to the dash.
      for (let j = i - 1; j >= 0; j--) {
        const o = lines[j]!;
        if (o.keyCol >= 0 && o.keyCol <= l.dashCol) return { start, owner: j, item: true };
      }
      return { start, owner: -2, item: true };
    }
    return { start, owner: i, item: false };
  }
  return { start, owner: col === 0 ? -1 : -2, item: false };
}

/**
 * The key path from the root to the mapping holding column `col` of line `index`, and the `type:`
 * written in each mapping on the way (see schema-walk.ts for the shape); null when the indentation
 * does not say.
 */
function pathAt(lines: readonly Line[], index: number, col: number, skipLine: number): { path: Segment[]; types: (string | undefined)[] } | null {
  const mappingTypes: (string | undefined)[] = [];
  const reversed: { seg: Segment; holder: number }[] = [];
  let at = index;
  let c = col;
  for (let guard = 0; guard < 64; guard++) {
    const m = mappingOf(lines, at, c);
    mappingTypes.push(typeIn(lines, m.start, c, skipLine));
    if (m.owner === -1) break;
    const o = m.owner >= 0 ? lines[m.owner]! : undefined;
    if (o === undefined || o.key === undefined) return null;
    if (m.item) reversed.push({ seg: { item: true }, holder: -1 });
    reversed.push({ seg: { key: o.key }, holder: mappingTypes.length });
    at = m.owner;
    c = o.keyCol;
  }
  const segs = reversed.reverse();
  return {
    path: segs.map((s) => s.seg),
    types: [...segs.map((s) => (s.holder < 0 ? undefined : mappingTypes[s.holder])), mappingTypes[0]],
  };
}

/** The `type:` (or another key's plain value) written in the mapping starting at line `first`, column `col`. */
function typeIn(lines: readonly Line[], first: number, col: number, skipLine: number, key = 'type'): string | undefined {
  for (let i = first; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.keyCol < 0 || i === skipLine) continue;
    if (i > first && (l.keyCol < col || (l.keyCol === col && l.dashCol >= 0))) break;
    if (l.keyCol === col && l.key === key) return /:\s*['"]?([\w.-]+)/.exec(l.text.slice(l.keyCol))?.[1];
  }
  return undefined;
}

/** The Tool whose parameters the mapping at column `col` of line `index` holds: `with:` (or `vars:`) beside a `runner:` naming it. */
function toolAt(lines: readonly Line[], index: number, col: number, vocab: Vocabulary): ToolInfo | undefined {
  if (!vocab.tools) return undefined;
  const m = mappingOf(lines, index, col);
  const owner = m.owner >= 0 && !m.item ? lines[m.owner]! : undefined;
  if (owner === undefined || (owner.key !== 'with' && owner.key !== 'vars')) return undefined;
  const runner = typeIn(lines, mappingOf(lines, m.owner, owner.keyCol).start, owner.keyCol, -1, 'runner');
  return runner !== undefined && Object.hasOwn(vocab.tools, runner) ? vocab.tools[runner] : undefined;
}

function parameterItems(tool: ToolInfo): Item[] {
  return Object.entries(tool.parameters).map(([label, p]) => ({ label, detail: `${p.type}${p.required ? ', required' : ''}${p.description ? ` — ${p.description}` : ''}` }));
}

/** Step ids written in the document (`id: x` keys, in order, once each). */
export function stepIds(text: string): string[] {
  const ids = [...text.matchAll(/^(?:\s*-\s+|\s+)id:\s*['"]?([a-z][a-z0-9_-]*)/gm)].map((m) => m[1]!);
  return [...new Set(ids)];
}

/** Input names declared under the top-level `inputs:`. */
export function inputNames(text: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^inputs:\s*(#.*)?$/.test(l));
  if (start < 0) return [];
  const out: string[] = [];
  let col = -1;
  for (const l of lines.slice(start + 1)) {
    const r = readLine(l);
    if (r.keyCol < 0) continue;
    if (r.keyCol === 0) break;
    if (col < 0) col = r.keyCol;
    if (r.keyCol === col && r.key !== undefined) out.push(r.key);
  }
  return out;
}

const TEMPLATE_ROOTS: readonly Item[] = [
  { label: 'inputs', detail: 'the session\'s inputs' },
  { label: 'steps', detail: 'upstream steps: output, status, error, attempts' },
  { label: 'workflow', detail: 'name, version' },
  { label: 'session', detail: 'id, startedAt' },
  { label: 'env', detail: 'the runtime environment (unset names read as null)' },
  { label: 'secrets', detail: 'templates only: a secret of this workspace' },
  { label: 'failure', detail: 'why an onFailure route re-runs this step (else null)' },
  { label: 'loop', detail: 'inside a loop body: index' },
  { label: 'result', detail: 'in a step\'s outputs: the runner\'s raw result' },
  { label: 'output', detail: 'in gate and hooks.onComplete: the output' },
  { label: 'error', detail: 'in hooks.onError: the error' },
];
const FIELDS: { readonly [root: string]: readonly string[] } = {
  workflow: ['name', 'version'],
  session: ['id', 'startedAt'],
  failure: ['step', 'reasons', 'loop', 'error'],
  loop: ['index'],
  error: ['type', 'message'],
};
const STEP_FIELDS = ['output', 'status', 'error', 'attempts'];

function template(text: string, pos: number, before: string): Completion | null {
  const open = before.lastIndexOf('{{');
  if (open < 0 || before.indexOf('}}', open) >= 0) return null;
  const m = /((?:[A-Za-z_$][\w$-]*\.)*)([\w$-]*)$/.exec(before.slice(open + 2))!;
  const path = m[1]!.split('.').filter((s) => s !== '');
  const from = pos - m[2]!.length;
  const v = (labels: readonly (string | Item)[]): Completion => ({
    from,
    options: labels.map((l) => (typeof l === 'string' ? { label: l, type: 'variable' as const } : { ...l, type: 'variable' as const })),
  });
  if (path.length === 0) return v(TEMPLATE_ROOTS);
  if (path.length === 1 && path[0] === 'steps') return v(stepIds(text));
  if (path.length === 1 && path[0] === 'inputs') return v(inputNames(text));
  if (path.length === 2 && path[0] === 'steps') return v(STEP_FIELDS);
  if (path.length === 1 && FIELDS[path[0]!]) return v(FIELDS[path[0]!]!);
  return null;
}

/** What to offer at `pos` in `text`, or null for nothing. */
export function completeAt(text: string, pos: number, vocab: Vocabulary): Completion | null {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  const before = text.slice(lineStart, pos);
  const inTemplate = template(text, pos, before);
  if (inTemplate !== null || before.includes('{{')) return inTemplate;
  const lines = text.split('\n').map(readLine);
  const index = text.slice(0, lineStart).split('\n').length - 1;
  // A value after `key: ` (enum members, constants, booleans), the step type included.
  const value = /^((?:\s*-\s+)*\s*)([\w-]+):\s+([\w-]*)$/.exec(before);
  if (value) {
    const tool = toolAt(lines, index, value[1]!.length, vocab);
    if (tool) {
      const values = (tool.parameters[value[2]!]?.enum ?? []).map((e) => ({ label: typeof e === 'string' ? e : JSON.stringify(e), type: 'keyword' as const }));
      return values.length === 0 ? null : { from: pos - value[3]!.length, options: values };
    }
    const where = pathAt(lines, index, value[1]!.length, index);
    if (where === null) return null;
    const items = valuesOf(vocab.schema, schemasAt(vocab.schema, where.path, where.types), value[2]!);
    return items.length === 0 ? null : { from: pos - value[3]!.length, options: items.map((i) => ({ ...i, type: 'keyword' as const })) };
  }
  const key = /^((?:\s*-\s+)*\s*)([\w-]*)$/.exec(before);
  if (!key) return null;
  const tool = toolAt(lines, index, key[1]!.length, vocab);
  if (tool) return { from: pos - key[2]!.length, options: parameterItems(tool).map((i) => ({ ...i, type: 'property' as const })) };
  const where = pathAt(lines, index, key[1]!.length, -1);
  if (where === null) return null;
  const items = keysOf(vocab.schema, schemasAt(vocab.schema, where.path, where.types));
  return items.length === 0 ? null : { from: pos - key[2]!.length, options: items.map((i) => ({ ...i, type: 'property' as const })) };
}
