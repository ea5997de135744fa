/**
 * The structured-output building blocks: the JSON Schema validator, the SSE parser, schema
 * wrapping / parsing and the rate-limit header parsing (worker/engine/llm/).
 *
 * Invariants checked:
 * 1. The validator accepts conforming values and reports every violation with its path.
 * 2. Property: a value always validates against the exact schema derived from it, and never against
 *    the same schema with its root type changed.
 * 3. The SSE parser yields the same events whatever the chunk boundaries (split lines, CRLF pairs,
 *    multi-byte UTF-8 characters).
 * 4. Retry-After, retry-after-ms and reset headers give the wait in ms.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Json } from '../../../../worker/kernel/errors.ts';
import { formatSchemaErrors, validateJson } from '../../../../worker/engine/llm/validate.ts';
import { readSse, SseParser, type SseEvent } from '../../../../worker/engine/llm/sse.ts';
import { isStrictCompatible, parseAnswer, toProviderSchema } from '../../../../worker/engine/llm/schema.ts';
import { parseDuration, retryAfterMs } from '../../../../worker/engine/llm/errors.ts';

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 5 },
    age: { type: 'integer', minimum: 0, maximum: 150 },
    tags: { type: 'array', items: { type: 'string', enum: ['a', 'b'] }, minItems: 1, maxItems: 2 },
    nick: { type: ['string', 'null'] },
    'odd key': { type: 'boolean' },
  },
  required: ['name', 'age'],
  additionalProperties: false,
};

describe('validateJson', () => {
  test('accepts conforming values', () => {
    assert.deepEqual(validateJson({ name: 'Ann', age: 3, tags: ['a'], nick: null, 'odd key': true }, PERSON), []);
    assert.deepEqual(validateJson({ name: 'Bob', age: 0 }, PERSON), []);
    assert.deepEqual(validateJson('anything', {}), []);
    assert.deepEqual(validateJson(1.5, { type: 'number', exclusiveMinimum: 1, exclusiveMaximum: 2 }), []);
  });

  test('reports each violation with its path', () => {
    const errors = validateJson({ name: '', age: 2.5, tags: ['c', 'a', 'b'], extra: 1, 'odd key': 'no' }, PERSON);
    const byPath = new Map(errors.map((e) => [e.path, e.message]));
    assert.match(byPath.get('$.name') ?? '', /at least 1 characters/);
    assert.match(byPath.get('$.age') ?? '', /expected integer, got number/);
    assert.match(byPath.get('$.tags') ?? '', /at most 2 items/);
    assert.match(byPath.get('$.tags[0]') ?? '', /must be one of "a", "b", got "c"/);
    assert.match(byPath.get('$.extra') ?? '', /not allowed/);
    assert.match(byPath.get('$["odd key"]') ?? '', /expected boolean, got string/);
    assert.match(formatSchemaErrors(errors), /\$\.name: must be at least 1/);
  });

  test('required, type mismatch at the root, ranges, const, anyOf', () => {
    assert.deepEqual(validateJson({ age: 1 }, PERSON), [{ path: '$.name', message: 'is required' }]);
    assert.deepEqual(validateJson([], PERSON), [{ path: '$', message: 'expected object, got array' }]);
    assert.equal(validateJson(200, { type: 'integer', maximum: 150 })[0]?.message, 'must be ≤ 150, got 200');
    assert.equal(validateJson(-1, { minimum: 0 })[0]?.message, 'must be ≥ 0, got -1');
    assert.equal(validateJson('x', { const: 'y' }).length, 1);
    assert.equal(validateJson(null, { type: 'null' }).length, 0);
    assert.equal(validateJson(3, { anyOf: [{ type: 'string' }, { type: 'integer' }] }).length, 0);
    assert.equal(validateJson(true, { anyOf: [{ type: 'string' }, { type: 'integer' }] }).length, 1);
    assert.equal(validateJson('👍👍', { type: 'string', maxLength: 2 }).length, 0, 'code points, not UTF-16 units');
    assert.equal(validateJson(1, false).length, 1);
    assert.equal(validateJson(1, { type: 'float' })[0]?.message, 'the schema has an unknown type "float"');
    assert.equal(validateJson({ a: 1, b: 'x' }, { type: 'object', additionalProperties: { type: 'number' } })[0]?.path, '$.b');
  });

  test('caps the number of errors', () => {
    const errors = validateJson(Array.from({ length: 50 }, () => 'x'), { type: 'array', items: { type: 'number' } });
    assert.equal(errors.length, 20);
  });

  test('property: a value validates against its own exact schema, not against another root type', () => {
    const schemaOf = (v: Json): Json => {
      if (v === null) return { type: 'null' };
      if (Array.isArray(v)) return { type: 'array', minItems: v.length, maxItems: v.length, items: v.length > 0 ? { anyOf: v.map(schemaOf) } : {} };
      if (typeof v === 'object') {
        const properties: { [k: string]: Json } = {};
        for (const [k, x] of Object.entries(v)) Object.defineProperty(properties, k, { value: schemaOf(x), enumerable: true, writable: true, configurable: true }); // `__proto__` keys too
        return { type: 'object', properties, required: Object.keys(v), additionalProperties: false };
      }
      if (typeof v === 'number') return Number.isInteger(v) ? { type: 'integer', minimum: v, maximum: v } : { type: 'number', minimum: v, maximum: v };
      if (typeof v === 'string') return { type: 'string', enum: [v] };
      return { type: 'boolean', const: v };
    };
    fc.assert(fc.property(fc.jsonValue() as fc.Arbitrary<Json>, (v) => {
      const schema = schemaOf(v) as { [k: string]: Json };
      assert.deepEqual(validateJson(v, schema), []);
      const other = schema['type'] === 'string' ? 'boolean' : 'string';
      assert.ok(validateJson(v, { ...schema, type: other }).length > 0);
    }), { numRuns: 300 });
  });
});

describe('SSE parser', () => {
  const STREAM = ': comment\r\nevent: a\r\ndata: héllo 🌍\r\ndata: 日本\r\n\r\ndata:{"x":1}\n\nevent: b\rdata: end\r\r';
  const EXPECTED: SseEvent[] = [{ event: 'a', data: 'héllo 🌍\n日本' }, { event: 'message', data: '{"x":1}' }, { event: 'b', data: 'end' }];

  const bytesStream = (bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> => {
    const parts: Uint8Array[] = [];
    let at = 0;
    for (const c of [...cuts, bytes.length]) {
      parts.push(bytes.subarray(at, c));
      at = c;
    }
    return new ReadableStream({
      pull(controller) {
        const p = parts.shift();
        if (p) controller.enqueue(p);
        else controller.close();
      },
    });
  };
  const collect = async (s: ReadableStream<Uint8Array>): Promise<SseEvent[]> => {
    const out: SseEvent[] = [];
    for await (const e of readSse(s)) out.push(e);
    return out;
  };

  test('every single split point gives the same events', async () => {
    const bytes = new TextEncoder().encode(STREAM);
    for (let cut = 0; cut <= bytes.length; cut++) assert.deepEqual(await collect(bytesStream(bytes, [cut])), EXPECTED, `cut at ${cut}`);
  });

  test('one byte at a time, and random splits', async () => {
    const bytes = new TextEncoder().encode(STREAM);
    assert.deepEqual(await collect(bytesStream(bytes, Array.from({ length: bytes.length }, (_, i) => i))), EXPECTED);
    await fc.assert(fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 0, max: bytes.length }), { maxLength: 12 }), async (cuts) => {
      assert.deepEqual(await collect(bytesStream(bytes, [...cuts].sort((a, b) => a - b))), EXPECTED);
    }), { numRuns: 100 });
  });

  test('an event without its closing blank line is still dispatched at the end', () => {
    const p = new SseParser();
    assert.deepEqual(p.push('data: a\n'), []);
    assert.deepEqual(p.push('', true), [{ event: 'message', data: 'a' }]);
  });
});

describe('schema helpers', () => {
  test('non-object roots are wrapped and unwrapped', () => {
    assert.equal(toProviderSchema({ type: 'object' }).wrapped, false);
    const w = toProviderSchema({ type: 'array', items: { type: 'number' } });
    assert.equal(w.wrapped, true);
    assert.deepEqual(w.schema['required'], ['value']);
    assert.deepEqual(parseAnswer('{"value":[1,2]}', true), { ok: true, json: [1, 2] });
    assert.equal(parseAnswer('[1,2]', true).ok, false);
  });

  test('parseAnswer accepts fenced JSON and explains failures', () => {
    assert.deepEqual(parseAnswer('```json\n{"a":1}\n```', false), { ok: true, json: { a: 1 } });
    const bad = parseAnswer('Sure! {"a":', false);
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.error, /not valid JSON/);
    assert.match((parseAnswer('  ', false) as { error: string }).error, /empty/);
  });

  test('strict compatibility', () => {
    assert.equal(isStrictCompatible({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false }), true);
    assert.equal(isStrictCompatible({ type: 'object', properties: { a: { type: 'string' } }, required: [], additionalProperties: false }), false);
    assert.equal(isStrictCompatible({ type: 'object', properties: { a: { type: 'string', minLength: 1 } }, required: ['a'], additionalProperties: false }), false);
    assert.equal(isStrictCompatible(PERSON), false);
  });
});

describe('rate-limit headers', () => {
  const NOW = Date.UTC(2030, 0, 1);
  test('retry-after-ms, retry-after seconds and dates', () => {
    assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '1500', 'retry-after': '9' }), NOW), 1500);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '7' }), NOW), 7000);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': new Date(NOW + 3000).toUTCString() }), NOW), 3000);
    assert.equal(retryAfterMs(new Headers({}), NOW), undefined);
  });

  test('reset headers: the exhausted limit wins, else the latest', () => {
    const h = new Headers({ 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '6m0s', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-remaining-tokens': '500' });
    assert.equal(retryAfterMs(h, NOW), 1000);
    assert.equal(retryAfterMs(new Headers({ 'x-ratelimit-reset-requests': '20ms', 'x-ratelimit-reset-tokens': '2.5s' }), NOW), 2500);
    const a = new Headers({ 'anthropic-ratelimit-tokens-reset': new Date(NOW + 4000).toISOString(), 'anthropic-ratelimit-tokens-remaining': '0' });
    assert.equal(retryAfterMs(a, NOW), 4000);
    assert.equal(parseDuration('1h2m3.5s'), 3_723_500);
    assert.equal(parseDuration('soon'), undefined);
  });
});
