/**
 * The built-in non-http runners and the registry (worker/engine/runners/).
 *
 * Invariants checked:
 * 1. transform returns input.value unchanged (null included); a missing value is invalid_input.
 * 2. demo.sleep resolves after ms and rejects promptly on abort; demo.flaky fails by tryNumber;
 *    demo.fail rejects with the given error; noop resolves null.
 * 3. The llm slot is an unbound placeholder: health not ok, execute runner_unavailable, and it says
 *    so (no stale "later release"); isLlmSlot tells it from a real llm runner.
 * 4. The registry refuses duplicates, lists sorted, and reports health without rejecting.
 * 5. Every runner's error normalises through toStepError with its type and retryable flag.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  RunnerError, RunnerRegistry, createFailRunner, createFlakyRunner, createLlmSlot, isLlmSlot, createNoopRunner, createSleepRunner,
  createTransformRunner, defaultRunners, demoRunners, toStepError, type Runner,
} from '../../../../worker/engine/runners/index.ts';
import { delay, rejectsWith, runRequest } from './helpers.ts';

describe('transform', () => {
  const transform = createTransformRunner();

  test('returns input.value as it is, whatever its type', async () => {
    const value = { a: [1, 'x', null, { b: true }] };
    assert.deepEqual(await transform.execute(runRequest({ value })), value);
    for (const v of [null, 0, '', false, [], 'text']) assert.deepEqual(await transform.execute(runRequest({ value: v })), v);
  });

  test('a missing value is invalid_input (not retryable)', async () => {
    await rejectsWith(transform.execute(runRequest({})), 'invalid_input', false);
    await rejectsWith(transform.execute(runRequest({ other: 1 })), 'invalid_input', false);
  });

  test('capabilities: pure, offline, task and hook', async () => {
    assert.equal(transform.name, 'transform');
    assert.equal(transform.capabilities.pure, true);
    assert.equal(transform.capabilities.network, false);
    assert.deepEqual(transform.capabilities.stepTypes, ['task', 'hook']);
    assert.equal((await transform.health()).ok, true);
  });
});

describe('demo runners', () => {
  test('demo.sleep resolves with { sleptMs, value } after ms', async () => {
    const sleep = createSleepRunner();
    const started = Date.now();
    assert.deepEqual(await sleep.execute(runRequest({ ms: 15, value: { x: 1 } })), { sleptMs: 15, value: { x: 1 } });
    assert.ok(Date.now() - started >= 14);
    assert.deepEqual(await sleep.execute(runRequest({ ms: 0 })), { sleptMs: 0, value: null });
  });

  test('demo.sleep rejects promptly with aborted, mid-sleep or already aborted', async () => {
    const sleep = createSleepRunner();
    const ac = new AbortController();
    const started = Date.now();
    const p = sleep.execute(runRequest({ ms: 600_000 }, { signal: ac.signal }));
    await delay(10);
    ac.abort();
    await rejectsWith(p, 'aborted', false);
    assert.ok(Date.now() - started < 500);
    await rejectsWith(sleep.execute(runRequest({ ms: 600_000 }, { signal: AbortSignal.abort() })), 'aborted', false);
  });

  test('demo.sleep refuses bad ms', async () => {
    const sleep = createSleepRunner();
    await rejectsWith(sleep.execute(runRequest({})), 'invalid_input', false);
    for (const ms of [-1, 600_001, '10', Number.NaN, null]) await rejectsWith(sleep.execute(runRequest({ ms })), 'invalid_input', false);
  });

  test('demo.flaky fails (retryable) while tryNumber <= failTimes, then succeeds', async () => {
    const flaky = createFlakyRunner();
    for (const tryNumber of [1, 2]) {
      const e = await rejectsWith(flaky.execute(runRequest({ failTimes: 2 }, { tryNumber })), 'flaky', true);
      assert.deepEqual(e.details, { tryNumber, failTimes: 2 });
    }
    assert.deepEqual(await flaky.execute(runRequest({ failTimes: 2, value: 'v' }, { tryNumber: 3 })), { attempt: 3, value: 'v' });
    assert.deepEqual(await flaky.execute(runRequest({ failTimes: 0 }, { tryNumber: 1 })), { attempt: 1, value: null });
    for (const failTimes of [-1, 1.5, 'x']) await rejectsWith(flaky.execute(runRequest({ failTimes })), 'invalid_input', false);
    await rejectsWith(flaky.execute(runRequest({})), 'invalid_input', false);
  });

  test('demo.fail rejects with the given type, message and retryable (with defaults)', async () => {
    const fail = createFailRunner();
    const dflt = await rejectsWith(fail.execute(runRequest({})), 'demo_failure', false);
    assert.equal(typeof dflt.message, 'string');
    const custom = await rejectsWith(fail.execute(runRequest({ type: 'boom', message: 'it broke', retryable: true })), 'boom', true);
    assert.equal(custom.message, 'it broke');
    await rejectsWith(fail.execute(runRequest({ type: '' })), 'invalid_input', false);
    await rejectsWith(fail.execute(runRequest({ retryable: 'yes' })), 'invalid_input', false);
    await rejectsWith(fail.execute(runRequest({ message: 3 })), 'invalid_input', false);
  });

  test('noop resolves null at once', async () => {
    assert.equal(await createNoopRunner().execute(runRequest({ anything: 1 })), null);
  });

  test('demoRunners: names and capabilities', async () => {
    const list = demoRunners();
    assert.deepEqual(list.map((r) => r.name), ['demo.sleep', 'demo.flaky', 'demo.fail', 'noop']);
    for (const r of list) {
      assert.deepEqual([r.capabilities.pure, r.capabilities.network, r.capabilities.stepTypes], [false, false, ['task']]);
      assert.ok(r.capabilities.description.length > 0);
      assert.equal((await r.health()).ok, true);
    }
  });
});

describe('llm slot', () => {
  test('an unbound placeholder: health not ok, execute runner_unavailable, recognisable', async () => {
    const llm = createLlmSlot();
    assert.equal(llm.name, 'llm');
    assert.deepEqual(llm.capabilities.stepTypes, ['llm', 'hook']);
    assert.equal(llm.capabilities.network, true);
    assert.deepEqual(await llm.health(), { ok: false, detail: 'Placeholder: not bound to any LLM provider (the engine binds llm steps to the providers configured in the kernel).' });
    const e = await rejectsWith(llm.execute(runRequest({ prompt: 'hi' })), 'runner_unavailable', false);
    assert.match(e.message, /unbound placeholder: run llm steps through the engine/);
    assert.doesNotMatch(e.message, /later release/);
    assert.equal(isLlmSlot(llm), true);
    assert.equal(isLlmSlot({ ...llm }), false);
  });
});

describe('RunnerRegistry', () => {
  const fake = (name: string, health: () => Promise<{ ok: boolean; detail: string }>): Runner => ({
    name,
    capabilities: { pure: true, network: false, stepTypes: ['task'], description: name },
    health,
    execute: () => Promise.resolve(null),
  });

  test('default runners: get, list sorted by name', () => {
    const reg = new RunnerRegistry(defaultRunners());
    assert.deepEqual(reg.list().map((r) => r.name), ['demo.fail', 'demo.flaky', 'demo.sleep', 'http', 'llm', 'noop', 'transform']);
    assert.equal(reg.get('http')?.name, 'http');
    assert.equal(reg.get('missing'), undefined);
    assert.equal(reg.has('transform'), true);
    assert.equal(reg.list().find((r) => r.name === 'llm')?.capabilities.stepTypes[0], 'llm');
  });

  test('register refuses a duplicate name (also in the constructor)', () => {
    const reg = new RunnerRegistry([createNoopRunner()]);
    assert.throws(() => reg.register(createNoopRunner()), /already registered/);
    assert.throws(() => new RunnerRegistry([createTransformRunner(), createTransformRunner()]), /already registered/);
    reg.register(createTransformRunner());
    assert.equal(reg.list().length, 2);
  });

  test('health reports every runner; a throwing or rejecting health check is not ok', async () => {
    const reg = new RunnerRegistry([
      ...defaultRunners(),
      fake('x.throws', () => {
        throw new Error('kaput');
      }),
      fake('x.rejects', () => Promise.reject(new Error('nope'))),
    ]);
    const h = await reg.health();
    assert.deepEqual(h['http'], { ok: true, detail: 'fetch available' });
    assert.equal(h['llm']?.ok, false);
    assert.equal(h['transform']?.ok, true);
    assert.deepEqual(h['x.throws'], { ok: false, detail: 'Health check failed: kaput' });
    assert.deepEqual(h['x.rejects'], { ok: false, detail: 'Health check failed: nope' });
    assert.equal(Object.keys(h).length, 9);
  });

  test('defaultRunners passes an injected fetch to the http runner', async () => {
    let called = 0;
    const fetchStub: typeof fetch = () => {
      called++;
      return Promise.resolve(new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } }));
    };
    const http = new RunnerRegistry(defaultRunners({ fetch: fetchStub })).get('http');
    assert.ok(http);
    const out = await http.execute(runRequest({ url: 'https://example.invalid/x' }));
    assert.equal(called, 1);
    assert.deepEqual((out as { body: unknown }).body, { ok: true });
  });
});

describe('toStepError', () => {
  test('keeps a RunnerError as it is and wraps anything else as runner_error', () => {
    assert.deepEqual(toStepError(new RunnerError('flaky', 'm', true, { a: 1 })), { type: 'flaky', message: 'm', retryable: true, details: { a: 1 } });
    assert.deepEqual(toStepError(new Error('x')), { type: 'runner_error', message: 'x', retryable: false, details: {} });
  });
});
