/**
 * Workflow files: the YAML format of Kingdom's execution templates (docs/workflows.md).
 *
 * The one entry point for the rest of the engine:
 * - `parseWorkflow(yamlText)` → `{ ok: true, workflow, hash }` | `{ ok: false, errors }`;
 * - `validateInputs(workflow, inputs)` → `{ ok: true, value }` | `{ ok: false, errors }`;
 * - `workflowJsonSchema()` → the JSON Schema of the file format (generated from the zod schema);
 * - `canonicalYaml(yamlText)` → the same workflow written in Kingdom's flat form (canonical.ts).
 *
 * Invariants:
 * 1. Nothing here throws on bad input; refusals are data (`WorkflowIssue`, `InputIssue`).
 * 2. A returned `Workflow` passed every check (schema, ids, references, cycles, reachability,
 *    expressions and templates) and is normalised plain JSON (types.ts).
 */
export { parseWorkflow, workflowHash, locateIssues, type ParseResult } from './parse.ts';
export { validateInputs, type InputIssue, type InputsResult } from './input-values.ts';
export { workflowJsonSchema } from './schema.ts';
export { canonicalYaml, type CanonicalResult } from './canonical.ts';
export { WORKFLOW_ISSUE_CODES, formatIssue, type RawIssue, type WorkflowIssue, type WorkflowIssueCode } from './issues.ts';
export { parseDuration, parseInstant, formatDuration, MAX_DURATION_MS } from './duration.ts';
export { MAX_SOURCE_BYTES } from './source.ts';
export * from './types.ts';
