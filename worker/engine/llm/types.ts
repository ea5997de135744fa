/**
 * LLM provider clients: the shared types.
 *
 * Invariants:
 * 1. A client (`completeOpenAI`, `completeAnthropic`) makes exactly one HTTP request per call and
 *    resolves with an `LlmResponse` or rejects with a typed `RunnerError` (see errors.ts).
 * 2. `json` is set only when the request had an `outputSchema` and the answer parsed as JSON; the
 *    clients do not validate it against the schema (the runner does).
 * 3. `usage` counts tokens as the provider reported them (0 when it did not).
 * 4. `toolCalls` is set only when the request had `tools` and the model called at least one; each
 *    input is the parsed JSON arguments (arguments that are not JSON reject with `invalid_output`).
 *    A request with both `tools` and `outputSchema` rejects with `invalid_input` before any fetch.
 */
import type { Json } from '../../kernel/errors.ts';

export type LlmProviderKind = 'openai' | 'anthropic';

export interface LlmProvider {
  /** Short name, also the `provider/` prefix of a model (`openai/gpt-4o-mini`). */
  readonly id: string;
  readonly kind: LlmProviderKind;
  /** OpenAI: up to and including `/v1` (`https://api.openai.com/v1`); Anthropic: `https://api.anthropic.com` (a trailing `/v1` is accepted). */
  readonly baseUrl: string;
  readonly apiKey?: string;
  /** Models served (a bare model name resolves to the first provider listing it). */
  readonly models: readonly string[];
}

/** A tool call the model asked for (`input` is the parsed JSON arguments). */
export interface LlmToolCall {
  readonly id: string;
  readonly name: string;
  readonly input: Json;
}

/** A tool the model may call. */
export interface LlmTool {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the tool's input (an object schema). */
  readonly inputSchema: { readonly [key: string]: Json };
}

/** `auto`: the model decides; `none`: no tool call; `{ name }`: that tool must be called. */
export type LlmToolChoice = 'auto' | 'none' | { readonly name: string };

export interface LlmUserMessage {
  readonly role: 'user';
  readonly content: string;
}

export interface LlmAssistantMessage {
  readonly role: 'assistant';
  readonly content: string;
  /** The tool calls of this turn, to be answered by `tool` messages (in order). */
  readonly toolCalls?: readonly LlmToolCall[];
}

export interface LlmToolResultMessage {
  readonly role: 'tool';
  /** The `id` of the tool call this answers. */
  readonly toolCallId: string;
  readonly name: string;
  readonly content: string;
}

export type LlmMessage = LlmUserMessage | LlmAssistantMessage | LlmToolResultMessage;

export interface LlmRequest {
  /** The model name as the provider knows it (no `provider/` prefix). */
  readonly model: string;
  readonly system?: string;
  readonly messages: readonly LlmMessage[];
  /** JSON Schema the answer must match: asks the provider for structured output. */
  readonly outputSchema?: { readonly [key: string]: Json };
  /** Tools the model may call (refused together with outputSchema: `invalid_input`). */
  readonly tools?: readonly LlmTool[];
  /** Default: the provider's (auto when tools are given). Sent only with non-empty `tools`. */
  readonly toolChoice?: LlmToolChoice;
  readonly temperature?: number;
  readonly maxTokens?: number;
}

export interface LlmUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface LlmResponse {
  /** The answer's text (for structured output: the JSON text). */
  readonly text: string;
  /** The parsed answer, when the request had an outputSchema and the text parsed. */
  readonly json?: Json;
  /** Why `json` is absent although the request had an outputSchema (not JSON, empty...). */
  readonly jsonError?: string;
  /** The tool calls the model asked for (only for a request with `tools`; absent when none). */
  readonly toolCalls?: readonly LlmToolCall[];
  /** The model the provider says answered. */
  readonly model: string;
  readonly usage: LlmUsage;
  readonly latencyMs: number;
  /** Normalised: `stop`, `length`, `content_filter`, `tool_calls`, or the provider's own value. */
  readonly finishReason: string;
  /** Structured-output tries that led to this answer (1 for a single call). */
  readonly attempts: number;
  /** The provider id. */
  readonly provider: string;
}

export interface LlmCallOptions {
  /** The fetch to use; default: the global fetch. */
  readonly fetch?: typeof fetch;
  /** Cancels the request and the stream promptly (rejects with `aborted`). */
  readonly signal?: AbortSignal;
  /** Stream the answer (SSE) and call `onToken` per text delta. Default: true when onToken is set. */
  readonly stream?: boolean;
  readonly onToken?: (text: string) => void;
  /** Sent as `Idempotency-Key`. */
  readonly idempotencyKey?: string;
  /** Deadline of this one request in ms (rejects with `timeout`, retryable). */
  readonly timeoutMs?: number;
  /** Epoch-ms clock (Retry-After dates, latency); default Date.now. */
  readonly now?: () => number;
}

export type LlmClient = (provider: LlmProvider, request: LlmRequest, options?: LlmCallOptions) => Promise<LlmResponse>;
