/**
 * The workflow editor's pure parts: issue positions → ranges, and completion (from the JSON Schema
 * the worker answers and from the workflow's own steps and inputs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workflowJsonSchema } from '../../../worker/workflow/index.ts';
import { completeAt, inputNames, stepIds, vocabularyFromSchema } from '../../../src/lib/editor/completion.ts';
import { issueRange, offsetOf } from '../../../src/lib/editor/positions.ts';

const vocab = vocabularyFromSchema(JSON.parse(JSON.stringify(workflowJsonSchema())) as unknown);
const DOC = 'name: x\nversion: 1.0.0\ninputs:\n  who:\n    type: \nsteps:\n  - id: greet\n    type: \n  - id: b\n    type: task\n    with:\n      x: "{{ steps. }}"\n      y: "{{ inputs.w }}"\n    \n';
const after = (needle: string): number => DOC.indexOf(needle) + needle.length;
const labels = (pos: number): string[] | undefined => completeAt(DOC, pos, vocab)?.options.map((o) => o.label);

test('offsetOf and issueRange stay inside the text and cover the token at the position', () => {
  const text = 'a: 1\nsteps:\n  - type: tsk\n';
  assert.equal(offsetOf(text, 3, 11), text.indexOf('tsk'));
  assert.deepEqual(issueRange(text, { line: 3, column: 11 }), { from: text.indexOf('tsk'), to: text.indexOf('tsk') + 3 });
  assert.deepEqual(issueRange(text, { line: 2, column: 1 }), { from: 5, to: 10 }, 'a key without its colon');
  assert.equal(offsetOf(text, 99, 1), text.length, 'a line past the end is the last (empty) line');
  assert.equal(offsetOf(text, 1, 99), 4, 'a column past the end is the line end');
  const r = issueRange(text, { line: 1, column: 99 });
  assert.ok(r.to > r.from && r.to <= text.length, 'never empty at the end of a line');
  assert.deepEqual(issueRange('x: "{{ steps.a }}" y', { line: 1, column: 5 }), { from: 4, to: 17 }, 'a template is one token');
  assert.deepEqual(issueRange('', { line: 1, column: 1 }), { from: 0, to: 0 });
});

test('the vocabulary is read from the JSON Schema', () => {
  assert.deepEqual(vocab.stepTypes.map((t) => t.label), ['task', 'llm', 'agent', 'forest', 'decision', 'parallel', 'loop', 'wait', 'approval', 'workflow', 'race']);
  assert.ok(vocab.rootKeys.some((k) => k.label === 'steps'));
  assert.ok(vocab.stepKeys['task']!.some((k) => k.label === 'runner'));
  assert.deepEqual(vocab.inputTypes.map((t) => t.label), ['string', 'number', 'boolean', 'object', 'array']);
  assert.deepEqual(vocabularyFromSchema(null).stepTypes, [], 'no schema, no vocabulary (and no throw)');
});

test('step types after type: in a step, input types in an input', () => {
  assert.deepEqual(labels(after('- id: greet\n    type: ')), vocab.stepTypes.map((t) => t.label));
  assert.deepEqual(labels(after('who:\n    type: ')), ['string', 'number', 'boolean', 'object', 'array']);
  const text = 'steps:\n  - id: a\n    type: ll';
  assert.equal(completeAt(text, text.length, vocab)!.from, text.length - 2, 'the typed prefix is replaced');
});

test('keys: the root keys at column 1, the keys of the step type otherwise', () => {
  assert.deepEqual(labels(after('version')), vocab.rootKeys.map((k) => k.label));
  const keys = labels(after('"{{ inputs.w }}"\n    '))!;
  assert.ok(keys.includes('runner') && !keys.includes('prompt'), 'a task step: task keys');
  const untyped = 'steps:\n  - id: a\n    ';
  assert.ok(completeAt(untyped, untyped.length, vocab)!.options.some((o) => o.label === 'prompt'), 'a step without a type: every step key');
  assert.equal(completeAt(DOC, after('      x'), vocab), null, 'nothing inside with:');
});

test('{{ }} references: roots, the workflow\'s own step ids and inputs', () => {
  assert.deepEqual(labels(after('{{ steps.')), ['greet', 'b']);
  assert.deepEqual(labels(after('{{ ')), ['inputs', 'steps', 'workflow', 'session', 'env', 'secrets', 'failure', 'loop', 'result', 'output', 'error']);
  const c = completeAt(DOC, after('{{ inputs.w'), vocab)!;
  assert.deepEqual([c.options.map((o) => o.label), c.from], [['who'], after('{{ inputs.')]);
  assert.deepEqual(completeAt('a: "{{ steps.greet.', 19, vocab)?.options.map((o) => o.label), ['output', 'status', 'error', 'attempts']);
  assert.deepEqual(completeAt('a: "{{ failure.', 15, vocab)?.options.map((o) => o.label), ['step', 'reasons', 'loop', 'error']);
  assert.deepEqual(completeAt('a: "{{ loop.', 12, vocab)?.options.map((o) => o.label), ['index']);
  assert.equal(completeAt('a: "{{ x }} ', 12, vocab), null, 'after a closed template');
  assert.deepEqual(stepIds(DOC), ['greet', 'b']);
  assert.deepEqual(inputNames(DOC), ['who']);
});

/** Completion at the end of `text` (the cursor after its last character). */
const at = (text: string): string[] | undefined => completeAt(text, text.length, vocab)?.options.map((o) => o.label);

test('keys at any depth: retry, hooks and their config by the hook\'s type, gate, onFailure', () => {
  const step = 'name: x\nversion: 1.0.0\nsteps:\n  - id: a\n    type: task\n    runner: http\n';
  const schema = workflowJsonSchema() as { $defs: { RetryPolicy: { properties: object } } };
  assert.deepEqual(at(`${step}    retry:\n      `), Object.keys(schema.$defs.RetryPolicy.properties), 'the retry policy\'s keys');
  assert.ok(!at(`${step}    retry:\n      `)!.includes('runner'), 'not the step\'s keys');
  assert.deepEqual(at(`${step}    hooks:\n      `), ['onStart', 'onComplete', 'onError']);
  const hook = `${step}    hooks:\n      onError:\n        type: webhook\n        config:\n          `;
  assert.ok(at(hook)!.includes('url') && !at(hook)!.includes('runner'), 'a webhook hook\'s config');
  const taskHook = `${step}    hooks:\n      onError:\n        type: task\n        config:\n          `;
  assert.deepEqual(at(taskHook), ['runner', 'with'], 'a task hook\'s config');
  assert.ok(at(`name: x\nhooks:\n  `)!.includes('onComplete'), 'workflow hooks at the root');
  assert.ok(at(`${step}    onFailure:\n      `)!.includes('goto'), 'onFailure keys');
  assert.equal(at(`${step}    with:\n      url: x\n      `), undefined, 'nothing inside with: (free-form)');
});

test('nested step lists: a loop body\'s step and a step after a first line at column 0 dash', () => {
  const loop = 'steps:\n  - id: l\n    type: loop\n    over: "{{ inputs.xs }}"\n    steps:\n      - id: b\n        type: llm\n        ';
  const keys = at(loop)!;
  assert.ok(keys.includes('prompt') && !keys.includes('over'), 'the body step is an llm step, not the loop');
  const flat = 'steps:\n- id: a\n  type: approval\n  ';
  assert.ok(at(flat)!.includes('approvers'), 'a list whose dashes sit at the key\'s column');
});

test('values: enum members, booleans, step and hook types', () => {
  const step = 'steps:\n  - id: a\n    type: task\n    retry:\n      backoff: ';
  assert.deepEqual(at(step), ['exponential', 'linear', 'fixed']);
  assert.deepEqual(at('steps:\n  - id: a\n    type: task\n    join: '), ['all', 'any']);
  assert.deepEqual(at('inputs:\n  n:\n    type: number\n    required: '), ['true', 'false']);
  assert.deepEqual(at('hooks:\n  onStart:\n    type: '), ['webhook', 'task', 'llm']);
  const typed = 'steps:\n  - id: a\n    type: ta';
  assert.equal(at(typed)!.length, vocab.stepTypes.length, 'the type being typed does not narrow its own choices');
  assert.equal(at('name: '), undefined, 'a free value: nothing');
});

test('unknown shapes give nothing, never a throw', () => {
  for (const text of ['    x:\n  ', '- - - \n', 'steps:\n  - id: a\n\t\ttype: ', ':\n :\n  :', 'a: {{', '\n\n\n      ']) {
    assert.doesNotThrow(() => completeAt(text, text.length, vocab));
  }
});

test("with: of a task whose runner names an installed Tool: its parameters (type, required, description) and enum values", () => {
  const tools = [{ name: 'runner.deploy', parameters: {
    service: { type: 'string', required: true, description: 'Which service' },
    environment: { type: 'string', required: true, enum: ['dev', 'staging', 'prod'] },
    dryRun: { type: 'boolean', required: false },
  } }];
  const v = vocabularyFromSchema(JSON.parse(JSON.stringify(workflowJsonSchema())) as unknown, tools);
  const doc = 'name: x\nversion: 1.0.0\nsteps:\n  - id: d\n    type: task\n    runner: runner.deploy\n    with:\n      service: api\n      environment: st\n      \n  - id: t\n    type: task\n    runner: transform\n    with:\n      \n';
  const at = (needle: string, nth = 0): number => {
    let i = -1;
    for (let n = 0; n <= nth; n++) i = doc.indexOf(needle, i + 1);
    return i + needle.length;
  };
  const keys = completeAt(doc, at('environment: st\n      '), v)!;
  assert.deepEqual(keys.options.map((o) => [o.label, o.detail]), [
    ['service', 'string, required — Which service'], ['environment', 'string, required'], ['dryRun', 'boolean'],
  ]);
  const values = completeAt(doc, at('environment: st'), v)!;
  assert.deepEqual(values.options.map((o) => o.label), ['dev', 'staging', 'prod']);
  assert.equal(values.from, at('environment: st') - 2, 'the typed prefix is replaced');
  assert.equal(completeAt(doc, at('    with:\n      ', 1), v), null, 'a built-in runner: nothing inside with: (as before)');
  const spec = 'name: x\nversion: 1.0.0\nsteps:\n  - id: d\n    task:\n      runner: runner.deploy\n      vars:\n        \n';
  assert.deepEqual(completeAt(spec, spec.length - 1, v)!.options.map((o) => o.label), ['service', 'environment', 'dryRun'], "the spec form's task: vars:");
});
