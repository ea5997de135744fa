/**
 * Event envelope hashing (worker/kernel/log/envelope.ts).
 *
 * Invariants checked:
 * 1. The hand-written `canonicalEventBody` equals `canonicalJson` of the same fields.
 * 2. `hash = sha256(EVENT_HASH_DOMAIN + canonicalJson(envelope without hash))`, independent of the
 *    key order of the envelope and of the payload at any depth.
 * 3. Every field is covered: changing any single one changes the hash.
 * 4. A payload that is not JSON is refused with `invalid_payload` before anything is hashed.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  canonicalEventBody, EVENT_HASH_DOMAIN, hashEvent, hashEventWithPayloadJson, sealEvent, type UnhashedEnvelope,
} from '../../../../worker/kernel/log/envelope.ts';
import { canonicalJson } from '../../../../worker/kernel/log/canonical.ts';
import { sha256Hex } from '../../../../worker/kernel/log/hash.ts';
import { KernelError, type Json } from '../../../../worker/kernel/errors.ts';
import { anyString, reorderKeys, unhashedEnvelope } from '../../../helpers/arbitraries.ts';

const sample: UnhashedEnvelope = {
  id: '0190a6b2-0000-7000-8000-000000000001',
  seq: 7,
  stream: 'workspace:0190a6b2-0000-7000-8000-0000000000aa',
  streamSeq: 2,
  type: 'workspace.renamed',
  v: 1,
  at: '2025-01-02T03:04:05.678Z',
  actor: 'user',
  device: 'dev-1',
  payload: { workspaceId: 'w', name: 'New', nested: { z: [1, { b: 2, a: 1 }], a: null } },
  deviceSeq: 3,
  hlc: '0190a6b200000001',
  streamBase: 1,
  prev: 'ab'.repeat(32),
};

function bodyOf(e: UnhashedEnvelope): Omit<UnhashedEnvelope, 'payload' | 'seq' | 'streamSeq'> {
  const { payload: _p, seq: _s, streamSeq: _ss, ...rest } = e;
  return rest;
}

/** The hashed fields: everything but this database's positions. */
function identityOf(e: UnhashedEnvelope): Omit<UnhashedEnvelope, 'seq' | 'streamSeq'> {
  const { seq: _s, streamSeq: _ss, ...rest } = e;
  return rest;
}

describe('event envelope hashing', () => {
  test('canonicalEventBody equals canonicalJson of the same fields (property)', () => {
    fc.assert(
      fc.property(unhashedEnvelope, (e) => {
        assert.equal(canonicalEventBody(bodyOf(e), canonicalJson(e.payload)), canonicalJson(identityOf(e)));
      }),
      { numRuns: 500 },
    );
  });

  test('the hash is sha256 of the domain prefix and the canonical envelope (property)', () => {
    fc.assert(
      fc.property(unhashedEnvelope, (e) => {
        const expected = sha256Hex(EVENT_HASH_DOMAIN + canonicalJson(identityOf(e)));
        assert.equal(hashEvent(e), expected);
        assert.equal(hashEventWithPayloadJson(bodyOf(e), canonicalJson(e.payload)), expected);
        assert.equal(sealEvent(e).hash, expected);
      }),
      { numRuns: 200 },
    );
  });

  test('the hash does not depend on key order in the envelope or in the payload at any depth (property)', () => {
    fc.assert(
      fc.property(unhashedEnvelope, fc.infiniteStream(fc.nat()), (e, stream) => {
        const it = stream[Symbol.iterator]();
        const reordered = reorderKeys(e, (n) => it.next().value % n) as UnhashedEnvelope;
        assert.equal(hashEvent(reordered), hashEvent(e));
      }),
      { numRuns: 300 },
    );
  });

  test('the hash of a fixed envelope is stable across key orders of a nested payload', () => {
    const swapped = { ...sample, payload: { nested: { a: null, z: [1, { a: 1, b: 2 }] }, name: 'New', workspaceId: 'w' } };
    assert.equal(hashEvent(swapped), hashEvent(sample));
    assert.match(hashEvent(sample), /^[0-9a-f]{64}$/);
  });

  const fields = ['id', 'deviceSeq', 'hlc', 'streamBase', 'stream', 'type', 'v', 'at', 'actor', 'device', 'payload', 'prev'] as const;

  test('changing any single field changes the hash (property)', () => {
    const changed: fc.Arbitrary<[UnhashedEnvelope, (typeof fields)[number], unknown]> = unhashedEnvelope.chain((e) =>
      fc.constantFrom(...fields).chain((field) => {
        const alt: fc.Arbitrary<unknown> =
          field === 'deviceSeq' || field === 'streamBase' || field === 'v'
            ? fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })
            : field === 'payload'
              ? fc.jsonValue()
              : anyString;
        return alt
          .filter((value) => canonicalJson(value) !== canonicalJson(e[field]))
          .map((value) => [e, field, value] as [UnhashedEnvelope, (typeof fields)[number], unknown]);
      }),
    );
    fc.assert(
      fc.property(changed, ([e, field, value]) => {
        const other = { ...e, [field]: value } as UnhashedEnvelope;
        assert.notEqual(hashEvent(other), hashEvent(e), `changing ${field} must change the hash`);
      }),
      { numRuns: 500 },
    );
  });

  for (const field of fields) {
    test(`changing ${field} alone changes the hash of a fixed envelope`, () => {
      const value: unknown = typeof sample[field] === 'number'
        ? (sample[field] as number) + 1
        : field === 'payload'
          ? { ...sample.payload as Record<string, Json>, name: 'Newer' }
          : field === 'prev' ? 'cd'.repeat(32) : `${String(sample[field])}x`;
      assert.notEqual(hashEvent({ ...sample, [field]: value } as UnhashedEnvelope), hashEvent(sample));
    });
  }

  test('a one-byte change deep inside the payload changes the hash', () => {
    const e = { ...sample, payload: { a: { b: { c: ['xyz'] } } } };
    const f = { ...sample, payload: { a: { b: { c: ['xyZ'] } } } };
    assert.notEqual(hashEvent(e), hashEvent(f));
  });

  for (const [label, payload] of [
    ['a Date', { when: new Date(0) }],
    ['NaN', { n: NaN }],
    ['Infinity', [Infinity]],
    ['a bigint', { n: 1n }],
    ['a Map', new Map()],
    ['a function', { f() {} }],
    ['undefined in an array', [undefined]],
    ['a class instance', { x: new (class Foo {})() }],
  ] as const) {
    test(`hashing an envelope whose payload holds ${label} throws invalid_payload`, () => {
      assert.throws(() => hashEvent({ ...sample, payload: payload as unknown as Json }), (err: unknown) => {
        assert.ok(err instanceof KernelError);
        assert.equal(err.code, 'invalid_payload');
        return true;
      });
    });
  }

  test('integer fields outside the safe range are refused rather than hashed lossily', () => {
    assert.throws(() => hashEvent({ ...sample, deviceSeq: 2 ** 53 }), RangeError);
    assert.throws(() => hashEvent({ ...sample, v: 1.5 }), RangeError);
  });
});
