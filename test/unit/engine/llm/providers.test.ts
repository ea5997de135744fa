/**
 * The provider clients (worker/engine/llm/openai.ts, anthropic.ts) against fake servers that speak
 * the real wire protocols on 127.0.0.1; every case runs for both providers.
 *
 * Invariants checked:
 * 1. JSON and streaming answers give the same text, model, usage and finish reason; streamed
 *    deltas reach onToken in order, also when the server writes 1–3 byte chunks that split SSE
 *    lines and multi-byte UTF-8 characters.
 * 2. Requests carry the documented headers and body (auth, Idempotency-Key, stream options,
 *    structured-output fields).
 * 3. Every failure is a typed RunnerError: auth, rate_limit (retryAfterMs), context_length,
 *    bad_request, provider_error, network (refused connection, stream cut short), aborted, timeout.
 * 4. Aborting mid-stream settles promptly and closes the connection.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { completeAnthropic } from '../../../../worker/engine/llm/anthropic.ts';
import { completeOpenAI } from '../../../../worker/engine/llm/openai.ts';
import type { LlmCallOptions, LlmProvider, LlmProviderKind, LlmRequest } from '../../../../worker/engine/llm/types.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../../../helpers/fake-openai.ts';
import { startFakeAnthropic } from '../../../helpers/fake-anthropic.ts';
import { delay, rejectsWith } from '../runners/helpers.ts';

const SCHEMA = { type: 'object', properties: { city: { type: 'string' }, temp: { type: 'number' } }, required: ['city', 'temp'], additionalProperties: false };
const UTF8 = 'Grüße, 世界! 🌍🚀 naïve café — ok';

for (const kind of ['openai', 'anthropic'] as const satisfies readonly LlmProviderKind[]) {
  describe(`${kind} client`, () => {
    let server: FakeLlmServer;
    before(async () => {
      server = kind === 'openai' ? await startFakeOpenAI() : await startFakeAnthropic();
    });
    after(() => server.close());
    beforeEach(() => server.reset());

    const provider = (over: Partial<LlmProvider> = {}): LlmProvider => ({
      id: `fake-${kind}`, kind, baseUrl: kind === 'openai' ? `${server.url}/v1` : server.url, apiKey: 'sk-test', models: ['m-1'], ...over,
    });
    const complete = kind === 'openai' ? completeOpenAI : completeAnthropic;
    const ask = (request: Partial<LlmRequest> = {}, options: LlmCallOptions = {}, p = provider()) =>
      complete(p, { model: 'm-1', messages: [{ role: 'user', content: 'Hi' }], ...request }, options);
    const last = () => server.requests[server.requests.length - 1];

    test('JSON answer: text, model, usage, finish reason, headers', async () => {
      server.push({ text: 'Hello there', usage: { input: 7, output: 3 } });
      const r = await ask({ system: 'Be brief', temperature: 0.2, maxTokens: 50 }, { idempotencyKey: 'k-1' });
      assert.equal(r.text, 'Hello there');
      assert.equal(r.model, 'm-1');
      assert.deepEqual(r.usage, { inputTokens: 7, outputTokens: 3 });
      assert.equal(r.finishReason, 'stop');
      assert.equal(r.provider, `fake-${kind}`);
      assert.equal(r.attempts, 1);
      assert.equal(r.json, undefined);
      const req = last();
      assert.equal(req?.headers['idempotency-key'], 'k-1');
      assert.equal(req?.body.stream, undefined);
      assert.equal(req?.body.temperature, 0.2);
      assert.equal(req?.body.max_tokens, 50);
      if (kind === 'openai') {
        assert.equal(req?.path, '/v1/chat/completions');
        assert.equal(req?.headers['authorization'], 'Bearer sk-test');
        assert.deepEqual(req?.body.messages, [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'Hi' }]);
      } else {
        assert.equal(req?.path, '/v1/messages');
        assert.equal(req?.headers['x-api-key'], 'sk-test');
        assert.equal(req?.headers['anthropic-version'], '2023-06-01');
        assert.equal(req?.body.system, 'Be brief');
        assert.deepEqual(req?.body.messages, [{ role: 'user', content: 'Hi' }]);
      }
    });

    test('no API key: no auth header', async () => {
      server.push({ text: 'ok' });
      await ask({}, {}, provider({ apiKey: undefined }));
      assert.equal(last()?.headers['authorization'], undefined);
      assert.equal(last()?.headers['x-api-key'], undefined);
    });

    test('streaming: tokens arrive in order through onToken; usage and finish reason', async () => {
      const deltas = ['The ', 'quick ', 'brown ', 'fox'];
      server.push({ text: deltas.join(''), deltas, usage: { input: 5, output: 4 } });
      const tokens: string[] = [];
      const r = await ask({}, { onToken: (t) => tokens.push(t) });
      assert.deepEqual(tokens, deltas);
      assert.equal(r.text, 'The quick brown fox');
      assert.deepEqual(r.usage, { inputTokens: 5, outputTokens: 4 });
      assert.equal(r.finishReason, 'stop');
      assert.equal(last()?.body.stream, true);
      if (kind === 'openai') assert.deepEqual(last()?.body.stream_options, { include_usage: true });
    });

    for (const chunkBytes of [1, 3]) {
      test(`streaming in ${chunkBytes}-byte writes: split lines and UTF-8 characters survive`, async () => {
        const deltas = [...UTF8].reduce<string[]>((acc, ch, i) => (i % 4 === 0 ? [...acc, ch] : [...acc.slice(0, -1), `${acc[acc.length - 1] ?? ''}${ch}`]), []);
        server.push({ text: UTF8, deltas, chunkBytes });
        const tokens: string[] = [];
        let reads = 0;
        const counting: typeof fetch = async (input, init) => {
          const res = await fetch(input, init);
          const counted = res.body?.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ transform: (c, ctl) => { reads++; ctl.enqueue(c); } }));
          return new Response(counted, { status: res.status, headers: res.headers });
        };
        const r = await ask({}, { onToken: (t) => tokens.push(t), fetch: counting });
        assert.deepEqual(tokens, deltas);
        assert.equal(r.text, UTF8);
        assert.ok(reads > 20, `the body arrived in many pieces (${reads})`);
      });
    }

    test('a throwing onToken does not break the stream', async () => {
      server.push({ text: 'a b c' });
      const r = await ask({}, { onToken: () => { throw new Error('listener bug'); } });
      assert.equal(r.text, 'a b c');
    });

    for (const stream of [false, true]) {
      test(`structured output (${stream ? 'streaming' : 'JSON'}): parsed json and the provider's schema fields`, async () => {
        server.push({ json: { city: 'Oslo', temp: -3.5 } });
        const tokens: string[] = [];
        const r = await ask({ outputSchema: SCHEMA }, stream ? { onToken: (t) => tokens.push(t) } : {});
        assert.deepEqual(r.json, { city: 'Oslo', temp: -3.5 });
        assert.deepEqual(JSON.parse(r.text), { city: 'Oslo', temp: -3.5 });
        assert.equal(r.finishReason, 'stop');
        if (stream) assert.deepEqual(JSON.parse(tokens.join('')), { city: 'Oslo', temp: -3.5 });
        const body = last()?.body;
        if (kind === 'openai') {
          assert.deepEqual(body.response_format, { type: 'json_schema', json_schema: { name: 'output', schema: SCHEMA, strict: true } });
        } else {
          assert.equal(body.tools[0].name, 'output');
          assert.deepEqual(body.tools[0].input_schema, SCHEMA);
          assert.deepEqual(body.tool_choice, { type: 'tool', name: 'output' });
        }
      });
    }

    test('structured output with a non-object root is wrapped and unwrapped', async () => {
      server.push({ json: { value: [1, 2, 3] } });
      const r = await ask({ outputSchema: { type: 'array', items: { type: 'integer' } } });
      assert.deepEqual(r.json, [1, 2, 3]);
      const body = last()?.body;
      const sent = kind === 'openai' ? body.response_format.json_schema.schema : body.tools[0].input_schema;
      assert.equal(sent.type, 'object');
      assert.deepEqual(sent.required, ['value']);
    });

    test('an answer that is not JSON: json absent, jsonError says why', async () => {
      server.push({ text: 'I cannot do JSON today' });
      const r = await ask({ outputSchema: SCHEMA });
      assert.equal(r.json, undefined);
      assert.match(r.jsonError ?? '', /not valid JSON/);
    });

    test('401 and 403 are auth errors (not retryable)', async () => {
      server.push({ error: { status: 401, message: 'Incorrect API key' } }, { error: { status: 403 } });
      const e = await rejectsWith(ask(), 'auth', false);
      assert.equal(e.details['status'], 401);
      assert.match(e.message, /Incorrect API key/);
      await rejectsWith(ask(), 'auth', false);
    });

    test('429 is rate_limit with retryAfterMs from the headers', async () => {
      const headers: Record<string, string> = kind === 'openai' ? { 'retry-after-ms': '1250', 'x-ratelimit-reset-requests': '3s' } : { 'retry-after': '3', 'anthropic-ratelimit-requests-reset': '2030-01-01T00:00:00Z' };
      server.push({ error: { status: 429, message: 'Slow down', headers } });
      const e = await rejectsWith(ask(), 'rate_limit', true);
      assert.equal(e.details['retryAfterMs'], kind === 'openai' ? 1250 : 3000);
      server.push({ error: { status: 429, headers: { 'x-ratelimit-reset-tokens': '1m30s', 'x-ratelimit-remaining-tokens': '0' } } });
      assert.equal((await rejectsWith(ask(), 'rate_limit', true)).details['retryAfterMs'], 90_000);
    });

    test('400 with a context-length error is context_length; another 400 is bad_request', async () => {
      const ctx = kind === 'openai'
        ? { status: 400, code: 'context_length_exceeded', message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens." }
        : { status: 400, message: 'prompt is too long: 210000 tokens > 200000 maximum' };
      server.push({ error: ctx }, { error: { status: 400, message: 'temperature: must be at most 2' } }, { error: { status: 404, message: 'model not found' } });
      const e = await rejectsWith(ask(), 'context_length', false);
      assert.equal(e.details['status'], 400);
      await rejectsWith(ask(), 'bad_request', false);
      await rejectsWith(ask(), 'bad_request', false);
    });

    test(`5xx${kind === 'anthropic' ? ' and 529 overloaded' : ''} are provider_error (retryable)`, async () => {
      server.push({ error: { status: 500 } }, { error: { status: 503, body: '<html>Bad gateway</html>' } });
      await rejectsWith(ask(), 'provider_error', true);
      const e = await rejectsWith(ask(), 'provider_error', true);
      assert.match(String(e.details['bodyExcerpt']), /Bad gateway/);
      if (kind === 'anthropic') {
        server.push({ error: { status: 529 } });
        const o = await rejectsWith(ask(), 'provider_error', true);
        assert.equal(o.details['errorType'], 'overloaded_error');
      }
    });

    test('an error mid-stream is typed; a stream cut short is a network error', async () => {
      server.push({ text: 'partial answer', streamError: kind === 'openai' ? { status: 500, type: 'server_error', message: 'boom' } : { status: 529 } });
      const e = await rejectsWith(ask({}, { onToken: () => {} }), 'provider_error', true);
      assert.match(e.message, kind === 'openai' ? /boom/ : /Overloaded/);
      server.push({ text: 'partial answer', truncate: true });
      await rejectsWith(ask({}, { onToken: () => {} }), 'network', true);
    });

    test('a refused connection is a network error (retryable)', async () => {
      const dead = kind === 'openai' ? await startFakeOpenAI() : await startFakeAnthropic();
      const url = dead.url;
      await dead.close();
      await rejectsWith(ask({}, {}, provider({ baseUrl: kind === 'openai' ? `${url}/v1` : url })), 'network', true);
    });

    test('abort mid-stream settles promptly and closes the connection', async () => {
      server.push({ text: 'first second third', stall: true });
      const ac = new AbortController();
      const tokens: string[] = [];
      const p = ask({}, { signal: ac.signal, onToken: (t) => {
        tokens.push(t);
        if (tokens.length === 1) setTimeout(() => ac.abort(), 5);
      } });
      const started = Date.now();
      await rejectsWith(p, 'aborted', false);
      assert.ok(Date.now() - started < 1000, 'settled promptly');
      assert.ok(tokens.length >= 1);
      for (let i = 0; i < 50 && server.closedEarly() === 0; i++) await delay(10);
      assert.equal(server.closedEarly(), 1, 'the server saw the connection go away');
    });

    test('an already aborted signal sends nothing', async () => {
      const ac = new AbortController();
      ac.abort();
      await rejectsWith(ask({}, { signal: ac.signal }), 'aborted', false);
      assert.equal(server.count(), 0);
    });

    test('timeoutMs: timeout (retryable)', async () => {
      server.push({ text: 'late', delayMs: 5000 });
      const started = Date.now();
      const e = await rejectsWith(ask({}, { timeoutMs: 60 }), 'timeout', true);
      assert.equal(e.details['timeoutMs'], 60);
      assert.ok(Date.now() - started < 1000);
    });
  });
}

describe('provider specifics', () => {
  test('anthropic: a base URL ending in /v1 posts to /v1/messages', async () => {
    const server = await startFakeAnthropic({ script: [{ text: 'ok' }] });
    try {
      const r = await completeAnthropic({ id: 'a', kind: 'anthropic', baseUrl: `${server.url}/v1/`, models: [] }, { model: 'c', messages: [{ role: 'user', content: 'x' }] });
      assert.equal(r.text, 'ok');
      assert.equal(server.requests[0]?.path, '/v1/messages');
      assert.equal(server.requests[0]?.body.max_tokens, 4096, 'max_tokens is required: a default is sent');
    } finally {
      await server.close();
    }
  });

  test('openai: a base URL without /v1 posts to /chat/completions; tool-call arguments serve as structured answer', async () => {
    const server = await startFakeOpenAI({ script: [{ toolCalls: [{ name: 'output', arguments: { city: 'Rome', temp: 20 } }] }, { toolCalls: [{ name: 'output', arguments: { city: 'Rome', temp: 21 } }] }] });
    try {
      const p: LlmProvider = { id: 'o', kind: 'openai', baseUrl: server.url, models: [] };
      const req: LlmRequest = { model: 'g', messages: [{ role: 'user', content: 'x' }], outputSchema: SCHEMA };
      assert.deepEqual((await completeOpenAI(p, req)).json, { city: 'Rome', temp: 20 });
      const tokens: string[] = [];
      const r = await completeOpenAI(p, req, { onToken: (t) => tokens.push(t) });
      assert.deepEqual(r.json, { city: 'Rome', temp: 21 });
      assert.equal(r.finishReason, 'stop');
      assert.equal(tokens.join(''), '{"city":"Rome","temp":21}');
      assert.equal(server.requests[0]?.path, '/chat/completions');
    } finally {
      await server.close();
    }
  });

  test('openai: insufficient_quota is a rate_limit that is not retryable; a non-strict schema is sent with strict false', async () => {
    const server = await startFakeOpenAI({ script: [{ error: { status: 429, code: 'insufficient_quota', type: 'insufficient_quota' } }, { json: { a: 'x' } }] });
    try {
      const p: LlmProvider = { id: 'o', kind: 'openai', baseUrl: server.url, models: [] };
      await rejectsWith(completeOpenAI(p, { model: 'g', messages: [] }), 'rate_limit', false);
      const loose = { type: 'object', properties: { a: { type: 'string', minLength: 1 } } };
      await completeOpenAI(p, { model: 'g', messages: [{ role: 'user', content: 'x' }], outputSchema: loose });
      assert.equal(server.requests[1]?.body.response_format.json_schema.strict, false);
    } finally {
      await server.close();
    }
  });
});
