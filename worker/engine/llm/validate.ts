/**
 * A small JSON Schema validator (an interpreter: no code generation, no eval) for the subset that
 * workflow output schemas use.
 *
 * Supported keywords: `type` (object, array, string, number, integer, boolean, null, or a list of
 * them), `properties`, `required`, `additionalProperties` (false, true or a schema), `items` (a
 * schema), `enum`, `const`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum` (numbers),
 * `minLength`, `maxLength` (in code points), `minItems`, `maxItems`, `anyOf`. Other keywords
 * (`description`, `title`, `format`, ...) are ignored. A schema of `true` or `{}` accepts anything;
 * `false` accepts nothing.
 *
 * Invariants:
 * 1. Errors carry a path from the root (`$`, `$.user.name`, `$.items[2]`, `$["odd key"]`) and a
 *    readable message; at most `maxErrors` are returned (default 20).
 * 2. `validateJson` never throws on any value or schema: a malformed schema keyword is reported
 *    as an error at the path where it was met.
 */
export interface SchemaError {
  readonly path: string;
  readonly message: string;
}

const TYPES = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'];

export function validateJson(value: unknown, schema: unknown, maxErrors = 20): SchemaError[] {
  const errors: SchemaError[] = [];
  check(value, schema, '$', errors, maxErrors);
  return errors.slice(0, maxErrors);
}

/** `$.a: expected string, got number; $.b: is required` */
export function formatSchemaErrors(errors: readonly SchemaError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join('; ');
}

function check(value: unknown, schema: unknown, path: string, errors: SchemaError[], max: number): void {
  if (errors.length >= max) return;
  if (schema === true) return;
  if (schema === false) return void errors.push({ path, message: 'no value is allowed here' });
  if (!isObject(schema)) return void errors.push({ path, message: 'the schema here is not an object' });
  const add = (message: string, at = path): void => void errors.push({ path: at, message });

  const type = schema['type'];
  if (type !== undefined) {
    const types = Array.isArray(type) ? type : [type];
    if (!types.every((t) => typeof t === 'string' && TYPES.includes(t))) return add(`the schema has an unknown type ${JSON.stringify(type)}`);
    if (!types.some((t) => hasType(value, t as string))) return add(`expected ${types.join(' or ')}, got ${typeName(value)}`);
  }
  if ('const' in schema && !deepEqual(value, schema['const'])) add(`must be ${JSON.stringify(schema['const'])}`);
  const en = schema['enum'];
  if (Array.isArray(en) && !en.some((v) => deepEqual(value, v))) add(`must be one of ${en.map((v) => JSON.stringify(v)).join(', ')}, got ${short(value)}`);
  const anyOf = schema['anyOf'];
  if (Array.isArray(anyOf) && anyOf.length > 0 && !anyOf.some((s) => validateJson(value, s, 1).length === 0)) add('matches none of the allowed alternatives (anyOf)');

  if (typeof value === 'number') {
    const min = num(schema['minimum']);
    const maxV = num(schema['maximum']);
    const xmin = num(schema['exclusiveMinimum']);
    const xmax = num(schema['exclusiveMaximum']);
    if (min !== undefined && value < min) add(`must be ≥ ${min}, got ${value}`);
    if (maxV !== undefined && value > maxV) add(`must be ≤ ${maxV}, got ${value}`);
    if (xmin !== undefined && value <= xmin) add(`must be > ${xmin}, got ${value}`);
    if (xmax !== undefined && value >= xmax) add(`must be < ${xmax}, got ${value}`);
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    const minL = num(schema['minLength']);
    const maxL = num(schema['maxLength']);
    if (minL !== undefined && length < minL) add(`must be at least ${minL} characters long, got ${length}`);
    if (maxL !== undefined && length > maxL) add(`must be at most ${maxL} characters long, got ${length}`);
  }
  if (Array.isArray(value)) {
    const minI = num(schema['minItems']);
    const maxI = num(schema['maxItems']);
    if (minI !== undefined && value.length < minI) add(`must have at least ${minI} items, got ${value.length}`);
    if (maxI !== undefined && value.length > maxI) add(`must have at most ${maxI} items, got ${value.length}`);
    const items = schema['items'];
    if (items !== undefined && !Array.isArray(items)) value.forEach((item, i) => check(item, items, `${path}[${i}]`, errors, max));
  }
  if (isObject(value)) {
    const props = isObject(schema['properties']) ? schema['properties'] : {};
    const required = schema['required'];
    if (Array.isArray(required)) {
      for (const key of required) if (typeof key === 'string' && !Object.hasOwn(value, key)) add('is required', member(path, key));
    }
    for (const [key, v] of Object.entries(value)) {
      if (Object.hasOwn(props, key)) check(v, props[key], member(path, key), errors, max);
      else if (schema['additionalProperties'] === false) add('is not allowed (no additional properties)', member(path, key));
      else if (isObject(schema['additionalProperties'])) check(v, schema['additionalProperties'], member(path, key), errors, max);
    }
  }
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object': return isObject(value);
    case 'array': return Array.isArray(value);
    case 'string': return typeof value === 'string';
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'integer': return typeof value === 'number' && Number.isInteger(value);
    case 'boolean': return typeof value === 'boolean';
    default: return value === null;
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function member(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function short(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function isObject(v: unknown): v is { [key: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural equality of JSON values (key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

