import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { sha256HexFast } from '../../../../worker/kernel/log/sha256-fast.ts';

const reference = (s: string) => createHash('sha256').update(Buffer.from(new TextEncoder().encode(s))).digest('hex');

test('sha256HexFast matches node:crypto on the FIPS 180-4 examples', () => {
  assert.equal(sha256HexFast(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(sha256HexFast('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(sha256HexFast('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
});

test('sha256HexFast matches node:crypto at every length around the block and padding boundaries', () => {
  for (let n = 0; n <= 300; n++) {
    const s = 'x'.repeat(n);
    assert.equal(sha256HexFast(s), reference(s), `length ${n}`);
  }
});

test('sha256HexFast matches node:crypto on random unicode strings, including lone surrogates (property)', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), (s) => sha256HexFast(s) === reference(s)), { numRuns: 2000 });
});

test('sha256HexFast keeps working after a very large input grows its buffer', () => {
  const big = 'é'.repeat(200_000);
  assert.equal(sha256HexFast(big), reference(big));
  assert.equal(sha256HexFast('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
