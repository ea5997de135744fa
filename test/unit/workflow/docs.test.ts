/**
 * docs/workflows.md stays in step with the code: its generated sections (JSON Schema, issue
 * codes, fixture examples) are what scripts/gen-workflow-schema.ts produces now, and every
 * valid fixture is shown there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { renderWorkflowDocs } from '../../../scripts/gen-workflow-schema.ts';
import { WORKFLOW_ISSUE_CODES, workflowJsonSchema } from '../../../worker/workflow/index.ts';
import { FIXTURES } from './helpers.ts';

const DOC = readFileSync('docs/workflows.md', 'utf8');

test('docs/workflows.md is what scripts/gen-workflow-schema.ts generates', () => {
  assert.equal(DOC, renderWorkflowDocs(DOC), 'stale: run `npx tsx scripts/gen-workflow-schema.ts`');
});

test('every valid fixture is embedded as an example and every issue code is documented', () => {
  for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.yaml') && !n.startsWith('invalid-'))) {
    assert.ok(DOC.includes(`<!-- BEGIN GENERATED: example ${f.replace(/\.yaml$/, '')} -->`), `${f} is not shown in docs/workflows.md`);
  }
  for (const code of Object.keys(WORKFLOW_ISSUE_CODES)) assert.ok(DOC.includes(`| \`${code}\` |`), code);
});

test('the JSON Schema is strict and lists every step type', () => {
  const schema = workflowJsonSchema() as { additionalProperties?: boolean; required?: string[]; $defs: Record<string, { oneOf?: { properties: { type: { const: string } }; additionalProperties: boolean }[] }> };
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.required, ['name', 'version', 'steps']);
  const step = schema.$defs['Step'];
  assert.ok(step?.oneOf);
  assert.deepEqual(step.oneOf.map((o) => o.properties.type.const).sort(), ['agent', 'approval', 'decision', 'forest', 'llm', 'loop', 'parallel', 'race', 'task', 'wait', 'workflow']);
  for (const o of step.oneOf) assert.equal(o.additionalProperties, false);
});

test('the documented field tables name every key the schema accepts on a step', () => {
  const schema = workflowJsonSchema() as { $defs: Record<string, { oneOf?: { properties: Record<string, unknown> }[] }> };
  const keys = new Set(schema.$defs['Step']!.oneOf!.flatMap((o) => Object.keys(o.properties)));
  for (const k of keys) assert.ok(DOC.includes(`| \`${k}\` |`), `step key ${k} is not documented in a table`);
});
