/**
 * fast-check arbitraries and value helpers shared by the kernel property tests.
 */
import fc from 'fast-check';
import type { UnhashedEnvelope } from '../../worker/kernel/log/envelope.ts';
import type { Json } from '../../worker/kernel/errors.ts';

/** Rebuild every object of `v` with its keys inserted in an order chosen by `pick(n) ∈ [0, n)`. */
export function reorderKeys(v: unknown, pick: (n: number) => number): unknown {
  if (Array.isArray(v)) return v.map((x) => reorderKeys(x, pick));
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    const shuffled: string[] = [];
    while (keys.length > 0) shuffled.push(keys.splice(pick(keys.length), 1)[0]!);
    const out: Record<string, unknown> = {};
    for (const k of shuffled) {
      // defineProperty, not assignment: a "__proto__" key must stay an own data property.
      Object.defineProperty(out, k, { value: reorderKeys((v as Record<string, unknown>)[k], pick), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return v;
}

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);

/** Any string, lone surrogates included. */
export const anyString = fc.string({ unit: 'binary', maxLength: 40 });

/** A random event envelope without its hash (payload: any JSON value). */
export const unhashedEnvelope: fc.Arbitrary<UnhashedEnvelope> = fc.record({
  id: fc.uuid(),
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  stream: anyString,
  streamSeq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  type: anyString,
  v: fc.integer({ min: 1, max: 1000 }),
  at: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  actor: anyString,
  device: anyString,
  deviceSeq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  hlc: fc.stringMatching(/^[0-9a-f]{16}$/),
  streamBase: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  payload: fc.jsonValue() as fc.Arbitrary<Json>,
  prev: hex64,
});
