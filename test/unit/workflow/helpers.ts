/**
 * Shared helpers for the workflow tests: read a fixture, parse it, and pick out issues.
 */
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { parseWorkflow, type Workflow, type WorkflowIssue } from '../../../worker/workflow/index.ts';

export const FIXTURES = new URL('../../fixtures/workflows/', import.meta.url);

export function fixtureText(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

/** Parse a fixture (or inline YAML) that must be valid; fails the test with the issues otherwise. */
export function valid(yamlText: string): { workflow: Workflow; hash: string } {
  const r = parseWorkflow(yamlText);
  if (!r.ok) assert.fail(`expected a valid workflow, got:\n${r.errors.map((e) => `${e.path} ${e.line}:${e.column} ${e.code} ${e.message}`).join('\n')}`);
  return r;
}

/** Parse YAML that must be refused; returns its issues. */
export function issues(yamlText: string): WorkflowIssue[] {
  const r = parseWorkflow(yamlText);
  if (r.ok) assert.fail('expected issues, but the workflow parsed');
  return r.errors;
}

/** The one issue with this code (fails when there is none or several). */
export function only(list: readonly WorkflowIssue[], code: string): WorkflowIssue {
  const hits = list.filter((i) => i.code === code);
  assert.equal(hits.length, 1, `expected one ${code} issue, got: ${JSON.stringify(list, null, 1)}`);
  return hits[0]!;
}

/** A minimal valid workflow around the given steps YAML (indented by 2). */
export function wf(steps: string, extra = ''): string {
  return `name: t\nversion: 1.0.0\n${extra}steps:\n${steps}`;
}
