/**
 * YAML handling: syntax errors with positions, duplicate keys, tags, anchors and merge keys,
 * size and depth limits, prototype keys, issue ordering and the 50-issue cap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWorkflow, MAX_SOURCE_BYTES } from '../../../worker/workflow/index.ts';
import { issues, only, valid, wf } from './helpers.ts';

const task = (id: string, more = ''): string => `  - { id: ${id}, type: task, runner: http${more ? `, ${more}` : ''} }\n`;

test('anchors, aliases and merge keys are allowed, and top-level x- keys hold reusable blocks', () => {
  const { workflow } = valid('x-task: &http { type: task, runner: http, retry: { maxAttempts: 2 } }\nname: t\nversion: 1.0.0\nsteps:\n  - <<: *http\n    id: a\n  - <<: *http\n    id: b\n    runner: transform\n');
  assert.deepEqual(workflow.steps.map((s) => [s.id, s.type === 'task' && s.runner, s.retry?.maxAttempts]), [['a', 'http', 2], ['b', 'transform', 2]]);
  assert.equal((workflow as unknown as Record<string, unknown>)['x-task'], undefined);
});

test('an unknown key found through a merge points at the anchor where it is written', () => {
  const issue = only(issues('x-d: &d { type: task, runer: http }\nname: t\nversion: 1.0.0\nsteps:\n  - <<: *d\n    id: a\n'), 'unknown_key');
  assert.deepEqual([issue.path, issue.line, issue.column], ['steps[0].runer', 1, 23]);
});

test('an alias inside its own anchor is refused instead of building an endless value', () => {
  assert.equal(only(issues(wf('  - &s { id: a, type: task, runner: http, with: { me: *s } }\n')), 'alias_limit').path, 'steps[0].with.me');
});

test('an alias to an undefined anchor is an issue', () => {
  assert.match(only(issues(wf('  - *nothing\n')), 'alias_limit').message, /the alias \*nothing names no anchor defined before it/);
});

test('YAML 1.1 and custom tags are refused, core tags are fine', () => {
  valid(wf(task('a', 'with: { n: !!str 5, m: !!int "7" }')));
  for (const tag of ['!!binary aGk=', '!!timestamp 2001-01-01', '!!set { a }', '!custom x']) {
    assert.equal(only(issues(wf(task('a', `with: { v: ${tag} }`))), 'custom_tag').path, 'steps[0].with.v', tag);
  }
});

test('duplicate keys are reported at the second key', () => {
  const issue = only(issues('name: t\nversion: 1.0.0\nname: u\nsteps: []\n'), 'duplicate_key');
  assert.deepEqual([issue.path, issue.line, issue.column], ['name', 3, 1]);
});

test('more than one document is refused', () => {
  assert.match(only(issues(wf(task('a')) + '---\nname: b\n'), 'yaml_syntax').message, /more than one YAML document/);
});

test('a file over 256 KiB is refused before parsing', () => {
  const big = wf(task('a')) + `# ${'x'.repeat(MAX_SOURCE_BYTES)}\n`;
  const issue = only(issues(big), 'too_large');
  assert.deepEqual([issue.line, issue.column], [1, 1]);
});

test('nesting deeper than 64 levels is refused without recursion', () => {
  const deep = wf(task('a', `with: { v: ${'['.repeat(80)}${']'.repeat(80)} }`));
  assert.equal(issues(deep)[0]!.code, 'too_deep');
  const veryDeep = '['.repeat(10_000) + ']'.repeat(10_000);
  assert.equal(issues(veryDeep)[0]!.code, 'too_deep');
});

test('aliases that expand past the limit are refused (billion laughs)', () => {
  let yaml = 'x-0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  for (let i = 1; i < 9; i++) yaml += `x-${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]\n`;
  assert.equal(issues(yaml + wf(task('a', 'with: { v: *l8 }')))[0]!.code, 'alias_limit');
});

test('__proto__ keys are refused and Object.prototype is left alone; constructor is just an unknown key', () => {
  const list = issues(wf(task('a', 'with: { __proto__: { polluted: true } }')));
  assert.equal(only(list, 'invalid_key').path, 'steps[0].with.__proto__');
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.equal(only(issues(wf(task('a', 'constructor: 1'))), 'unknown_key').path, 'steps[0].constructor');
});

test('keys must be strings or numbers; .inf and .nan are not JSON numbers', () => {
  assert.equal(issues(wf(task('a', 'with: { [a]: 1 }')))[0]!.code, 'invalid_key');
  assert.equal(only(issues(wf(task('a', 'with: { n: .inf }'))), 'invalid_type').path, 'steps[0].with.n');
  assert.equal(only(issues(wf(task('a', 'timeout: .nan'))), 'invalid_type').path, 'steps[0].timeout');
  valid(wf(task('a', 'with: { 200: ok }')));
});

test('a non-string source is refused as data, not thrown', () => {
  const r = parseWorkflow(42 as unknown as string);
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.errors[0]!.code, 'not_text');
});

test('issues are sorted by position and capped at 50', () => {
  let steps = '';
  for (let i = 0; i < 80; i++) steps += `  - { id: s${i}, type: task, runner: http, bogus: ${i} }\n`;
  const list = issues(wf(steps));
  assert.equal(list.length, 50);
  for (let i = 1; i < list.length; i++) assert.ok(list[i - 1]!.line < list[i]!.line || (list[i - 1]!.line === list[i]!.line && list[i - 1]!.column <= list[i]!.column));
  assert.deepEqual(list[0], { path: 'steps[0].bogus', line: 4, column: 41, code: 'unknown_key', message: 'unknown key "bogus"; allowed here: id, name, dependsOn, join, retry, timeout, hooks, gate, onFailure, outputs, if, type, runner, with' });
});

test('schema issues and graph issues are reported together', () => {
  const list = issues(wf(task('a', 'dependsOn: [b], retry: { backoff: slow }') + task('b', 'dependsOn: [a]')));
  assert.deepEqual(list.map((i) => i.code).sort(), ['cycle', 'invalid_value']);
});

test('a missing required key names the key and what to write', () => {
  const list = issues('name: t\nversion: 1.0.0\nsteps:\n  - { id: a }\n');
  assert.deepEqual(list.map((i) => [i.path, i.code, i.message]), [['steps[0].type', 'missing_key', 'missing required key "type"; add type: task | llm | agent | forest | decision | parallel | loop | wait | approval | workflow | race']]);
  assert.match(only(issues('version: 1.0.0\nsteps: []\n'), 'missing_key').message, /missing required key "name"/);
});

test('a number where a string belongs says to quote it', () => {
  assert.match(only(issues('name: t\nversion: 1.0\nsteps:\n' + task('a')), 'invalid_type').message, /expected a string; got the number 1 — put it in quotes/);
});

test('a misspelt required key is reported once, as an unknown key with the suggestion', () => {
  const list = issues(wf('  - { id: a, type: task, runer: http }\n'));
  assert.deepEqual(list.map((i) => [i.path, i.code, i.message]), [['steps[0].runer', 'unknown_key', 'unknown key "runer" — did you mean "runner"?']]);
});
