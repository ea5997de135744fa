/**
 * Completion for workflow YAML, without CodeMirror (pure, unit-tested): what to offer at a cursor.
 *
 * - step types after `type: ` in a step, input types after `type: ` in an input;
 * - keys at the start of a line: the root keys, a step's keys (of its type when `type:` is
 *   written), an input's keys;
 * - inside `{{ … }}`: the roots (`inputs`, `steps`, `workflow`, `session`, `env`), then the
 *   workflow's own step ids after `steps.`, its declared inputs after `inputs.`, `output` after
 *   `steps.<id>.`, and the fields of `workflow.` and `session.`.
 *
 * The vocabulary comes from the JSON Schema the worker answers (`workflow.schema`), read by
 * `vocabularyFromSchema`; nothing here validates (the worker does).
 */

export interface Item {
  readonly label: string;
  readonly detail?: string;
}

export interface Vocabulary {
  readonly rootKeys: readonly Item[];
  readonly stepTypes: readonly Item[];
  /** Keys of each step type. */
  readonly stepKeys: { readonly [type: string]: readonly Item[] };
  readonly inputKeys: readonly Item[];
  readonly inputTypes: readonly Item[];
  /** Keys whose value is a list of steps (`steps` and the nested ones). */
  readonly stepLists: ReadonlySet<string>;
}

export interface Completion {
  /** Offset where the replaced word starts. */
  readonly from: number;
  readonly options: readonly { readonly label: string; readonly type: 'keyword' | 'property' | 'variable'; readonly detail?: string }[];
}

type Schema = { readonly [k: string]: unknown };
const isObj = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const short = (d: unknown): string | undefined => (typeof d === 'string' ? (d.length > 80 ? `${d.slice(0, 79)}…` : d) : undefined);

function keysOf(schema: unknown): Item[] {
  const props = isObj(schema) && isObj(schema['properties']) ? schema['properties'] : {};
  return Object.entries(props).map(([label, s]) => ({ label, detail: isObj(s) ? short(s['description']) : undefined }));
}

/** What the editor offers, read from the workflow JSON Schema (`$defs.Step.oneOf`, `$defs.Input`). */
export function vocabularyFromSchema(schema: unknown): Vocabulary {
  const root = isObj(schema) ? schema : {};
  const defs = isObj(root['$defs']) ? root['$defs'] : {};
  const step = isObj(defs['Step']) ? defs['Step'] : {};
  const variants = Array.isArray(step['oneOf']) ? step['oneOf'].filter(isObj) : [];
  const stepTypes: Item[] = [];
  const stepKeys: Record<string, Item[]> = {};
  for (const v of variants) {
    const t = isObj(v['properties']) && isObj(v['properties']['type']) ? v['properties']['type']['const'] : undefined;
    if (typeof t !== 'string') continue;
    stepTypes.push({ label: t, detail: short(v['description']) });
    stepKeys[t] = keysOf(v);
  }
  const stepLists = new Set<string>();
  const walk = (node: unknown, depth: number): void => {
    if (depth > 12) return;
    if (Array.isArray(node)) node.forEach((n) => walk(n, depth + 1));
    if (!isObj(node)) return;
    if (isObj(node['properties'])) {
      for (const [k, p] of Object.entries(node['properties'])) {
        if (isObj(p) && isObj(p['items']) && p['items']['$ref'] === '#/$defs/Step') stepLists.add(k);
      }
    }
    for (const v of Object.values(node)) walk(v, depth + 1);
  };
  walk(root, 0);
  const input = defs['Input'];
  const inputType = isObj(input) && isObj(input['properties']) && isObj(input['properties']['type']) ? input['properties']['type']['enum'] : undefined;
  return {
    rootKeys: keysOf(root), stepTypes, stepKeys, inputKeys: keysOf(input), stepLists,
    inputTypes: Array.isArray(inputType) ? inputType.filter((x): x is string => typeof x === 'string').map((label) => ({ label })) : [],
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

type Where = { kind: 'root' } | { kind: 'step'; type: string | undefined } | { kind: 'input' } | { kind: 'other' };

/** What mapping the key at column `col` of line `index` belongs to. */
function whereAt(lines: readonly Line[], index: number, col: number, stepLists: ReadonlySet<string>): Where {
  if (col === 0) return { kind: 'root' };
  // The first line of this mapping (a `- ` item start, or the first key under its parent key).
  let first = index;
  let parent = -1;
  for (let i = index; i >= 0; i--) {
    const l = lines[i]!;
    if (l.keyCol < 0) continue;
    if (i !== index && l.keyCol === col) first = i;
    if (l.dashCol >= 0 && l.keyCol === col) { first = i; break; }
    if (l.keyCol < col && i !== index) { parent = i; break; }
  }
  const item = lines[first]!;
  if (item.dashCol >= 0 && item.keyCol === col) {
    // A list item: its list's key is the nearest line above indented less than the dash.
    for (let i = first - 1; i >= 0; i--) {
      const l = lines[i]!;
      if (l.keyCol < 0 || l.keyCol > item.dashCol) continue;
      if (l.key !== undefined && stepLists.has(l.key)) return { kind: 'step', type: typeIn(lines, first, col) };
      return { kind: 'other' };
    }
    return { kind: 'other' };
  }
  if (parent >= 0) {
    const p = lines[parent]!;
    // `inputs:` at the root holds names; each name's mapping is an input.
    for (let i = parent - 1; i >= 0 && p.keyCol > 0; i--) {
      const l = lines[i]!;
      if (l.keyCol < 0 || l.keyCol >= p.keyCol) continue;
      if (l.keyCol === 0 && l.key === 'inputs') return { kind: 'input' };
      break;
    }
  }
  return { kind: 'other' };
}

/** The `type:` written in the mapping starting at line `first`, column `col`. */
function typeIn(lines: readonly Line[], first: number, col: number): string | undefined {
  for (let i = first; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.keyCol < 0) continue;
    if (i > first && (l.keyCol < col || (l.keyCol === col && l.dashCol >= 0))) break;
    if (l.keyCol === col && l.key === 'type') return /:\s*['"]?([\w-]+)/.exec(l.text.slice(l.keyCol))?.[1];
  }
  return undefined;
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

const TEMPLATE_ROOTS = ['inputs', 'steps', 'workflow', 'session', 'env'];
const ROOT_FIELDS: { readonly [root: string]: readonly string[] } = { workflow: ['name', 'version'], session: ['id', 'startedAt'] };

function template(text: string, pos: number, before: string): Completion | null {
  const open = before.lastIndexOf('{{');
  if (open < 0 || before.indexOf('}}', open) >= 0) return null;
  const m = /((?:[A-Za-z_$][\w$-]*\.)*)([\w$-]*)$/.exec(before.slice(open + 2))!;
  const path = m[1]!.split('.').filter((s) => s !== '');
  const from = pos - m[2]!.length;
  const v = (labels: readonly string[]): Completion => ({ from, options: labels.map((label) => ({ label, type: 'variable' as const })) });
  if (path.length === 0) return v(TEMPLATE_ROOTS);
  if (path.length === 1 && path[0] === 'steps') return v(stepIds(text));
  if (path.length === 1 && path[0] === 'inputs') return v(inputNames(text));
  if (path.length === 2 && path[0] === 'steps') return v(['output']);
  if (path.length === 1 && ROOT_FIELDS[path[0]!]) return v(ROOT_FIELDS[path[0]!]!);
  return null;
}

/** What to offer at `pos` in `text`, or null for nothing. */
export function completeAt(text: string, pos: number, vocab: Vocabulary): Completion | null {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  const before = text.slice(lineStart, pos);
  const inTemplate = template(text, pos, before);
  if (inTemplate !== null || before.includes('{{')) return inTemplate;
  const all = text.split('\n');
  const index = text.slice(0, lineStart).split('\n').length - 1;
  const lines = all.map(readLine);
  const typeValue = /^((?:\s*-\s+)*\s*)type:\s*([\w-]*)$/.exec(before);
  if (typeValue) {
    const where = whereAt(lines, index, typeValue[1]!.length, vocab.stepLists);
    const items = where.kind === 'input' ? vocab.inputTypes : where.kind === 'step' ? vocab.stepTypes : [];
    return items.length === 0 ? null : { from: pos - typeValue[2]!.length, options: items.map((i) => ({ ...i, type: 'keyword' as const })) };
  }
  const key = /^((?:\s*-\s+)*\s*)([\w-]*)$/.exec(before);
  if (!key) return null;
  const where = whereAt(lines, index, key[1]!.length, vocab.stepLists);
  const items = where.kind === 'root' ? vocab.rootKeys
    : where.kind === 'input' ? vocab.inputKeys
      : where.kind === 'step' ? (where.type !== undefined && vocab.stepKeys[where.type] ? vocab.stepKeys[where.type]! : unionKeys(vocab))
        : [];
  return items.length === 0 ? null : { from: pos - key[2]!.length, options: items.map((i) => ({ ...i, type: 'property' as const })) };
}

function unionKeys(vocab: Vocabulary): Item[] {
  const seen = new Map<string, Item>();
  for (const keys of Object.values(vocab.stepKeys)) for (const k of keys) if (!seen.has(k.label)) seen.set(k.label, k);
  return [...seen.values()];
}
