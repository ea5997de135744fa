/**
 * The whitelisted functions (worker/workflow/expr/functions.ts).
 *
 * Invariants checked:
 * 1. Each function returns what docs/expressions.md says for valid arguments.
 * 2. A wrong argument type throws `evaluation_error` naming the function and the argument.
 * 3. parseJson never yields __proto__/constructor/prototype keys; matches is a linear glob.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateSource } from '../../../../worker/workflow/expr/index.ts';
import { expectExprError } from './helpers.ts';

const scope = {
  s: '  Hello World  ', list: [3, 1, 2], words: ['a', 'b', 'c'], obj: { a: 1, b: 'two' }, n: 2.5, none: null,
  mixed: [1, 'x', null, undefined, true, { k: 1 }, [2]],
};
const ev = (source: string, extra: Record<string, unknown> = {}): unknown => evaluateSource(source, { ...scope, ...extra });

describe('functions: results', () => {
  const cases: Array<[string, unknown]> = [
    ['len(s)', 15], ['len(list)', 3], ['len(obj)', 2], ["len('')", 0],
    ['lower(s)', '  hello world  '], ['upper(s)', '  HELLO WORLD  '], ['trim(s)', 'Hello World'],
    ["contains(s, 'World')", true], ["contains(s, 'world')", false], ['contains(list, 2)', true], ["contains(list, '2')", false],
    ["startsWith(trim(s), 'Hell')", true], ["endsWith(s, 'x')", false],
    ["join(words, '-')", 'a-b-c'], ['join(words)', 'a,b,c'], ["join(mixed, '|')", '1|x|||true|{"k":1}|[2]'],
    ["split('a,b,,c', ',')", ['a', 'b', '', 'c']], ["split('abc', '')", ['a', 'b', 'c']],
    ['keys(obj)', ['a', 'b']], ['values(obj)', [1, 'two']], ['keys(words)', ['0', '1', '2']],
    ["toNumber('42')", 42], ["toNumber(' 3.5 ')", 3.5], ['toNumber(true)', 1], ['toNumber(n)', 2.5],
    ["toString('x')", 'x'], ['toString(12)', '12'], ['toString(false)', 'false'], ['toString(none)', 'null'], ['toString(missing)', ''],
    ['toString(obj)', '{"a":1,"b":"two"}'], ['toString(list)', '[3,1,2]'],
    ['json(obj)', '{"a":1,"b":"two"}'], ["json('x')", '"x"'], ['json(missing)', 'null'], ['json(mixed)', '[1,"x",null,null,true,{"k":1},[2]]'],
    ["parseJson('{\"a\":[1,2]}')", { a: [1, 2] }], ["parseJson('3')", 3],
    ['min(3, 1, 2)', 1], ['max(3, 1, 2)', 3], ['min(list)', 1], ['max(list)', 3], ['max(-1)', -1],
    ['round(n)', 3], ['round(1.005, 2)', 1.01], ['round(1234.5, -2)', 1200], ['round(-2.5)', -2], ['round(1e-7, 7)', 1e-7],
    ['floor(n)', 2], ['ceil(n)', 3], ['abs(-n)', 2.5],
    ["coalesce(none, missing, 0, 'x')", 0], ['coalesce(none, missing)', undefined],
    ["default(missing, 'd')", 'd'], ["default(none, 'd')", 'd'], ["default('', 'd')", ''],
    ["matches('build-42', 'build-*')", true], ["matches('build-42', 'build-?')", false], ["matches('build-42', 'build-??')", true],
    ["matches('a*b', 'a\\\\*b')", true], ["matches('axb', 'a\\\\*b')", false], ["matches('', '*')", true], ["matches('abc', '')", false],
    ["matches('😀x', '?x')", true], ["matches('release/1.2', 'release/*')", true], ["matches('Release', 'release')", false],
  ];
  for (const [source, expected] of cases) {
    test(`${source} → ${JSON.stringify(expected) ?? 'undefined'}`, () => assert.deepEqual(ev(source), expected));
  }
});

describe('functions: wrong argument types throw evaluation_error naming the function and argument', () => {
  const cases: Array<[string, RegExp]> = [
    ['len(1)', /^len: argument 1 \(x\) must be a string, array or object, got number/],
    ['len(missing)', /^len: argument 1 \(x\) .* got undefined/],
    ['lower(1)', /^lower: argument 1 \(s\) must be a string, got number/],
    ['upper(list)', /^upper: argument 1 \(s\) must be a string, got array/],
    ['trim(none)', /^trim: argument 1 \(s\) must be a string, got null/],
    ["contains(obj, 'a')", /^contains: argument 1 \(haystack\) must be a string or an array, got object/],
    ['contains(s, 1)', /^contains: argument 2 \(needle\) must be a string, got number/],
    ["startsWith(1, 'a')", /^startsWith: argument 1 \(s\)/],
    ['endsWith(s, list)', /^endsWith: argument 2 \(suffix\)/],
    ["join(s, ',')", /^join: argument 1 \(arr\) must be an array, got string/],
    ['join(words, 1)', /^join: argument 2 \(sep\) must be a string/],
    ['split(list, 1)', /^split: argument 1 \(s\)/],
    ['keys(s)', /^keys: argument 1 \(obj\) must be an object or an array, got string/],
    ['values(1)', /^values: argument 1 \(obj\)/],
    ['toNumber(obj)', /^toNumber: argument 1 \(x\)/],
    ["toNumber('abc')", /^toNumber: "abc" is not a number/],
    ["toNumber('')", /^toNumber: "" is not a number/],
    ['parseJson(1)', /^parseJson: argument 1 \(s\) must be a string/],
    ["parseJson('{bad')", /^parseJson: the text is not valid JSON/],
    ["min(1, 'a')", /^min: argument 2 \(numbers\) must be a number, got string/],
    ["max(words)", /^max: element 0 of the array is a string, not a number/],
    ['min(mixed[6][1])', /^min: argument 1 \(numbers\) must be a number, got undefined/],
    ['max(none)', /^max: argument 1 \(numbers\) must be a number, got null/],
    ["round('1')", /^round: argument 1 \(x\) must be a number, got string/],
    ['round(1, 1.5)', /^round: argument 2 \(digits\) must be an integer between -15 and 15/],
    ['round(1, 99)', /^round: argument 2 \(digits\)/],
    ['floor(s)', /^floor: argument 1 \(x\)/],
    ['ceil(true)', /^ceil: argument 1 \(x\) must be a number, got boolean/],
    ['abs(none)', /^abs: argument 1 \(x\)/],
    ["matches(1, '*')", /^matches: argument 1 \(s\)/],
    ['matches(s, none)', /^matches: argument 2 \(pattern\) must be a string, got null/],
  ];
  for (const [source, message] of cases) {
    test(`${source}`, () => {
      expectExprError(() => ev(source), 'evaluation_error', 0, message);
    });
  }

  test('min/max of an empty array throw evaluation_error', () => {
    expectExprError(() => ev('min(empty)', { empty: [] }), 'evaluation_error', 0, 'min: the array is empty');
  });

  test('json of cycles, bigints and non-plain objects throws evaluation_error', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    expectExprError(() => ev('json(c)', { c: cyclic }), 'evaluation_error', 0, 'cycle');
    expectExprError(() => ev('json(b)', { b: 10n }), 'evaluation_error', 0, 'bigint');
    expectExprError(() => ev('toString(d)', { d: new Date(0) }), 'evaluation_error', 0, 'non-plain object');
  });

  test('json never calls toJSON or getters on the data', () => {
    let called = false;
    const o = { a: 1, toJSON: () => { called = true; return 'hacked'; }, get g() { called = true; return 2; } };
    assert.equal(ev('json(o)', { o }), '{"a":1}');
    assert.equal(called, false);
  });
});

describe('functions: safety', () => {
  test('parseJson drops __proto__, constructor and prototype keys at every depth', () => {
    const out = ev(`parseJson('{"__proto__":{"polluted":1},"a":{"constructor":{"prototype":{"x":1}},"prototype":2,"ok":3}}')`) as Record<string, unknown>;
    assert.deepEqual(out, { a: { ok: 3 } });
    assert.equal(Object.hasOwn(out, '__proto__'), false);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test('parseJson pays one step per value', () => {
    const text = JSON.stringify(Array.from({ length: 200 }, (_, i) => i));
    expectExprError(() => evaluateSource('parseJson(t)', { t: text }, { maxSteps: 100 }), 'evaluation_error', 0, 'step budget');
  });

  test('matches is linear on patterns that make backtracking regexes explode', () => {
    const s = 'a'.repeat(5_000);
    const started = performance.now();
    assert.equal(evaluateSource(`matches(s, '${'*a'.repeat(30)}b')`, { s }, { maxSteps: 1e6 }), false);
    assert.ok(performance.now() - started < 2_000);
  });

  test('matches charges steps for long scans', () => {
    const s = 'a'.repeat(100_000);
    expectExprError(() => evaluateSource(`matches(s, '*a*a*a*b')`, { s }, { maxSteps: 50 }), 'evaluation_error', 0, 'step budget');
  });

  test('building strings past 1,000,000 characters throws evaluation_error', () => {
    const big = 'x'.repeat(600_000);
    expectExprError(() => evaluateSource('big + big', { big }), 'evaluation_error', 4, 'longer than 1000000');
    expectExprError(() => evaluateSource("join([big, big], '')", { big }), 'evaluation_error', 0, 'longer than 1000000');
    expectExprError(() => evaluateSource('json([big, big])', { big }), 'evaluation_error', 0, 'longer than 1000000');
  });

  test('function names live apart from the scope: a scope value named len is not callable, and len still works', () => {
    assert.equal(evaluateSource('len(len)', { len: 'abc' }), 3);
  });
});
