import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateInputs } from '../../../worker/workflow/index.ts';
import { fixtureText, issues, only, valid, wf } from './helpers.ts';

const { workflow } = valid(fixtureText('inputs-all-types.yaml'));

test('defaults fill in missing inputs and given values are kept', () => {
  const r = validateInputs(workflow, { name: 'Ada', count: 7 });
  assert.deepEqual(r, { ok: true, value: { name: 'Ada', mode: 'safe', count: 7, dry_run: false, options: { verbose: true }, tags: ['nightly'] } });
});

test('defaults are copied, so changing the result leaves the workflow intact', () => {
  const r = validateInputs(workflow, { name: 'Ada' });
  assert.ok(r.ok);
  (r.value['tags'] as string[]).push('changed');
  assert.deepEqual(workflow.inputs['tags']?.default, ['nightly']);
});

test('a missing required input, a wrong type, a value outside the enum and an unknown name are all reported', () => {
  const r = validateInputs(workflow, { mode: 'fsat', count: '3', tagz: [] });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(r.errors.map((e) => [e.path, e.code]).sort(), [
    ['inputs.count', 'invalid_type'],
    ['inputs.mode', 'invalid_value'],
    ['inputs.name', 'missing_input'],
    ['inputs.tagz', 'unknown_input'],
  ]);
  assert.match(r.errors.find((e) => e.path === 'inputs.mode')!.message, /did you mean "fast"\?/);
  assert.match(r.errors.find((e) => e.path === 'inputs.tagz')!.message, /did you mean "tags"\?/);
});

test('object and array inputs must be plain JSON', () => {
  for (const bad of [[1], new Date(), { x: Infinity }, null]) {
    const r = validateInputs(workflow, { name: 'a', options: bad });
    assert.equal(r.ok, false, String(bad));
  }
  assert.equal(validateInputs(workflow, { name: 'a', tags: { 0: 'x' } }).ok, false);
  assert.equal(validateInputs(workflow, { name: 'a', count: NaN }).ok, false);
});

test('inputs that are not a mapping are refused; undefined means none given', () => {
  const r = validateInputs(workflow, ['Ada']);
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.errors[0]!.code, 'invalid_inputs');
  const none = validateInputs(valid(wf('  - { id: a, type: wait, duration: 1s }\n')).workflow, undefined);
  assert.deepEqual(none, { ok: true, value: {} });
});

test('a __proto__ input key is refused and Object.prototype stays clean', () => {
  const r = validateInputs(workflow, JSON.parse('{"name":"a","__proto__":{"polluted":1}}'));
  assert.equal(r.ok, false);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('a default or enum value that does not match the declared type is a parse issue', () => {
  const list = issues(wf('  - { id: a, type: wait, duration: 1s }\n', 'inputs:\n  n: { type: number, enum: [1, "2"], default: 3 }\n  o: { type: object, enum: [{}] }\n  b: { type: boolean, default: "yes" }\n'));
  assert.deepEqual(list.map((i) => [i.path, i.code]), [
    ['inputs.n.enum[1]', 'invalid_default'],
    ['inputs.n.default', 'invalid_default'],
    ['inputs.o.enum', 'invalid_default'],
    ['inputs.b.default', 'invalid_default'],
  ]);
  assert.match(only(list.filter((i) => i.path === 'inputs.n.default'), 'invalid_default').message, /not in enum/);
});
