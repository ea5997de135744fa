/**
 * The interpreter (worker/workflow/expr/evaluate.ts): operator semantics, short-circuiting, member
 * access rules, the step budget and the no-prototype rules.
 *
 * Invariants checked:
 * 1. Each operator follows the table in docs/expressions.md, with no implicit coercion.
 * 2. `&&`, `||`, `??` and `? :` never evaluate the branch they skip.
 * 3. Names and members read only own data properties; missing ones are `undefined`.
 * 4. Forbidden keys computed at run time throw `evaluation_error`; no function is ever returned.
 * 5. The step budget stops evaluation with `evaluation_error`.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, evaluateSource, isTruthy, parseExpression, type Expr } from '../../../../worker/workflow/expr/index.ts';
import { expectExprError } from './helpers.ts';

const scope = {
  n: 7, s: 'abc', t: true, z: 0, nul: null, arr: [1, 2, 3], obj: { a: 1, nested: { b: 'x' } }, empty: '',
};

describe('evaluate: operator semantics table', () => {
  const ok: Array<[string, unknown]> = [
    ['1 + 2', 3], ["'a' + 'b'", 'ab'], ["'v' + 1", 'v1'], ["1 + 'v'", '1v'], ["'x' + true", 'xtrue'],
    ['7 - 2', 5], ['2 * 3', 6], ['7 / 2', 3.5], ['7 % 4', 3], ['1 / 0', Infinity], ['-n', -7], ['+n', 7], ['- -n', 7],
    ['!t', false], ['!0', true], ["!''", true], ['!arr', false], ['!!nul', false],
    ['1 == 1', true], ["1 == '1'", false], ['null == undefined', false], ["'1' != 1", true], ['1 === 1', true], ['1 !== 1', false],
    ['arr == arr', true], ['[1] == [1]', false],
    ['1 < 2', true], ['2 <= 2', true], ['3 > 2', true], ['2 >= 3', false], ["'a' < 'b'", true], ["'B' < 'a'", true], ["'10' < '9'", true],
    ['t && s', 'abc'], ['z && s', 0], ['z || s', 'abc'], ['n || s', 7], ['nul ?? s', 'abc'], ['z ?? s', 0], ["empty ?? 'd'", ''],
    ['t ? 1 : 2', 1], ['z ? 1 : 2', 2], ['1 + 2 * 3', 7], ['(1 + 2) * 3', 9], ['n > 5 && s == "abc"', true],
  ];
  for (const [source, expected] of ok) {
    test(`${source} → ${JSON.stringify(expected) ?? String(expected)}`, () => {
      assert.deepEqual(evaluateSource(source, scope), expected);
    });
  }

  const bad: Array<[string, number]> = [
    ['1 + true', 2], ['1 + nul', 2], ["'a' + nul", 4], ['s + arr', 2], ['obj + 1', 4], ['arr + arr', 4], ['undefinedName + 1', 14],
    ["'5' - 1", 4], ['t * 2', 2], ['nul / 1', 4], ['arr % 2', 4], ["-'1'", 0], ['+t', 0], ['-nul', 0],
    ["1 < '2'", 2], ['t < 1', 2], ['nul >= 0', 4], ['arr > 1', 4], ['obj <= obj', 4],
  ];
  for (const [source, position] of bad) {
    test(`${source} throws evaluation_error at ${position} (no implicit coercion)`, () => {
      expectExprError(() => evaluateSource(source, scope), 'evaluation_error', position);
    });
  }

  test('isTruthy follows JavaScript truthiness', () => {
    for (const v of [false, 0, -0, NaN, '', null, undefined]) assert.equal(isTruthy(v), false);
    for (const v of [true, 1, -1, 'a', ' ', [], {}, Infinity]) assert.equal(isTruthy(v), true);
  });
});

describe('evaluate: short-circuit', () => {
  // `1 + nul` would throw: if it is evaluated, the test fails.
  const boom = '(1 + nul)';
  test('&& skips its right side when the left is falsy', () => assert.equal(evaluateSource(`z && ${boom}`, scope), 0));
  test('|| skips its right side when the left is truthy', () => assert.equal(evaluateSource(`n || ${boom}`, scope), 7));
  test('?? skips its right side when the left is not null/undefined', () => assert.equal(evaluateSource(`z ?? ${boom}`, scope), 0));
  test('? : evaluates only the chosen branch', () => {
    assert.equal(evaluateSource(`t ? 'yes' : ${boom}`, scope), 'yes');
    assert.equal(evaluateSource(`z ? ${boom} : 'no'`, scope), 'no');
  });
  test('the right side is evaluated (and may throw) when needed', () => {
    expectExprError(() => evaluateSource(`t && ${boom}`, scope), 'evaluation_error', 8);
  });
  test('skipped branches cost no steps', () => {
    const expr = parseExpression(`z && (${Array(40).fill('n').join(' + ')})`);
    assert.equal(evaluate(expr, scope, { maxSteps: 3 }), 0);
  });
});

describe('evaluate: member access', () => {
  test('dot and bracket access read own properties of plain objects and arrays', () => {
    assert.equal(evaluateSource("obj.nested.b + obj['nested']['b']", scope), 'xx');
    assert.equal(evaluateSource('arr[0] + arr[2] + arr["1"]', scope), 6);
  });

  test('length of arrays and strings, characters of strings by index', () => {
    assert.deepEqual(evaluateSource('[arr.length, s.length, s[1], s[9]]', scope), [3, 3, 'b', undefined]);
  });

  test('missing names and members are undefined, so ?? supplies defaults', () => {
    assert.equal(evaluateSource('missing', scope), undefined);
    assert.equal(evaluateSource("steps.x.output.y ?? 'default'", scope), 'default');
    assert.equal(evaluateSource('obj.nope', scope), undefined);
    assert.equal(evaluateSource('arr[-1]', scope), undefined);
    assert.equal(evaluateSource('arr[1.5]', scope), undefined);
  });

  test('members of undefined and null are undefined (optional chaining)', () => {
    assert.equal(evaluateSource('nul.a.b.c', scope), undefined);
    assert.equal(evaluateSource('missing[0].x', scope), undefined);
  });

  test('members of numbers, booleans and non-plain objects are undefined', () => {
    assert.equal(evaluateSource('n.toFixed', scope), undefined);
    assert.equal(evaluateSource('t.valueOf', scope), undefined);
    assert.equal(evaluateSource('d.getTime', { d: new Date(0) }), undefined);
    assert.equal(evaluateSource('m.size', { m: new Map() }), undefined);
  });

  test('inherited properties are never read (names and members)', () => {
    assert.equal(evaluateSource('toString', {}), undefined);
    assert.equal(evaluateSource('hasOwnProperty', scope), undefined);
    assert.equal(evaluateSource('obj.toString', scope), undefined);
    assert.equal(evaluateSource('obj["valueOf"]', scope), undefined);
    assert.equal(evaluateSource('arr.map', scope), undefined);
    assert.equal(evaluateSource('s.concat', scope), undefined);
    const child = Object.create({ inherited: 1 }) as Record<string, unknown>;
    assert.equal(evaluateSource('inherited', child), undefined);
    assert.equal(evaluateSource('x.inherited', { x: Object.assign(Object.create({ inherited: 1 }) as object, { own: 2 }) }), undefined);
  });

  test('objects with a null prototype are plain and readable', () => {
    const o = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    assert.equal(evaluateSource('o.a', { o }), 1);
  });

  test('getters never run; accessor properties read as undefined', () => {
    let ran = false;
    const o = { get secret() { ran = true; return 1; } };
    assert.equal(evaluateSource('o.secret', { o }), undefined);
    const s = Object.defineProperty({}, 'g', { get() { ran = true; return 1; }, enumerable: true });
    assert.equal(evaluateSource('g', s as Record<string, unknown>), undefined);
    assert.equal(ran, false);
  });

  test('functions in the scope read as undefined, so no result is a function', () => {
    assert.equal(evaluateSource('f', { f: () => 1 }), undefined);
    assert.equal(evaluateSource('o.f', { o: { f() { return 1; } } }), undefined);
    assert.equal(evaluateSource('a[0]', { a: [Math.max] }), undefined);
    assert.deepEqual(evaluateSource('values(o)', { o: { f() { return 1; }, x: 1 } }), [undefined, 1]);
  });

  test('computed __proto__, constructor and prototype keys throw evaluation_error at the key', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      expectExprError(() => evaluateSource('obj[k]', { ...scope, k: key }), 'evaluation_error', 4, `member key "${key}"`);
      expectExprError(() => evaluateSource("obj['__pro' + 'to__']", scope), 'evaluation_error', 4);
      expectExprError(() => evaluateSource('missing[k]', { k: key }), 'evaluation_error', 8);
    }
    expectExprError(() => evaluateSource("arr[lower('CONSTRUCTOR')]", scope), 'evaluation_error', 4);
  });

  test('an own data property named __proto__ in the scope is still refused', () => {
    const o = JSON.parse('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
    expectExprError(() => evaluateSource("o['__' + 'proto__']", { o }), 'evaluation_error');
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test('member keys must be strings or numbers; null/undefined keys give undefined', () => {
    expectExprError(() => evaluateSource('obj[t]', scope), 'evaluation_error', 4, 'must be a string or a number');
    expectExprError(() => evaluateSource('obj[arr]', scope), 'evaluation_error', 4);
    assert.equal(evaluateSource('obj[missing]', scope), undefined);
  });

  test('evaluation never mutates the scope', () => {
    const data = structuredClone(scope);
    evaluateSource('[arr, obj, keys(obj), values(obj), split(s, ""), s + n]', data);
    assert.deepEqual(data, scope);
  });
});

describe('evaluate: budget and hand-built trees', () => {
  test('a long a+a+… chain exhausts a small step budget', () => {
    const expr = parseExpression(Array(60).fill('n').join(' + '));
    assert.equal(evaluate(expr, scope), 420);
    expectExprError(() => evaluate(expr, scope, { maxSteps: 50 }), 'evaluation_error', undefined, 'step budget (50 steps)');
  });

  test('nested ternaries exhaust a small step budget', () => {
    const expr = parseExpression(`${'z ? 1 : '.repeat(40)}n`);
    assert.equal(evaluate(expr, scope), 7);
    expectExprError(() => evaluate(expr, scope, { maxSteps: 30 }), 'evaluation_error', undefined, 'step budget');
  });

  test('functions pay per element, so walking large data exhausts the default budget', () => {
    const big = 'x'.repeat(20_000);
    expectExprError(() => evaluateSource("len(split(big, ''))", { big }), 'evaluation_error', 4, 'step budget (10000 steps)');
    assert.equal(evaluateSource("len(split(big, ''))", { big }, { maxSteps: 30_000 }), 20_000);
  });

  test('maxSteps must be a positive integer', () => {
    expectExprError(() => evaluateSource('1', {}, { maxSteps: 0 }), 'evaluation_error', 0);
    expectExprError(() => evaluateSource('1', {}, { maxSteps: 1.5 }), 'evaluation_error', 0);
  });

  test('hand-built trees are checked: forbidden names and keys, unknown nodes, depth', () => {
    const lit = (value: string): Expr => ({ type: 'literal', value, pos: 3 });
    expectExprError(() => evaluate({ type: 'identifier', name: '__proto__', pos: 1 }, {}), 'evaluation_error', 1);
    expectExprError(() => evaluate({ type: 'member', object: { type: 'identifier', name: 'o', pos: 0 }, property: lit('constructor'), pos: 2 }, { o: {} }), 'evaluation_error', 2);
    expectExprError(() => evaluate({ type: 'call', name: 'eval', args: [], pos: 5 }, {}), 'evaluation_error', 5);
    expectExprError(() => evaluate({ type: 'nope', pos: 4 } as unknown as Expr, {}), 'evaluation_error', 4);
    let deep: Expr = { type: 'literal', value: 1, pos: 0 };
    for (let i = 0; i < 5_000; i++) deep = { type: 'unary', operator: '-', argument: deep, pos: 0 };
    expectExprError(() => evaluate(deep, {}, { maxSteps: 1e9 }), 'evaluation_error', 0, 'nested more than 64');
  });

  test('the scope must be an object', () => {
    expectExprError(() => evaluate(parseExpression('1'), null as unknown as Record<string, unknown>), 'evaluation_error', 0);
  });
});

describe('evaluate: object literals', () => {
  test('build plain data from the scope (keys as names or strings, nested, trailing comma)', () => {
    assert.deepEqual(evaluateSource('{ notified: true, message: s, "two words": [n, { deep: obj.nested.b }], }', scope), { notified: true, message: 'abc', 'two words': [7, { deep: 'x' }] });
    assert.equal(evaluateSource('{ a: n }.a', scope), 7);
    const out = evaluateSource('{ a: 1 }', scope) as object;
    assert.equal(Object.getPrototypeOf(out), Object.prototype, 'a plain object');
  });
});
