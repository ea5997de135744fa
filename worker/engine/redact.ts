/**
 * Secret redaction: keep secret values out of step outputs, errors and logs.
 *
 * Invariants:
 * 1. Every occurrence of a secret value inside any string (object keys included) becomes
 *    `[secret:NAME]`. Values shorter than `MIN_SECRET_LENGTH` are ignored (redacting "a" or "1"
 *    would mangle everything).
 * 2. Longest secrets win: where several secrets match at the same place the longest is replaced,
 *    and a secret inside a longer one is not replaced separately. Where matches overlap without
 *    nesting, the whole overlapped run is replaced by each secret's placeholder in order, so no
 *    part of any secret is left in clear text. Replacement is a single pass: a placeholder is never
 *    redacted again.
 * 3. `redactSecrets` returns a deep copy (arrays and plain objects are rebuilt, `__proto__` keys
 *    stay own data properties); numbers, booleans, null and other objects are kept as they are. It
 *    never mutates its input. Two keys that redact to the same text collapse into one (the last).
 */
import type { StepError } from './runners/types.ts';

export const MIN_SECRET_LENGTH = 4;

interface Secret {
  readonly name: string;
  readonly value: string;
}

/** Usable secrets, longest value first (ties: by name, for a stable result). */
function prepare(secrets: ReadonlyMap<string, string>): Secret[] {
  const list: Secret[] = [];
  for (const [name, value] of secrets) if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) list.push({ name, value });
  return list.sort((a, b) => b.value.length - a.value.length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

interface Hit {
  readonly start: number;
  readonly end: number;
  readonly name: string;
  /** Rank in the prepared list (lower = longer). */
  readonly rank: number;
}

function redactText(text: string, list: readonly Secret[]): string {
  if (list.length === 0 || text.length < MIN_SECRET_LENGTH) return text;
  const hits: Hit[] = [];
  list.forEach((s, rank) => {
    for (let i = text.indexOf(s.value); i !== -1; i = text.indexOf(s.value, i + 1)) hits.push({ start: i, end: i + s.value.length, name: s.name, rank });
  });
  if (hits.length === 0) return text;
  hits.sort((a, b) => a.start - b.start || a.rank - b.rank);
  let out = '';
  let pos = 0;
  let i = 0;
  while (i < hits.length) {
    const first = hits[i]!;
    out += text.slice(pos, first.start);
    let end = first.end;
    const names = [first.name];
    for (i++; i < hits.length && hits[i]!.start < end; i++) {
      const h = hits[i]!;
      if (h.end > end) {
        end = h.end;
        if (!names.includes(h.name)) names.push(h.name);
      }
    }
    out += names.map((n) => `[secret:${n}]`).join('');
    pos = end;
  }
  return out + text.slice(pos);
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function copy(value: unknown, list: readonly Secret[], seen: Map<object, unknown>): unknown {
  if (typeof value === 'string') return redactText(value, list);
  if (typeof value !== 'object' || value === null) return value;
  const done = seen.get(value);
  if (done !== undefined) return done;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(copy(item, list, seen));
    return out;
  }
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const key of Object.keys(value)) {
    const v = copy((value as Record<string, unknown>)[key], list, seen);
    Object.defineProperty(out, redactText(key, list), { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A deep copy of `value` with every secret value replaced by `[secret:NAME]` (see invariants). */
export function redactSecrets<T>(value: T, secrets: ReadonlyMap<string, string>): T {
  return copy(value, prepare(secrets), new Map()) as T;
}

/** The error with its message and details redacted (`type` and `retryable` are kept). */
export function redactError(e: StepError, secrets: ReadonlyMap<string, string>): StepError {
  const list = prepare(secrets);
  return {
    type: e.type,
    message: redactText(e.message, list),
    retryable: e.retryable,
    details: copy(e.details, list, new Map()) as StepError['details'],
  };
}

/** Whether any string (or object key) inside `value` contains a secret value (≥ 4 chars). */
export function containsSecret(value: unknown, secrets: ReadonlyMap<string, string>): boolean {
  const list = prepare(secrets);
  if (list.length === 0) return false;
  const seen = new Set<object>();
  const has = (text: string): boolean => list.some((s) => text.includes(s.value));
  const walk = (v: unknown): boolean => {
    if (typeof v === 'string') return has(v);
    if (typeof v !== 'object' || v === null || seen.has(v)) return false;
    seen.add(v);
    if (Array.isArray(v)) return v.some(walk);
    if (!isPlainObject(v)) return false;
    return Object.keys(v).some((k) => has(k) || walk((v as Record<string, unknown>)[k]));
  };
  return walk(value);
}
