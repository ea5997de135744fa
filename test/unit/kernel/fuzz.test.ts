/**
 * Bad-input fuzz through the public API (`KingdomApi` over a kernel, as `openKingdom()` builds it).
 *
 * fast-check sends thousands of malformed commands: random types (known and unknown), payloads from
 * `fc.anything()` and mutations of valid payloads (missing/extra fields, wrong types, huge strings,
 * `__proto__`/`constructor` keys, nested garbage), bad idempotency keys, bad expectedVersion and
 * actor values, non-object envelopes, reused keys, domain refusals and mixed batches.
 *
 * Invariants checked:
 * 1. Every one resolves (never rejects) to `{ ok: false }` with a code from ERROR_CODES that is not
 *    `internal`, and the error survives structuredClone.
 * 2. Nothing changed: events, idempotency, audit, checkpoints and every projection hash as before.
 * 3. Object.prototype (and friends) were not polluted.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { openKernel } from '../../../worker/node/index.ts';
import { createLocalApi, type KingdomApi } from '../../../worker/api.ts';
import { ERROR_CODES, type Result } from '../../../worker/kernel/errors.ts';
import { commands as workspaceCommands } from '../../../worker/domains/workspaces/commands.ts';
import { coreModule } from '../../../worker/kernel/core-module.ts';
import type { CommandInput } from '../../../worker/kernel/commands/envelope.ts';
import { canonicalJson } from '../../../worker/kernel/log/canonical.ts';
import { createProject, createWorkspace, newKey, stateDigest, type Kernel } from '../../helpers/kernel.ts';

const SCHEMAS = new Map([...workspaceCommands, ...(coreModule.commands ?? [])].map((c) => [c.type, c]));
const KNOWN_TYPES = [...SCHEMAS.keys()];
const INTERNAL_TYPES = [...SCHEMAS.values()].filter((c) => (c as { internal?: boolean }).internal).map((c) => c.type);
const ENVELOPE_KEYS = new Set(['type', 'payload', 'idempotencyKey', 'expectedVersion', 'actor']);

const anything = fc.anything({
  maxDepth: 3, maxKeys: 5, withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true,
  withNullPrototype: true, withObjectString: true, withSparseArray: true, withTypedArray: true, withUnicodeString: true,
});

let kernel: Kernel;
let api: KingdomApi;
let ids: { ws: string; pr: string; archivedWs: string; archivedPr: string; seedKey: string };
let baseline: Record<string, string>;
let protoSnapshot: string[];
let runs = 0;

function protoState(): string[] {
  return [Object.prototype, Array.prototype, Function.prototype, String.prototype].flatMap((p, i) =>
    Object.getOwnPropertyNames(p).map((n) => `${i}:${n}`)).sort();
}

/** Valid payloads per command type, the base for mutations. */
function validPayload(type: string): Record<string, unknown> {
  switch (type) {
    case 'kernel.ping': return { echo: 'hi' };
    case 'workspace.create': return { name: 'Fuzzed', description: 'd' };
    case 'workspace.rename': return { workspaceId: ids.ws, name: 'Renamed' };
    case 'workspace.archive': return { workspaceId: ids.ws };
    case 'project.create': return { workspaceId: ids.ws, name: 'NewProject' };
    case 'project.rename': return { projectId: ids.pr, name: 'Renamed' };
    case 'project.archive': return { projectId: ids.pr };
    default: return {};
  }
}

const REQUIRED: Record<string, string[]> = {
  'workspace.create': ['name'], 'workspace.rename': ['workspaceId', 'name'],
  'workspace.archive': ['workspaceId'], 'project.create': ['workspaceId', 'name'], 'project.rename': ['projectId', 'name'],
  'project.archive': ['projectId'],
};
const STRING_LIMITS: Record<string, number> = { name: 120, description: 2000, echo: 1000 };
const PUBLIC_TYPES = ['kernel.ping', ...Object.keys(REQUIRED)];

function setOwn(o: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  return o;
}

type Mutation = (type: string, p: Record<string, unknown>) => fc.Arbitrary<unknown>;

const wrongTypeValue = fc.oneof(
  fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), fc.bigInt(), fc.date(), fc.constant(new Map()),
);
const trickyKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__', 'valueOf', 'extra', ''),
  fc.string({ maxLength: 20 }),
);

const mutations: Record<string, Mutation> = {
  missingRequired: (type, p) => {
    const req = REQUIRED[type] ?? [];
    if (req.length === 0) return fc.constant(undefined).map(() => setOwn({ ...p }, 'unexpected', 1));
    return fc.constantFrom(...req).map((field) => {
      const q = { ...p };
      delete q[field];
      return q;
    });
  },
  extraField: (type, p) => fc.tuple(trickyKey.filter((k) => !(k in schemaKeysOf(type))), anything)
    .map(([k, v]) => setOwn({ ...p }, k, v)),
  protoViaJson: (_t, p) => fc.constantFrom('__proto__', 'constructor').chain((k) =>
    // A replacer function, not a string: the JSON may contain `$&`-style replacement patterns.
    fc.jsonValue().map((v) => JSON.parse(JSON.stringify(p).replace(/^\{/, () => `{${JSON.stringify(k)}:${JSON.stringify({ polluted: v ?? 1, isAdmin: true })},`)))),
  wrongType: (type, p) => fc.tuple(fc.constantFrom(...fieldsOf(type, p)), wrongTypeValue).map(([f, v]) => setOwn({ ...p }, f, v)),
  hugeString: (_t, p) => {
    const fields = Object.keys(p).filter((f) => f in STRING_LIMITS);
    if (fields.length === 0) return fc.constant(setOwn({ ...p }, 'workspaceId', 'x'.repeat(5000)));
    return fc.tuple(fc.constantFrom(...fields), fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 1, max: 5000 }) }, { weight: 1, arbitrary: fc.constant(1 << 20) }))
      .map(([f, extra]) => setOwn({ ...p }, f, 'y'.repeat(STRING_LIMITS[f]! + extra)));
  },
  badId: (_t, p) => {
    const fields = Object.keys(p).filter((f) => f.endsWith('Id'));
    if (fields.length === 0) return fc.constant(setOwn({ ...p }, 'workspaceId', 'not-a-uuid'));
    return fc.tuple(fc.constantFrom(...fields), fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('00000000-0000-0000-0000-00000000000g', `${ids.ws} `, ids.ws.toUpperCase().replace(/-/g, ''))))
      .filter(([, v]) => !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v))
      .map(([f, v]) => setOwn({ ...p }, f, v));
  },
  nestedGarbage: (type, p) => fc.tuple(fc.constantFrom(...fieldsOf(type, p)), fc.object({ maxDepth: 4, withMap: true, withBigInt: true, withDate: true }))
    .map(([f, v]) => setOwn({ ...p }, f, v)),
  badName: (t, p) => ('name' in p || t === 'workspace.create')
    ? fc.constantFrom('', '   ', '\t', 'a\u0000b', 'bell\u0007', 'del\u007f', '\n').map((name) => setOwn({ ...p }, 'name', name))
    : fc.constant(setOwn({ ...p }, 'name', 'not allowed here')),
  notAnObject: () => fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(anything, { maxLength: 3 }), fc.constant(new Date(0)), fc.constant(new Map()), fc.constant(Object.create({ name: 'Inherited', workspaceId: 'x' }))),
};

function fieldsOf(type: string, p: Record<string, unknown>): string[] {
  const keys = Object.keys(p);
  return keys.length > 0 ? keys : [...Object.keys(schemaKeysOf(type)), 'echo'].slice(0, 1);
}

function schemaKeysOf(type: string): Record<string, true> {
  const shape = (SCHEMAS.get(type)?.schema as unknown as { shape?: Record<string, unknown> } | undefined)?.shape ?? {};
  return Object.fromEntries(Object.keys(shape).map((k) => [k, true as const]));
}

/** True when `payload` would pass the command's own schema and encode as JSON (i.e. not malformed). */
function acceptedPayload(type: string, payload: unknown): boolean {
  const def = SCHEMAS.get(type);
  if (!def) return false;
  if (!def.schema.safeParse(payload ?? {}).success) return false;
  try {
    canonicalJson(payload ?? {});
    return true;
  } catch {
    return false;
  }
}

async function expectRefused(r: Result<unknown>, input: unknown): Promise<void> {
  runs++;
  assert.equal(r.ok, false, `accepted a malformed command: ${describeInput(input)}`);
  if (r.ok) return;
  assert.ok(r.error.code in ERROR_CODES, `unknown code ${r.error.code}`);
  assert.notEqual(r.error.code, 'internal', `internal error for ${describeInput(input)}: ${r.error.message}`);
  assert.equal(typeof r.error.message, 'string');
  assert.deepEqual(structuredClone(r), r, 'the error is plain, cloneable data');
}

function describeInput(input: unknown): string {
  try {
    return JSON.stringify(input, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'string' && v.length > 200 ? `${v.slice(0, 50)}…(${v.length})` : v)) ?? String(input);
  } catch {
    return String(input);
  }
}

/** Compare with the state at the start of the current test (so one failure does not cascade). */
function assertUnchanged(since: Record<string, string> = baseline): void {
  assert.deepEqual(stateDigest(kernel), since, 'events, idempotency, audit, checkpoints and projections are unchanged');
}

const withKey = (type: string, payload: unknown): CommandInput => ({ type, payload, idempotencyKey: newKey('fuzz') });

describe('malformed commands', () => {
  before(async () => {
    protoSnapshot = protoState();
    kernel = await openKernel({ storage: 'memory' });
    api = createLocalApi(kernel, { role: 'standalone', storage: 'memory', fallbackReason: null, tabId: 'fuzz', startupError: null });
    const seedKey = newKey('seed');
    const ws = (kernel.command({ type: 'workspace.create', payload: { name: 'Seeded' }, idempotencyKey: seedKey }).value as { workspaceId: string }).workspaceId;
    const pr = createProject(kernel, ws, 'SeedProject');
    const archivedWs = createWorkspace(kernel, 'Old');
    kernel.command({ type: 'workspace.archive', payload: { workspaceId: archivedWs }, idempotencyKey: newKey() });
    const archivedPr = createProject(kernel, ws, 'OldProject');
    kernel.command({ type: 'project.archive', payload: { projectId: archivedPr }, idempotencyKey: newKey() });
    ids = { ws, pr, archivedWs, archivedPr, seedKey };
    baseline = stateDigest(kernel);
  });

  after(async () => {
    await api.close();
    assert.ok(runs >= 2000, `at least 2000 malformed commands were sent (sent ${runs})`);
  });

  test('mutations of valid payloads are refused with a catalogued code (property)', async () => {
    const start = stateDigest(kernel);
    const arb = fc.constantFrom(...PUBLIC_TYPES).chain((type) =>
      fc.constantFrom(...Object.keys(mutations)).chain((m) =>
        mutations[m]!(type, validPayload(type)).map((payload) => ({ type, payload, m }))))
      .filter(({ type, payload }) => !acceptedPayload(type, payload));
    await fc.assert(fc.asyncProperty(arb, async ({ type, payload }) => {
      const input = withKey(type, payload);
      await expectRefused(await api.command(input), input);
    }), { numRuns: 900 });
    assertUnchanged(start);
  });

  test('fc.anything() payloads for every known command type are refused (property)', async () => {
    const start = stateDigest(kernel);
    const arb = fc.record({ type: fc.constantFrom(...KNOWN_TYPES), payload: anything })
      .filter(({ type, payload }) => INTERNAL_TYPES.includes(type) || !acceptedPayload(type, payload));
    await fc.assert(fc.asyncProperty(arb, fc.boolean(), async ({ type, payload }, keyed) => {
      const input = keyed ? withKey(type, payload) : { type, payload };
      await expectRefused(await api.command(input), input);
    }), { numRuns: 600 });
    assertUnchanged(start);
  });

  test('malformed envelopes are refused with invalid_command or unknown_command (property)', async () => {
    const start = stateDigest(kernel);
    const valid = () => ({ type: 'workspace.create', payload: { name: 'EnvelopeOk' }, idempotencyKey: newKey('env') });
    const notAnEnvelope = fc.oneof(
      fc.constant(null), fc.constant(undefined), fc.string(), fc.integer(), fc.boolean(), fc.bigInt(),
      fc.array(anything, { maxLength: 4 }), fc.constant(new Date(0)), fc.constant(new Map()), fc.constant(() => 1),
      anything.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
    ).map((input) => ({ input, codes: ['invalid_command'] }));
    const badType = fc.oneof(
      fc.string({ maxLength: 30 }).filter((s) => !KNOWN_TYPES.includes(s)),
      fc.constantFrom('workspace.delete', 'Workspace.create', 'workspace.create ', ' workspace.create', 'workspace', 'workspace..create', 'x.'.repeat(150) + 'y', '__proto__.x', 'constructor.prototype'),
      wrongTypeValue, fc.constant(undefined),
    ).map((type) => ({ input: { ...valid(), type }, codes: ['invalid_command', 'unknown_command'] }));
    const badKey = fc.oneof(
      fc.constant(''), fc.integer({ min: 201, max: 5000 }).map((n) => 'k'.repeat(n)), wrongTypeValue,
    ).map((idempotencyKey) => ({ input: { ...valid(), idempotencyKey }, codes: ['invalid_command'] }));
    const badVersion = fc.oneof(
      fc.integer({ max: -1 }), fc.double({ noInteger: true }), fc.constantFrom(NaN, Infinity, -Infinity, -0.5, 2 ** 53, '1', null, true),
      fc.constant([1]),
    ).map((expectedVersion) => ({ input: { ...valid(), expectedVersion }, codes: ['invalid_command', 'version_conflict'] }));
    const badActor = fc.oneof(fc.constant(''), fc.integer({ min: 201, max: 2000 }).map((n) => 'a'.repeat(n)), wrongTypeValue)
      .map((actor) => ({ input: { ...valid(), actor }, codes: ['invalid_command'] }));
    const extraField = fc.tuple(trickyKey.filter((k) => !ENVELOPE_KEYS.has(k)), anything)
      .map(([k, v]) => ({ input: setOwn(valid(), k, v), codes: ['invalid_command'] }));
    const protoEnvelope = fc.constantFrom('__proto__', 'constructor').map((k) => ({
      input: JSON.parse(`{${JSON.stringify(k)}:{"polluted":true,"isAdmin":true},"type":"workspace.create","payload":{"name":"Proto"},"idempotencyKey":"${newKey('p')}"}`) as unknown,
      codes: ['invalid_command'],
    }));

    await fc.assert(fc.asyncProperty(
      fc.oneof(notAnEnvelope, badType, badKey, badVersion, badActor, extraField, protoEnvelope),
      async ({ input, codes }) => {
        const r = await api.command(input as CommandInput);
        await expectRefused(r, input);
        if (!r.ok) assert.ok(codes.includes(r.error.code), `expected one of ${codes.join('/')} but got ${r.error.code} for ${describeInput(input)}`);
      },
    ), { numRuns: 900 });
    assertUnchanged(start);
  });

  test('semantically invalid commands (missing/reused keys, domain refusals, stale versions) are refused (property)', async () => {
    const start = stateDigest(kernel);
    const arb = fc.oneof(
      fc.constantFrom(...Object.keys(REQUIRED)).map((type) => ({ type, payload: validPayload(type) } as CommandInput)),
      fc.string({ minLength: 1, maxLength: 20 }).map((name) => ({ type: 'workspace.create', payload: { name: `${name}-other` }, idempotencyKey: ids.seedKey })),
      fc.constant(null).map(() => ({ type: 'workspace.rename', payload: { workspaceId: ids.archivedWs, name: 'X' }, idempotencyKey: newKey() })),
      fc.constant(null).map(() => ({ type: 'project.rename', payload: { projectId: ids.archivedPr, name: 'X' }, idempotencyKey: newKey() })),
      fc.constant(null).map(() => ({ type: 'project.create', payload: { workspaceId: crypto.randomUUID(), name: 'X' }, idempotencyKey: newKey() })),
      fc.constant(null).map(() => ({ type: 'project.create', payload: { workspaceId: ids.archivedWs, name: 'X' }, idempotencyKey: newKey() })),
      fc.constantFrom('seeded', 'SEEDED', ' Seeded ').map((name) => ({ type: 'workspace.create', payload: { name }, idempotencyKey: newKey() })),
      fc.integer({ min: 2, max: 1000 }).map((v) => ({ type: 'workspace.rename', payload: { workspaceId: ids.ws, name: 'Stale' }, idempotencyKey: newKey(), expectedVersion: v })),
      fc.constantFrom(...INTERNAL_TYPES).map((type) => ({ type, payload: {}, idempotencyKey: newKey() })),
    );
    await fc.assert(fc.asyncProperty(arb, async (input) => {
      await expectRefused(await api.command(input), input);
    }), { numRuns: 300 });
    assertUnchanged(start);
  });

  test('a batch with one malformed command commits nothing (property)', async () => {
    const start = stateDigest(kernel);
    const good = fc.string({ minLength: 1, maxLength: 10 }).map((s) => ({ type: 'workspace.create', payload: { name: `Batch ${s}` }, idempotencyKey: newKey('b') } as unknown));
    const bad = fc.oneof(
      anything,
      fc.constant(null).map(() => ({ type: 'workspace.create', payload: { name: '' }, idempotencyKey: newKey() })),
      fc.constant(null).map(() => ({ type: 'workspace.create', payload: { name: 'Seeded' }, idempotencyKey: newKey() })),
      fc.constant(null).map(() => ({ type: 'nope.nope', payload: {}, idempotencyKey: newKey() })),
    ).filter((v) => !(v !== null && typeof v === 'object' && 'type' in v && (v as { type: unknown }).type === 'kernel.ping'));
    const batch = fc.tuple(fc.array(good, { maxLength: 3 }), bad, fc.array(good, { maxLength: 3 })).map(([a, b, c]) => [...a, b, ...c]);
    const notArray = fc.oneof(fc.constant(null), fc.string(), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }), fc.integer());
    await fc.assert(fc.asyncProperty(fc.oneof(batch, notArray), async (cmds) => {
      await expectRefused(await api.commandBatch(cmds as CommandInput[]), cmds);
    }), { numRuns: 300 });
    assertUnchanged(start);
  });

  test('random queries resolve without internal errors and change nothing (property)', async () => {
    const start = stateDigest(kernel);
    const arb = fc.record({
      name: fc.oneof(fc.constantFrom('events.list', 'events.get', 'events.types', 'audit.list', 'checkpoints.list', 'workspace.list', 'workspace.get', 'project.list', 'project.get'), fc.string({ maxLength: 20 })),
      params: fc.oneof(anything, fc.constantFrom({}, { order: 'asc' }, { limit: 5 }, { types: [] }, undefined, null)),
    });
    await fc.assert(fc.asyncProperty(arb, async ({ name, params }) => {
      const r = await api.query(name, params);
      if (!r.ok) {
        assert.ok(r.error.code in ERROR_CODES);
        assert.notEqual(r.error.code, 'internal', `internal error for query ${name} ${describeInput(params)}: ${r.error.message}`);
      }
    }), { numRuns: 300 });
    assertUnchanged(start);
  });

  test('Object.prototype and other built-in prototypes were not polluted', () => {
    assert.deepEqual(protoState(), protoSnapshot);
    const probe: Record<string, unknown> = {};
    assert.equal(probe['polluted'], undefined);
    assert.equal(probe['isAdmin'], undefined);
    assert.equal(probe['name'], undefined);
    assertUnchanged();
  });
});
