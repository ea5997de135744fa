/**
 * Bad-input fuzz of parseWorkflow: random text and bytes, truncated and mutated fixtures,
 * generated documents with hostile keys, 10,000-level nesting, alias bombs and huge numbers.
 *
 * Invariants checked for every document (≥ 2,000 in all):
 * 1. parseWorkflow returns (never throws) `{ ok: true, workflow, hash }` or `{ ok: false, errors }`
 *    with 1–50 well-formed issues (known code, never `internal`, 1-based positions), and the
 *    result survives structuredClone.
 * 2. No call takes more than 2 s (no hang).
 * 3. Object.prototype is not polluted.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseWorkflow, WORKFLOW_ISSUE_CODES } from '../../../worker/workflow/index.ts';
import { FIXTURES, fixtureText } from './helpers.ts';

const CORPUS = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml')).sort().map(fixtureText);
const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();
let checked = 0;

function check(text: string): void {
  const t0 = performance.now();
  const r = parseWorkflow(text);
  const ms = performance.now() - t0;
  checked++;
  assert.ok(ms < 2000, `parse took ${ms.toFixed(0)} ms`);
  structuredClone(r);
  if (r.ok) {
    assert.match(r.hash, /^[0-9a-f]{64}$/);
    assert.equal(typeof r.workflow.name, 'string');
    assert.ok(Array.isArray(r.workflow.steps) && r.workflow.steps.length > 0);
    return;
  }
  assert.equal(r.ok, false);
  assert.ok(r.errors.length >= 1 && r.errors.length <= 50, `${r.errors.length} errors`);
  for (const e of r.errors) {
    assert.ok(Object.hasOwn(WORKFLOW_ISSUE_CODES, e.code), `unknown code ${e.code}`);
    assert.notEqual(e.code, 'internal', e.message);
    assert.equal(typeof e.path, 'string');
    assert.ok(Number.isInteger(e.line) && e.line >= 1 && Number.isInteger(e.column) && e.column >= 1, JSON.stringify(e));
    assert.ok(typeof e.message === 'string' && e.message.length > 0);
  }
}

const SNIPPETS = [
  '&a ', '*a', '!!binary ', '!custom ', '<<: *a\n', '{{', '}}', '{{ steps.', '__proto__: ', 'constructor: ', 'prototype: ', '- ', ': ', '[', ']', '{', '}',
  '\t', '\n', '"', "'", '|\n', '>-\n', '---\n', '? ', '#', '1e309', '.nan', '-.inf', '0x1F', '123456789012345678901234567890', '~', 'null', 'true',
  'dependsOn: [', 'type: loop\n', 'type: decision\n', 'then: [', 'goto: ', 'duration: ', '\uD800', '\u0000', '\uFEFF',
];

const mutation = fc.tuple(fc.nat(), fc.nat(), fc.oneof(fc.constantFrom(...SNIPPETS), fc.string({ maxLength: 6 })), fc.constantFrom('insert', 'delete', 'replace', 'dupline', 'dropline'));

function mutate(text: string, muts: readonly [number, number, string, string][]): string {
  let t = text;
  for (const [a, b, s, op] of muts) {
    const i = t.length === 0 ? 0 : a % t.length;
    const n = 1 + (b % 12);
    const lines = t.split('\n');
    const li = lines.length === 0 ? 0 : a % lines.length;
    if (op === 'insert') t = t.slice(0, i) + s + t.slice(i);
    else if (op === 'delete') t = t.slice(0, i) + t.slice(i + n);
    else if (op === 'replace') t = t.slice(0, i) + s + t.slice(i + n);
    else if (op === 'dupline') t = [...lines.slice(0, li + 1), ...lines.slice(li)].join('\n');
    else t = [...lines.slice(0, li), ...lines.slice(li + 1)].join('\n');
  }
  return t;
}

const KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'id', 'type', 'steps', 'dependsOn', 'then', 'else', 'with', 'retry', 'gate', 'branches', 'over', 'x', 'hasOwnProperty'];
const leaf = fc.oneof(
  fc.constantFrom('task', 'loop', 'race', 'decision', 'a', 'b', '{{ steps.a.output }}', '{{ inputs.x', '5m', 'PT1M', 1e308, -0, Number.MAX_SAFE_INTEGER + 2, 0.1),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const { doc: hostile } = fc.letrec((tie) => ({
  doc: fc.oneof({ maxDepth: 5 }, leaf, fc.array(tie('doc'), { maxLength: 4 }), fc.dictionary(fc.constantFrom(...KEYS), tie('doc'), { maxKeys: 5 })),
}));

/** A plausible workflow built from the fixtures' shapes with random holes and hostile values. */
const plausible = fc.record({
  name: fc.oneof(fc.constant('w'), leaf),
  version: fc.oneof(fc.constant('1.0.0'), leaf),
  steps: fc.array(fc.record({ id: fc.constantFrom('a', 'b', 'c', 'A', '__proto__'), type: fc.constantFrom('task', 'decision', 'loop', 'wait', 'race', 'parallel', 'bogus'), runner: fc.constant('http'), dependsOn: fc.array(fc.constantFrom('a', 'b', 'c', 'z'), { maxLength: 3 }), extra: hostile }, { requiredKeys: ['id', 'type'] }), { maxLength: 5 }),
}, { requiredKeys: [] });

function yamlOf(value: unknown): string {
  return stringify(value, { aliasDuplicateObjects: false });
}

after(() => {
  assert.ok(checked >= 2000, `only ${checked} documents were checked`);
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), PROTO_NAMES);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.equal(({} as Record<string, unknown>)['id'], undefined);
});

test('random text never throws', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => check(s)), { numRuns: 400 });
});

test('random bytes decoded as UTF-8 never throw', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => check(new TextDecoder().decode(b))), { numRuns: 300 });
});

test('every truncation point of the fixtures gives an answer', () => {
  fc.assert(fc.property(fc.nat(CORPUS.length - 1), fc.nat(), (i, cut) => {
    const t = CORPUS[i]!;
    check(t.slice(0, cut % (t.length + 1)));
  }), { numRuns: 400 });
});

test('mutated fixtures never throw', () => {
  fc.assert(fc.property(fc.nat(CORPUS.length - 1), fc.array(mutation, { minLength: 1, maxLength: 6 }), (i, muts) => check(mutate(CORPUS[i]!, muts))), { numRuns: 700 });
});

test('generated documents with __proto__, constructor and other hostile keys never throw or pollute', () => {
  fc.assert(fc.property(fc.oneof(hostile, plausible), (v) => check(yamlOf(v))), { numRuns: 400 });
});

test('10,000-level nesting, alias bombs and huge numbers are refused without throwing', () => {
  const deep = [
    '['.repeat(10_000) + ']'.repeat(10_000),
    '{a: '.repeat(10_000) + '1' + '}'.repeat(10_000),
    '- '.repeat(10_000) + 'x',
    'steps:\n' + Array.from({ length: 200 }, (_, i) => `${' '.repeat(i * 2 + 2)}- steps:`).join('\n'),
    `name: t\nversion: 1.0.0\nsteps:\n  - id: a\n    type: task\n    runner: http\n    with: { v: ${'['.repeat(10_000)}${']'.repeat(10_000)} }\n`,
  ];
  for (const t of deep) check(t);
  for (let levels = 2; levels <= 12; levels++) {
    let y = 'x-0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (let i = 1; i < levels; i++) y += `x-${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    check(`${y}name: t\nversion: 1.0.0\nsteps:\n  - { id: a, type: task, runner: http, with: { v: *a${levels - 1} } }\n`);
    check(`a: &a [*a]\n${y}`);
  }
  for (const n of ['1e309', '-1e309', '123456789012345678901234567890', '0x7FFFFFFFFFFFFFFFFFFF', '.inf', '.nan', '1e-400', String(Number.MAX_VALUE), '9'.repeat(400)]) {
    check(`name: t\nversion: 1.0.0\ntimeout: ${n}\nsteps:\n  - { id: a, type: task, runner: http, retry: { maxAttempts: ${n}, initialDelay: ${n} }, with: { n: ${n} } }\n`);
  }
  check(`name: t\nversion: 1.0.0\nsteps:\n  - { id: a, type: task, runner: http, with: { s: "${'x'.repeat(250_000)}" } }\n`);
});
