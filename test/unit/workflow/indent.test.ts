/**
 * A misindented line is one issue at its own line and column, in one sentence (not the parser's
 * two messages on the line above), for lines indented deeper or less than their siblings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWorkflow } from '../../../worker/workflow/index.ts';
import { indentProblem } from '../../../worker/workflow/indent.ts';

const HEAD = 'name: x\nversion: 1.0.0\nsteps:\n  - id: a\n    type: task\n';

function errors(text: string): { path: string; line: number; column: number; message: string; code: string }[] {
  const r = parseWorkflow(text);
  assert.equal(r.ok, false, 'the file is refused');
  return r.ok ? [] : r.errors;
}

test('a key indented deeper than the one above is one issue at its own line', () => {
  const all = errors(`${HEAD}      runner: transform\n`);
  assert.equal(all.length, 1, JSON.stringify(all));
  assert.deepEqual([all[0]!.line, all[0]!.column, all[0]!.path, all[0]!.code], [6, 7, 'steps[0]', 'yaml_syntax']);
  assert.equal(all[0]!.message, '"runner:" on line 6 is indented deeper than "type:" on line 5 (column 7, not 5); start it at column 5 to keep it in the same mapping');
});

test('a key indented less than the one above (inside a list item or a mapping) is one issue at its own line', () => {
  for (const [bad, line, column] of [['   runner: transform\n', 6, 4], ['  runner: transform\n', 6, 3]] as const) {
    const all = errors(HEAD + bad);
    assert.equal(all.length, 1, JSON.stringify(all));
    assert.deepEqual([all[0]!.line, all[0]!.column], [line, column]);
    assert.match(all[0]!.message, /^"runner:" on line 6 is indented less than "type:" on line 5 \(column \d, not 5\); start it at column 5/);
  }
  const nested = errors(`${HEAD}    runner: transform\n    with:\n      a: 1\n     b: 2\n`);
  assert.deepEqual(nested.map((e) => [e.line, e.column, e.path]), [[9, 6, 'steps[0].with']]);
});

test('blank and comment lines between do not move the issue off the misindented line', () => {
  const all = errors(`${HEAD}\n    # note\n       runner: transform\n`);
  assert.deepEqual(all.map((e) => [e.line, e.column]), [[8, 8]]);
  assert.match(all[0]!.message, /line 8 is indented deeper than "type:" on line 5/);
});

test('a top-level key indented by one space', () => {
  const all = errors('name: x\n version: 1.0.0\nsteps: []\n');
  assert.deepEqual(all.map((e) => [e.line, e.column, e.path]), [[2, 2, '']]);
});

test('indentProblem leaves other errors alone', () => {
  assert.equal(indentProblem('a: [1, 2\n', 'MISSING_CHAR', 8), undefined);
  assert.equal(indentProblem('a: b\n  - c\n', 'BAD_INDENT', 5), undefined, 'a list item is not a misindented key');
  assert.equal(indentProblem(HEAD, 'UNEXPECTED_TOKEN', 10), undefined);
});
