/**
 * The `output_field` warning (worker/workflow/references.ts): reading a field that an llm or agent
 * step's output never has. A warning comes with a valid workflow (`warnings`) and never refuses it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWorkflow, type WorkflowIssue } from '../../../worker/workflow/index.ts';
import { fixtureText, wf } from './helpers.ts';

/** The warnings of a workflow that must still parse. */
function warnings(yamlText: string): WorkflowIssue[] {
  const r = parseWorkflow(yamlText);
  if (!r.ok) assert.fail(`expected a valid workflow, got:\n${r.errors.map((e) => `${e.path} ${e.code} ${e.message}`).join('\n')}`);
  return r.warnings;
}

const SCHEMA = 'outputSchema: { type: object, properties: { safe: { type: boolean } } }';
const llm = (more = ''): string => `  - { id: validate, type: llm, model: m, prompt: p${more ? `, ${more}` : ''} }\n`;
const reader = (field: string): string => `  - { id: use, type: task, runner: transform, dependsOn: [validate], ${field} }\n`;

test('the old decision example (steps.validate.output.safe) warns, suggesting output.json.safe', () => {
  const old = fixtureText('decision.yaml').replaceAll('steps.validate.output.json.', 'steps.validate.output.');
  const list = warnings(old);
  assert.deepEqual(list.map((w) => [w.path, w.code]), [['steps[1].if', 'output_field'], ['steps[3].with.message', 'output_field']]);
  assert.match(list[0]!.message, /steps\.validate\.output\.safe is always undefined.*did you mean steps\.validate\.output\.json\.safe\?/);
  assert.equal(list[0]!.line, 26);
  assert.equal(list[0]!.column, 9, 'points at the reference');
  assert.match(list[1]!.message, /did you mean steps\.validate\.output\.json\.warnings\?/);
});

test('the fixed decision fixture has no warnings', () => {
  assert.deepEqual(warnings(fixtureText('decision.yaml')), []);
  assert.deepEqual(warnings(fixtureText('agent.yaml')), []);
  assert.deepEqual(warnings(fixtureText('forest.yaml')), []);
});

test('the fields an llm output has, and json with an outputSchema, do not warn', () => {
  for (const ref of ['output.json.safe', 'output.text', 'output.usage.inputTokens', 'output.model', 'output.finishReason', 'output', 'status', 'error.message']) {
    assert.deepEqual(warnings(wf(llm(SCHEMA) + reader(`with: { v: "{{ steps.validate.${ref} }}" }`))), [], ref);
  }
  assert.deepEqual(warnings(wf(llm(SCHEMA) + reader('if: "steps.validate.output.json.safe == true"'))), []);
});

test('a condition or template of a task step is not checked (its output has no fixed shape)', () => {
  const task = '  - { id: validate, type: task, runner: http }\n';
  assert.deepEqual(warnings(wf(task + reader('if: "steps.validate.output.safe == true", with: { v: "{{ steps.validate.output.body }}" }'))), []);
});

test('output.json without an outputSchema warns: the answer is output.text', () => {
  const [w, ...rest] = warnings(wf(llm() + reader('with: { v: "{{ steps.validate.output.json.safe }}" }')));
  assert.deepEqual(rest, []);
  assert.equal(w?.code, 'output_field');
  assert.match(w!.message, /steps\.validate\.output\.json is never set: llm step "validate" has no outputSchema.*output\.text/);
});

test('without an outputSchema an unknown field suggests adding one, or reading output.text', () => {
  const [w] = warnings(wf(llm() + reader('if: "steps.validate.output.safe"')));
  assert.match(w!.message, /add an outputSchema and read steps\.validate\.output\.json\.safe, or read steps\.validate\.output\.text/);
});

test('agent steps too: their output has turns, toolCalls, read, wrote but no free fields', () => {
  const agent = `  - { id: validate, type: agent, model: m, prompt: p, tools: [forest.search], ${SCHEMA} }\n`;
  assert.deepEqual(warnings(wf(agent + reader('with: { a: "{{ steps.validate.output.turns }}", b: "{{ steps.validate.output.read }}", c: "{{ steps.validate.output.json.safe }}" }'))), []);
  const [w] = warnings(wf(agent + reader('if: "steps.validate.output.action == \'page\'"')));
  assert.match(w!.message, /the output of agent step "validate" has .*turns.*did you mean steps\.validate\.output\.json\.action\?/);
});

test('an llm step with an outputs mapping shapes its own output: not checked', () => {
  const shaped = llm(`${SCHEMA}, outputs: { safe: "{{ result.json.safe }}" }`);
  assert.deepEqual(warnings(wf(shaped + reader('if: "steps.validate.output.safe"'))), []);
});

test('on the step itself: gate output.<field> and outputs result.<field>', () => {
  const gate = warnings(wf(llm(`${SCHEMA}, gate: { check: "output.safe == true" }`)));
  assert.deepEqual(gate.map((w) => [w.path, w.code]), [['steps[0].gate.check', 'output_field']]);
  assert.match(gate[0]!.message, /output\.safe is always undefined.*did you mean output\.json\.safe\?/);
  const result = warnings(wf(llm(`${SCHEMA}, outputs: { safe: "{{ result.safe }}" }`)));
  assert.match(result[0]!.message, /result\.safe is always undefined.*did you mean result\.json\.safe\?/);
  assert.deepEqual(warnings(wf(llm(`${SCHEMA}, gate: { check: "output.json.safe == true" }`))), []);
});

test('a warning never refuses the file, and errors still do', () => {
  const r = parseWorkflow(wf(llm(SCHEMA) + reader('if: "steps.validate.output.safe"')));
  assert.equal(r.ok, true);
  const bad = parseWorkflow(wf(llm(SCHEMA) + reader('if: "steps.validate.output.safe && inputs.nope"')));
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.deepEqual(bad.errors.map((e) => e.code), ['undeclared_input']);
});
