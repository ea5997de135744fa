/**
 * Checking the intent workflow's answer against the library and turning its inputs into run-form
 * values (the same fields and rules as the run form: ../workflows/inputs.ts). Pure functions.
 */
import type { Json } from '../../../worker/api.ts';
import { fieldsOf, initialValues, parseValues, type Field, type FieldValues } from '../workflows/inputs.ts';
import type { WorkflowDef } from '../workflows/types.ts';

export interface IntentAnswer {
  readonly workflow: string;
  readonly inputs: { readonly [name: string]: Json };
  readonly confidence: number | null;
  readonly explanation: string;
}

export interface Proposal {
  readonly answer: IntentAnswer;
  readonly def: WorkflowDef;
  readonly fields: readonly Field[];
  readonly values: FieldValues;
  /** Problems per field, as the run form reports them (the person fixes them before Start). */
  readonly errors: Record<string, string>;
  /** Input names the model gave that the workflow does not declare (dropped). */
  readonly ignored: readonly string[];
}

export type Checked = { ok: true; proposal: Proposal } | { ok: false; problem: string };

function isObject(v: unknown): v is { readonly [k: string]: Json } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The answer's shape (the runner validated it against the schema; this guards the UI anyway). */
export function readAnswer(output: unknown): IntentAnswer | null {
  if (!isObject(output)) return null;
  const { workflow, inputs, confidence, explanation } = output;
  if (typeof workflow !== 'string' || workflow.trim() === '') return null;
  return {
    workflow: workflow.trim(),
    inputs: isObject(inputs) ? inputs : {},
    confidence: typeof confidence === 'number' && Number.isFinite(confidence) ? Math.min(1, Math.max(0, confidence)) : null,
    explanation: typeof explanation === 'string' ? explanation : '',
  };
}

/** One answer value as what the run form's field holds; `null` when it cannot be shown there. */
function toFieldValue(f: Field, v: Json): string | number | boolean | null {
  switch (f.kind) {
    case 'checkbox':
      return typeof v === 'boolean' ? v : null;
    case 'select': {
      const text = JSON.stringify(v);
      return f.options.includes(text) ? text : null;
    }
    case 'number':
      return typeof v === 'number' ? String(v) : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? v.trim() : null;
    case 'text':
      return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
    default:
      return JSON.stringify(v, null, 2);
  }
}

const KIND_HINT: Record<Field['kind'], string> = {
  checkbox: 'true or false',
  select: 'one of the listed values',
  number: 'a number',
  text: 'text',
  json: 'JSON',
};

/** Check the answer against the chosen workflow and prefill its run form. */
export function propose(answer: IntentAnswer, defs: ReadonlyMap<string, WorkflowDef>): Checked {
  const def = defs.get(answer.workflow);
  if (!def) {
    const names = [...defs.keys()];
    return { ok: false, problem: `The model chose “${answer.workflow}”, which is not in the library${names.length ? ` (${names.join(', ')})` : ''}.` };
  }
  const fields = fieldsOf(def.inputs);
  const values = initialValues(fields);
  const errors: Record<string, string> = {};
  for (const f of fields) {
    if (!Object.hasOwn(answer.inputs, f.name)) continue;
    const v = answer.inputs[f.name]!;
    if (v === null) continue;
    const shown = toFieldValue(f, v);
    if (shown === null) errors[f.name] = `The model proposed ${JSON.stringify(v)}; expected ${KIND_HINT[f.kind]}.`;
    else values[f.name] = shown;
  }
  const parsed = parseValues(fields, values);
  if (!parsed.ok) for (const [k, m] of Object.entries(parsed.errors)) errors[k] ??= m;
  const declared = new Set(fields.map((f) => f.name));
  const ignored = Object.keys(answer.inputs).filter((k) => !declared.has(k));
  return { ok: true, proposal: { answer, def, fields, values, errors, ignored } };
}
