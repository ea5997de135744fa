/**
 * The `llm` runner (worker/engine/llm/runner.ts) against the fake providers.
 *
 * Invariants checked:
 * 1. Output shape; `provider/model` and bare models resolve; the prefix is not sent.
 * 2. Structured output: valid first time (1 attempt); invalid then fixed, with the bad answer and
 *    the validation errors visible in the second request body; invalid until the limit →
 *    invalid_output with errors and lastAnswer; usage adds up across tries.
 * 3. Idempotency-Key is the engine's key, then `<key>/output-<n>`; onToken gets the step key.
 * 4. Unknown model → runner_unavailable; bad input → invalid_input; health follows the providers.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createLlmRunner, createProviderResolver } from '../../../../worker/engine/llm/runner.ts';
import type { Json } from '../../../../worker/kernel/errors.ts';
import type { LlmProvider } from '../../../../worker/engine/llm/types.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../../../helpers/fake-openai.ts';
import { startFakeAnthropic } from '../../../helpers/fake-anthropic.ts';
import { rejectsWith, runRequest } from '../runners/helpers.ts';

const SCHEMA = { type: 'object', properties: { label: { type: 'string', enum: ['spam', 'ham'] }, score: { type: 'number', minimum: 0, maximum: 1 } }, required: ['label', 'score'], additionalProperties: false };

describe('llm runner', () => {
  let oa: FakeLlmServer;
  let an: FakeLlmServer;
  let providers: LlmProvider[];
  before(async () => {
    oa = await startFakeOpenAI();
    an = await startFakeAnthropic();
    providers = [
      { id: 'openai', kind: 'openai', baseUrl: `${oa.url}/v1`, apiKey: 'sk-o', models: ['gpt-x'] },
      { id: 'anthropic', kind: 'anthropic', baseUrl: an.url, apiKey: 'sk-a', models: ['claude-y'] },
    ];
  });
  after(async () => {
    await oa.close();
    await an.close();
  });
  beforeEach(() => {
    oa.reset();
    an.reset();
  });
  const runner = (over: Parameters<typeof createLlmRunner>[0] = {}) => createLlmRunner({ resolve: createProviderResolver(() => providers), providers: () => providers, ...over });

  test('capabilities and health', async () => {
    const r = runner();
    assert.equal(r.name, 'llm');
    assert.deepEqual(r.capabilities.stepTypes, ['llm', 'hook']);
    assert.equal(r.capabilities.network, true);
    assert.equal((await r.health()).ok, true);
    assert.equal((await createLlmRunner({ providers: [] }).health()).ok, false);
  });

  test('plain answer: output shape; provider/model prefix is stripped, bare model resolves', async () => {
    oa.push({ text: 'hello', usage: { input: 4, output: 2 } });
    const out = await runner().execute(runRequest({ model: 'openai/gpt-x', prompt: 'Say hello', system: 'terse', temperature: 0, maxTokens: 20 }));
    assert.deepEqual({ ...(out as object), latencyMs: 0 }, { text: 'hello', model: 'gpt-x', provider: 'openai', usage: { inputTokens: 4, outputTokens: 2 }, latencyMs: 0, finishReason: 'stop', attempts: 1 });
    assert.equal(oa.requests[0]?.body.model, 'gpt-x');
    an.push({ text: 'hi' });
    const out2 = (await runner().execute(runRequest({ model: 'claude-y', prompt: 'x', system: null }))) as { provider: string };
    assert.equal(out2.provider, 'anthropic');
    assert.equal(an.requests[0]?.body.model, 'claude-y');
  });

  for (const [name, server, model] of [['openai', () => oa, 'openai/gpt-x'], ['anthropic', () => an, 'anthropic/claude-y']] as const) {
    test(`${name}: structured output valid the first time`, async () => {
      server().push({ json: { label: 'spam', score: 0.9 } });
      const out = (await runner().execute(runRequest({ model, prompt: 'classify', outputSchema: SCHEMA }))) as { json: unknown; attempts: number };
      assert.deepEqual(out.json, { label: 'spam', score: 0.9 });
      assert.equal(out.attempts, 1);
    });

    test(`${name}: invalid then fixed; the feedback is in the second request`, async () => {
      server().push({ json: { label: 'eggs', score: 0.5 }, usage: { input: 10, output: 5 } }, { json: { label: 'ham', score: 0.1 }, usage: { input: 20, output: 6 } });
      const r = runRequest({ model, prompt: 'classify', outputSchema: SCHEMA });
      const out = (await runner().execute(r)) as { json: unknown; attempts: number; usage: unknown };
      assert.deepEqual(out.json, { label: 'ham', score: 0.1 });
      assert.equal(out.attempts, 2);
      assert.deepEqual(out.usage, { inputTokens: 30, outputTokens: 11 });
      const second = server().requests[1];
      const msgs = second?.body.messages as { role: string; content: string }[];
      assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'user']);
      assert.equal(msgs[0]?.content, 'classify');
      assert.deepEqual(JSON.parse(msgs[1]?.content ?? ''), { label: 'eggs', score: 0.5 });
      assert.match(msgs[2]?.content ?? '', /^Your answer did not match the schema: \$\.label: must be one of "spam", "ham", got "eggs"\. Reply with JSON only\.$/);
      assert.equal(server().requests[0]?.headers['idempotency-key'], r.idempotencyKey);
      assert.equal(second?.headers['idempotency-key'], `${r.idempotencyKey}/output-2`);
    });

    test(`${name}: invalid until the limit → invalid_output`, async () => {
      server().push({ text: 'not json' }, { json: { label: 'spam' } }, { json: { label: 'spam', score: 7 } });
      const e = await rejectsWith(runner().execute(runRequest({ model, prompt: 'classify', outputSchema: SCHEMA })), 'invalid_output', false);
      assert.equal(server().count(), 3, 'maxOutputRetries defaults to 2');
      assert.deepEqual(e.details['errors'], [{ path: '$.score', message: 'must be ≤ 1, got 7' }]);
      assert.deepEqual(JSON.parse(String(e.details['lastAnswer'])), { label: 'spam', score: 7 });
      assert.equal(e.details['attempts'], 3);
      const msgs = server().requests[1]?.body.messages as { content: string }[];
      assert.match(msgs[2]?.content ?? '', /not valid JSON/);
    });
  }

  test('maxOutputRetries 0: one try only', async () => {
    oa.push({ text: '{}' });
    await rejectsWith(runner({ maxOutputRetries: 0 }).execute(runRequest({ model: 'gpt-x', prompt: 'p', outputSchema: SCHEMA })), 'invalid_output', false);
    assert.equal(oa.count(), 1);
  });

  test('onToken receives the step key and streamed text', async () => {
    an.push({ text: 'one two', deltas: ['one ', 'two'] });
    const seen: [string, string][] = [];
    const out = (await runner({ onToken: (r, t) => seen.push([r.stepKey, t]) }).execute(runRequest({ model: 'claude-y', prompt: 'p' }, { stepKey: 'summarise' }))) as { text: string };
    assert.equal(out.text, 'one two');
    assert.deepEqual(seen, [['summarise', 'one '], ['summarise', 'two']]);
    assert.equal(an.requests[0]?.body.stream, true);
  });

  test('typed provider errors pass through (rate_limit with retryAfterMs)', async () => {
    oa.push({ error: { status: 429, headers: { 'retry-after': '2' } } });
    const e = await rejectsWith(runner().execute(runRequest({ model: 'gpt-x', prompt: 'p' })), 'rate_limit', true);
    assert.equal(e.details['retryAfterMs'], 2000);
  });

  test('abort while streaming: aborted, promptly', async () => {
    oa.push({ text: 'a b c', stall: true });
    const ac = new AbortController();
    const p = runner({ onToken: () => setTimeout(() => ac.abort(), 5) }).execute(runRequest({ model: 'gpt-x', prompt: 'p' }, { signal: ac.signal }));
    const started = Date.now();
    await rejectsWith(p, 'aborted', false);
    assert.ok(Date.now() - started < 1000);
  });

  test('unknown model → runner_unavailable; bad input → invalid_input', async () => {
    await rejectsWith(runner().execute(runRequest({ model: 'mystery', prompt: 'p' })), 'runner_unavailable', false);
    await rejectsWith(runner().execute(runRequest({ model: 'nobody/x', prompt: 'p' })), 'runner_unavailable', false);
    const inputs: { [key: string]: Json }[] = [{ prompt: 'p' }, { model: 'gpt-x' }, { model: 'gpt-x', prompt: 'p', outputSchema: [] }, { model: 'gpt-x', prompt: 'p', temperature: -1 }, { model: 'gpt-x', prompt: 'p', maxTokens: 1.5 }, { model: 'gpt-x', prompt: 'p', system: 3 }];
    for (const input of inputs) {
      await rejectsWith(runner().execute(runRequest(input)), 'invalid_input', false);
    }
    assert.equal(oa.count() + an.count(), 0);
  });

  test('a resolver alone: health ok; a slashed model the provider lists is sent whole', async () => {
    const router: LlmProvider = { id: 'router', kind: 'openai', baseUrl: `${oa.url}/v1`, models: ['meta/llama-3'] };
    oa.push({ text: 'ok' }, { text: 'ok' });
    const r = createLlmRunner({ resolve: (m) => (m === 'meta/llama-3' || m.startsWith('router/') ? router : undefined) });
    assert.equal((await r.health()).ok, true);
    await r.execute(runRequest({ model: 'meta/llama-3', prompt: 'p' }));
    await r.execute(runRequest({ model: 'router/meta/llama-3', prompt: 'p' }));
    assert.equal(oa.requests[0]?.body.model, 'meta/llama-3');
    assert.equal(oa.requests[1]?.body.model, 'meta/llama-3');
  });
});
