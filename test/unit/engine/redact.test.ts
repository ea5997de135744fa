/**
 * Secret redaction (worker/engine/redact.ts).
 *
 * Invariants checked:
 * 1. Every occurrence in nested strings and object keys becomes [secret:NAME]; other scalars stay.
 * 2. Longest secrets win; overlapping secrets leave no part in clear; placeholders are not re-redacted.
 * 3. Secrets shorter than 4 characters are ignored.
 * 4. The input is never mutated and the result is a fresh copy; __proto__ keys stay own data.
 * 5. redactError redacts message and details, keeps type and retryable; containsSecret agrees.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { containsSecret, MIN_SECRET_LENGTH, redactError, redactSecrets } from '../../../worker/engine/redact.ts';

const secrets = new Map([
  ['TOKEN', 'tok-12345'],
  ['PASSWORD', 'hunter22'],
]);

describe('redactSecrets', () => {
  test('replaces every occurrence in nested strings and keys, leaving other values', () => {
    const value = {
      url: 'https://x/?t=tok-12345&again=tok-12345',
      list: ['hunter22', 1, true, null, ['deep hunter22 tok-12345']],
      'key-tok-12345': { inner: 'ok' },
      n: 42,
    };
    assert.deepEqual(redactSecrets(value, secrets), {
      url: 'https://x/?t=[secret:TOKEN]&again=[secret:TOKEN]',
      list: ['[secret:PASSWORD]', 1, true, null, ['deep [secret:PASSWORD] [secret:TOKEN]']],
      'key-[secret:TOKEN]': { inner: 'ok' },
      n: 42,
    });
    assert.equal(redactSecrets('tok-12345', secrets), '[secret:TOKEN]');
    assert.equal(redactSecrets(7, secrets), 7);
    assert.equal(redactSecrets(null, secrets), null);
  });

  test('the longest secret wins where secrets nest', () => {
    const nested = new Map([
      ['SHORT', 'abcd'],
      ['LONG', 'abcdefgh'],
    ]);
    assert.equal(redactSecrets('abcdefgh', nested), '[secret:LONG]');
    assert.equal(redactSecrets('abcd-abcdefgh-abcdX', nested), '[secret:SHORT]-[secret:LONG]-[secret:SHORT]X');
    const inner = new Map([
      ['INNER', 'cdef'],
      ['OUTER', 'abcdefgh'],
    ]);
    assert.equal(redactSecrets('xabcdefghx cdef', inner), 'x[secret:OUTER]x [secret:INNER]');
  });

  test('overlapping secrets leave nothing in clear; placeholders are not redacted again', () => {
    const overlap = new Map([
      ['A', 'abcdef'],
      ['B', 'defghi'],
    ]);
    assert.equal(redactSecrets('>abcdefghi<', overlap), '>[secret:A][secret:B]<');
    const sneaky = new Map([
      ['X', 'secret-value'],
      ['Y', 'secret'],
    ]);
    assert.equal(redactSecrets('secret-value', sneaky), '[secret:X]');
    assert.equal(redactSecrets('aaaaaa', new Map([['R', 'aaaa']])), '[secret:R]');
  });

  test('secrets shorter than 4 characters are ignored', () => {
    assert.equal(MIN_SECRET_LENGTH, 4);
    const short = new Map([
      ['PIN', '123'],
      ['EMPTY', ''],
      ['OK', '1234'],
    ]);
    assert.equal(redactSecrets('123 1234 12', short), '123 [secret:OK] 12');
  });

  test('never mutates the input and returns a fresh copy', () => {
    const value = { a: ['hunter22', { b: 'tok-12345' }], c: { d: 1 } };
    const before = structuredClone(value);
    const out = redactSecrets(value, secrets);
    assert.deepEqual(value, before);
    assert.notEqual(out, value);
    assert.notEqual(out.a, value.a);
    assert.notEqual(out.c, value.c);
    const none = redactSecrets(value, new Map());
    assert.deepEqual(none, value);
    assert.notEqual(none, value);
    assert.notEqual(none.c, value.c);
  });

  test('a __proto__ key stays an own data property and nothing is polluted', () => {
    const value = JSON.parse('{"__proto__": {"polluted": "hunter22"}}') as Record<string, unknown>;
    const out = redactSecrets(value, secrets);
    assert.ok(Object.prototype.hasOwnProperty.call(out, '__proto__'));
    assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, { polluted: '[secret:PASSWORD]' });
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
  });

  test('cycles do not loop forever', () => {
    const a: Record<string, unknown> = { s: 'hunter22' };
    a['self'] = a;
    const out = redactSecrets(a, secrets);
    assert.equal(out['s'], '[secret:PASSWORD]');
    assert.equal(out['self'], out);
  });

  test('property: no secret survives, and redacting twice changes nothing more', () => {
    const secret = fc.string({ minLength: 4, maxLength: 8, unit: fc.constantFrom('a', 'b', 'c', '-') });
    fc.assert(
      fc.property(fc.array(secret, { minLength: 1, maxLength: 3 }), fc.array(fc.oneof(secret, fc.string({ maxLength: 6 })), { maxLength: 8 }), (values, pieces) => {
        const map = new Map(values.map((v, i) => [`S${i}`, v]));
        const text = pieces.join('');
        const out = redactSecrets(text, map);
        const stripped = out.replace(/\[secret:S\d+\]/g, '|');
        for (const v of values) assert.equal(stripped.includes(v), false, `${JSON.stringify(v)} survived in ${JSON.stringify(out)}`);
        assert.equal(redactSecrets(out, map), out);
      }),
      { numRuns: 300 },
    );
  });
});

describe('redactError and containsSecret', () => {
  test('redactError redacts message and details, keeps type and retryable', () => {
    const e = { type: 'http_4xx', message: 'GET failed for tok-12345', retryable: false, details: { bodyExcerpt: 'pw=hunter22', status: 401 } };
    const before = structuredClone(e);
    assert.deepEqual(redactError(e, secrets), {
      type: 'http_4xx',
      message: 'GET failed for [secret:TOKEN]',
      retryable: false,
      details: { bodyExcerpt: 'pw=[secret:PASSWORD]', status: 401 },
    });
    assert.deepEqual(e, before);
  });

  test('containsSecret finds secrets in nested strings and keys, ignores short ones', () => {
    assert.equal(containsSecret({ a: [{ b: 'x hunter22 y' }] }, secrets), true);
    assert.equal(containsSecret({ 'tok-12345': 1 }, secrets), true);
    assert.equal(containsSecret({ a: ['clean', 3, null] }, secrets), false);
    assert.equal(containsSecret('123', new Map([['PIN', '123']])), false);
    assert.equal(containsSecret(redactSecrets({ k: 'hunter22' }, secrets), secrets), false);
  });
});
