/**
 * A Tool's parameters against the values a step gives (execution by name, execution.ts): what
 * session.start checks on literal `with:` values and the engine checks on rendered ones, and the
 * defaults filled in. Kept apart from execution.ts so the engine's chunk carries no semver.
 *
 * Invariants:
 * 1. Pure; values are never modified (withDefaults copies).
 */
import type { Json } from '../kernel/errors.ts';
import { didYouMean } from '../workflow/suggest.ts';
import type { ToolManifest } from './schema.ts';

export interface ParamProblem {
  /** The `with` key concerned; absent for a missing one (reported at `with`). */
  readonly key?: string;
  readonly code: 'missing_key' | 'unknown_key' | 'invalid_type' | 'invalid_value';
  readonly message: string;
}

/**
 * A Tool's parameters against the values given: required ones missing (without a default),
 * unknown keys, and each value's type and enum. With `literalOnly`, a string holding a `{{ }}`
 * template is not judged (it is rendered when the step runs).
 */
export function checkParams(tool: Pick<ToolManifest, 'name' | 'parameters'>, values: { readonly [k: string]: unknown }, literalOnly: boolean): ParamProblem[] {
  const out: ParamProblem[] = [];
  const names = Object.keys(tool.parameters);
  for (const key of Object.keys(values)) {
    if (!Object.hasOwn(tool.parameters, key)) {
      out.push({ key, code: 'unknown_key', message: `the Tool ${tool.name} has no parameter "${key}"${didYouMean(key, names)} (parameters: ${names.join(', ') || 'none'})` });
    }
  }
  for (const [name, spec] of Object.entries(tool.parameters)) {
    const v = Object.hasOwn(values, name) ? values[name] : undefined;
    if (v === undefined || v === null) {
      if (spec.required && spec.default === undefined) out.push({ code: 'missing_key', message: `the Tool ${tool.name} needs the parameter "${name}" (${spec.type}${spec.description ? `: ${spec.description}` : ''}); add it under with:` });
      continue;
    }
    if (literalOnly && typeof v === 'string' && v.includes('{{')) continue;
    if (!hasType(v, spec.type)) {
      out.push({ key: name, code: 'invalid_type', message: `the parameter "${name}" of the Tool ${tool.name} is a ${spec.type}, got ${describe(v)}` });
      continue;
    }
    if (spec.enum && !spec.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
      const hint = typeof v === 'string' ? didYouMean(v, spec.enum.filter((e): e is string => typeof e === 'string')) : '';
      out.push({ key: name, code: 'invalid_value', message: `the parameter "${name}" of the Tool ${tool.name} must be one of ${spec.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(v)}${hint}` });
    }
  }
  return out;
}

/** The values with the Tool's defaults filled in for parameters not given (copied, never shared). */
export function withDefaults(tool: Pick<ToolManifest, 'parameters'>, values: { readonly [k: string]: Json }): { [k: string]: Json } {
  const out: { [k: string]: Json } = { ...values };
  for (const [name, spec] of Object.entries(tool.parameters)) {
    if ((out[name] === undefined || out[name] === null) && spec.default !== undefined) out[name] = JSON.parse(JSON.stringify(spec.default)) as Json;
  }
  return out;
}

function hasType(v: unknown, type: ToolManifest['parameters'][string]['type']): boolean {
  switch (type) {
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'boolean': return typeof v === 'boolean';
    case 'array': return Array.isArray(v);
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object' && v !== null) return 'a mapping';
  return `the ${typeof v} ${JSON.stringify(v).slice(0, 40)}`;
}
