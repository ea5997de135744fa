/**
 * Canonical JSON encoding (the bytes that get hashed and signed).
 *
 * Invariants:
 * 1. Object keys are sorted by UTF-16 code units at every depth, no whitespace; so two values that
 *    are equal as JSON encode to identical strings whatever their key insertion order (RFC 8785
 *    style; numbers use the ECMAScript shortest round-trip form, as JSON.stringify does).
 * 2. Only JSON values are accepted: `undefined`, functions, symbols, bigints, non-finite numbers
 *    and non-plain objects throw, so nothing is silently dropped from a hash.
 */
import { KernelError } from '../errors.ts';

export function canonicalJson(value: unknown): string {
  return encode(value, '$');
}

function encode(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) {
        throw new KernelError('invalid_payload', `${path}: ${value} is not a finite JSON number; send a finite number.`, { path });
      }
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += encode(value[i], `${path}[${i}]`);
        }
        return out + ']';
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new KernelError('invalid_payload', `${path}: only plain JSON objects can be stored; got ${describe(value)}.`, { path });
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const v = record[key];
        if (v === undefined) continue; // JSON has no undefined: an absent key, as JSON.stringify does
        if (!first) out += ',';
        first = false;
        out += JSON.stringify(key) + ':' + encode(v, `${path}.${key}`);
      }
      return out + '}';
    }
    default:
      throw new KernelError('invalid_payload', `${path}: a ${typeof value} is not a JSON value; send JSON data only.`, { path });
  }
}

function describe(value: object): string {
  const ctor = (value as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === 'string' ? `a ${ctor.name}` : 'a non-plain object';
}
