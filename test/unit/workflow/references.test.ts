/**
 * Expressions and templates: they must parse, and what they read must exist where they run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { issues, only, valid, wf } from './helpers.ts';

const task = (id: string, more = ''): string => `  - { id: ${id}, type: task, runner: http${more ? `, ${more}` : ''} }\n`;

test('a step may read any step upstream of it, directly or transitively', () => {
  valid(wf(task('a') + task('b', 'dependsOn: [a]') + task('c', 'dependsOn: [b], with: { x: "{{ steps.a.output }}" }, if: "steps.b.status == \'succeeded\'"')));
});

test('reading a step that is not upstream names both steps and the fix, pointing at the reference', () => {
  const issue = only(issues(wf(task('a') + task('b', 'with: { x: "n={{ steps.a.output.n }}" }'))), 'not_upstream');
  assert.equal(issue.path, 'steps[1].with.x');
  assert.equal(issue.column, 57);
  assert.match(issue.message, /"b" reads steps\.a, but "a" is not upstream of it.*add "a" to b\.dependsOn/);
});

test('an unknown step, an unknown step field and a computed step id are reported', () => {
  const list = issues(wf(task('a') + task('b', 'dependsOn: [a], with: { x: "{{ steps.aa.output }}", y: "{{ steps.a.ouput }}", z: "{{ steps[inputs.k] }}" }')));
  assert.match(only(list, 'unknown_step').message, /there is no step "aa" — did you mean steps\.a\?/);
  assert.deepEqual(list.filter((i) => i.code === 'unknown_reference').map((i) => i.path), ['steps[1].with.y', 'steps[1].with.z']);
});

test('inputs must be declared; a bare input name suggests inputs.<name>', () => {
  const list = issues(wf(task('a', 'with: { x: "{{ inputs.regionn }}", y: "{{ region }}" }'), 'inputs:\n  region: { type: string }\n'));
  assert.match(only(list, 'undeclared_input').message, /did you mean inputs\.region\?/);
  assert.match(only(list, 'unknown_reference').message, /"region" is not defined here — did you mean inputs\.region\?/);
});

test('env is readable everywhere; secrets only in templates and only by a literal name', () => {
  valid(wf(task('a', 'if: "env.origin != null", with: { url: "{{ env.origin }}/x", auth: "Bearer {{ secrets.TOKEN }}" }')));
  assert.match(only(issues(wf(task('a', 'if: "secrets.TOKEN != null"'))), 'unknown_reference').message, /templates only/);
  assert.match(only(issues(wf(task('a', 'with: { t: "{{ secrets }}" }'))), 'unknown_reference').message, /secrets\.NAME/);
});

test('a bad expression is reported at its column inside the scalar', () => {
  const issue = only(issues(wf(task('a', 'if: "inputs.x &&"'), 'inputs:\n  x: { type: boolean }\n')), 'invalid_expression');
  assert.equal(issue.path, 'steps[0].if');
  assert.equal(issue.line, 6);
  assert.equal(issue.column, 45 + 11, issue.message); // the scalar's text starts at column 45; the error is at offset 11
});

test('loop bodies read the loop variable and loop.index, and only there', () => {
  valid(wf('  - id: l\n    type: loop\n    over: "[1, 2]"\n    as: n\n    steps:\n      - { id: b, type: task, runner: http, with: { v: "{{ n }} {{ loop.index }}" } }\n'));
  const list = issues(wf('  - id: l\n    type: loop\n    over: "[1, 2]"\n    steps:\n      - { id: b, type: task, runner: http }\n' + task('c', 'dependsOn: [l], with: { v: "{{ item }}" }')));
  assert.match(only(list, 'unknown_reference').message, /"item" is not defined here/);
});

test('a step inside a loop cannot read the loop, and a step outside reads the loop, not its body', () => {
  const list = issues(wf('  - id: l\n    type: loop\n    over: "[1]"\n    steps:\n      - { id: b, type: task, runner: http, with: { v: "{{ steps.l.output }}" } }\n' + task('c', 'dependsOn: [l], with: { v: "{{ steps.b.output }}" }')));
  assert.deepEqual(list.map((i) => [i.path, i.code]), [['steps[0].steps[0].with.v', 'not_upstream'], ['steps[1].with.v', 'not_upstream']]);
  assert.match(list[1]!.message, /inside loop "l".*read steps\.l\.output instead/);
});

test('branches of a parallel step cannot read each other, but can read what runs before the parallel step', () => {
  const base = task('a') + '  - id: p\n    type: parallel\n    dependsOn: [a]\n    branches:\n';
  valid(wf(base + '      - - { id: x, type: task, runner: http, with: { v: "{{ steps.a.output }}" } }\n      - - { id: y, type: wait, duration: 1s }\n'));
  const issue = only(issues(wf(base + '      - - { id: x, type: task, runner: http, with: { v: "{{ steps.y.output }}" } }\n      - - { id: y, type: wait, duration: 1s }\n')), 'not_upstream');
  assert.match(issue.message, /another branch of parallel "p"/);
});

test('gate checks and reasons and onComplete hooks read the step itself through output', () => {
  valid(wf(task('a', 'gate: [{ check: "output.ok && steps.a.status == \'succeeded\'", reason: "{{ output.why }}" }], hooks: { onComplete: { type: webhook, config: { url: "https://x.example/{{ output.id }}" } } }')));
  const list = issues(wf(task('a', 'with: { v: "{{ output }}" }, outputs: { v: "{{ steps.a.output }}" }')));
  assert.deepEqual(list.map((i) => [i.path, i.code]), [['steps[0].with.v', 'unknown_reference'], ['steps[0].outputs.v', 'not_upstream']]);
});

test('outputs read result; onError hooks read error; failure is readable in any step', () => {
  valid(wf(task('a', 'with: { why: "{{ failure.reasons }}" }, outputs: { v: "{{ result.body }}" }, hooks: { onError: { type: webhook, config: { url: "https://x.example", body: "{{ error.message }} {{ error.type }}" } } }')));
  assert.match(only(issues(wf(task('a', 'hooks: { onStart: { type: webhook, config: { url: "{{ error.message }}" } } }'))), 'unknown_reference').message, /"error" is not defined here/);
  assert.match(only(issues(wf(task('a', 'with: { v: "{{ error.message }}" }'))), 'unknown_reference').message, /"error" is not defined here/);
});

test('workflow outputs and hooks read top-level steps; the workflow onStart hook reads none', () => {
  valid(wf(task('a'), 'outputs: { v: "{{ steps.a.output }}" }\nhooks:\n  onComplete: { type: webhook, config: { url: "https://x.example", body: "{{ output }} {{ steps.a.status }}" } }\n'));
  const list = issues(wf(task('a'), 'hooks:\n  onStart: { type: webhook, config: { url: "https://x.example/{{ steps.a.output }}" } }\n'));
  assert.match(only(list, 'not_upstream').message, /onStart runs before any step/);
});

test('workflow and session fields are checked', () => {
  valid(wf(task('a', 'with: { v: "{{ workflow.name }}@{{ workflow.version }} {{ session.id }}" }')));
  assert.match(only(issues(wf(task('a', 'with: { v: "{{ workflow.id }}" }'))), 'unknown_reference').message, /workflow has name, version/);
});

test('a bad template is reported with its position and the fix from the expression module', () => {
  const issue = only(issues(wf(task('a', 'with: { v: "x {{ }}" }'))), 'invalid_template');
  assert.match(issue.message, /Empty placeholder/);
});
