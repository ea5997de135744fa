/**
 * "Test connection" (KingdomApi.testProvider → worker/engine/llm/probe.ts) against the fake LLM
 * servers on 127.0.0.1, both wires (OpenAI Chat Completions, Anthropic Messages): one real request
 * with the stored key, and each failure a person can act on — the key refused, nothing listening,
 * a model the provider does not know, a server too slow — told apart. Nothing is recorded and the
 * key shows up in no outcome and no console output.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { openKingdom } from '../../../../worker/node/index.ts';
import type { KingdomApi, ProbeOutcome } from '../../../../worker/api.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../../../helpers/fake-openai.ts';
import { startFakeAnthropic } from '../../../helpers/fake-anthropic.ts';

const KEY = 'sk-test-probe-5f2a9c';

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

async function probe(api: KingdomApi, id: string, extra: { model?: string; timeoutMs?: number } = {}): Promise<ProbeOutcome> {
  const r = await api.testProvider({ id, ...extra });
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
}

for (const wire of ['openai', 'anthropic'] as const) {
  describe(`test connection over the ${wire} wire`, () => {
    let fake: FakeLlmServer;
    let api: KingdomApi;
    let logged: string[] = [];
    const originals = { log: console.log, info: console.info, warn: console.warn, error: console.error, debug: console.debug };

    before(async () => {
      fake = wire === 'openai' ? await startFakeOpenAI() : await startFakeAnthropic();
      api = await openKingdom({ storage: 'memory' });
      const baseUrl = wire === 'openai' ? `${fake.url}/v1` : fake.url;
      const set = await api.commandBatch([
        { type: 'secret.set', payload: { name: 'LLM_FAKE_KEY', value: KEY }, idempotencyKey: 'k' },
        { type: 'llm.provider.set', payload: { id: 'fake', kind: wire, baseUrl, models: ['fake-model', 'fake-big'], apiKeySecret: 'LLM_FAKE_KEY' }, idempotencyKey: 'p' },
        { type: 'llm.provider.set', payload: { id: 'down', kind: wire, baseUrl: `http://127.0.0.1:${await closedPort()}${wire === 'openai' ? '/v1' : ''}`, models: ['m'] }, idempotencyKey: 'd' },
      ]);
      assert.ok(set.ok, JSON.stringify(set));
      for (const name of Object.keys(originals) as (keyof typeof originals)[]) {
        console[name] = (...args: unknown[]) => void logged.push(args.map(String).join(' '));
      }
    });
    after(async () => {
      Object.assign(console, originals);
      assert.deepEqual(logged.filter((l) => l.includes(KEY)), [], 'the key is never logged');
      await api.close();
      await fake.close();
    });

    test('success: one minimal request with the stored key, its latency measured, nothing recorded', async () => {
      const head = (await api.status());
      assert.ok(head.ok);
      fake.reset();
      fake.push({ text: 'ok', delayMs: 30 });
      const out = await probe(api, 'fake');
      assert.equal(out.ok, true, JSON.stringify(out));
      assert.equal(out.model, 'fake-model', 'the first model by default');
      assert.ok(out.latencyMs >= 25 && out.latencyMs < 5_000, `latency ${out.latencyMs}`);
      assert.equal(fake.count(), 1, 'one request');
      const req = fake.requests[0]!;
      assert.equal(req.body.model, 'fake-model');
      assert.notEqual(req.body.stream, true, 'not streamed');
      assert.equal(req.body.max_tokens, 16, 'a tiny answer is enough');
      if (wire === 'openai') assert.equal(req.headers['authorization'], `Bearer ${KEY}`);
      else assert.equal(req.headers['x-api-key'], KEY);
      const after = await api.status();
      assert.ok(after.ok);
      assert.equal(after.value.headSeq, head.value.headSeq, 'nothing is appended to the log');
      // Another model, as the person picks it.
      fake.push({ text: 'ok' });
      const big = await probe(api, 'fake', { model: 'fake-big' });
      assert.equal(big.ok, true);
      assert.equal(fake.requests[1]!.body.model, 'fake-big');
    });

    test('401: the key was refused (and is not repeated back)', async () => {
      fake.reset();
      fake.push({ error: { status: 401, message: `Incorrect API key provided: ${KEY}` } });
      const out = await probe(api, 'fake');
      assert.equal(out.ok, false);
      assert.ok(!out.ok);
      assert.equal(out.kind, 'auth');
      assert.equal(out.status, 401);
      assert.ok(!out.message.includes(KEY), out.message);
      assert.match(out.message, /\*\*\*/);
    });

    test('nothing listening: unreachable', async () => {
      const out = await probe(api, 'down');
      assert.ok(!out.ok);
      assert.equal(out.kind, 'unreachable', out.message);
    });

    test('a model the provider does not serve: model_unknown', async () => {
      fake.reset();
      fake.push(wire === 'openai'
        ? { error: { status: 404, message: 'The model `nope` does not exist or you do not have access to it.' } }
        : { error: { status: 404, message: 'model: nope' } });
      const out = await probe(api, 'fake', { model: 'nope' });
      assert.ok(!out.ok);
      assert.equal(out.kind, 'model_unknown', out.message);
      assert.equal(fake.requests[0]!.body.model, 'nope');
    });

    test('a wrong path (404 that is not about a model): not_found', async () => {
      fake.reset();
      fake.push({ error: { status: 404, message: 'no route', body: '{"error":{"message":"no route"}}' } });
      const out = await probe(api, 'fake');
      assert.ok(!out.ok);
      assert.equal(out.kind, 'not_found', out.message);
    });

    test('a slow server: timeout, promptly', async () => {
      fake.reset();
      fake.push({ text: 'ok', delayMs: 3_000 });
      const t0 = performance.now();
      const out = await probe(api, 'fake', { timeoutMs: 300 });
      const took = performance.now() - t0;
      assert.ok(!out.ok);
      assert.equal(out.kind, 'timeout', out.message);
      assert.ok(took < 2_000, `settled after ${Math.round(took)} ms`);
    });

    test('an unknown provider is not_found; bad parameters are invalid_query', async () => {
      const none = await api.testProvider({ id: 'nope' });
      assert.equal(none.ok, false);
      assert.equal(!none.ok && none.error.code, 'not_found');
      const bad = await api.testProvider({ id: 'fake', timeoutMs: -1 });
      assert.equal(!bad.ok && bad.error.code, 'invalid_query');
    });
  });
}
