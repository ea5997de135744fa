/**
 * Anthropic Messages API client, over fetch.
 *
 * Wire: `POST {baseUrl}/v1/messages` (`{baseUrl}/messages` when the base URL already ends with
 * `/v1`) with `x-api-key` (when set), `anthropic-version: 2023-06-01`, `content-type` and
 * `Idempotency-Key`. Streaming reads the SSE events message_start (usage), content_block_start,
 * content_block_delta (text_delta, input_json_delta), content_block_stop, message_delta
 * (stop_reason, usage), message_stop, ping and error.
 *
 * Structured output forces a tool: `tools: [{ name: 'output', description, input_schema }]`,
 * `tool_choice: { type: 'tool', name: 'output' }`; the answer is that tool call's input. A reply
 * without the tool call falls back to its text (parsed as JSON by the caller's checks).
 *
 * Invariants:
 * 1. `max_tokens` is required by the API: DEFAULT_MAX_TOKENS when the request does not set it.
 * 2. A stream without message_stop is a `network` error (retryable); an `error` event is typed
 *    from its error.type (overloaded_error → provider_error, retryable).
 * 3. onToken sees text deltas and the output tool's JSON deltas, in order (not the JSON deltas of
 *    general tool calls).
 * 4. Tool calling (tools.ts): for a request with tools, every tool_use block becomes a `toolCalls`
 *    entry (streamed: content_block_start gives id and name, input_json_delta pieces are put
 *    together per block index); stop_reason tool_use is finishReason `tool_calls`.
 */
import type { Json } from '../../kernel/errors.ts';
import { failureError, isRecord, malformedError, parseFailure, truncatedError } from './errors.ts';
import { postToProvider } from './transport.ts';
import { normaliseFinish, parseAnswer, toProviderSchema, trimSlash, type ProviderSchema } from './schema.ts';
import { readSse, tokenEmitter } from './sse.ts';
import { addAnthropicTools, anthropicMessages, checkTools, finishToolCalls, hasTools, type PendingToolCall } from './tools.ts';
import type { LlmCallOptions, LlmProvider, LlmRequest, LlmResponse } from './types.ts';

export const ANTHROPIC_VERSION = '2023-06-01';
export const DEFAULT_MAX_TOKENS = 4096;
export const OUTPUT_TOOL = 'output';

interface Answer {
  text: string;
  /** Input of the output tool: streamed JSON text, or the object of a JSON reply. */
  toolJson: string | undefined;
  /** General tool calls (read only for a request with tools). */
  calls: PendingToolCall[];
  model: string;
  stop: string | null;
  inputTokens: number;
  outputTokens: number;
}

export function anthropicUrl(provider: LlmProvider): string {
  const base = trimSlash(provider.baseUrl);
  return /\/v1$/.test(base) ? `${base}/messages` : `${base}/v1/messages`;
}

export function anthropicBody(request: LlmRequest, stream: boolean, ps: ProviderSchema | undefined): { [key: string]: Json } {
  const body: { [key: string]: Json } = {
    model: request.model,
    max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
    messages: anthropicMessages(request.messages),
  };
  if (request.system !== undefined && request.system !== '') body['system'] = request.system;
  if (request.temperature !== undefined) body['temperature'] = request.temperature;
  if (stream) body['stream'] = true;
  if (ps) {
    body['tools'] = [{
      name: OUTPUT_TOOL,
      description: 'Give your answer by calling this tool; its input is the answer and must match the schema.',
      input_schema: ps.schema,
    }];
    body['tool_choice'] = { type: 'tool', name: OUTPUT_TOOL };
  }
  addAnthropicTools(body, request);
  return body;
}

export async function completeAnthropic(provider: LlmProvider, request: LlmRequest, options: LlmCallOptions = {}): Promise<LlmResponse> {
  const stream = options.stream ?? options.onToken !== undefined;
  checkTools(provider.id, request);
  const tools = hasTools(request);
  const ps = request.outputSchema ? toProviderSchema(request.outputSchema) : undefined;
  const headers: Record<string, string> = {
    'anthropic-version': ANTHROPIC_VERSION,
    // Required by Anthropic for calls from a browser (CORS); the key is the user's own.
    'anthropic-dangerous-direct-browser-access': 'true',
    ...(provider.apiKey ? { 'x-api-key': provider.apiKey } : {}),
  };
  const { answer, latencyMs } = await postToProvider(provider.id, anthropicUrl(provider), headers, anthropicBody(request, stream, ps), stream, options, {
    sse: (body) => readStream(provider.id, body, request.model, options.onToken, tools),
    json: (text) => readJson(provider.id, text, request.model, tools),
  });
  const base = { model: answer.model, usage: { inputTokens: answer.inputTokens, outputTokens: answer.outputTokens }, latencyMs, attempts: 1, provider: provider.id };
  if (tools) {
    const toolCalls = finishToolCalls(provider.id, answer.calls);
    return { text: answer.text, ...(toolCalls.length > 0 ? { toolCalls } : {}), finishReason: normaliseFinish(answer.stop), ...base };
  }
  if (!ps) return { text: answer.text, finishReason: normaliseFinish(answer.stop), ...base };
  const viaTool = answer.toolJson !== undefined;
  const text = viaTool ? answer.toolJson ?? '' : answer.text;
  // The forced tool call is how the answer arrives: it is a normal end, not a request for a tool.
  const finishReason = normaliseFinish(viaTool && answer.stop === 'tool_use' ? 'end_turn' : answer.stop);
  const parsed = parseAnswer(text === '' && viaTool ? '{}' : text, ps.wrapped);
  if (!parsed.ok) return { text, jsonError: parsed.error, finishReason, ...base };
  return { text: JSON.stringify(parsed.json), json: parsed.json, finishReason, ...base };
}

function emptyAnswer(model: string): Answer {
  return { text: '', toolJson: undefined, calls: [], model, stop: null, inputTokens: 0, outputTokens: 0 };
}

function readUsage(a: Answer, usage: unknown): void {
  if (!isRecord(usage)) return;
  const n = (k: string): number => (typeof usage[k] === 'number' ? usage[k] : 0);
  if (typeof usage['input_tokens'] === 'number') a.inputTokens = n('input_tokens') + n('cache_creation_input_tokens') + n('cache_read_input_tokens');
  if (typeof usage['output_tokens'] === 'number') a.outputTokens = n('output_tokens');
}

function readJson(provider: string, text: string, model: string, tools: boolean): Answer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw malformedError(provider, 'the body is not JSON');
  }
  if (!isRecord(parsed)) throw malformedError(provider, 'the body is not an object');
  if (parsed['type'] === 'error') throw failureError(provider, parseFailure(text));
  const a = emptyAnswer(typeof parsed['model'] === 'string' ? parsed['model'] : model);
  readUsage(a, parsed['usage']);
  a.stop = typeof parsed['stop_reason'] === 'string' ? parsed['stop_reason'] : null;
  const content = parsed['content'];
  if (!Array.isArray(content)) throw malformedError(provider, 'no content array');
  for (const block of content) {
    if (!isRecord(block)) continue;
    if (block['type'] === 'text' && typeof block['text'] === 'string') a.text += block['text'];
    if (block['type'] !== 'tool_use') continue;
    if (tools) a.calls.push({ id: str(block['id']), name: str(block['name']), args: JSON.stringify(block['input'] ?? {}) });
    else if (block['name'] === OUTPUT_TOOL && a.toolJson === undefined) a.toolJson = JSON.stringify(block['input'] ?? {});
  }
  return a;
}

async function readStream(provider: string, body: ReadableStream<Uint8Array>, model: string, onToken: ((text: string) => void) | undefined, tools: boolean): Promise<Answer> {
  const a = emptyAnswer(model);
  const emit = tokenEmitter(onToken);
  /** Content block index → 'text' | 'output' (our tool) | a general tool call | 'other'. */
  const blocks = new Map<number, 'text' | 'output' | PendingToolCall | 'other'>();
  /** Calls whose args are the start block's non-empty input, replaced by the first delta. */
  const seeded = new WeakSet<PendingToolCall>();
  let stopped = false;
  for await (const ev of readSse(body)) {
    let data: unknown;
    try {
      data = JSON.parse(ev.data);
    } catch {
      throw malformedError(provider, `an event is not JSON: ${ev.data.slice(0, 100)}`);
    }
    if (!isRecord(data)) continue;
    const type = typeof data['type'] === 'string' ? data['type'] : ev.event;
    if (type === 'error') throw failureError(provider, parseFailure(ev.data));
    if (type === 'message_start' && isRecord(data['message'])) {
      const m = data['message'];
      if (typeof m['model'] === 'string') a.model = m['model'];
      readUsage(a, m['usage']);
    } else if (type === 'content_block_start' && isRecord(data['content_block'])) {
      const block = data['content_block'];
      const kind = block['type'] === 'text' ? 'text' : block['type'] !== 'tool_use' ? 'other' : tools ? startCall(a, block, seeded) : block['name'] === OUTPUT_TOOL && a.toolJson === undefined ? 'output' : 'other';
      blocks.set(Number(data['index']), kind);
      if (kind === 'output') a.toolJson = '';
      if (kind === 'text' && typeof block['text'] === 'string' && block['text'] !== '') {
        a.text += block['text'];
        emit(block['text']);
      }
    } else if (type === 'content_block_delta' && isRecord(data['delta'])) {
      const delta = data['delta'];
      const kind = blocks.get(Number(data['index']));
      if (delta['type'] === 'text_delta' && typeof delta['text'] === 'string' && kind !== 'other' && typeof kind !== 'object') {
        a.text += delta['text'];
        emit(delta['text']);
      } else if (delta['type'] === 'input_json_delta' && typeof delta['partial_json'] === 'string' && kind === 'output') {
        a.toolJson = (a.toolJson ?? '') + delta['partial_json'];
        emit(delta['partial_json']);
      } else if (delta['type'] === 'input_json_delta' && typeof delta['partial_json'] === 'string' && typeof kind === 'object') {
        if (seeded.delete(kind)) kind.args = '';
        kind.args += delta['partial_json'];
      }
    } else if (type === 'message_delta') {
      const delta = data['delta'];
      if (isRecord(delta) && typeof delta['stop_reason'] === 'string') a.stop = delta['stop_reason'];
      readUsage(a, data['usage']);
    } else if (type === 'message_stop') {
      stopped = true;
      break;
    }
  }
  if (!stopped) throw truncatedError(provider, 'message_stop');
  return a;
}

/** A streamed tool_use block: its input comes as input_json_delta pieces (a non-empty start input is kept if none come). */
function startCall(a: Answer, block: { [key: string]: unknown }, seeded: WeakSet<PendingToolCall>): PendingToolCall {
  const input = block['input'];
  const full = isRecord(input) && Object.keys(input).length > 0;
  const call: PendingToolCall = { id: str(block['id']), name: str(block['name']), args: full ? JSON.stringify(input) : '' };
  if (full) seeded.add(call);
  a.calls.push(call);
  return call;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
