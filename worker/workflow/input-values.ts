/**
 * Input values against their declarations: the file's own defaults and enums (at parse time) and
 * the values a session is started with (`validateInputs`).
 *
 * Invariants:
 * 1. A value matches `string | number | boolean | object | array` only as JSON: numbers are
 *    finite, objects are plain (prototype Object or null) and nothing nests deeper than 64 levels.
 * 2. `validateInputs` never throws and never returns shared references to the workflow's defaults
 *    (they are copied), and rejects keys the workflow does not declare.
 * 3. The returned value is plain JSON with own keys only (a `__proto__` key is refused, never set).
 */
import type { Json } from '../kernel/errors.ts';
import { suggest } from './suggest.ts';
import type { InputSpec, InputType, Workflow } from './types.ts';

export interface InputIssue {
  /** `inputs.environment` */
  readonly path: string;
  readonly code: 'invalid_inputs' | 'unknown_input' | 'missing_input' | 'invalid_type' | 'invalid_value';
  readonly message: string;
}

export type InputsResult = { ok: true; value: { [name: string]: Json } } | { ok: false; errors: InputIssue[] };

/**
 * Check `inputs` (a plain object, or undefined for none) against the workflow's declarations:
 * apply defaults, refuse unknown names, missing required ones, wrong types and values outside an
 * enum. Reports every problem; never throws.
 */
export function validateInputs(workflow: Workflow, inputs: unknown): InputsResult {
  const errors: InputIssue[] = [];
  const given = inputs === undefined || inputs === null ? {} : inputs;
  if (!isPlainObject(given)) {
    return { ok: false, errors: [{ path: 'inputs', code: 'invalid_inputs', message: `expected a mapping of input names to values; got ${kindOf(given)}` }] };
  }
  const declared = workflow.inputs;
  const value: { [name: string]: Json } = {};
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(declared, key)) {
      const hint = suggest(key, Object.keys(declared));
      errors.push({
        path: `inputs.${key}`,
        code: 'unknown_input',
        message: `"${key}" is not an input of ${workflow.name}${hint ? ` — did you mean "${hint}"?` : ''}; declared: ${Object.keys(declared).join(', ') || '(none)'}`,
      });
    }
  }
  for (const [name, spec] of Object.entries(declared)) {
    const has = Object.hasOwn(given, name) && (given as Record<string, unknown>)[name] !== undefined;
    if (!has) {
      if (spec.default !== undefined) value[name] = structuredClone(spec.default);
      else if (spec.required) errors.push({ path: `inputs.${name}`, code: 'missing_input', message: `required input "${name}" (${spec.type}) is missing; pass a value` });
      continue;
    }
    const v = (given as Record<string, unknown>)[name];
    const problem = valueProblem(v, spec);
    if (problem !== undefined) errors.push({ path: `inputs.${name}`, code: problem.code, message: problem.message });
    else value[name] = structuredClone(v) as Json;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}

/** Checks of one declaration's own `default` and `enum` (used by the schema). */
export function checkInputSpec(spec: { type: InputType; default?: unknown; enum?: unknown[] }): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  if (spec.enum !== undefined) {
    if (spec.type === 'object' || spec.type === 'array') {
      out.push({ path: ['enum'], message: `enum is only for string, number and boolean inputs; remove it from this ${spec.type} input` });
    } else {
      spec.enum.forEach((e, i) => {
        if (!matchesType(e, spec.type)) out.push({ path: ['enum', i], message: `expected ${article(spec.type)} (the input's type); got ${kindOf(e)}` });
      });
    }
  }
  if (spec.default !== undefined) {
    if (!matchesType(spec.default, spec.type)) {
      out.push({ path: ['default'], message: `expected ${article(spec.type)} (the input's type); got ${kindOf(spec.default)} — change the default or the type` });
    } else if (spec.enum !== undefined && !spec.enum.some((e) => e === spec.default)) {
      out.push({ path: ['default'], message: `the default ${JSON.stringify(spec.default)} is not in enum [${spec.enum.map((e) => JSON.stringify(e)).join(', ')}]` });
    }
  }
  return out;
}

/** Whether `v` is JSON of the declared input type. */
export function matchesType(v: unknown, type: InputType): boolean {
  switch (type) {
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'boolean': return typeof v === 'boolean';
    case 'object': return isPlainObject(v) && isJson(v, 0);
    case 'array': return Array.isArray(v) && isJson(v, 0);
  }
}

function valueProblem(v: unknown, spec: InputSpec): { code: 'invalid_type' | 'invalid_value'; message: string } | undefined {
  if (!matchesType(v, spec.type)) return { code: 'invalid_type', message: `expected ${article(spec.type)}; got ${kindOf(v)}` };
  if (spec.enum !== undefined && !spec.enum.some((e) => e === v)) {
    const hint = typeof v === 'string' ? suggest(v, spec.enum.filter((e): e is string => typeof e === 'string')) : undefined;
    return { code: 'invalid_value', message: `expected one of ${spec.enum.map((e) => JSON.stringify(e)).join(' | ')}; got ${JSON.stringify(v)}${hint ? ` — did you mean "${hint}"?` : ''}` };
  }
  return undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function isJson(v: unknown, depth: number): boolean {
  if (depth > 64) return false;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => isJson(x, depth + 1));
  if (isPlainObject(v)) return !Object.hasOwn(v, '__proto__') && Object.values(v).every((x) => isJson(x, depth + 1));
  return false;
}

function article(type: InputType): string {
  return type === 'object' || type === 'array' ? `an ${type}` : `a ${type}`;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && !Number.isFinite(v)) return `the non-finite number ${String(v)}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `the ${typeof v} ${String(v)}`;
  if (typeof v === 'object') return isPlainObject(v) ? 'an object' : 'a non-plain object';
  return `a ${typeof v}`;
}
