/**
 * The run form: one field per declared workflow input, and turning what was typed back into
 * JSON values. Pure functions.
 */
import type { Json } from '../../../worker/api.ts';
import type { InputSpec } from './types.ts';

export type FieldKind = 'text' | 'select' | 'number' | 'checkbox' | 'json';

export interface Field {
  readonly name: string;
  readonly spec: InputSpec;
  readonly kind: FieldKind;
  readonly required: boolean;
  /** Options of a select (enum values, as JSON text). */
  readonly options: readonly string[];
}

/** What the form holds for each field: text (a number input may hold a number or null), or a checkbox's boolean. */
export type FieldValues = Record<string, string | number | boolean | null>;

export function fieldsOf(inputs: { readonly [name: string]: InputSpec }): Field[] {
  return Object.entries(inputs).map(([name, spec]) => {
    const hasEnum = (spec.enum?.length ?? 0) > 0;
    const kind: FieldKind = spec.type === 'boolean' ? 'checkbox'
      : hasEnum ? 'select'
        : spec.type === 'number' ? 'number'
          : spec.type === 'string' ? 'text' : 'json';
    return { name, spec, kind, required: spec.required === true && spec.default === undefined, options: (spec.enum ?? []).map((v) => JSON.stringify(v)) };
  });
}

/** Initial values: defaults where declared. */
export function initialValues(fields: readonly Field[]): FieldValues {
  const out: FieldValues = {};
  for (const f of fields) {
    const d = f.spec.default;
    if (f.kind === 'checkbox') out[f.name] = d === true;
    else if (f.kind === 'select') out[f.name] = d === undefined ? '' : JSON.stringify(d);
    else if (f.kind === 'json') out[f.name] = d === undefined ? '' : JSON.stringify(d, null, 2);
    else out[f.name] = d === undefined || d === null ? '' : String(d);
  }
  return out;
}

export type Parsed = { ok: true; inputs: Record<string, Json> } | { ok: false; errors: Record<string, string> };

/** The inputs to start a session with; empty optional fields are left out (defaults apply). */
export function parseValues(fields: readonly Field[], values: FieldValues): Parsed {
  const inputs: Record<string, Json> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const raw = values[f.name];
    if (f.kind === 'checkbox') {
      inputs[f.name] = raw === true;
      continue;
    }
    const text = raw === null || raw === undefined ? '' : String(raw);
    if (text.trim() === '' && f.kind !== 'text') {
      if (f.required) errors[f.name] = REQUIRED;
      continue;
    }
    if (f.kind === 'text') {
      if (text === '' && f.required) errors[f.name] = REQUIRED;
      else if (text !== '' || f.spec.default === undefined) inputs[f.name] = text;
      continue;
    }
    if (f.kind === 'number') {
      const n = Number(text);
      if (!Number.isFinite(n)) errors[f.name] = 'Not a number: type a number such as 3 or 2.5.';
      else inputs[f.name] = n;
      continue;
    }
    const check = parseJson(text);
    if (!check.ok) {
      errors[f.name] = check.error;
      continue;
    }
    if (f.kind === 'json' && f.spec.type === 'array' && !Array.isArray(check.value)) errors[f.name] = 'Not a list: write a JSON array such as ["a", "b"].';
    else if (f.kind === 'json' && f.spec.type === 'object' && (check.value === null || typeof check.value !== 'object' || Array.isArray(check.value))) errors[f.name] = 'Not an object: write a JSON object such as {"key": "value"}.';
    else inputs[f.name] = check.value;
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, inputs };
}

/** What a required field left empty says. */
export const REQUIRED = 'Required: fill it in.';

export function parseJson(text: string): { ok: true; value: Json } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as Json };
  } catch (err) {
    return { ok: false, error: `Not valid JSON (${err instanceof Error ? err.message : String(err)}): check the brackets, commas and quotes.` };
  }
}
