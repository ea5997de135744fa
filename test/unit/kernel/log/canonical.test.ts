/**
 * Canonical JSON (worker/kernel/log/canonical.ts): the bytes that get hashed and signed.
 *
 * Invariants checked:
 * 1. Keys are sorted by UTF-16 code units at every depth, so equal JSON values encode identically
 *    whatever their key insertion order.
 * 2. The encoding is JSON (parses back to the same value) without whitespace.
 * 3. Non-JSON values throw KernelError `invalid_payload` naming the path; nothing is silently dropped
 *    (except object keys whose value is undefined, which JSON cannot express).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson } from '../../../../worker/kernel/log/canonical.ts';
import { KernelError } from '../../../../worker/kernel/errors.ts';
import { reorderKeys } from '../../../helpers/arbitraries.ts';

function expectInvalid(value: unknown, pathFragment?: string): void {
  assert.throws(() => canonicalJson(value), (err: unknown) => {
    assert.ok(err instanceof KernelError, `expected a KernelError, got ${String(err)}`);
    assert.equal(err.code, 'invalid_payload');
    if (pathFragment !== undefined) {
      assert.equal(err.details['path'], pathFragment);
      assert.ok(err.message.includes(pathFragment), `message names the path: ${err.message}`);
    }
    return true;
  });
}

describe('canonicalJson', () => {
  test('sorts object keys at every depth and emits no whitespace', () => {
    const value = { b: 1, a: { d: [{ f: 1, e: 2 }, 'x'], c: null }, A: true };
    assert.equal(canonicalJson(value), '{"A":true,"a":{"c":null,"d":[{"e":2,"f":1},"x"]},"b":1}');
  });

  test('orders keys by UTF-16 code units, not by code points or locale', () => {
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FB01 in UTF-16 order.
    const value = { '\uFB01': 1, '\u{1F600}': 2, 'é': 3, e: 4, E: 5, '': 6 };
    assert.equal(canonicalJson(value), '{"":6,"E":5,"e":4,"é":3,"\u{1F600}":2,"\uFB01":1}');
  });

  test('encodes equal JSON values identically whatever the key insertion order (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.infiniteStream(fc.nat()), (value, stream) => {
        const it = stream[Symbol.iterator]();
        const reordered = reorderKeys(value, (n) => it.next().value % n);
        assert.equal(canonicalJson(reordered), canonicalJson(value));
      }),
      { numRuns: 300 },
    );
  });

  test('parses back to the same JSON value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(value)));
        assert.equal(canonicalJson(JSON.parse(text)), text, 'canonical form is a fixed point');
      }),
      { numRuns: 300 },
    );
  });

  test('accepts null-prototype objects like plain ones', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o['b'] = 2;
    o['a'] = 1;
    assert.equal(canonicalJson(o), '{"a":1,"b":2}');
  });

  test('omits object keys whose value is undefined, as JSON.stringify does', () => {
    assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  });

  test('encodes -0 as 0 and numbers in shortest round-trip form', () => {
    assert.equal(canonicalJson([-0, 1e21, 0.1, 1.5e-7]), '[0,1e+21,0.1,1.5e-7]');
  });

  test('escapes lone surrogates so the encoding stays valid UTF-8', () => {
    assert.equal(canonicalJson('a\uD800b'), '"a\\ud800b"');
  });

  describe('rejects non-JSON values with invalid_payload', () => {
    test('undefined at the top level', () => expectInvalid(undefined, '$'));
    test('undefined inside an array', () => expectInvalid([1, undefined], '$[1]'));
    test('a hole in a sparse array', () => {
      // eslint-disable-next-line no-sparse-arrays
      expectInvalid([1, , 3], '$[1]');
    });
    test('NaN', () => expectInvalid({ n: NaN }, '$.n'));
    test('Infinity', () => expectInvalid([Infinity], '$[0]'));
    test('-Infinity', () => expectInvalid(-Infinity, '$'));
    test('a Date', () => expectInvalid({ when: new Date(0) }, '$.when'));
    test('a Map', () => expectInvalid({ m: new Map([['a', 1]]) }, '$.m'));
    test('a Set', () => expectInvalid([new Set([1])], '$[0]'));
    test('a class instance', () => {
      class Thing {
        a = 1;
      }
      expectInvalid({ deep: { thing: new Thing() } }, '$.deep.thing');
    });
    test('a bigint', () => expectInvalid({ big: 10n }, '$.big'));
    test('a function', () => expectInvalid({ f: () => 1 }, '$.f'));
    test('a symbol', () => expectInvalid([Symbol('s')], '$[0]'));
    test('a boxed string', () => expectInvalid({ s: new String('x') }, '$.s'));
    test('a typed array', () => expectInvalid({ bytes: new Uint8Array([1]) }, '$.bytes'));
    test('a RegExp', () => expectInvalid(/x/, '$'));
  });
});
