/**
 * The parser (worker/workflow/expr/lower.ts, parse.ts): accepted grammar, every refusal with its
 * code and position, and the limits.
 *
 * Invariants checked:
 * 1. The documented grammar parses to frozen `Expr` nodes with positions.
 * 2. Every refused construct throws `invalid_expression` at the offending character.
 * 3. Length and depth limits are enforced without overflowing the stack.
 * 4. Global jsep configuration neither leaks into nor is changed by this parser.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import jsep from 'jsep';
import { evaluateSource, parseExpression } from '../../../../worker/workflow/expr/index.ts';
import { expectExprError } from './helpers.ts';

describe('parseExpression: accepted grammar', () => {
  test('parses literals, names, members, arrays, operators, ternaries and calls into frozen nodes', () => {
    const expr = parseExpression("len(inputs.list) > 2 ? steps['build'].output[0] : [1, 'a', true, null]");
    assert.equal(expr.type, 'conditional');
    assert.ok(Object.isFrozen(expr));
    assert.deepEqual(JSON.parse(JSON.stringify(parseExpression('a.b'))), {
      type: 'member', object: { type: 'identifier', name: 'a', pos: 0 }, property: { type: 'literal', value: 'b', pos: 2 }, pos: 2,
    });
  });

  test('records the 0-based position of binary operators and ternaries', () => {
    const expr = parseExpression('a  +  b');
    assert.equal(expr.type === 'binary' && expr.pos, 3);
    assert.equal(parseExpression('a ? b : c').pos, 2);
  });

  test('string escapes include \\n, \\t, \\xHH, \\uHHHH and \\u{…} (jsep alone drops \\u)', () => {
    assert.equal(evaluateSource("'a\\n\\t\\x41\\u0042\\u{1F600}\\'\\\\'", {}), 'a\n\tAB😀\'\\');
  });

  test('numbers: integers, decimals, leading dot, exponents', () => {
    assert.deepEqual(evaluateSource('[1, 2.5, .5, 1e3, 2E-2, 1.]', {}), [1, 2.5, 0.5, 1000, 0.02, 1]);
  });

  test('true, false, null and undefined are literals', () => {
    assert.deepEqual(evaluateSource('[true, false, null, undefined]', { true: 1, undefined: 2 }), [true, false, null, undefined]);
  });

  test('optional chaining ?. parses and means the same as .', () => {
    assert.equal(evaluateSource('a?.b?.c', { a: { b: { c: 1 } } }), 1);
    assert.equal(evaluateSource('a?.[0]', { a: [7] }), 7);
  });

  test('a trailing comma is allowed in arrays and calls', () => {
    assert.deepEqual(evaluateSource('[1, 2,]', {}), [1, 2]);
    assert.equal(evaluateSource('len("ab",)', {}), 2);
  });

  test('keywords are fine as member names after a dot', () => {
    assert.equal(evaluateSource('a.new + a.class + a.this', { a: { new: 1, class: 2, this: 3 } }), 6);
  });

  test('?? and || share a precedence level and associate left to right', () => {
    assert.equal(evaluateSource('a ?? b || c', { a: 0, c: 5 }), 5);
    assert.equal(evaluateSource('1 + 2 * 3 - 4 / 2 % 3', {}), 1 + 2 * 3 - ((4 / 2) % 3));
    assert.equal(evaluateSource('a || b && c', { a: false, b: true, c: 'x' }), 'x');
  });
});

describe('parseExpression: refusals (invalid_expression with position)', () => {
  const cases: Array<[string, string, number, string | RegExp]> = [
    ['syntax: dangling operator', '1 +', 3, 'Expected an expression after "+"'],
    ['syntax: unclosed parenthesis', '(a + b', 0, 'Unclosed "("'],
    ['syntax: unclosed bracket', 'a[1', 3, 'Unclosed ['],
    ['syntax: unclosed string', "a + 'abc", 4, 'Unclosed string'],
    ['syntax: unmatched )', 'a)', 1, 'Unmatched ")"'],
    ['syntax: number followed by a name', '1abc', 0, 'Invalid number'],
    ['syntax: bad escape', "'\\u12'", 1, 'Invalid escape'],
    ['syntax: empty source', '   ', 0, 'empty'],
    ['syntax: empty parentheses', 'a + ()', 4, 'Empty parentheses'],
    ['syntax: space-separated call arguments', 'len(a b)', 6, 'Expected ","'],
    ['syntax: array hole', '[1,,2]', 3, 'Unexpected ","'],
    ['syntax: stray character', 'a + #', 4, 'Expected an expression after "+"'],
    ['this', 'this.x', 0, '"this" is not allowed'],
    ['new', 'new Date()', 0, '"new" is not allowed'],
    ['typeof', 'typeof a', 0, '"typeof" is not allowed'],
    ['assignment =', 'a = 1', 2, 'Assignment ("=")'],
    ['compound assignment +=', 'a.b += 1', 4, 'Assignment ("+=")'],
    ['logical assignment ??=', 'a ??= 1', 2, 'Assignment ("??=")'],
    ['increment', 'a++', 1, 'Increment'],
    ['prefix decrement', '--a', 0, 'Decrement'],
    ['compound expression with ;', 'a; b', 1, 'Several expressions'],
    ['compound expression with ,', 'a, b', 1, 'Several expressions'],
    ['juxtaposed expressions', 'a b', 2, 'without an operator'],
    ['sequence expression', '(a, b)', 2, 'Sequence expressions'],
    ['template literal', 'a + `x${a}`', 4, 'Template literals'],
    ['regex literal', '/a+/', 0, 'Regular expressions'],
    ['regex as argument', "matches(a, /x/)", 11, 'Regular expressions'],
    ['arrow function', 'x => x', 2, 'Arrow functions'],
    ['arrow function with parentheses', '(x) => x', 4, 'Arrow functions'],
    ['function keyword', 'function () {}', 0, '"function" is not allowed'],
    ['object literal with a key twice', '{ a: 1, a: 2 }', 8, 'written twice'],
    ['object literal with a prototype key', '{ __proto__: 1 }', 2, 'key "__proto__" is not allowed'],
    ['object literal shorthand', '{ a }', 4, 'Expected ":"'],
    ['object literal with a number key', '{ 1: 2 }', 2, 'Expected a key'],
    ['unclosed object literal', '{ a: 1', 0, 'Unclosed "{"'],
    ['method call', 'x.toString()', 2, 'Method calls'],
    ['method call on computed member', "x['toString']()", 2, 'Method calls'],
    ['method call on a call result', 'lower(a).trim()', 9, 'Method calls'],
    ['calling a call result', 'len(a)(b)', 0, 'Only whitelisted functions'],
    ['calling a literal', '"a"(1)', 0, 'Only whitelisted functions'],
    ['non-whitelisted call', 'eval("1")', 0, '"eval" is not a function'],
    ['now() is not allowed (impure)', 'now()', 0, '"now" is not a function'],
    ['Function is not callable', 'Function("x")', 0, '"Function" is not a function'],
    ['inherited name is not a function', 'hasOwnProperty("x")', 0, '"hasOwnProperty" is not a function'],
    ['wrong arity', 'lower()', 0, 'lower takes 1 argument but got 0'],
    ['wrong arity, too many', 'len(a, b)', 0, 'len takes 1 argument but got 2'],
    ['static __proto__', 'a.__proto__', 2, 'member key "__proto__"'],
    ['static constructor', 'a.b.constructor', 4, 'member key "constructor"'],
    ['static prototype', 'a.prototype', 2, 'member key "prototype"'],
    ['bracketed __proto__', "a['__proto__']", 2, 'member key "__proto__"'],
    ['bracketed constructor', 'a["constructor"]', 2, 'member key "constructor"'],
    ['bracketed prototype', "a['prototype'].x", 2, 'member key "prototype"'],
    ['__proto__ as a name', '__proto__', 0, 'name "__proto__"'],
    ['constructor as a name', 'constructor', 0, 'name "constructor"'],
    ['exponent operator', 'a ** 2', 2, '"**"'],
    ['bitwise or', 'a | b', 2, 'bitwise operator "|"'],
    ['bitwise not', '~a', 0, 'bitwise operator "~"'],
    ['shift', 'a >>> 1', 2, 'bitwise operator ">>>"'],
    ['in operator', "'x' in a", 4, '"in" is not supported'],
    ['instanceof operator', 'a instanceof b', 2, '"instanceof" is not supported'],
  ];
  for (const [name, source, position, message] of cases) {
    test(`refuses ${name}: ${JSON.stringify(source)} at ${position}`, () => {
      expectExprError(() => parseExpression(source), 'invalid_expression', position, message);
    });
  }

  test('an ExpressionError survives structuredClone of its plain form', () => {
    const err = expectExprError(() => parseExpression('a = 1'), 'invalid_expression', 2);
    assert.deepEqual(structuredClone(err.toJSON()), { name: 'ExpressionError', code: 'invalid_expression', message: err.message, position: 2 });
  });

  test('refuses a non-string source', () => {
    expectExprError(() => parseExpression(42 as unknown as string), 'invalid_expression', 0);
  });
});

describe('parseExpression: limits', () => {
  test('refuses source longer than 4,000 characters, at position 4000', () => {
    assert.doesNotThrow(() => parseExpression(`'${'x'.repeat(3_998)}'`));
    expectExprError(() => parseExpression(`'${'x'.repeat(3_999)}'`), 'invalid_expression', 4_000, 'over the limit of 4000');
  });

  test('10,000 nested parentheses are refused with a typed error, not a stack overflow', () => {
    expectExprError(() => parseExpression(`${'('.repeat(10_000)}1${')'.repeat(10_000)}`), 'invalid_expression', 4_000);
  });

  test('parentheses nested past 64 levels are refused at the 65th, within the length limit', () => {
    assert.equal(evaluateSource(`${'('.repeat(63)}1${')'.repeat(63)}`, {}), 1);
    expectExprError(() => parseExpression(`${'('.repeat(1_999)}1${')'.repeat(1_999)}`), 'invalid_expression', 64, 'nested more than 64 levels');
  });

  test('deep unary, bracket, call and ternary nesting is refused without a stack overflow', () => {
    for (const source of ['!'.repeat(3_000) + 'a', 'a['.repeat(1_300) + '0' + ']'.repeat(1_300), 'len('.repeat(700) + 'a' + ')'.repeat(700),
      'a?b:'.repeat(999) + 'c', '['.repeat(2_000) + ']'.repeat(2_000), '-(' .repeat(1_000) + '1' + ')'.repeat(1_000)]) {
      expectExprError(() => parseExpression(source), 'invalid_expression', undefined, 'nested more than 64 levels');
    }
  });

  test('a binary chain deeper than 64 is refused (tree depth, measured iteratively)', () => {
    assert.doesNotThrow(() => parseExpression(Array(64).fill('a').join('+')));
    expectExprError(() => parseExpression(Array(1_500).fill('a').join('+')), 'invalid_expression', undefined, 'nested more than 64 levels');
  });
});

describe('parseExpression: jsep isolation', () => {
  test('does not change global jsep configuration', () => {
    const before = JSON.stringify({ b: jsep.binary_ops, u: jsep.unary_ops, l: jsep.literals, i: [...jsep.additional_identifier_chars] });
    parseExpression('a ? b : c ?? d');
    evaluateSource('len([1, 2]) + 1', {});
    assert.equal(JSON.stringify({ b: jsep.binary_ops, u: jsep.unary_ops, l: jsep.literals, i: [...jsep.additional_identifier_chars] }), before);
    assert.equal(jsep('a ** 2').type, 'BinaryExpression', 'plain jsep keeps its own grammar');
  });

  test('globally added jsep operators, literals and hooks do not reach this parser', () => {
    jsep.addBinaryOp('mod', 10);
    jsep.addLiteral('HOST', { evil: true });
    jsep.addUnaryOp('typeof');
    let hookRuns = 0;
    const hook = (): void => {
      hookRuns++;
    };
    jsep.hooks.add('gobble-token', hook);
    try {
      expectExprError(() => parseExpression('a mod b'), 'invalid_expression', 2);
      assert.equal(evaluateSource('HOST', {}), undefined);
      expectExprError(() => parseExpression('typeof a'), 'invalid_expression', 0);
      assert.equal(hookRuns, 0);
    } finally {
      jsep.removeBinaryOp('mod');
      jsep.removeLiteral('HOST');
      jsep.removeUnaryOp('typeof');
      const hooks = (jsep.hooks as unknown as Record<string, unknown[]>)['gobble-token'];
      hooks?.splice(hooks.indexOf(hook), 1);
    }
  });
});
