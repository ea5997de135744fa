/**
 * Value rules shared by the interpreter, the functions and the template renderer.
 *
 * Invariants:
 * 1. Data is read only from OWN DATA properties (`Object.getOwnPropertyDescriptor(..).value`):
 *    the prototype chain is never consulted and getters never run.
 * 2. Only plain objects (prototype `Object.prototype` or `null`) and arrays are walked; strings
 *    expose `length` and their characters by index; everything else has no members.
 * 3. Functions and symbols read from data become `undefined`, so no result exposes a function.
 * 4. Encoding to JSON/text is bounded (depth, cycles, output length) and never calls `toJSON`,
 *    getters or any other method on the data.
 */
import { FORBIDDEN_KEYS, LIMITS } from './ast.ts';

/** What a walker reports to: a step counter and a typed failure at the caller's position. */
export interface Budget {
  /** Spend `n` steps; throws `evaluation_error` when the budget is exhausted. */
  charge(n: number): void;
  /** Throw `evaluation_error` with this problem and fix. */
  fail(problem: string, fix: string): never;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A short type name for messages: `string`, `number`, `array`, `object`, `null`, `undefined`, … */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return isPlainObject(value) ? 'object' : 'non-plain object';
  return typeof value;
}

export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

/** An own data property, or `undefined` (missing, accessor, function or symbol). */
export function readOwn(target: object, key: string): unknown {
  const desc = Object.getOwnPropertyDescriptor(target, key);
  if (desc === undefined || !('value' in desc)) return undefined;
  return dataOnly(desc.value);
}

/**
 * `target[key]` under the language's member rules (invariant 2); the caller has already refused
 * forbidden keys. Missing members are `undefined`, never an error.
 */
export function readMember(target: unknown, key: string): unknown {
  if (typeof target === 'string') {
    if (key === 'length') return target.length;
    const index = toIndex(key);
    return index !== undefined && index < target.length ? target[index] : undefined;
  }
  if (Array.isArray(target) || isPlainObject(target)) return readOwn(target, key);
  return undefined;
}

/** Own enumerable string keys of a plain object or array (never inherited ones). */
export function ownKeys(target: object): string[] {
  return Object.keys(target);
}

/** Functions and symbols are not data: they read as `undefined`. */
export function dataOnly(value: unknown): unknown {
  return typeof value === 'function' || typeof value === 'symbol' ? undefined : value;
}

/**
 * JSON text for `value` without calling anything on it (invariant 4). Like JSON.stringify:
 * non-finite numbers and holes become `null`, `undefined`/functions are dropped from objects and
 * become `null` in arrays; a top-level `undefined` is `null`. Bigints, non-plain objects, cycles,
 * depth over `LIMITS.maxDataDepth` or output over `LIMITS.maxStringLength` fail through `budget`.
 */
export function encodeJson(value: unknown, budget: Budget): string {
  const out: string[] = [];
  const state = { length: 0, ancestors: new Set<object>() };
  const push = (text: string): void => {
    state.length += text.length;
    if (state.length > LIMITS.maxStringLength) {
      budget.fail(`The JSON text is longer than ${LIMITS.maxStringLength} characters`, 'Encode a smaller part of the data.');
    }
    out.push(text);
  };
  encodeInto(value, budget, push, state.ancestors, 0);
  return out.join('');
}

/**
 * Text for a template placeholder or join(): strings as they are, numbers/booleans/bigints via
 * String, `null`/`undefined` as '', arrays and objects as JSON.
 */
export function toText(value: unknown, budget: Budget): string {
  if (value === null || value === undefined) return '';
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    default:
      return encodeJson(value, budget);
  }
}

// ---------------------------------------------------------------------------------------------

function toIndex(key: string): number | undefined {
  if (!/^(?:0|[1-9]\d{0,15})$/.test(key)) return undefined;
  return Number(key);
}

function encodeInto(value: unknown, budget: Budget, push: (s: string) => void, ancestors: Set<object>, depth: number): void {
  budget.charge(1);
  if (value === null || value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    push('null');
    return;
  }
  switch (typeof value) {
    case 'string':
      push(JSON.stringify(value));
      return;
    case 'number':
      push(Number.isFinite(value) ? JSON.stringify(value) : 'null');
      return;
    case 'boolean':
      push(value ? 'true' : 'false');
      return;
    case 'bigint':
      budget.fail('A bigint cannot be encoded as JSON', 'Convert it to a number or string in the step that produced it.');
  }
  if (!Array.isArray(value) && !isPlainObject(value)) {
    budget.fail('Only plain objects, arrays and primitives can be encoded as JSON (found a non-plain object)', 'Pass plain data in the scope.');
  }
  const obj = value as object;
  if (depth >= LIMITS.maxDataDepth) {
    budget.fail(`The data is nested deeper than ${LIMITS.maxDataDepth} levels`, 'Encode a smaller part of the data.');
  }
  if (ancestors.has(obj)) budget.fail('The data contains a cycle', 'Encode a part of the data without the cycle.');
  ancestors.add(obj);
  if (Array.isArray(obj)) {
    push('[');
    for (let i = 0; i < obj.length; i++) {
      if (i > 0) push(',');
      encodeInto(readOwn(obj, String(i)), budget, push, ancestors, depth + 1);
    }
    push(']');
  } else {
    push('{');
    let first = true;
    for (const key of ownKeys(obj)) {
      const item = readOwn(obj, key);
      if (item === undefined) continue;
      if (!first) push(',');
      first = false;
      push(JSON.stringify(key));
      push(':');
      encodeInto(item, budget, push, ancestors, depth + 1);
    }
    push('}');
  }
  ancestors.delete(obj);
}
