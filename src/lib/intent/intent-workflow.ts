/**
 * The "intent" workflow behind the command bar: one agent step that reads the person's sentence and
 * a summary of the workflow library, may look up earlier runs in the Forest, and answers which
 * workflow to run with which inputs.
 *
 * The source is a constant; everything that varies (sentence, library, model) is an input, so the
 * exact prompt the model saw is rendered by the engine and recorded in the session's
 * `step.started`. Pure module (no kernel, no DOM).
 */
import type { Json } from '../../../worker/api.ts';
import type { InputSpec, WorkflowDef } from '../workflows/types.ts';

/** The step id of the one agent step (its output's `json` is the answer). */
export const INTENT_STEP = 'route';

/** The answer's `workflow` when no workflow of the library does what is asked (the Dojo takes over). */
export const NO_WORKFLOW = 'none';

/** What the model must answer (also re-checked by the llm runner's validator). */
export const INTENT_SCHEMA = {
  type: 'object',
  properties: {
    workflow: { type: 'string', description: 'The exact name of one workflow of the library, or "none" when none of them does what is asked.' },
    inputs: { type: 'object', description: "Values for that workflow's inputs, by input name." },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    explanation: { type: 'string' },
  },
  required: ['workflow', 'inputs'],
} as const;

export const INTENT_SOURCE = `# Built in by the command bar (src/lib/intent/intent-workflow.ts).
name: intent
version: 1.0.0
description: Pick the workflow (and its inputs) a sentence asks for.
inputs:
  sentence: { type: string, required: true, description: What the person typed. }
  library: { type: array, required: true, description: The workflows to choose from. }
  model: { type: string, required: true, description: provider/model to ask. }
steps:
  - id: ${INTENT_STEP}
    type: agent
    model: "{{ inputs.model }}"
    temperature: 0
    maxTurns: 3
    tools: [forest.search]
    system: >-
      You turn a request into a run of exactly one workflow from a library. When the request
      leaves an input open ("as last time", "the usual"), you may search the Forest for earlier
      runs of that workflow (forest_search with tags ["workflow:<name>"]) to reuse their values.
      Give your answer with final_answer.
    prompt: |-
      The workflow library (JSON; for each workflow: name, description, and its inputs with type,
      required, enum, default and description):
      {{ json(inputs.library) }}

      The request:
      {{ inputs.sentence }}

      Answer with a JSON object: "workflow" is the exact name of the one workflow that fulfils the
      request; "inputs" maps that workflow's input names to values of the declared types taken
      from the request (use only declared input names; leave out an input the request does not
      give when it has a default); "confidence" is a number from 0 to 1; "explanation" says in one
      sentence why this workflow and these inputs. When no workflow of the library does what is
      asked, answer "workflow": "none", "inputs": {} and say in "explanation" what is missing.
    outputSchema: ${JSON.stringify(INTENT_SCHEMA)}
outputs:
  answer: "{{ steps.${INTENT_STEP}.output.json }}"
`;

/** Limits of the library summary sent to the model. */
export const LIBRARY_LIMITS = {
  workflows: 60,
  chars: 12_000,
  description: 240,
  enumValues: 20,
  defaultChars: 80,
} as const;

export interface LibraryInput {
  readonly type: string;
  readonly required?: true;
  readonly enum?: readonly Json[];
  readonly default?: Json;
  readonly description?: string;
}

export interface LibraryEntry {
  readonly name: string;
  readonly description?: string;
  readonly inputs: { readonly [name: string]: LibraryInput };
}

export interface Library {
  readonly entries: readonly LibraryEntry[];
  /** Workflows left out to keep the prompt within LIBRARY_LIMITS. */
  readonly omitted: number;
}

function clip(s: string | undefined, n: number): string | undefined {
  if (s === undefined || s.trim() === '') return undefined;
  const t = s.trim().replace(/\s+/g, ' ');
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

function summarizeInput(spec: InputSpec): LibraryInput {
  const out: { -readonly [K in keyof LibraryInput]: LibraryInput[K] } = { type: spec.type };
  if (spec.required === true && spec.default === undefined) out.required = true;
  if (spec.enum && spec.enum.length > 0) out.enum = spec.enum.slice(0, LIBRARY_LIMITS.enumValues);
  if (spec.default !== undefined && JSON.stringify(spec.default).length <= LIBRARY_LIMITS.defaultChars) out.default = spec.default;
  const d = clip(spec.description, LIBRARY_LIMITS.description);
  if (d !== undefined) out.description = d;
  return out;
}

/** One workflow as the model sees it. */
export function libraryEntry(def: WorkflowDef, description?: string): LibraryEntry {
  const inputs: Record<string, LibraryInput> = {};
  for (const [name, spec] of Object.entries(def.inputs)) inputs[name] = summarizeInput(spec);
  const d = clip(def.description ?? description, LIBRARY_LIMITS.description);
  return d === undefined ? { name: def.name, inputs } : { name: def.name, description: d, inputs };
}

/** The library summary: in the given order, cut to LIBRARY_LIMITS (workflows and JSON size). */
export function buildLibrary(defs: readonly { readonly def: WorkflowDef; readonly description?: string }[]): Library {
  const entries: LibraryEntry[] = [];
  let chars = 2;
  for (const { def, description } of defs) {
    if (entries.length >= LIBRARY_LIMITS.workflows) break;
    const entry = libraryEntry(def, description);
    const size = JSON.stringify(entry).length + 1;
    if (chars + size > LIBRARY_LIMITS.chars) break;
    entries.push(entry);
    chars += size;
  }
  return { entries, omitted: defs.length - entries.length };
}
