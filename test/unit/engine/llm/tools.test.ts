/**
 * General tool calling in the provider clients (worker/engine/llm/tools.ts, openai.ts,
 * anthropic.ts) against the fake servers; every case runs for both providers, and the answer cases
 * for JSON, streaming and streaming in 2-byte chunks.
 *
 * Invariants checked:
 * 1. A tool call comes back with its id, name and parsed input, finishReason `tool_calls`; parallel
 *    calls keep their order; text before the calls is kept.
 * 2. The request carries the provider's tools / tool_choice wire shape; a follow-up request with
 *    the assistant's calls and the tool results has the exact wire shape of the provider.
 * 3. Arguments that are not JSON reject with invalid_output carrying the raw arguments.
 * 4. tools + outputSchema, duplicate tool names and a toolChoice naming no tool are refused
 *    (invalid_input) without a request; structured output with a tool history still works.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { completeAnthropic } from '../../../../worker/engine/llm/anthropic.ts';
import { completeOpenAI } from '../../../../worker/engine/llm/openai.ts';
import type { LlmCallOptions, LlmMessage, LlmProvider, LlmProviderKind, LlmRequest, LlmTool } from '../../../../worker/engine/llm/types.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../../../helpers/fake-openai.ts';
import { startFakeAnthropic } from '../../../helpers/fake-anthropic.ts';
import { rejectsWith } from '../runners/helpers.ts';

const WEATHER: LlmTool = {
  name: 'get_weather',
  description: 'The weather in a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
};
const TIME: LlmTool = { name: 'get_time', description: 'The local time in a city', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } };
const SCHEMA = { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'], additionalProperties: false };
const QUESTION: LlmMessage = { role: 'user', content: 'Weather in Rome and Paris? ☀️' };

const MODES = [
  { name: 'JSON', options: { stream: false } },
  { name: 'stream', options: { stream: true } },
  { name: 'stream, 2-byte chunks', options: { stream: true }, chunkBytes: 2 },
] as const;

for (const kind of ['openai', 'anthropic'] as const satisfies readonly LlmProviderKind[]) {
  describe(`${kind} tool calling`, () => {
    let server: FakeLlmServer;
    before(async () => {
      server = kind === 'openai' ? await startFakeOpenAI() : await startFakeAnthropic();
    });
    after(() => server.close());
    beforeEach(() => server.reset());

    const provider: () => LlmProvider = () => ({ id: `fake-${kind}`, kind, baseUrl: kind === 'openai' ? `${server.url}/v1` : server.url, apiKey: 'sk-test', models: ['m-1'] });
    const complete = kind === 'openai' ? completeOpenAI : completeAnthropic;
    const ask = (request: Partial<LlmRequest> = {}, options: LlmCallOptions = {}) =>
      complete(provider(), { model: 'm-1', messages: [QUESTION], tools: [WEATHER, TIME], ...request }, options);
    const body = (i = server.requests.length - 1) => server.requests[i]?.body;
    /** The fake servers' call ids: request n (1-based), call i. */
    const callId = (n: number, i: number): string => (kind === 'openai' ? `call_fake_${n}_${i}` : `toolu_fake_${n}_${i}`);

    for (const mode of MODES) {
      const extra = 'chunkBytes' in mode ? { chunkBytes: mode.chunkBytes } : {};

      test(`${mode.name}: one tool call with id, name and input; tools on the wire`, async () => {
        server.push({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Zürich' } }], ...extra });
        const tokens: string[] = [];
        const r = await ask({}, { ...mode.options, onToken: (t) => tokens.push(t) });
        assert.deepEqual(r.toolCalls, [{ id: callId(1, 0), name: 'get_weather', input: { city: 'Zürich' } }]);
        assert.equal(r.finishReason, 'tool_calls');
        assert.equal(r.text, '');
        assert.equal(r.json, undefined);
        assert.deepEqual(tokens, [], 'argument JSON is not streamed as text');
        if (kind === 'openai') {
          assert.deepEqual(body().tools, [
            { type: 'function', function: { name: 'get_weather', description: WEATHER.description, parameters: WEATHER.inputSchema } },
            { type: 'function', function: { name: 'get_time', description: TIME.description, parameters: TIME.inputSchema } },
          ]);
          assert.equal(body().response_format, undefined);
        } else {
          assert.deepEqual(body().tools, [
            { name: 'get_weather', description: WEATHER.description, input_schema: WEATHER.inputSchema },
            { name: 'get_time', description: TIME.description, input_schema: TIME.inputSchema },
          ]);
        }
        assert.equal(body().tool_choice, undefined);
      });

      test(`${mode.name}: parallel tool calls after text, then the results go back in the exact wire shape`, async () => {
        server.push({
          text: 'Let me check.',
          toolCalls: [{ name: 'get_weather', arguments: { city: 'Rome' } }, { name: 'get_time', arguments: { city: 'Paris', detail: { tz: true, n: [1, 2] } } }],
          ...extra,
        }, { text: 'Rome is sunny.', ...extra });
        const tokens: string[] = [];
        const r = await ask({ system: 'Be brief' }, { ...mode.options, onToken: (t) => tokens.push(t) });
        assert.equal(r.text, 'Let me check.');
        if (mode.options.stream) assert.equal(tokens.join(''), 'Let me check.');
        assert.equal(r.finishReason, 'tool_calls');
        assert.deepEqual(r.toolCalls, [
          { id: callId(1, 0), name: 'get_weather', input: { city: 'Rome' } },
          { id: callId(1, 1), name: 'get_time', input: { city: 'Paris', detail: { tz: true, n: [1, 2] } } },
        ]);
        const calls = r.toolCalls ?? [];
        const messages: LlmMessage[] = [
          QUESTION,
          { role: 'assistant', content: r.text, toolCalls: calls },
          { role: 'tool', toolCallId: callId(1, 0), name: 'get_weather', content: '{"sky":"sunny"}' },
          { role: 'tool', toolCallId: callId(1, 1), name: 'get_time', content: '10:00' },
        ];
        const second = await ask({ system: 'Be brief', messages }, mode.options);
        assert.equal(second.text, 'Rome is sunny.');
        assert.equal(second.finishReason, 'stop');
        assert.equal(second.toolCalls, undefined);
        if (kind === 'openai') {
          assert.deepEqual(body(1).messages, [
            { role: 'system', content: 'Be brief' },
            { role: 'user', content: QUESTION.content },
            {
              role: 'assistant',
              content: 'Let me check.',
              tool_calls: [
                { id: callId(1, 0), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
                { id: callId(1, 1), type: 'function', function: { name: 'get_time', arguments: '{"city":"Paris","detail":{"tz":true,"n":[1,2]}}' } },
              ],
            },
            { role: 'tool', tool_call_id: callId(1, 0), content: '{"sky":"sunny"}' },
            { role: 'tool', tool_call_id: callId(1, 1), content: '10:00' },
          ]);
        } else {
          assert.equal(body(1).system, 'Be brief');
          assert.deepEqual(body(1).messages, [
            { role: 'user', content: QUESTION.content },
            {
              role: 'assistant',
              content: [
                { type: 'text', text: 'Let me check.' },
                { type: 'tool_use', id: callId(1, 0), name: 'get_weather', input: { city: 'Rome' } },
                { type: 'tool_use', id: callId(1, 1), name: 'get_time', input: { city: 'Paris', detail: { tz: true, n: [1, 2] } } },
              ],
            },
            {
              role: 'user',
              content: [
                { type: 'tool_result', tool_use_id: callId(1, 0), content: '{"sky":"sunny"}' },
                { type: 'tool_result', tool_use_id: callId(1, 1), content: '10:00' },
              ],
            },
          ]);
        }
      });

      if (kind === 'openai' || mode.options.stream) {
        test(`${mode.name}: arguments that are not JSON → invalid_output with the raw arguments`, async () => {
          server.push({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Rome' } }, { name: 'get_time', arguments: '{"city": "Par' }], ...extra });
          const err = await rejectsWith(ask({}, mode.options), 'invalid_output', false);
          assert.equal(err.details?.['arguments'], '{"city": "Par');
          assert.equal(err.details?.['name'], 'get_time');
          assert.equal(err.details?.['toolCallId'], callId(1, 1));
          assert.equal(err.details?.['provider'], `fake-${kind}`);
        });
      }
    }

    test('an assistant turn with calls and no text; one tool result followed by a user turn', async () => {
      server.push({ text: 'ok' });
      await ask({
        messages: [
          QUESTION,
          { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get_weather', input: { city: 'Rome' } }] },
          { role: 'tool', toolCallId: 'c1', name: 'get_weather', content: 'sunny' },
          { role: 'assistant', content: 'It is sunny.' },
          { role: 'user', content: 'Thanks' },
        ],
      });
      const expected = kind === 'openai'
        ? [
          { role: 'user', content: QUESTION.content },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
          { role: 'assistant', content: 'It is sunny.' },
          { role: 'user', content: 'Thanks' },
        ]
        : [
          { role: 'user', content: QUESTION.content },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'c1', name: 'get_weather', input: { city: 'Rome' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c1', content: 'sunny' }] },
          { role: 'assistant', content: 'It is sunny.' },
          { role: 'user', content: 'Thanks' },
        ];
      assert.deepEqual(body().messages, expected);
    });

    test('toolChoice mapping', async () => {
      const cases = [
        ['auto', kind === 'openai' ? 'auto' : { type: 'auto' }],
        ['none', kind === 'openai' ? 'none' : { type: 'none' }],
        [{ name: 'get_time' }, kind === 'openai' ? { type: 'function', function: { name: 'get_time' } } : { type: 'tool', name: 'get_time' }],
      ] as const;
      for (const [choice, wire] of cases) {
        server.push({ text: 'ok' });
        const r = await ask({ toolChoice: choice });
        assert.equal(r.toolCalls, undefined);
        assert.deepEqual(body().tool_choice, wire);
      }
      server.push({ text: 'ok' });
      await ask({ tools: [], toolChoice: 'auto' });
      assert.equal(body().tools, undefined, 'no tools: neither tools nor tool_choice');
      assert.equal(body().tool_choice, undefined);
    });

    test('refused without a request: tools + outputSchema, duplicate names, unknown toolChoice', async () => {
      const e = await rejectsWith(ask({ outputSchema: SCHEMA }), 'invalid_input', false);
      assert.match(e.message, /tools and an outputSchema/);
      await rejectsWith(ask({ tools: [WEATHER, WEATHER] }), 'invalid_input', false);
      await rejectsWith(ask({ toolChoice: { name: 'nope' } }), 'invalid_input', false);
      await rejectsWith(ask({ tools: [], toolChoice: { name: 'get_time' } }), 'invalid_input', false);
      assert.equal(server.count(), 0);
    });

    test('structured output still works on a final answer after a tool history', async () => {
      server.push({ json: { summary: 'sunny' } });
      const r = await ask({
        tools: undefined,
        outputSchema: SCHEMA,
        messages: [
          QUESTION,
          { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get_weather', input: { city: 'Rome' } }] },
          { role: 'tool', toolCallId: 'c1', name: 'get_weather', content: 'sunny' },
        ],
      }, { stream: true });
      assert.deepEqual(r.json, { summary: 'sunny' });
      assert.equal(r.finishReason, 'stop');
      assert.equal(r.toolCalls, undefined);
      if (kind === 'openai') {
        assert.equal(body().response_format?.type, 'json_schema');
        assert.equal(body().tools, undefined);
      } else {
        assert.deepEqual(body().tool_choice, { type: 'tool', name: 'output' });
        assert.deepEqual(body().tools.map((t: { name: string }) => t.name), ['output']);
      }
    });
  });
}

test('anthropic stream: a tool_use start block carrying its whole input (no deltas) keeps it', async () => {
  const events = [
    { type: 'message_start', message: { model: 'c', usage: { input_tokens: 1, output_tokens: 1 } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 't1', name: 'get_weather', input: { city: 'Rome' } } },
    { type: 'content_block_stop', index: 0 },
    { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 't2', name: 'get_time', input: { city: 'stale' } } },
    { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":' } },
    { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"Oslo"}' } },
    { type: 'content_block_stop', index: 1 },
    { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 5 } },
    { type: 'message_stop' },
  ];
  const text = events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
  const fetchStub = (async () => new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream' } })) as typeof fetch;
  const r = await completeAnthropic({ id: 'a', kind: 'anthropic', baseUrl: 'http://x.invalid', models: [] }, { model: 'c', messages: [QUESTION], tools: [WEATHER, TIME] }, { fetch: fetchStub, stream: true });
  assert.deepEqual(r.toolCalls, [{ id: 't1', name: 'get_weather', input: { city: 'Rome' } }, { id: 't2', name: 'get_time', input: { city: 'Oslo' } }]);
  assert.equal(r.finishReason, 'tool_calls');
});
