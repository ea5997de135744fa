/**
 * The Dojo's second answer to an unmet request: ask the configured model to draft a new kata. The
 * draft runs as a session of a built-in workflow (one llm step with an output schema, like the
 * intent bar's: src/lib/intent/intent-workflow.ts), so the exact prompt and answer are in the log.
 * The answer is a Workflow YAML plus the kata's description, tags and complexity; the Kata manifest
 * is written here from them and from what the workflow visibly uses (runners, hosts, secrets).
 * Pure module (test/unit/ui/realms-dojo.test.ts).
 *
 * Invariant: nothing here saves or activates anything; the draft is text for a person to review
 * (validated by workflow.validate and manifest.validate) and approve.
 */

/** The step whose structured answer is the draft. */
export const DRAFT_STEP = 'draft';

export const DRAFT_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', description: 'The new workflow and kata name: a lowercase letter, then a-z 0-9 _ -.' },
    description: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    complexity: { type: 'string', enum: ['simple', 'moderate', 'complex'] },
    workflow: { type: 'string', description: 'The complete Workflow YAML.' },
  },
  required: ['name', 'workflow'],
} as const;

export const DRAFT_SOURCE = `# Built in by the Dojo (src/lib/realms/dojo-draft.ts).
name: dojo-draft
version: 1.0.0
description: Draft a new kata (a Workflow YAML) for a request no installed workflow meets.
inputs:
  request: { type: string, required: true, description: What the person asked for. }
  existing: { type: array, required: true, description: Names already taken in the library. }
  model: { type: string, required: true, description: provider/model to ask. }
steps:
  - id: ${DRAFT_STEP}
    type: llm
    model: "{{ inputs.model }}"
    temperature: 0
    system: >-
      You write Kingdom workflows: YAML with name (a lowercase letter, then a-z 0-9 _ -), version
      (semver), description, inputs (name: { type: string|number|boolean|object|array, required,
      default, description }) and steps. A step has id and type. Types: task (runner: transform
      with "with: { value: ... }", or runner: http with "with: { method, url, body }"), llm (model,
      prompt, optional outputSchema), approval (prompt), decision (if, then, else). Templates are
      expressions in double curly braces, such as inputs.x, steps.ID.output.text and secrets.NAME;
      a step that reads another lists it in dependsOn. Keep it small and runnable.
    prompt: |-
      A person asked for something no workflow in their library does:
      {{ inputs.request }}

      Names already taken: {{ json(inputs.existing) }}

      Answer with a JSON object: "name" (new, not taken), "description" (one sentence), "tags"
      (up to five lowercase words), "complexity" (simple, moderate or complex) and "workflow": the
      complete Workflow YAML whose name is "name".
    outputSchema: ${JSON.stringify(DRAFT_SCHEMA)}
outputs:
  draft: "{{ steps.${DRAFT_STEP}.output.json }}"
`;

export interface Draft {
  readonly name: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly complexity: 'simple' | 'moderate' | 'complex';
  readonly workflow: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A YAML text as the model may wrap it (a ```yaml fence), unwrapped and ending with one newline. */
export function unfence(text: string): string {
  const m = /^\s*```[a-zA-Z]*\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  return `${(m ? m[1]! : text).replace(/\s+$/, '')}\n`;
}

/** A tag as manifests accept it (`a-z0-9-`, at most 32), or null. */
function tagOf(t: unknown): string | null {
  if (typeof t !== 'string') return null;
  const s = t.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 32);
  return /^[a-z0-9]/.test(s) ? s : null;
}

/** The draft in the session's output (`{ draft: {...} }` or the step's json), or null. */
export function readDraft(output: unknown): Draft | null {
  const d = isObj(output) && isObj(output['draft']) ? output['draft'] : output;
  if (!isObj(d) || typeof d['workflow'] !== 'string' || d['workflow'].trim() === '') return null;
  const workflow = unfence(d['workflow']);
  const declared = /^name:\s*["']?([a-z][a-z0-9_-]{0,63})["']?\s*$/m.exec(workflow)?.[1];
  const name = typeof d['name'] === 'string' && /^[a-z][a-z0-9_-]{0,63}$/.test(d['name']) ? d['name'] : declared ?? 'drafted-kata';
  const tags = [...new Set((Array.isArray(d['tags']) ? d['tags'] : []).map(tagOf).filter((t): t is string => t !== null))].slice(0, 5);
  const c = d['complexity'];
  return {
    name,
    description: typeof d['description'] === 'string' ? d['description'].trim().slice(0, 300) : '',
    tags,
    complexity: c === 'moderate' || c === 'complex' ? c : 'simple',
    workflow,
  };
}

export interface UsedCapabilities {
  readonly runners: readonly string[];
  readonly hosts: readonly string[];
  readonly secrets: readonly string[];
}

/** What a workflow's text visibly uses: task runners (and llm/agent steps), literal http hosts, secrets. */
export function capabilitiesOf(source: string): UsedCapabilities {
  const uniq = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();
  const runners = [...source.matchAll(/^\s*(?:-\s+)?runner:\s*["']?([a-z][\w.-]*)/gm)].map((m) => m[1]!);
  const steps = [...source.matchAll(/^\s*(?:-\s+)?type:\s*["']?(llm|agent)\b/gm)].map((m) => m[1]!);
  const hosts = [...source.matchAll(/https?:\/\/([a-z0-9.-]+(?::\d+)?)/gi)].map((m) => m[1]!.toLowerCase());
  const secrets = [...source.matchAll(/\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
  return { runners: uniq([...runners, ...steps]), hosts: uniq(hosts), secrets: uniq(secrets) };
}

const yamlList = (xs: readonly string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;

/** The Kata manifest of a draft: its workflow, words and the capabilities its workflow uses. */
export function kataManifest(d: Draft, workflowName: string, workflowVersion: string, source: string): string {
  const used = capabilitiesOf(source);
  return [
    'kind: Kata',
    `name: ${workflowName}`,
    `version: ${workflowVersion}`,
    `description: ${JSON.stringify(d.description || `Drafted in the Dojo for: ${d.name}`)}`,
    `workflow: ${workflowName}`,
    `tags: ${yamlList(d.tags)}`,
    `complexity: ${d.complexity}`,
    `requires: { runners: ${yamlList(used.runners.filter((r) => r !== 'llm' && r !== 'agent'))} }`,
    `capabilities: { hosts: ${yamlList(used.hosts)}, runners: ${yamlList(used.runners)}, secrets: ${yamlList(used.secrets)} }`,
    '',
  ].join('\n');
}
