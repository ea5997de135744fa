/**
 * OpenAI Chat Completions client (also for OpenAI-compatible servers: vLLM, Ollama, LM Studio,
 * gateways), over fetch.
 *
 * Wire: `POST {baseUrl}/chat/completions` with `Authorization: Bearer <apiKey>` (when set) and
 * `Idempotency-Key`. Streaming sends `stream: true, stream_options: { include_usage: true }` and
 * reads SSE `data:` chunks until `data: [DONE]`. Structured output sends
 * `response_format: { type: 'json_schema', json_schema: { name: 'output', schema, strict } }`
 * with strict true when the schema is strict-compatible (schema.ts).
 *
 * Invariants:
 * 1. `onToken` sees every content delta in order (tool-call argument deltas too, unless the
 *    request has `tools`: then only text); a throwing onToken does not break the call.
 * 2. A stream that ends without `[DONE]` is a `network` error (retryable); an error object inside
 *    the stream is typed like an HTTP error (errors.ts).
 * 3. A server that answers JSON to a streaming request is read as JSON (some gateways do that).
 * 4. `max_completion_tokens` is sent to api.openai.com (its newer models refuse `max_tokens`),
 *    `max_tokens` to anything else (compatible servers know that one).
 * 5. Tool calling (tools.ts): streamed `delta.tool_calls[i]` are put together by index (id and
 *    name from the first chunk, arguments across chunks); `toolCalls` is set for a request with
 *    tools. Without tools, a structured-output answer that came as a tool call (a gateway) is read
 *    from the first call's arguments.
 */
import type { Json } from '../../kernel/errors.ts';
import { failureError, isRecord, malformedError, parseFailure, truncatedError } from './errors.ts';
import { postToProvider } from './transport.ts';
import { normaliseFinish, parseAnswer, isStrictCompatible, toProviderSchema, trimSlash, type ProviderSchema } from './schema.ts';
import { readSse, tokenEmitter } from './sse.ts';
import { addOpenAITools, checkTools, finishToolCalls, hasTools, openaiMessages, type PendingToolCall } from './tools.ts';
import type { LlmCallOptions, LlmProvider, LlmRequest, LlmResponse } from './types.ts';

interface Answer {
  content: string;
  refusal: string;
  calls: (PendingToolCall | undefined)[];
  model: string;
  finish: string | null;
  inputTokens: number;
  outputTokens: number;
}

export function openaiUrl(provider: LlmProvider): string {
  return `${trimSlash(provider.baseUrl)}/chat/completions`;
}

export function openaiBody(provider: LlmProvider, request: LlmRequest, stream: boolean, ps: ProviderSchema | undefined): { [key: string]: Json } {
  const body: { [key: string]: Json } = { model: request.model, messages: openaiMessages(request) };
  if (stream) {
    body['stream'] = true;
    body['stream_options'] = { include_usage: true };
  }
  if (request.temperature !== undefined) body['temperature'] = request.temperature;
  if (request.maxTokens !== undefined) body[isOpenAIHost(provider.baseUrl) ? 'max_completion_tokens' : 'max_tokens'] = request.maxTokens;
  if (ps) body['response_format'] = { type: 'json_schema', json_schema: { name: 'output', schema: ps.schema, strict: isStrictCompatible(ps.schema) } };
  addOpenAITools(body, request);
  return body;
}

export async function completeOpenAI(provider: LlmProvider, request: LlmRequest, options: LlmCallOptions = {}): Promise<LlmResponse> {
  const stream = options.stream ?? options.onToken !== undefined;
  checkTools(provider.id, request);
  const tools = hasTools(request);
  const ps = request.outputSchema ? toProviderSchema(request.outputSchema) : undefined;
  const { answer, latencyMs } = await postToProvider(provider.id, openaiUrl(provider),
    provider.apiKey ? { authorization: `Bearer ${provider.apiKey}` } : {}, openaiBody(provider, request, stream, ps), stream, options, {
      sse: (body) => readStream(provider.id, body, request.model, options.onToken, !tools),
      json: (text) => readJson(provider.id, text, request.model),
    });
  return toResponse(provider, answer, ps, tools, latencyMs);
}

function toResponse(provider: LlmProvider, a: Answer, ps: ProviderSchema | undefined, tools: boolean, latencyMs: number): LlmResponse {
  let text = a.content;
  let finish = a.finish;
  if (text === '' && a.refusal !== '') {
    text = a.refusal;
    finish = 'refusal';
  } else if (text === '' && ps && a.calls[0] !== undefined) {
    text = a.calls[0].args; // a gateway that implements structured output as a tool call
    if (finish === 'tool_calls') finish = 'stop';
  }
  const base = { model: a.model, usage: { inputTokens: a.inputTokens, outputTokens: a.outputTokens }, latencyMs, finishReason: normaliseFinish(finish), attempts: 1, provider: provider.id };
  if (tools) {
    const toolCalls = finishToolCalls(provider.id, a.calls);
    return toolCalls.length > 0 ? { text, toolCalls, ...base } : { text, ...base };
  }
  if (!ps) return { text, ...base };
  const parsed = parseAnswer(text, ps.wrapped);
  if (!parsed.ok) return { text, jsonError: parsed.error, ...base };
  return { text: ps.wrapped ? JSON.stringify(parsed.json) : text, json: parsed.json, ...base };
}

function emptyAnswer(model: string): Answer {
  return { content: '', refusal: '', calls: [], model, finish: null, inputTokens: 0, outputTokens: 0 };
}

function readUsage(a: Answer, usage: unknown): void {
  if (!isRecord(usage)) return;
  if (typeof usage['prompt_tokens'] === 'number') a.inputTokens = usage['prompt_tokens'];
  if (typeof usage['completion_tokens'] === 'number') a.outputTokens = usage['completion_tokens'];
}

function readJson(provider: string, text: string, model: string): Answer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw malformedError(provider, 'the body is not JSON');
  }
  if (!isRecord(parsed)) throw malformedError(provider, 'the body is not an object');
  if (parsed['error'] !== undefined && parsed['error'] !== null) throw failureError(provider, parseFailure(text));
  const a = emptyAnswer(typeof parsed['model'] === 'string' ? parsed['model'] : model);
  readUsage(a, parsed['usage']);
  const choices = parsed['choices'];
  const choice: unknown = Array.isArray(choices) ? choices[0] : undefined;
  if (!isRecord(choice) || !isRecord(choice['message'])) throw malformedError(provider, 'no choices[0].message');
  const message = choice['message'];
  if (typeof message['content'] === 'string') a.content = message['content'];
  if (typeof message['refusal'] === 'string') a.refusal = message['refusal'];
  if (Array.isArray(message['tool_calls'])) {
    for (const call of message['tool_calls']) {
      const fn: unknown = isRecord(call) ? call['function'] : undefined;
      if (!isRecord(call) || !isRecord(fn)) continue;
      const args = typeof fn['arguments'] === 'string' ? fn['arguments'] : fn['arguments'] !== undefined ? JSON.stringify(fn['arguments']) : '';
      a.calls.push({ id: str(call['id']), name: str(fn['name']), args });
    }
  }
  a.finish = typeof choice['finish_reason'] === 'string' ? choice['finish_reason'] : null;
  return a;
}

async function readStream(provider: string, body: ReadableStream<Uint8Array>, model: string, onToken: ((text: string) => void) | undefined, emitArgs: boolean): Promise<Answer> {
  const a = emptyAnswer(model);
  const emit = tokenEmitter(onToken);
  let done = false;
  for await (const ev of readSse(body)) {
    if (ev.data === '[DONE]') {
      done = true;
      break;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(ev.data);
    } catch {
      throw malformedError(provider, `a stream chunk is not JSON: ${ev.data.slice(0, 100)}`);
    }
    if (!isRecord(chunk)) continue;
    if (ev.event === 'error' || (chunk['error'] !== undefined && chunk['error'] !== null)) throw failureError(provider, parseFailure(ev.data));
    if (typeof chunk['model'] === 'string' && chunk['model'] !== '') a.model = chunk['model'];
    readUsage(a, chunk['usage']);
    const choices = chunk['choices'];
    if (!Array.isArray(choices)) continue;
    for (const choice of choices) {
      if (!isRecord(choice) || (choice['index'] !== undefined && choice['index'] !== 0)) continue;
      if (typeof choice['finish_reason'] === 'string') a.finish = choice['finish_reason'];
      const delta = choice['delta'];
      if (!isRecord(delta)) continue;
      if (typeof delta['content'] === 'string') {
        a.content += delta['content'];
        emit(delta['content']);
      }
      if (typeof delta['refusal'] === 'string') a.refusal += delta['refusal'];
      if (Array.isArray(delta['tool_calls'])) {
        for (const call of delta['tool_calls']) {
          if (!isRecord(call)) continue;
          const index = typeof call['index'] === 'number' ? call['index'] : 0;
          const fn = call['function'];
          const piece = isRecord(fn) && typeof fn['arguments'] === 'string' ? fn['arguments'] : '';
          const pending = (a.calls[index] ??= { id: '', name: '', args: '' });
          if (pending.id === '') pending.id = str(call['id']);
          if (pending.name === '' && isRecord(fn)) pending.name = str(fn['name']);
          pending.args += piece;
          if (emitArgs) emit(piece);
        }
      }
    }
  }
  if (!done) throw truncatedError(provider, 'data: [DONE]');
  return a;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function isOpenAIHost(baseUrl: string): boolean {
  try {
    return new URL(baseUrl).hostname === 'api.openai.com';
  } catch {
    return false;
  }
}
