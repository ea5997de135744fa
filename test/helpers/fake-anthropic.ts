/**
 * A fake Anthropic Messages API server on 127.0.0.1 (ephemeral port) speaking the real wire
 * protocol; the scripted core (replies, recording, chunked writes) is the one of fake-openai.ts.
 *
 * Path: `POST /v1/messages`. Without `stream: true` it answers a `message` JSON body; with it the
 * SSE event sequence message_start, ping, then per content block content_block_start,
 * content_block_delta (text_delta / input_json_delta), content_block_stop, and message_delta
 * (stop_reason, usage), message_stop.
 *
 * A `json` reply becomes a tool_use block when the request forces a tool (`tool_choice: { type:
 * 'tool', name }`), else a text block with the JSON text. Errors use Anthropic's error JSON
 * (`{ type: 'error', error: { type, message }, request_id }`) with the status's error type
 * (400 invalid_request_error, 401 authentication_error, 403 permission_error, 404 not_found_error,
 * 413 request_too_large, 429 rate_limit_error, 500 api_error, 529 overloaded_error); a
 * `streamError` is an `event: error` mid-stream.
 *
 * `toolCalls` become tool_use blocks (ids `toolu_fake_<n>_<i>`); string `arguments` are the raw JSON
 * text of the input: streamed as is (so it may be invalid JSON), parsed for a JSON body when it parses.
 */
import { pieces, sse, sseHeaders, startScriptedServer, wordDeltas, type FakeError, type FakeLlmServer, type FakeReply, type FakeServerOptions, type RecordedRequest, type Rendered } from './fake-openai.ts';

export type { FakeError, FakeLlmServer, FakeReply, FakeServerOptions, RecordedRequest } from './fake-openai.ts';

const ERROR_TYPES: { readonly [status: number]: string } = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

export function anthropicErrorJson(e: FakeError): string {
  const type = e.type ?? ERROR_TYPES[e.status] ?? 'api_error';
  return JSON.stringify({ type: 'error', error: { type, message: e.message ?? (type === 'overloaded_error' ? 'Overloaded' : `fake error ${e.status}`) }, request_id: 'req_fake' });
}

type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown; raw?: string };

function rawInput(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function render(reply: FakeReply, request: RecordedRequest, n: number): Rendered {
  if (reply.error) {
    return { status: reply.error.status, headers: { 'content-type': 'application/json', 'request-id': 'req_fake', ...reply.error.headers }, body: reply.error.body ?? anthropicErrorJson(reply.error) };
  }
  const body = typeof request.body === 'object' && request.body !== null ? request.body : {};
  const model = reply.model ?? (typeof body.model === 'string' ? body.model : 'claude-fake');
  const forced: string | undefined = body.tool_choice?.type === 'tool' ? body.tool_choice.name : undefined;
  const blocks: Block[] = [];
  if (reply.text !== undefined) blocks.push({ type: 'text', text: reply.text });
  if (reply.json !== undefined) blocks.push(forced ? { type: 'tool_use', id: `toolu_fake_${n}`, name: forced, input: reply.json } : { type: 'text', text: JSON.stringify(reply.json) });
  (reply.toolCalls ?? []).forEach((c, i) => blocks.push(typeof c.arguments === 'string'
    ? { type: 'tool_use', id: `toolu_fake_${n}_${i}`, name: c.name, input: rawInput(c.arguments), raw: c.arguments }
    : { type: 'tool_use', id: `toolu_fake_${n}_${i}`, name: c.name, input: c.arguments }));
  const stop = reply.finishReason ?? (blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
  const deltasOf = (b: Block): readonly string[] => (b.type === 'text' ? reply.deltas ?? wordDeltas(b.text) : pieces(b.raw ?? JSON.stringify(b.input), 6));
  const inputTokens = reply.usage?.input ?? 13;
  const outputTokens = reply.usage?.output ?? Math.max(1, blocks.reduce((s, b) => s + deltasOf(b).length, 0));
  const id = `msg_fake_${n}`;
  if (body.stream !== true) {
    const json = { id, type: 'message', role: 'assistant', model, content: blocks.map((b) => (b.type === 'tool_use' ? { type: b.type, id: b.id, name: b.name, input: b.input } : b)), stop_reason: stop, stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: outputTokens } };
    return { status: 200, headers: { 'content-type': 'application/json', 'request-id': 'req_fake' }, body: JSON.stringify(json) };
  }
  let out = sse({ type: 'message_start', message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: 1 } } }, 'message_start');
  out += sse({ type: 'ping' }, 'ping');
  const headers = { ...sseHeaders(), 'request-id': 'req_fake' };
  for (let index = 0; index < blocks.length; index++) {
    const b = blocks[index] as Block;
    const start = b.type === 'text' ? { type: 'text', text: '' } : { type: 'tool_use', id: b.id, name: b.name, input: {} };
    out += sse({ type: 'content_block_start', index, content_block: start }, 'content_block_start');
    for (const d of deltasOf(b)) {
      const delta = b.type === 'text' ? { type: 'text_delta', text: d } : { type: 'input_json_delta', partial_json: d };
      out += sse({ type: 'content_block_delta', index, delta }, 'content_block_delta');
    }
    if (reply.stall) return { status: 200, headers, body: out, stall: true };
    out += sse({ type: 'content_block_stop', index }, 'content_block_stop');
  }
  if (reply.streamError) return { status: 200, headers, body: out + sse(JSON.parse(anthropicErrorJson(reply.streamError)) as unknown, 'error') };
  if (reply.truncate) return { status: 200, headers, body: out };
  out += sse({ type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: outputTokens } }, 'message_delta');
  out += sse({ type: 'message_stop' }, 'message_stop');
  return { status: 200, headers, body: out };
}

export function startFakeAnthropic(options: FakeServerOptions = {}): Promise<FakeLlmServer> {
  return startScriptedServer(['/v1/messages'], options, render);
}
