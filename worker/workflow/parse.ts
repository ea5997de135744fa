/**
 * `parseWorkflow`: YAML text → a normalised, hashed `Workflow`, or every issue found.
 *
 * Pipeline: size and YAML checks (source.ts) → the spec's form read into the internal model
 * (spec-form.ts) → schema (schema.ts) → step graph (graph.ts) → expressions and templates
 * (references.ts). The schema and the cross-step checks both run on
 * the same data, so one report holds shape problems and graph problems together.
 *
 * Invariants:
 * 1. Never throws and always returns: `{ ok: true, workflow, hash, warnings }` only when no check
 *    found an error (warnings do not count); otherwise `{ ok: false, errors }` with 1–50 issues
 *    sorted by position.
 * 2. `hash` is the SHA-256 hex of the canonical JSON of the normalised workflow: formatting,
 *    comments, key order, anchors and short forms do not change it; any semantic change does.
 * 3. Pure: no clock, no randomness, no I/O; the same text gives the same answer.
 */
import { canonicalJson } from '../kernel/log/canonical.ts';
import { sha256Hex } from '../kernel/log/hash.ts';
import { analyseGraph } from './graph.ts';
import { finishIssues, formatPath, type RawIssue, type WorkflowIssue } from './issues.ts';
import { checkReferences } from './references.ts';
import { workflowSchema } from './schema.ts';
import { loadYaml, locate, type Source } from './source.ts';
import { fromSpecForm } from './spec-form.ts';
import type { Workflow } from './types.ts';
import { fromZod } from './zod-issues.ts';

/** `warnings`: issues that do not refuse the file (e.g. `output_field`), sorted like errors; often empty. */
export type ParseResult = { ok: true; workflow: Workflow; hash: string; warnings: WorkflowIssue[] } | { ok: false; errors: WorkflowIssue[] };

/**
 * Parse and validate a workflow file. Reports all issues (up to 50), each with its path, 1-based
 * line and column, code and a message naming the fix. Never throws.
 */
export function parseWorkflow(yamlText: string): ParseResult {
  try {
    return parse(yamlText);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, errors: [{ path: '', line: 1, column: 1, code: 'internal', message: `the validator failed: ${message.slice(0, 300)}; please report this file` }] };
  }
}

/** Hash of a normalised workflow (what `parseWorkflow` returns as `hash`). */
export function workflowHash(workflow: Workflow): string {
  return sha256Hex(canonicalJson(workflow));
}

function parse(text: unknown): ParseResult {
  if (typeof text !== 'string') {
    return { ok: false, errors: [{ path: '', line: 1, column: 1, code: 'not_text', message: `expected the workflow's YAML text as a string; got ${text === null ? 'null' : typeof text}` }] };
  }
  const loaded = loadYaml(text);
  if (!loaded.ok) return fail(loaded.source, loaded.issues);
  const spec = fromSpecForm(withoutExtensions(loaded.value));
  // Issues are found on the internal model and reported where the person wrote the thing.
  const source = loaded.source === undefined ? undefined : { ...loaded.source, originalPath: spec.originalPath };
  const value = spec.value;
  const issues: RawIssue[] = [...loaded.issues];
  const reported = loaded.issues.map((i) => formatPath(i.path));
  const parsed = workflowSchema.safeParse(value);
  if (!parsed.success) {
    for (const i of fromZod(parsed.error.issues, value, workflowSchema)) {
      const p = formatPath(i.path);
      if (!reported.some((r) => p === r || p.startsWith(`${r}.`) || p.startsWith(`${r}[`))) issues.push(i);
    }
  }
  const { graph, issues: graphIssues } = analyseGraph(value);
  const refs = checkReferences(graph, value);
  issues.push(...graphIssues, ...refs.filter((i) => i.warning !== true));
  if (issues.length > 0 || !parsed.success) return fail(source, issues);
  return { ok: true, workflow: parsed.data, hash: workflowHash(parsed.data), warnings: finishIssues(refs.filter((i) => i.warning === true).map((i) => located(source, i))) };
}

type Located = Source & { readonly originalPath?: (path: RawIssue['path']) => RawIssue['path'] };

function located(source: Located | undefined, issue: RawIssue): WorkflowIssue {
  const i = source?.originalPath === undefined ? issue : { ...issue, path: source.originalPath(issue.path) };
  return { path: formatPath(i.path), ...locate(source, i), message: i.message, code: i.code };
}

function fail(source: Located | undefined, issues: readonly RawIssue[]): { ok: false; errors: WorkflowIssue[] } {
  const all = issues.map((i) => located(source, i));
  if (all.length === 0) all.push({ path: '', line: 1, column: 1, code: 'internal', message: 'the workflow was refused without a reason; please report this file' });
  return { ok: false, errors: finishIssues(all) };
}

/** Top-level `x-…` keys hold anchors for reuse (`x-defaults: &defaults`); they are not part of the workflow. */
function withoutExtensions(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith('x-')) out[k] = v;
  return out;
}

/**
 * Issues found outside the parser (execution by name: worker/manifests/execution.ts), with paths
 * into the normalised workflow of `text`, reported where they were written (the spec's form maps
 * back to its nested blocks), sorted. `text` must be a source that parses.
 */
export function locateIssues(text: string, issues: readonly RawIssue[]): WorkflowIssue[] {
  const loaded = loadYaml(text);
  const spec = fromSpecForm(withoutExtensions(loaded.ok ? loaded.value : undefined));
  const source = loaded.source === undefined ? undefined : { ...loaded.source, originalPath: spec.originalPath };
  return finishIssues(issues.map((i) => located(source, i)));
}
