/**
 * Walking the workflow JSON Schema (as `workflow.schema` answers it) along a YAML key path, for
 * completion at any depth: `retry:` → the retry policy's keys, `hooks: onError: config:` → the
 * hook's config keys of its `type`, `backoff: ` → `exponential | linear | fixed`.
 *
 * A path is a list of steps from the root mapping: a key (`{ key }`) or a list item (`{ item }`).
 * Each mapping on the way may carry the `type:` written in it, which picks the variant of a
 * `oneOf`/`anyOf` whose `type` property is that constant (steps, hooks); without it every object
 * variant counts (their keys are merged, first description wins).
 *
 * Invariants:
 * 1. Pure and total: any input (a missing schema, a cyclic `$ref`, a path the schema does not
 *    know) gives an empty answer, never a throw.
 * 2. Only local `#/$defs/…` references are followed, at most 32 hops per lookup.
 */

export type Schema = { readonly [k: string]: unknown };
export type Segment = { readonly key: string } | { readonly item: true };

export interface KeyItem {
  readonly label: string;
  readonly detail?: string;
}

const isObj = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const short = (d: unknown): string | undefined => (typeof d === 'string' ? (d.length > 80 ? `${d.slice(0, 79)}…` : d) : undefined);

/** Follow `$ref`s to a schema of `root`'s `$defs`. */
function deref(root: Schema, s: unknown): Schema | null {
  let cur = s;
  for (let hops = 0; hops < 32; hops++) {
    if (!isObj(cur)) return null;
    const ref = cur['$ref'];
    if (typeof ref !== 'string') return cur;
    const m = /^#\/\$defs\/(.+)$/.exec(ref);
    const defs = root['$defs'];
    if (!m || !isObj(defs)) return null;
    cur = defs[m[1]!];
  }
  return null;
}

/** The alternatives a schema stands for (itself, or its oneOf/anyOf members), each dereferenced. */
function variants(root: Schema, s: unknown, depth = 0): Schema[] {
  const d = deref(root, s);
  if (d === null || depth > 8) return [];
  const alts = Array.isArray(d['oneOf']) ? d['oneOf'] : Array.isArray(d['anyOf']) ? d['anyOf'] : null;
  if (alts === null) return [d];
  return alts.flatMap((a) => variants(root, a, depth + 1));
}

function constOf(s: Schema, key: string): unknown {
  const props = s['properties'];
  return isObj(props) && isObj(props[key]) ? props[key]['const'] : undefined;
}

/** The object variants of `s`, narrowed to the one whose `type` constant is `type` when written. */
function objectVariants(root: Schema, s: unknown, type: string | undefined): Schema[] {
  const all = variants(root, s).filter((v) => isObj(v['properties']) || isObj(v['additionalProperties']));
  if (type === undefined) return all;
  const typed = all.filter((v) => constOf(v, 'type') === type);
  return typed.length > 0 ? typed : all;
}

/** The schemas one step down from `at`: a key's value, or a list's item. */
function child(root: Schema, at: readonly Schema[], seg: Segment): Schema[] {
  const out: Schema[] = [];
  for (const s of at) {
    if ('item' in seg) {
      for (const v of variants(root, s)) if (isObj(v['items'])) out.push(v['items']);
      continue;
    }
    const props = s['properties'];
    const next = isObj(props) && props[seg.key] !== undefined ? props[seg.key] : s['additionalProperties'];
    if (isObj(next)) out.push(next);
  }
  return out;
}

/**
 * The mapping schemas at the end of `path`. `types` has one entry per segment plus one: for a key
 * segment, the `type:` written in the mapping that holds the key; the last entry, the `type:`
 * written in the mapping at the end (entries for list items are not read).
 */
export function schemasAt(schema: unknown, path: readonly Segment[], types: readonly (string | undefined)[]): Schema[] {
  if (!isObj(schema)) return [];
  let at: Schema[] = [schema];
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (!('item' in seg)) at = at.flatMap((s) => objectVariants(schema, s, types[i]));
    at = child(schema, at, seg);
  }
  return at.flatMap((s) => objectVariants(schema, s, types[path.length]));
}

/** The keys a mapping with these schemas may hold, in schema order, once each. */
export function keysOf(schema: unknown, at: readonly Schema[]): KeyItem[] {
  if (!isObj(schema)) return [];
  const seen = new Map<string, KeyItem>();
  for (const s of at) {
    const props = s['properties'];
    if (!isObj(props)) continue;
    for (const [label, p] of Object.entries(props)) {
      if (!seen.has(label)) seen.set(label, { label, detail: short(deref(schema, p)?.['description']) });
    }
  }
  return [...seen.values()];
}

/** The values `key` may take in a mapping with these schemas: enum members, constants, booleans. */
export function valuesOf(schema: unknown, at: readonly Schema[], key: string): KeyItem[] {
  if (!isObj(schema)) return [];
  const seen = new Map<string, KeyItem>();
  const add = (label: string, detail?: string): void => {
    if (!seen.has(label)) seen.set(label, detail === undefined ? { label } : { label, detail });
  };
  for (const s of at) {
    const props = s['properties'];
    if (!isObj(props) || props[key] === undefined) continue;
    for (const v of variants(schema, props[key])) {
      // A discriminating constant (a step's `type`) is described by its variant.
      if (typeof v['const'] === 'string') add(v['const'], short(s['description']));
      if (Array.isArray(v['enum'])) for (const e of v['enum']) if (typeof e === 'string') add(e);
      if (v['type'] === 'boolean') { add('true'); add('false'); }
    }
  }
  return [...seen.values()];
}
