/**
 * The whitelist of functions an expression may call by bare name.
 *
 * Invariants:
 * 1. Every function is pure and deterministic: no clock, no randomness, no I/O (`now()` is
 *    deliberately absent; time comes from the scope). None is ever handed to user data.
 * 2. Arguments are checked, never coerced silently: a wrong type throws `evaluation_error`
 *    naming the function and the argument. Arity is checked when the expression is parsed.
 * 3. Work is bounded: walking a collection costs one step per element, glob matching one step
 *    per 1,000 comparisons, and built strings stay under `LIMITS.maxStringLength`.
 * 4. No user-supplied regular expression is ever compiled (`matches` is a linear glob).
 * 5. Results are plain data: strings, numbers, booleans, null/undefined, new arrays, and objects
 *    from `parseJson` without `__proto__`/`constructor`/`prototype` keys.
 */
import { FORBIDDEN_KEYS, LIMITS } from './ast.ts';
import { ExpressionError } from './errors.ts';
import { encodeJson, isPlainObject, ownKeys, readOwn, toText, type Budget } from './values.ts';

/** What a function receives besides its arguments. */
export interface CallContext extends Budget {
  /** Throw `evaluation_error`: argument `index` (0-based) should have been `expected`. */
  argError(index: number, expected: string, got: unknown): never;
}

export interface FunctionSpec {
  /** Parameter names, for messages and docs; a trailing `...` marks a variadic parameter. */
  readonly params: readonly string[];
  readonly min: number;
  readonly max: number;
  readonly call: (args: readonly unknown[], ctx: CallContext) => unknown;
}

const fns: Record<string, FunctionSpec> = Object.create(null) as Record<string, FunctionSpec>;

/** The whitelist, keyed by bare name (a null-prototype record: no inherited names). */
export const FUNCTIONS: Readonly<Record<string, FunctionSpec>> = fns;

/** Is `name` a callable function? Own keys only, so `toString`/`constructor` are not. */
export function isFunctionName(name: string): boolean {
  return Object.hasOwn(FUNCTIONS, name);
}

/** `name(a, b?)` for messages and docs. */
export function signature(name: string): string {
  const spec = FUNCTIONS[name];
  if (spec === undefined) return `${name}()`;
  const params = spec.params.map((p, i) => (i >= spec.min && !p.startsWith('...') ? `${p}?` : p));
  return `${name}(${params.join(', ')})`;
}

define('len', ['x'], 1, 1, ([x], ctx) => {
  if (typeof x === 'string' || Array.isArray(x)) return x.length;
  if (isPlainObject(x)) return ownKeys(x).length;
  return ctx.argError(0, 'a string, array or object', x);
});

define('lower', ['s'], 1, 1, ([s], ctx) => checkLength(str(s, 0, ctx).toLowerCase(), ctx));
define('upper', ['s'], 1, 1, ([s], ctx) => checkLength(str(s, 0, ctx).toUpperCase(), ctx));
define('trim', ['s'], 1, 1, ([s], ctx) => str(s, 0, ctx).trim());

define('contains', ['haystack', 'needle'], 2, 2, ([haystack, needle], ctx) => {
  if (typeof haystack === 'string') return haystack.includes(str(needle, 1, ctx));
  if (Array.isArray(haystack)) {
    ctx.charge(haystack.length);
    for (let i = 0; i < haystack.length; i++) if (readOwn(haystack, String(i)) === needle) return true;
    return false;
  }
  return ctx.argError(0, 'a string or an array', haystack);
});

define('startsWith', ['s', 'prefix'], 2, 2, ([s, p], ctx) => str(s, 0, ctx).startsWith(str(p, 1, ctx)));
define('endsWith', ['s', 'suffix'], 2, 2, ([s, p], ctx) => str(s, 0, ctx).endsWith(str(p, 1, ctx)));

define('join', ['arr', 'sep'], 1, 2, ([arr, sep], ctx) => {
  const items = array(arr, 0, ctx);
  const separator = sep === undefined ? ',' : str(sep, 1, ctx);
  ctx.charge(items.length);
  let out = '';
  for (let i = 0; i < items.length; i++) {
    out = checkLength(out + (i > 0 ? separator : '') + toText(readOwn(items, String(i)), ctx), ctx);
  }
  return out;
});

define('split', ['s', 'sep'], 2, 2, ([s, sep], ctx) => {
  const text = str(s, 0, ctx);
  const separator = str(sep, 1, ctx);
  const parts = text.split(separator);
  ctx.charge(parts.length);
  return parts;
});

define('keys', ['obj'], 1, 1, ([obj], ctx) => {
  const target = collection(obj, 0, ctx);
  const out = ownKeys(target);
  ctx.charge(out.length);
  return out;
});

define('values', ['obj'], 1, 1, ([obj], ctx) => {
  const target = collection(obj, 0, ctx);
  const keys = ownKeys(target);
  ctx.charge(keys.length);
  return keys.map((k) => readOwn(target, k));
});

define('toNumber', ['x'], 1, 1, ([x], ctx) => {
  if (typeof x === 'number') return x;
  if (typeof x === 'boolean') return x ? 1 : 0;
  if (typeof x === 'string') {
    const n = x.trim() === '' ? NaN : Number(x);
    if (Number.isNaN(n)) {
      return ctx.fail(`toNumber: ${JSON.stringify(x.slice(0, 40))} is not a number`, 'Pass a numeric string such as "42" or "3.5", or give a default with ??.');
    }
    return n;
  }
  return ctx.argError(0, 'a number, numeric string or boolean', x);
});

define('toString', ['x'], 1, 1, ([x], ctx) => (x === null ? 'null' : toText(x, ctx)));
define('json', ['x'], 1, 1, ([x], ctx) => encodeJson(x, ctx));

define('parseJson', ['s'], 1, 1, ([s], ctx) => {
  const text = str(s, 0, ctx);
  try {
    return JSON.parse(text, (key: string, value: unknown) => {
      ctx.charge(1);
      return FORBIDDEN_KEYS.has(key) ? undefined : value;
    }) as unknown;
  } catch (err) {
    if (err instanceof ExpressionError) throw err;
    // JSON.parse reports bad text as SyntaxError (and absurd nesting as RangeError): both are the
    // data's fault, not a bug, so they become a typed evaluation error.
    const reason = err instanceof Error ? err.message : String(err);
    return ctx.fail(`parseJson: the text is not valid JSON (${reason})`, 'Pass a JSON string, e.g. parseJson(\'{"a": 1}\').');
  }
});

define('min', ['...numbers'], 1, Infinity, (args, ctx) => extreme(args, ctx, 'min', (a, b) => a < b));
define('max', ['...numbers'], 1, Infinity, (args, ctx) => extreme(args, ctx, 'max', (a, b) => a > b));

define('round', ['x', 'digits'], 1, 2, ([x, digits], ctx) => {
  const n = num(x, 0, ctx);
  const d = digits === undefined ? 0 : num(digits, 1, ctx);
  if (!Number.isInteger(d) || d < -15 || d > 15) return ctx.argError(1, 'an integer between -15 and 15', digits);
  return roundTo(n, d);
});
define('floor', ['x'], 1, 1, ([x], ctx) => Math.floor(num(x, 0, ctx)));
define('ceil', ['x'], 1, 1, ([x], ctx) => Math.ceil(num(x, 0, ctx)));
define('abs', ['x'], 1, 1, ([x], ctx) => Math.abs(num(x, 0, ctx)));

define('coalesce', ['...values'], 1, Infinity, (args) => args.find((a) => a !== null && a !== undefined));
define('default', ['x', 'fallback'], 2, 2, ([x, d]) => (x === null || x === undefined ? d : x));

define('matches', ['s', 'pattern'], 2, 2, ([s, pattern], ctx) => globMatch(str(s, 0, ctx), str(pattern, 1, ctx), ctx));

// ---------------------------------------------------------------------------------------------

function define(name: string, params: string[], min: number, max: number, call: FunctionSpec['call']): void {
  fns[name] = Object.freeze({ params: Object.freeze(params), min, max, call });
}

function str(value: unknown, index: number, ctx: CallContext): string {
  return typeof value === 'string' ? value : ctx.argError(index, 'a string', value);
}

function num(value: unknown, index: number, ctx: CallContext): number {
  return typeof value === 'number' ? value : ctx.argError(index, 'a number', value);
}

function array(value: unknown, index: number, ctx: CallContext): readonly unknown[] {
  return Array.isArray(value) ? value : ctx.argError(index, 'an array', value);
}

function collection(value: unknown, index: number, ctx: CallContext): object {
  return Array.isArray(value) || isPlainObject(value) ? value : ctx.argError(index, 'an object or an array', value);
}

function checkLength(text: string, ctx: Budget): string {
  if (text.length > LIMITS.maxStringLength) {
    ctx.fail(`The result is longer than ${LIMITS.maxStringLength} characters`, 'Work on a smaller piece of text.');
  }
  return text;
}

function extreme(args: readonly unknown[], ctx: CallContext, name: string, better: (a: number, b: number) => boolean): number {
  const list = args.length === 1 && Array.isArray(args[0]) ? (args[0] as readonly unknown[]) : args;
  const fromArray = list !== args;
  ctx.charge(list.length);
  if (list.length === 0) return ctx.fail(`${name}: the array is empty`, `Give ${name} at least one number, or guard with len(x) > 0.`);
  let best: number | undefined;
  for (let i = 0; i < list.length; i++) {
    const item = fromArray ? readOwn(list, String(i)) : list[i];
    if (typeof item !== 'number') {
      return fromArray ? ctx.fail(`${name}: element ${i} of the array is ${describe(item)}, not a number`, 'Pass an array of numbers.') : ctx.argError(i, 'a number', item);
    }
    if (best === undefined || Number.isNaN(item) || better(item, best)) best = item;
  }
  return best as number;
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** Round half up (like Math.round) at `digits` decimals, shifting in decimal notation to avoid 1.005 → 1. */
function roundTo(x: number, digits: number): number {
  if (!Number.isFinite(x) || digits === 0) return Number.isFinite(x) ? Math.round(x) : x;
  const shift = (value: number, by: number): number => {
    const [mantissa = '0', exponent = '0'] = String(value).split('e');
    return Number(`${mantissa}e${Number(exponent) + by}`);
  };
  return shift(Math.round(shift(x, digits)), -digits);
}

type GlobToken = { kind: 'star' } | { kind: 'any' } | { kind: 'char'; ch: string };

/**
 * Whole-string glob match: `*` is any run of characters (including none), `?` exactly one
 * character, `\` makes the next character literal. Greedy two-pointer scan with one backtrack
 * point: O(len(s) × len(pattern)) at worst, never exponential.
 */
function globMatch(text: string, pattern: string, ctx: Budget): boolean {
  const tokens: GlobToken[] = [];
  const pchars = Array.from(pattern);
  for (let i = 0; i < pchars.length; i++) {
    const ch = pchars[i] as string;
    if (ch === '*') {
      if (tokens[tokens.length - 1]?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (ch === '?') tokens.push({ kind: 'any' });
    else if (ch === '\\' && i + 1 < pchars.length) tokens.push({ kind: 'char', ch: pchars[++i] as string });
    else tokens.push({ kind: 'char', ch });
  }
  const s = Array.from(text);
  let si = 0;
  let ti = 0;
  let starT = -1;
  let starS = 0;
  let work = 0;
  while (si < s.length) {
    if (++work % 1000 === 0) ctx.charge(1);
    const t = tokens[ti];
    if (t !== undefined && (t.kind === 'any' || (t.kind === 'char' && t.ch === s[si]))) {
      si++;
      ti++;
    } else if (t !== undefined && t.kind === 'star') {
      starT = ti++;
      starS = si;
    } else if (starT >= 0) {
      ti = starT + 1;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (tokens[ti]?.kind === 'star') ti++;
  return ti === tokens.length;
}
