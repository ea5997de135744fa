/**
 * Hostile-input fuzz of the expression language (parser, interpreter, functions, templates).
 *
 * fast-check feeds random strings (arbitrary Unicode, and token soups of operators, brackets,
 * quotes and hostile names) and random expression trees printed as source (a grammar that mixes
 * the real syntax with refused constructs and names such as __proto__, constructor, prototype,
 * toString, valueOf, hasOwnProperty), evaluated against a scope that has own `__proto__` and
 * `constructor` keys, functions and getters.
 *
 * Invariants checked:
 * 1. Every input either evaluates or throws an `ExpressionError` with a known code and an
 *    integer position inside the input; never another error type, never a hang.
 * 2. No result is a function or a built-in prototype.
 * 3. Object.prototype, Array.prototype, Function.prototype (and String/Number/Boolean's) have the
 *    same own keys before and after, and `{}` has not gained properties.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ExpressionError, evaluateSource, parseExpression } from '../../../../worker/workflow/expr/index.ts';
import { renderTemplate } from '../../../../worker/workflow/templates.ts';

const HOSTILE = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__',
  'isPrototypeOf', 'call', 'apply', 'bind', 'globalThis', 'process', 'Function', 'eval', 'this', 'new', 'window', 'require'];
const NAMES = ['inputs', 'steps', 'env', 'x', 'list', 'obj', 'fn', 'getter', 'output', 'a', 'b', 'length', ...HOSTILE];
const WHITELIST = ['len', 'lower', 'upper', 'trim', 'contains', 'startsWith', 'endsWith', 'join', 'split', 'keys', 'values',
  'toNumber', 'toString', 'json', 'parseJson', 'min', 'max', 'round', 'floor', 'ceil', 'abs', 'coalesce', 'default', 'matches'];
const FUNCS = [...WHITELIST, 'now', 'eval', 'constructor', 'hasOwnProperty', 'valueOf', 'Function', 'require'];
const OPS = ['+', '-', '*', '/', '%', '==', '!=', '===', '!==', '<', '<=', '>', '>=', '&&', '||', '??'];
const BAD_OPS = ['=', '+=', '**', '|', '&', '^', '<<', '>>>', '=>', 'in', 'instanceof', ',', ';', '??='];
const PROTOS: Array<[string, object]> = [
  ['Object.prototype', Object.prototype], ['Array.prototype', Array.prototype], ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype], ['Number.prototype', Number.prototype], ['Boolean.prototype', Boolean.prototype],
];

function makeScope(): Record<string, unknown> {
  const scope = JSON.parse(`{
    "__proto__": { "polluted": true }, "constructor": { "prototype": { "polluted": true } },
    "inputs": { "x": 3, "s": "Hello", "environment": "dev", "list": [1, 2, "three", null, { "__proto__": 1 }],
      "obj": { "a": { "b": { "c": "deep" } }, "toString": "own", "valueOf": 2, "hasOwnProperty": "own" },
      "empty": "", "zero": 0, "json": "{\\"__proto__\\": {\\"polluted\\": 1}, \\"k\\": [1, 2]}" },
    "steps": { "validate": { "output": { "safe": true, "prototype": "p" } }, "build": { "output": { "y": 1.5 } } },
    "env": { "REGION": "eu", "__proto__": "x" }, "list": [3, 1, 2], "x": "str", "a": 1, "b": "2",
    "toString": "shadow", "valueOf": 7
  }`) as Record<string, unknown>;
  scope['fn'] = () => 'function value';
  scope['hasOwnProperty'] = Object.prototype.hasOwnProperty;
  Object.defineProperty(scope, 'getter', { get: () => { throw new Error('getter ran'); }, enumerable: true });
  return scope;
}

function snapshot(): string {
  return JSON.stringify(PROTOS.map(([name, proto]) => [name, Reflect.ownKeys(proto).map(String).sort()]));
}

/** Invariants 1 and 2 for one input. Returns 'value' or 'error'. */
function check(source: string, run: () => unknown): 'value' | 'error' {
  let value: unknown;
  try {
    value = run();
  } catch (err) {
    if (!(err instanceof ExpressionError)) {
      assert.fail(`${JSON.stringify(source.slice(0, 200))} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
    assert.ok(err.code === 'invalid_expression' || err.code === 'evaluation_error', err.code);
    assert.ok(Number.isInteger(err.position) && err.position >= 0 && err.position <= Math.max(source.length, 4_000), `position ${err.position} for ${JSON.stringify(source.slice(0, 80))}`);
    assert.match(err.message, /at position \d+ of the (expression|template)\. \S/);
    return 'error';
  }
  assert.notEqual(typeof value, 'function', `${JSON.stringify(source)} returned a function`);
  for (const [name, proto] of PROTOS) assert.notEqual(value, proto, `${JSON.stringify(source)} returned ${name}`);
  if (Array.isArray(value)) {
    for (const item of value) {
      assert.notEqual(typeof item, 'function');
      for (const [, proto] of PROTOS) assert.notEqual(item, proto);
    }
  }
  return 'value';
}

// --- arbitraries -------------------------------------------------------------------------------

const hostileName = fc.constantFrom(...NAMES);
const token = fc.oneof(
  hostileName, fc.constantFrom(...FUNCS), fc.constantFrom(...OPS), fc.constantFrom(...BAD_OPS),
  fc.constantFrom('(', ')', '[', ']', '{', '}', '.', '?.', '?', ':', '!', '~', '`', '/', '\\', "'", '"', ' ', '\n', '{{', '}}', '${'),
  fc.constantFrom('0', '1.5', '.5', '1e3', '1e', '0x1F', "'__proto__'", '"constructor"', "'\\u{110000}'", "'\\x4'"),
  fc.integer({ min: -1000, max: 1000 }).map(String),
);
const tokenSoup = fc.array(token, { maxLength: 40 }).map((t) => t.join(''));
const randomText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: fc.constantFrom(...'()[]{}.,;:?!~+-*/%=<>&|^"\'`\\ abx_$019eE'.split('')), maxLength: 80 }),
  fc.constantFrom('('.repeat(3_000), '['.repeat(2_000), '!'.repeat(3_999) + 'a', 'a+'.repeat(2_500), "'".repeat(4_001)),
);

/** Expression trees printed as source: mostly valid syntax, with hostile names and some refused constructs. */
const expr = fc.letrec<{ expr: string; leaf: string }>((tie) => ({
  leaf: fc.oneof(
    hostileName,
    fc.constantFrom('inputs.x', 'inputs.list', 'inputs.obj', 'steps.validate.output.safe', 'env.REGION', 'inputs.json', 'inputs.s'),
    fc.double({ noNaN: false }).map((n) => (Number.isFinite(n) ? String(Math.abs(n)) : '1')),
    fc.integer({ min: 0, max: 10 }).map(String),
    fc.constantFrom(...HOSTILE, 'a', 'b*', '*', '', ',', '{}', '[]', '{"a":1}', '{"__proto__":{"p":1}}', '12', ' 3 ').map((s) => JSON.stringify(s)),
    fc.constantFrom('true', 'false', 'null', 'undefined'),
  ),
  expr: fc.oneof(
    { maxDepth: 6, depthSize: 'small' },
    tie('leaf'),
    fc.tuple(tie('expr'), hostileName).map(([o, k]) => `${o}.${k}`),
    fc.tuple(tie('expr'), tie('expr')).map(([o, k]) => `${o}[${k}]`),
    fc.tuple(tie('expr'), fc.constantFrom(...HOSTILE)).map(([o, k]) => `${o}[${JSON.stringify(k)}]`),
    fc.tuple(tie('expr'), fc.constantFrom(...HOSTILE)).map(([o, k]) => `${o}[${JSON.stringify(k.slice(0, 3))} + ${JSON.stringify(k.slice(3))}]`),
    fc.tuple(fc.constantFrom(...FUNCS), fc.array(tie('expr'), { maxLength: 3 })).map(([f, args]) => `${f}(${args.join(', ')})`),
    fc.tuple(fc.constantFrom(...WHITELIST), fc.array(tie('leaf'), { minLength: 1, maxLength: 2 })).map(([f, args]) => `${f}(${args.join(', ')})`),
    fc.tuple(fc.constantFrom(...WHITELIST), fc.array(tie('expr'), { minLength: 1, maxLength: 2 })).map(([f, args]) => `${f}(${args.join(', ')})`),
    fc.tuple(tie('expr'), hostileName, fc.array(tie('expr'), { maxLength: 2 })).map(([o, m, args]) => `${o}.${m}(${args.join(', ')})`),
    fc.tuple(fc.constantFrom('!', '-', '+', '~', 'typeof ', 'new ', '!!'), tie('expr')).map(([op, e]) => `${op}${e}`),
    fc.tuple(tie('expr'), fc.constantFrom(...OPS), tie('expr')).map(([l, op, r]) => `${l} ${op} ${r}`),
    fc.tuple(tie('expr'), fc.constantFrom(...BAD_OPS), tie('expr')).map(([l, op, r]) => `${l} ${op} ${r}`),
    fc.tuple(tie('expr'), tie('expr'), tie('expr')).map(([t, c, a]) => `${t} ? ${c} : ${a}`),
    fc.array(tie('expr'), { maxLength: 4 }).map((els) => `[${els.join(', ')}]`),
    tie('expr').map((e) => `(${e})`),
    tie('expr').map((e) => `(${e}, ${e})`),
    tie('expr').map((e) => `x => ${e}`),
  ),
})).expr;

// --- properties --------------------------------------------------------------------------------

describe('expression fuzz', () => {
  let baseline: string;
  before(() => {
    baseline = snapshot();
  });
  after(() => {
    assert.equal(snapshot(), baseline, 'a built-in prototype gained or lost own keys');
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test('3,500 random strings: each evaluates or throws ExpressionError', { timeout: 20_000 }, () => {
    const counts = { value: 0, error: 0 };
    fc.assert(fc.property(fc.oneof(randomText, tokenSoup), (source) => {
      counts[check(source, () => evaluateSource(source, makeScope()))]++;
    }), { numRuns: 3_500, seed: 20260101 });
    assert.ok(counts.value > 0 && counts.error > 0, JSON.stringify(counts));
    assert.equal(snapshot(), baseline);
  });

  test('4,000 random expression trees with hostile names: each evaluates or throws ExpressionError', { timeout: 20_000 }, () => {
    const counts = { value: 0, error: 0 };
    fc.assert(fc.property(expr, (source) => {
      counts[check(source, () => evaluateSource(source, makeScope()))]++;
      // Re-parsing is deterministic: the same source gives the same tree or the same error.
      let first: string;
      let second: string;
      try { first = JSON.stringify(parseExpression(source)); } catch (err) { first = String((err as Error).message); }
      try { second = JSON.stringify(parseExpression(source)); } catch (err) { second = String((err as Error).message); }
      assert.equal(first, second);
    }), { numRuns: 4_000, seed: 424242 });
    // The grammar must exercise both outcomes substantially, or it is not testing much.
    assert.ok(counts.value > 400 && counts.error > 400, JSON.stringify(counts));
    assert.equal(snapshot(), baseline);
  });

  test('1,000 random templates: each renders or throws ExpressionError with a template position', { timeout: 20_000 }, () => {
    const template = fc.array(fc.oneof(fc.string({ maxLength: 8 }), expr.map((e) => `{{ ${e} }}`), fc.constantFrom('{{', '}}', '\\{{', '{{ }}', "{{ '}}")), { maxLength: 6 })
      .map((parts) => parts.join(''));
    fc.assert(fc.property(template, (t) => {
      check(t, () => renderTemplate(t, makeScope()));
    }), { numRuns: 1_000, seed: 777 });
    assert.equal(snapshot(), baseline);
  });
});
