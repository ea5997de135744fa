/**
 * `parseManifest`: YAML text → a typed manifest of one of the six kinds, or every issue found, each
 * at its line and column with the fix — the same reporting as workflow files (worker/workflow:
 * YAML guards, zod issues with did-you-mean, positions).
 *
 * Invariants:
 * 1. Never throws, whatever the text: hostile YAML (alias bombs, deep nesting, custom tags,
 *    duplicate keys, huge files) is a typed issue from the shared YAML loader.
 * 2. A Workflow manifest is validated by the workflow validator itself (`parseWorkflow`: the
 *    workflow file format has the header), so a workflow is the same as a file or a manifest.
 * 3. Pure: the same text gives the same answer.
 */
import { parseWorkflow } from '../workflow/parse.ts';
import { finishIssues, formatPath, type RawIssue, type WorkflowIssue } from '../workflow/issues.ts';
import { loadYaml, locate, type Source } from '../workflow/source.ts';
import { didYouMean } from '../workflow/suggest.ts';
import type { Workflow } from '../workflow/types.ts';
import { fromZod } from '../workflow/zod-issues.ts';
import { MANIFEST_KINDS, SCHEMAS, type AgentManifest, type KataManifest, type ManifestImport, type ManifestKind, type MonumentManifest, type RelicManifest, type ToolManifest } from './schema.ts';

export type Manifest =
  | { readonly kind: 'Workflow'; readonly name: string; readonly version: string; readonly imports: readonly ManifestImport[]; readonly workflow: Workflow; readonly hash: string }
  | ToolManifest | AgentManifest | RelicManifest | MonumentManifest | KataManifest;

export type ManifestResult = { ok: true; manifest: Manifest; warnings: WorkflowIssue[] } | { ok: false; errors: WorkflowIssue[] };

export function parseManifest(text: string): ManifestResult {
  try {
    return parse(text);
  } catch (err) {
    return { ok: false, errors: [{ path: '', line: 1, column: 1, code: 'internal', message: `the manifest reader failed: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}; please report this file` }] };
  }
}

function parse(text: unknown): ManifestResult {
  if (typeof text !== 'string') return { ok: false, errors: [{ path: '', line: 1, column: 1, code: 'not_text', message: 'expected the manifest\'s YAML text as a string' }] };
  const loaded = loadYaml(text);
  if (!loaded.ok) return fail(loaded.source, loaded.issues);
  const value = loaded.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(loaded.source, [{ path: [], code: 'invalid_type', message: `a manifest is a mapping that starts with kind: (one of ${MANIFEST_KINDS.join(', ')})` }]);
  }
  const kind = (value as Record<string, unknown>)['kind'];
  if (kind === undefined) {
    return fail(loaded.source, [{ path: [], code: 'missing_key', message: `missing required key "kind"; add kind: with one of ${MANIFEST_KINDS.join(', ')}` }]);
  }
  if (typeof kind !== 'string' || !(MANIFEST_KINDS as readonly string[]).includes(kind)) {
    const hint = typeof kind === 'string' ? didYouMean(kind, MANIFEST_KINDS) : '';
    return fail(loaded.source, [{ path: ['kind'], code: 'invalid_value', message: `kind must be one of ${MANIFEST_KINDS.join(', ')}${hint}` }]);
  }
  if (kind === 'Workflow') return workflowManifest(text);
  const schema = SCHEMAS[kind as Exclude<ManifestKind, 'Workflow'>];
  const parsed = schema.safeParse(value);
  if (!parsed.success) return fail(loaded.source, fromZod(parsed.error.issues, value, schema));
  return { ok: true, manifest: parsed.data as Manifest, warnings: [] };
}

function workflowManifest(text: string): ManifestResult {
  const wf = parseWorkflow(text);
  if (!wf.ok) return wf;
  return {
    ok: true,
    manifest: { kind: 'Workflow', name: wf.workflow.name, version: wf.workflow.version, imports: wf.workflow.imports ?? [], workflow: wf.workflow, hash: wf.hash },
    warnings: wf.warnings,
  };
}

function fail(source: Source | undefined, issues: readonly RawIssue[]): { ok: false; errors: WorkflowIssue[] } {
  const all = issues.map((i) => ({ path: formatPath(i.path), ...locate(source, i), message: i.message, code: i.code }));
  if (all.length === 0) all.push({ path: '', line: 1, column: 1, code: 'internal', message: 'the manifest was refused without a reason; please report this file' });
  return { ok: false, errors: finishIssues(all) };
}
