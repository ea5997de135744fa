/**
 * The run form (src/lib/workflows/inputs.ts): fields from a workflow's inputs, their initial
 * values, and parsing what was typed into the inputs a session starts with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fieldsOf, initialValues, parseJson, parseValues, type Field, type FieldValues, type Parsed } from '../../../src/lib/workflows/inputs.ts';
import type { InputSpec } from '../../../src/lib/workflows/types.ts';
import { parseWorkflow, validateInputs, type Workflow } from '../../../worker/workflow/index.ts';
import type { Json } from '../../../worker/api.ts';

function field(name: string, spec: InputSpec): Field {
  const [f] = fieldsOf({ [name]: spec });
  assert.ok(f);
  return f;
}

function ok(p: Parsed): Record<string, Json> {
  if (!p.ok) assert.fail(`expected the form to parse, got ${JSON.stringify(p.errors)}`);
  return p.inputs;
}

function errs(p: Parsed): Record<string, string> {
  if (p.ok) assert.fail(`expected errors, got inputs ${JSON.stringify(p.inputs)}`);
  return p.errors;
}

function parseOne(spec: InputSpec, raw: string | number | boolean | null | undefined): Parsed {
  const f = field('x', spec);
  const values: FieldValues = {};
  if (raw !== undefined) values['x'] = raw;
  return parseValues([f], values);
}

function workflowOf(yamlText: string): Workflow {
  const r = parseWorkflow(yamlText);
  if (!r.ok) assert.fail(r.errors.map((e) => `${e.path} ${e.code} ${e.message}`).join('\n'));
  return r.workflow;
}

// ---- fieldsOf ----------------------------------------------------------------------------------

test('each input type gets its field kind, in declaration order', () => {
  const fields = fieldsOf({
    s: { type: 'string' },
    n: { type: 'number' },
    b: { type: 'boolean' },
    o: { type: 'object' },
    a: { type: 'array' },
  });
  assert.deepEqual(fields.map((f) => [f.name, f.kind]), [['s', 'text'], ['n', 'number'], ['b', 'checkbox'], ['o', 'json'], ['a', 'json']]);
  for (const f of fields) assert.deepEqual(f.options, []);
});

test('an enum makes a select whose options are the values as JSON text', () => {
  const s = field('mode', { type: 'string', enum: ['fast', 'safe'] });
  assert.equal(s.kind, 'select');
  assert.deepEqual(s.options, ['"fast"', '"safe"']);
  const n = field('level', { type: 'number', enum: [1, 2.5, -3] });
  assert.equal(n.kind, 'select');
  assert.deepEqual(n.options, ['1', '2.5', '-3']);
});

test('a boolean stays a checkbox even with an enum; an empty enum is no select', () => {
  assert.equal(field('b', { type: 'boolean', enum: [true, false] }).kind, 'checkbox');
  assert.equal(field('s', { type: 'string', enum: [] }).kind, 'text');
  assert.equal(field('n', { type: 'number', enum: [] }).kind, 'number');
});

test('a field is required only when the input is required and has no default', () => {
  assert.equal(field('a', { type: 'string', required: true }).required, true);
  assert.equal(field('a', { type: 'string', required: true, default: 'x' }).required, false);
  assert.equal(field('a', { type: 'string', required: true, default: null }).required, false);
  assert.equal(field('a', { type: 'string', required: false }).required, false);
  assert.equal(field('a', { type: 'string' }).required, false);
});

test('the field keeps its spec (description and all)', () => {
  const spec: InputSpec = { type: 'string', description: 'Who to greet.', default: 'world' };
  assert.equal(field('who', spec).spec, spec);
  assert.deepEqual(fieldsOf({}), []);
});

// ---- initialValues -----------------------------------------------------------------------------

test('defaults are pre-filled in the form each field kind holds', () => {
  const fields = fieldsOf({
    s: { type: 'string', default: 'hi' },
    n: { type: 'number', default: 3 },
    b: { type: 'boolean', default: true },
    o: { type: 'object', default: { verbose: true } },
    a: { type: 'array', default: ['nightly'] },
    e: { type: 'string', enum: ['fast', 'safe'], default: 'safe' },
    en: { type: 'number', enum: [1, 2], default: 2 },
  });
  assert.deepEqual(initialValues(fields), {
    s: 'hi',
    n: '3',
    b: true,
    o: '{\n  "verbose": true\n}',
    a: '[\n  "nightly"\n]',
    e: '"safe"',
    en: '2',
  });
});

test('without defaults: empty text, unchecked box, empty select and JSON', () => {
  const fields = fieldsOf({
    s: { type: 'string' },
    n: { type: 'number' },
    b: { type: 'boolean' },
    o: { type: 'object' },
    a: { type: 'array' },
    e: { type: 'string', enum: ['x'] },
    nul: { type: 'string', default: null },
  });
  assert.deepEqual(initialValues(fields), { s: '', n: '', b: false, o: '', a: '', e: '', nul: '' });
});

test('a select default is one of its options', () => {
  const [f] = fieldsOf({ e: { type: 'number', enum: [1, 2, 3], default: 3 } });
  assert.ok(f);
  assert.ok(f.options.includes(initialValues([f])['e'] as string));
});

// ---- parseValues: each kind ----------------------------------------------------------------------

test('text is taken as typed, including spaces', () => {
  assert.deepEqual(ok(parseOne({ type: 'string' }, 'Ada')), { x: 'Ada' });
  assert.deepEqual(ok(parseOne({ type: 'string' }, '  Ada  ')), { x: '  Ada  ' });
  assert.deepEqual(ok(parseOne({ type: 'string' }, '{"not":"json"}')), { x: '{"not":"json"}' });
});

test('numbers parse; bad numbers are reported', () => {
  assert.deepEqual(ok(parseOne({ type: 'number' }, '42')), { x: 42 });
  assert.deepEqual(ok(parseOne({ type: 'number' }, '-1.5')), { x: -1.5 });
  assert.deepEqual(ok(parseOne({ type: 'number' }, ' 7 ')), { x: 7 });
  assert.deepEqual(ok(parseOne({ type: 'number' }, '1e3')), { x: 1000 });
  assert.deepEqual(ok(parseOne({ type: 'number' }, 0)), { x: 0 }, 'a number input bound to a number');
  assert.deepEqual(ok(parseOne({ type: 'number' }, 12.25)), { x: 12.25 });
  for (const bad of ['abc', '1,5', '12px', 'Infinity', '-Infinity', 'NaN', '1e999']) {
    assert.deepEqual(errs(parseOne({ type: 'number' }, bad)), { x: 'Not a number: type a number such as 3 or 2.5.' }, bad);
  }
  assert.deepEqual(errs(parseOne({ type: 'number' }, Number.NaN)), { x: 'Not a number: type a number such as 3 or 2.5.' });
});

test('a checkbox is always sent, as a boolean', () => {
  assert.deepEqual(ok(parseOne({ type: 'boolean' }, true)), { x: true });
  assert.deepEqual(ok(parseOne({ type: 'boolean' }, false)), { x: false });
  assert.deepEqual(ok(parseOne({ type: 'boolean' }, undefined)), { x: false });
  assert.deepEqual(ok(parseOne({ type: 'boolean', required: true }, false)), { x: false }, 'unchecked is an answer, not a missing one');
  assert.deepEqual(ok(parseOne({ type: 'boolean', default: true }, false)), { x: false });
  assert.deepEqual(ok(parseOne({ type: 'boolean' }, 'true')), { x: false }, 'only the boolean true checks the box');
});

test('objects and arrays parse as JSON and must have the declared shape', () => {
  assert.deepEqual(ok(parseOne({ type: 'object' }, '{"a": [1, {"b": null}]}')), { x: { a: [1, { b: null }] } });
  assert.deepEqual(ok(parseOne({ type: 'object' }, '{}')), { x: {} });
  assert.deepEqual(ok(parseOne({ type: 'array' }, '[1, "two", false]')), { x: [1, 'two', false] });
  assert.deepEqual(ok(parseOne({ type: 'array' }, '[]')), { x: [] });
  for (const notObject of ['[]', '[1]', 'null', '1', '"s"', 'true']) {
    assert.deepEqual(errs(parseOne({ type: 'object' }, notObject)), { x: 'Not an object: write a JSON object such as {"key": "value"}.' }, notObject);
  }
  for (const notArray of ['{}', 'null', '1', '"[]"', 'false']) {
    assert.deepEqual(errs(parseOne({ type: 'array' }, notArray)), { x: 'Not a list: write a JSON array such as ["a", "b"].' }, notArray);
  }
});

test('bad JSON is reported with the parser message', () => {
  for (const bad of ['{a: 1}', '[1, 2', "{'a': 1}", 'undefined', '{"a": 1,}']) {
    const e = errs(parseOne({ type: 'object' }, bad))['x'];
    assert.ok(e !== undefined);
    assert.match(e, /^Not valid JSON \(\S.*\): check the brackets, commas and quotes\.$/, bad);
  }
  assert.match(errs(parseOne({ type: 'array' }, '[1, 2'))['x'] ?? '', /^Not valid JSON \(/);
});

test('a select gives back the enum value with its JSON type', () => {
  assert.deepEqual(ok(parseOne({ type: 'string', enum: ['fast', 'safe'] }, '"fast"')), { x: 'fast' });
  assert.deepEqual(ok(parseOne({ type: 'number', enum: [1, 2] }, '2')), { x: 2 });
  assert.deepEqual(ok(parseOne({ type: 'string', enum: ['1'] }, '"1"')), { x: '1' }, 'the string "1" stays a string');
});

// ---- parseValues: empty fields -------------------------------------------------------------------

test('required fields left empty are reported, each kind', () => {
  const fields = fieldsOf({
    s: { type: 'string', required: true },
    n: { type: 'number', required: true },
    o: { type: 'object', required: true },
    a: { type: 'array', required: true },
    e: { type: 'string', required: true, enum: ['x', 'y'] },
  });
  assert.deepEqual(errs(parseValues(fields, initialValues(fields))), { s: 'Required: fill it in.', n: 'Required: fill it in.', o: 'Required: fill it in.', a: 'Required: fill it in.', e: 'Required: fill it in.' });
  assert.deepEqual(errs(parseValues(fields, { s: '', n: null, o: '  \n ', a: '\t', e: '' })), { s: 'Required: fill it in.', n: 'Required: fill it in.', o: 'Required: fill it in.', a: 'Required: fill it in.', e: 'Required: fill it in.' });
  assert.deepEqual(errs(parseValues(fields, {})), { s: 'Required: fill it in.', n: 'Required: fill it in.', o: 'Required: fill it in.', a: 'Required: fill it in.', e: 'Required: fill it in.' });
});

test('empty optional fields are left out so their defaults apply', () => {
  const fields = fieldsOf({
    s: { type: 'string', default: 'hi' },
    req: { type: 'string', required: true, default: 'world' },
    n: { type: 'number', default: 3 },
    o: { type: 'object', default: { a: 1 } },
    a: { type: 'array', default: [1] },
    e: { type: 'string', enum: ['x', 'y'], default: 'y' },
  });
  assert.deepEqual(ok(parseValues(fields, { s: '', req: '', n: null, o: '   ', a: '', e: '' })), {});
});

test('empty optional fields without a default: JSON, number and select are left out, text is the empty string', () => {
  const fields = fieldsOf({
    s: { type: 'string' },
    n: { type: 'number' },
    o: { type: 'object' },
    a: { type: 'array' },
    e: { type: 'string', enum: ['x'] },
  });
  assert.deepEqual(ok(parseValues(fields, initialValues(fields))), { s: '' });
  assert.deepEqual(ok(parseValues(fields, {})), { s: '' });
});

test('all errors are reported together and no inputs come with them', () => {
  const fields = fieldsOf({
    name: { type: 'string', required: true },
    count: { type: 'number' },
    options: { type: 'object' },
    tags: { type: 'array' },
    fine: { type: 'string' },
  });
  const p = parseValues(fields, { name: '', count: 'three', options: '{', tags: '{}', fine: 'ok' });
  assert.equal(p.ok, false);
  assert.ok(!('inputs' in p));
  const e = errs(p);
  assert.deepEqual(Object.keys(e).sort(), ['count', 'name', 'options', 'tags']);
  assert.equal(e['name'], 'Required: fill it in.');
  assert.equal(e['count'], 'Not a number: type a number such as 3 or 2.5.');
  assert.match(e['options'] ?? '', /^Not valid JSON/);
  assert.equal(e['tags'], 'Not a list: write a JSON array such as ["a", "b"].');
});

test('values for names that are not fields are ignored', () => {
  const fields = fieldsOf({ a: { type: 'string' } });
  assert.deepEqual(ok(parseValues(fields, { a: 'x', stray: 'y' })), { a: 'x' });
});

// ---- parseJson ---------------------------------------------------------------------------------

test('parseJson: values or an "Invalid JSON" message, never a throw', () => {
  assert.deepEqual(parseJson('{"a":[1,true,null]}'), { ok: true, value: { a: [1, true, null] } });
  assert.deepEqual(parseJson(' 3 '), { ok: true, value: 3 });
  assert.deepEqual(parseJson('"s"'), { ok: true, value: 's' });
  for (const bad of ['', '{', 'nope', '[1,]']) {
    const r = parseJson(bad);
    assert.equal(r.ok, false, bad);
    if (!r.ok) assert.match(r.error, /^Not valid JSON \(/);
  }
});

// ---- with the engine -----------------------------------------------------------------------------

test('the pre-filled form of the all-types fixture: only the required name is missing; filled in, the engine accepts it', () => {
  const workflow = workflowOf(readFileSync(new URL('../../fixtures/workflows/inputs-all-types.yaml', import.meta.url), 'utf8'));
  const fields = fieldsOf(workflow.inputs);
  assert.deepEqual(fields.map((f) => [f.name, f.kind, f.required]), [
    ['name', 'text', true],
    ['mode', 'select', false],
    ['count', 'number', false],
    ['dry_run', 'checkbox', false],
    ['options', 'json', false],
    ['tags', 'json', false],
  ]);
  const values = initialValues(fields);
  assert.deepEqual(errs(parseValues(fields, values)), { name: 'Required: fill it in.' });

  values['name'] = 'Ada';
  const inputs = ok(parseValues(fields, values));
  assert.deepEqual(inputs, { name: 'Ada', mode: 'safe', count: 3, dry_run: false, options: { verbose: true }, tags: ['nightly'] });
  assert.deepEqual(validateInputs(workflow, inputs), { ok: true, value: inputs });

  values['mode'] = '"fast"';
  values['count'] = 7;
  values['dry_run'] = true;
  values['options'] = '{"verbose": false, "depth": 2}';
  values['tags'] = '[]';
  const changed = ok(parseValues(fields, values));
  assert.deepEqual(changed, { name: 'Ada', mode: 'fast', count: 7, dry_run: true, options: { verbose: false, depth: 2 }, tags: [] });
  assert.deepEqual(validateInputs(workflow, changed), { ok: true, value: changed });

  values['options'] = '';
  values['tags'] = ' ';
  values['count'] = null;
  const cleared = ok(parseValues(fields, values));
  assert.deepEqual(cleared, { name: 'Ada', mode: 'fast', dry_run: true });
  assert.deepEqual(validateInputs(workflow, cleared), { ok: true, value: { name: 'Ada', mode: 'fast', count: 3, dry_run: true, options: { verbose: true }, tags: ['nightly'] } });
});

test('every select option is a value the engine accepts for that input', () => {
  const workflow = workflowOf('name: t\nversion: 1.0.0\ninputs:\n  s: { type: string, enum: [a, "1", "true"] }\n  n: { type: number, enum: [0, 1.5, -2] }\nsteps:\n  - { id: w, type: wait, duration: 1s }\n');
  const fields = fieldsOf(workflow.inputs);
  for (const f of fields) {
    assert.equal(f.kind, 'select');
    for (const option of f.options) {
      const inputs = ok(parseValues([f], { [f.name]: option }));
      assert.equal(validateInputs(workflow, inputs).ok, true, `${f.name} = ${option}`);
    }
  }
});
