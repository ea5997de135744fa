/**
 * zod issues → `RawIssue`s whose message names what was expected and the fix, with did-you-mean
 * suggestions for unknown keys and enum values.
 *
 * Invariants:
 * 1. One zod issue becomes one or more raw issues (an unknown-keys issue becomes one per key, a
 *    union whose value matched one option's type reports that option's issues).
 * 2. Allowed keys come from the schema itself (walked along the path with the raw value choosing
 *    union options), so messages cannot drift from the schema.
 * 3. Only reads `_zod.def` structure; never evaluates anything.
 */
import type { z } from 'zod';
import { describeValue, type Path, type RawIssue, type WorkflowIssueCode } from './issues.ts';
import { DURATION_HINT, DURATION_PATTERN, parseDuration } from './duration.ts';
import { didYouMean, suggest } from './suggest.ts';

const DURATION_REGEX_TEXT = String(new RegExp(DURATION_PATTERN));

type Issue = z.core.$ZodIssue;

/** Convert every issue of a failed parse of `raw` against `schema`. */
export function fromZod(issues: readonly Issue[], raw: unknown, schema: z.ZodType): RawIssue[] {
  const out: Converted[] = [];
  for (const issue of issues) convert(issue, [], raw, schema, out, 0);
  // `urll: x` gives both "unknown key urll — did you mean url?" and "missing key url": keep the first.
  const misspelt = new Set(out.filter((i) => i.code === 'unknown_key' && i.suggested !== undefined).map((i) => JSON.stringify([...i.path.slice(0, -1), i.suggested])));
  return out.filter((i) => i.code !== 'missing_key' || !misspelt.has(JSON.stringify(i.path)));
}

type Converted = RawIssue & { suggested?: string };

function convert(issue: Issue, prefix: Path, raw: unknown, schema: z.ZodType, out: Converted[], depth: number): void {
  const path: Path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
  const value = valueAt(raw, path);
  switch (issue.code) {
    case 'invalid_type': {
      const parent = valueAt(raw, path.slice(0, -1));
      const key = path[path.length - 1];
      if (value === undefined && typeof key === 'string' && isObject(parent)) {
        out.push({ path, code: 'missing_key', message: `missing required key "${key}"; add ${key}: ${hintFor(schema, raw, path)}` });
      } else if (path.length === 0) {
        out.push({ path, code: 'invalid_type', message: `expected a mapping with name, version and steps; got ${describeValue(value)}` });
      } else {
        const quote = issue.expected === 'string' && (typeof value === 'number' || typeof value === 'boolean') ? ' — put it in quotes' : '';
        out.push({ path, code: 'invalid_type', message: `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}; got ${describeValue(value)}${quote}` });
      }
      return;
    }
    case 'invalid_value': {
      const options = issue.values.map(String);
      const hint = typeof value === 'string' ? didYouMean(value, options) : '';
      out.push({ path, code: 'invalid_value', message: `expected ${options.join(' | ')}; got ${describeValue(value)}${hint}` });
      return;
    }
    case 'invalid_union': {
      if (issue.discriminator !== undefined) {
        const options = ((issue as { options?: readonly unknown[] }).options ?? []).map(String);
        if (value === undefined) {
          out.push({ path, code: 'missing_key', message: `missing required key "${issue.discriminator}"; add ${issue.discriminator}: ${options.join(' | ')}` });
        } else {
          const hint = typeof value === 'string' ? didYouMean(value, options) : '';
          out.push({ path, code: 'invalid_value', message: `expected ${options.join(' | ')}; got ${describeValue(value)}${hint}` });
        }
        return;
      }
      const matched = issue.errors.filter((branch) => !branch.every((i) => i.code === 'invalid_type' && i.path.length === 0));
      if (matched.length === 1 && depth < 32) {
        for (const inner of matched[0]!) convert(inner, path, raw, schema, out, depth + 1);
        return;
      }
      out.push({ path, code: 'invalid_type', message: `${issue.message}; got ${describeValue(value)}` });
      return;
    }
    case 'unrecognized_keys': {
      const allowed = keysAt(schema, raw, path);
      for (const key of issue.keys) {
        const suggested = allowed ? suggest(key, allowed) : undefined;
        const hint = suggested !== undefined ? ` — did you mean "${suggested}"?` : '';
        const list = allowed && !hint ? `; allowed here: ${allowed.join(', ')}` : '';
        out.push({ path: [...path, key], atKey: true, code: 'unknown_key', message: `unknown key "${key}"${hint}${list}`, suggested });
      }
      return;
    }
    case 'too_small':
    case 'too_big':
      out.push({ path, code: 'out_of_range', message: rangeMessage(issue, value) });
      return;
    case 'invalid_format':
      if (issue.pattern === DURATION_REGEX_TEXT) {
        const d = parseDuration(value);
        out.push({ path, code: 'invalid_duration', message: d.ok ? `expected ${DURATION_HINT}` : d.message });
        return;
      }
      out.push({ path, code: 'invalid_format', message: `${issue.message}; got ${describeValue(value)}` });
      return;
    case 'invalid_key': {
      const inner = issue.issues[0];
      const key = path[path.length - 1];
      out.push({ path, atKey: true, code: 'invalid_format', message: `${inner?.message ?? 'invalid key'}; got the key ${JSON.stringify(String(key))}` });
      return;
    }
    case 'custom': {
      const code = (issue.params?.['code'] as WorkflowIssueCode | undefined) ?? 'invalid_value';
      out.push({ path, code, message: issue.message });
      return;
    }
    default:
      out.push({ path, code: 'invalid_value', message: issue.message });
  }
}

const TYPE_NAMES: { readonly [k: string]: string | undefined } = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
  record: 'a mapping (key: value)',
  null: 'null',
};

function rangeMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, value: unknown): string {
  const small = issue.code === 'too_small';
  const bound = Number(small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum);
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case 'array':
      return small
        ? `needs at least ${bound} item${bound === 1 ? '' : 's'}; got ${Array.isArray(value) ? value.length : 0}`
        : `allows at most ${bound} item${bound === 1 ? '' : 's'}; got ${Array.isArray(value) ? value.length : '?'}`;
    case 'string':
      return small ? (bound <= 1 ? 'must not be empty' : `needs at least ${bound} characters`) : `allows at most ${bound} characters; got ${typeof value === 'string' ? value.length : '?'}`;
    default: {
      const op = small ? (inclusive ? '≥' : '>') : (inclusive ? '≤' : '<');
      return `must be ${op} ${bound}; got ${describeValue(value)}`;
    }
  }
}

/** A hint of what to write for a missing key: the options of an enum, else "…". */
function hintFor(schema: z.ZodType, raw: unknown, path: Path): string {
  const s = schemaAt(schema, raw, path);
  const d = s === undefined ? undefined : core(s, valueAt(raw, path));
  if (d?.type === 'enum') return Object.values(d.entries ?? {}).map(String).join(' | ');
  if (d?.type === 'literal') return (d.values ?? []).map(String).join(' | ');
  if (d?.type === 'array') return '[…]';
  if (d?.type === 'object' || d?.type === 'record') return '{…}';
  return '…';
}

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  getter?: () => z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  entries?: Record<string, unknown>;
  values?: unknown[];
}

function defOf(s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

/** The allowed keys of the object schema at `path`, choosing union options by the raw value. */
function keysAt(schema: z.ZodType, raw: unknown, path: Path): string[] | undefined {
  const s = schemaAt(schema, raw, path);
  const d = s === undefined ? undefined : core(s, valueAt(raw, path));
  return d?.type === 'object' && d.shape ? Object.keys(d.shape) : undefined;
}

function schemaAt(schema: z.ZodType, raw: unknown, path: Path): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (let i = 0; i < path.length && s !== undefined; i++) {
    const d = core(s, valueAt(raw, path.slice(0, i)));
    if (d === undefined) return undefined;
    const seg = path[i]!;
    if (d.type === 'object' && typeof seg === 'string') s = d.shape && Object.hasOwn(d.shape, seg) ? d.shape[seg] : undefined;
    else if (d.type === 'array') s = d.element;
    else if (d.type === 'record') s = d.valueType;
    else return undefined;
  }
  return s;
}

/** Strip wrappers (optional, default, pipe, lazy) and pick the union option that fits `value`. */
function core(schema: z.ZodType, value: unknown): Def | undefined {
  let s: z.ZodType | undefined = schema;
  for (let guard = 0; guard < 32 && s !== undefined; guard++) {
    const d = defOf(s);
    switch (d.type) {
      case 'optional': case 'nullable': case 'default': case 'prefault': case 'readonly': case 'nonoptional': case 'catch':
        s = d.innerType;
        break;
      case 'pipe':
        s = d.in;
        break;
      case 'lazy':
        s = d.getter?.();
        break;
      case 'union':
        s = pickOption(d, value);
        break;
      default:
        return d;
    }
  }
  return undefined;
}

function pickOption(d: Def, value: unknown): z.ZodType | undefined {
  const options = d.options ?? [];
  if (d.discriminator !== undefined && isObject(value)) {
    const tag = value[d.discriminator];
    return options.find((o) => {
      const od = core(o, undefined);
      const lit = od?.shape?.[d.discriminator!];
      const ld = lit === undefined ? undefined : core(lit, undefined);
      return ld?.type === 'literal' && (ld.values ?? []).includes(tag);
    });
  }
  const kind = Array.isArray(value) ? 'array' : isObject(value) ? 'object' : typeof value;
  return options.find((o) => {
    const t = core(o, value)?.type;
    return t === kind || (kind === 'object' && t === 'record');
  }) ?? options[0];
}

function valueAt(raw: unknown, path: Path): unknown {
  let v = raw;
  for (const seg of path) {
    if (Array.isArray(v) && typeof seg === 'number') v = v[seg];
    else if (isObject(v) && Object.hasOwn(v, seg)) v = v[seg];
    else return undefined;
  }
  return v;
}

function isObject(v: unknown): v is Record<string | number, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
