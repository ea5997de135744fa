/**
 * build/strip-docs.ts: only the written descriptions of kernel definitions are stripped
 * from the worker build; other descriptions (a migration's, one computed at run time) stay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { docRanges } from '../../../build/strip-docs.ts';

const stripped = (code: string): string => {
  let out = code;
  for (const [s, e] of docRanges(code).reverse()) out = `${out.slice(0, s)}''${out.slice(e)}`;
  return out;
};

test('command, query and event descriptions are stripped; others stay as written', () => {
  const code = [
    "const c = { type: 'a.b', description: 'Does a thing.', schema: s, mutates: true };",
    "const q = { name: 'a.list', description: `Lists ${'them'}` + ' all', schema: s };",
    "const e = { type: 'a.done', version: 1, description: 'It happened.', schema: s, concurrent: 'Later wins.' };",
    "const m = { version: 3, description: 'add a column', sql: 'ALTER' };",
    "const p = { type: 'x', description: spec.description, schema: s };",
    "const w = { name: 'y', description: 'no schema here' };",
  ].join('\n');
  const out = stripped(code);
  assert.match(out, /type: 'a\.b', description: '', schema/);
  assert.match(out, /name: 'a\.list', description: '', schema/);
  assert.match(out, /description: '', schema: s, concurrent: 'Later wins\.'/, 'concurrent stays (the conflicts view shows it)');
  assert.match(out, /description: 'add a column'/, "a migration's description stays");
  assert.match(out, /description: spec\.description/, 'a computed description stays');
  assert.match(out, /description: 'no schema here'/);
});

test('the kernel modules lose their descriptions and nothing else', () => {
  const file = new URL('../../../worker/domains/providers/index.ts', import.meta.url);
  const code = readFileSync(file, 'utf8');
  const ranges = docRanges(code);
  assert.equal(ranges.length, 5, 'two commands, two events, one query');
  for (const [s, e] of ranges) assert.match(code.slice(s, e), /^['"`]/, 'each range is a written string');
});

test("the error catalogue's sentences are stripped, its keys stay", () => {
  const code = "export const ERROR_CODES = {\n  not_found: 'The entity does not exist.',\n  internal: 'A bug.',\n} as const;\nconst OTHER = { a: 'kept' };";
  const out = stripped(code);
  assert.match(out, /not_found: '',\n  internal: '',/);
  assert.match(out, /a: 'kept'/);
});
