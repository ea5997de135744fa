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
  assert.ok(vocab.rootKeys.some((k) => k.label === 'steps') && vocab.stepLists.has('steps'));
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
  assert.deepEqual(labels(after('{{ ')), ['inputs', 'steps', 'workflow', 'session', 'env']);
  const c = completeAt(DOC, after('{{ inputs.w'), vocab)!;
  assert.deepEqual([c.options.map((o) => o.label), c.from], [['who'], after('{{ inputs.')]);
  assert.deepEqual(completeAt('a: "{{ steps.greet.', 19, vocab)?.options.map((o) => o.label), ['output']);
  assert.equal(completeAt('a: "{{ x }} ', 12, vocab), null, 'after a closed template');
  assert.deepEqual(stepIds(DOC), ['greet', 'b']);
  assert.deepEqual(inputNames(DOC), ['who']);
});
