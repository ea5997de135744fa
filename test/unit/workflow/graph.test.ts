/**
 * Cross-step rules: ids, step references, cycles (named), reachability, onFailure routes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { issues, only, valid, wf } from './helpers.ts';

const task = (id: string, more = ''): string => `  - { id: ${id}, type: task, runner: http${more ? `, ${more}` : ''} }\n`;

test('a cycle is named along its edges, once, starting at its first step', () => {
  const list = issues(wf(task('a', 'dependsOn: [c]') + task('b', 'dependsOn: [a]') + task('c', 'dependsOn: b') + task('d', 'dependsOn: [c]')));
  const cycle = only(list, 'cycle');
  assert.match(cycle.message, /dependsOn cycle: a → c → b → a/);
  assert.equal(cycle.path, 'steps[0].dependsOn[0]');
});

test('a step that depends on itself is a one-step cycle', () => {
  assert.match(only(issues(wf(task('a', 'dependsOn: [a]'))), 'cycle').message, /a → a/);
});

test('a decision whose branch step is also its dependency forms a cycle through the implicit branch edge', () => {
  const list = issues(wf(task('x') + '  - { id: d, type: decision, if: "true", then: [x], dependsOn: [x] }\n'));
  assert.match(only(list, 'cycle').message, /x → d \(x is in its then\) → x/);
});

test('dependsOn may only name steps of the same list; a top-level step from inside a loop gets a fix', () => {
  const yaml = wf(task('a') + '  - id: l\n    type: loop\n    over: "[1]"\n    steps:\n' + '      - { id: b, type: task, runner: http, dependsOn: [a] }\n');
  const issue = only(issues(yaml), 'unknown_step');
  assert.equal(issue.path, 'steps[1].steps[0].dependsOn[0]');
  assert.match(issue.message, /"a" is at the top level.*add it to "l"\.dependsOn/);
});

test('then, else and onFailure.goto must name existing steps of the same list', () => {
  const list = issues(wf('  - { id: d, type: decision, if: "true", then: [nope], else: dd }\n' + task('x', 'onFailure: { goto: y }')));
  assert.deepEqual(list.map((i) => [i.path, i.code]), [
    ['steps[0].then[0]', 'unknown_step'],
    ['steps[0].else', 'unknown_step'],
    ['steps[1].onFailure.goto', 'unknown_step'],
  ]);
  assert.match(list[1]!.message, /did you mean "d"\?/);
});

test('a step can belong to one decision branch only', () => {
  const list = issues(wf('  - { id: d, type: decision, if: "true", then: [x], else: [x] }\n' + task('x')));
  assert.match(only(list, 'invalid_branch').message, /"x" already belongs to the then branch of decision "d"/);
});

test('ids are unique across nesting levels', () => {
  const yaml = wf(task('a') + '  - id: p\n    type: parallel\n    branches:\n      - - { id: a, type: wait, duration: 1s }\n      - - { id: p, type: wait, duration: 1s }\n');
  assert.deepEqual(issues(yaml).filter((i) => i.code === 'duplicate_id').map((i) => i.path), ['steps[1].branches[0][0].id', 'steps[1].branches[1][0].id']);
});

test('depending on both branches of a decision is unreachable, and so are its dependents (reported once)', () => {
  const yaml = wf(
    '  - { id: d, type: decision, if: "true", then: [yes], else: [no] }\n' + task('yes') + task('no') +
    task('join', 'dependsOn: [yes, no]') + task('after', 'dependsOn: [join]'),
  );
  const issue = only(issues(yaml), 'unreachable');
  assert.equal(issue.path, 'steps[3]');
  assert.match(issue.message, /"after" depends on it and cannot run either/);
});

test('the conflict is found through chains of dependencies on each side', () => {
  const yaml = wf(
    '  - { id: d, type: decision, if: "true", then: [yes], else: [no] }\n' + task('yes') + task('no') +
    task('yes2', 'dependsOn: [yes]') + task('no2', 'dependsOn: [no]') + task('join', 'dependsOn: [yes2, no2]'),
  );
  assert.match(only(issues(yaml), 'unreachable').message, /then via "yes", else via "no"/);
});

test('join: any continues after whichever branch ran, and may read both branches', () => {
  valid(wf(
    '  - { id: d, type: decision, if: "true", then: [yes], else: [no] }\n' + task('yes') + task('no') +
    task('join', 'dependsOn: [yes, no], join: any, with: { a: "{{ steps.yes.output }} {{ steps.no.output }}" }'),
  ));
});

test('join: any still needs the branch that all of its dependencies share', () => {
  const yaml = wf(
    '  - { id: d, type: decision, if: "true", then: [yes, yes2], else: [no] }\n' + task('yes') + task('yes2') + task('no') +
    task('either', 'dependsOn: [yes, yes2], join: any') + task('bad', 'dependsOn: [either, no]'),
  );
  assert.match(only(issues(yaml), 'unreachable').message, /"bad" can never run/);
});

test('two different decisions are independent: needing then of one and else of another is fine', () => {
  valid(wf(
    '  - { id: d1, type: decision, if: "true", then: [a] }\n  - { id: d2, type: decision, if: "false", then: [c], else: [b] }\n' +
    task('a') + task('b') + task('c') + task('both', 'dependsOn: [a, b]'),
  ));
});

test('onFailure.goto may name the step itself or any step upstream of it, but not one downstream', () => {
  valid(wf(task('a') + task('b', 'dependsOn: [a], onFailure: { goto: a, maxLoops: 5 }') + task('c', 'dependsOn: [b], onFailure: { goto: c }')));
  const issue = only(issues(wf(task('a', 'onFailure: { goto: b }') + task('b', 'dependsOn: [a]'))), 'invalid_route');
  assert.equal(issue.path, 'steps[0].onFailure.goto');
});

test('onFailure.maxLoops must be between 1 and 100', () => {
  assert.equal(only(issues(wf(task('a', 'onFailure: { goto: a, maxLoops: 0 }'))), 'out_of_range').path, 'steps[0].onFailure.maxLoops');
  assert.equal(only(issues(wf(task('a', 'onFailure: { goto: a, maxLoops: 101 }'))), 'out_of_range').path, 'steps[0].onFailure.maxLoops');
});

test('a 500-step chain (each reading the first) is valid', () => {
  // Speed is not asserted here (a loaded CI machine makes timed unit tests flaky); the
  // validator's cost is covered by the benchmarks.
  let steps = task('s0');
  for (let i = 1; i < 500; i++) steps += task(`s${i}`, `dependsOn: [s${i - 1}], with: { x: "{{ steps.s0.output }}" }`);
  assert.equal(valid(wf(steps)).workflow.steps.length, 500);
});

test('more than 500 steps in all (nested included) is refused', () => {
  let inner = '';
  for (let i = 0; i < 501; i++) inner += `      - { id: s${i}, type: wait, duration: 1s }\n`;
  const list = issues(wf(`  - id: l\n    type: loop\n    over: "[1]"\n    steps:\n${inner}`));
  assert.equal(only(list, 'too_many_steps').path, 'steps');
});
