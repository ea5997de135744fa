/**
 * "Test connection" for an LLM provider: one minimal real request through the provider's own
 * client (completeOpenAI or completeAnthropic: the very wire a step uses), answered with how long
 * it took or why it failed, in a kind the UI words (src/lib/words/provider-words.ts).
 *
 * Invariants:
 * 1. Exactly one request (no retry, no stream), bounded by `timeoutMs`; nothing is recorded in the
 *    log and nothing is written anywhere.
 * 2. The API key goes only into the request's auth header: it is never logged, and every text of
 *    the outcome has it replaced by `***` (a provider may echo it in an error).
 * 3. Never throws for a provider failure: the outcome says what happened.
 */
import { completeAnthropic } from './anthropic.ts';
import { completeOpenAI } from './openai.ts';
import type { LlmClient, LlmProvider, LlmProviderKind } from './types.ts';
import { RunnerError } from '../runners/types.ts';

export const PROBE_TIMEOUT_MS = 15_000;
import { PROBE_MAX_TIMEOUT_MS } from './probe-request.ts';

export { PROBE_MAX_TIMEOUT_MS };
/** The prompt of the probe: short, and any answer will do. */
export const PROBE_PROMPT = 'Reply with the single word: ok';
const PROBE_MAX_TOKENS = 16;

const CLIENTS: { readonly [K in LlmProviderKind]: LlmClient } = { openai: completeOpenAI, anthropic: completeAnthropic };

/**
 * Why a test failed: `auth` the key was refused (401/403); `unreachable` no HTTP answer (down, wrong
 * host or port, or CORS refused the page); `model_unknown` the provider does not serve the model;
 * `not_found` the address answered 404 for something else (a wrong base URL path); `timeout`;
 * `rate_limit` (429); `refused` another 4xx; `server_error` a 5xx or an answer that is not the wire.
 */
export type ProbeFailure = 'auth' | 'unreachable' | 'model_unknown' | 'not_found' | 'timeout' | 'rate_limit' | 'refused' | 'server_error';

export type ProbeOutcome =
  | { readonly ok: true; readonly provider: string; readonly model: string; readonly answeredBy: string; readonly latencyMs: number }
  | {
    readonly ok: false; readonly provider: string; readonly model: string; readonly kind: ProbeFailure;
    /** The client's message (key redacted), for the details. */
    readonly message: string;
    readonly status?: number;
    readonly latencyMs: number;
  };

export interface ProbeOptions {
  /** The model to ask (default: the provider's first). */
  readonly model?: string;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** Ask the provider one tiny question and say how it went. */
export async function probeProvider(provider: LlmProvider, options: ProbeOptions = {}): Promise<ProbeOutcome> {
  const model = options.model ?? provider.models[0] ?? '';
  const timeoutMs = Math.min(Math.max(options.timeoutMs ?? PROBE_TIMEOUT_MS, 100), PROBE_MAX_TIMEOUT_MS);
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const redact = (text: string): string => (provider.apiKey ? text.split(provider.apiKey).join('***') : text);
  try {
    const r = await CLIENTS[provider.kind](provider, { model, messages: [{ role: 'user', content: PROBE_PROMPT }], maxTokens: PROBE_MAX_TOKENS }, {
      stream: false,
      timeoutMs,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    return { ok: true, provider: provider.id, model, answeredBy: r.model || model, latencyMs: r.latencyMs };
  } catch (err) {
    const e = err instanceof RunnerError ? err : new RunnerError('provider_error', err instanceof Error ? err.message : String(err), false);
    const status = typeof e.details['status'] === 'number' ? e.details['status'] : undefined;
    return {
      ok: false, provider: provider.id, model, kind: failureKind(e, status), message: redact(e.message),
      ...(status !== undefined ? { status } : {}), latencyMs: elapsed(),
    };
  }
}

const MODEL_CODES = /model_not_found|model_not_available|unknown_model|invalid_model/;

function failureKind(e: RunnerError, status: number | undefined): ProbeFailure {
  const code = `${String(e.details['code'] ?? '')} ${String(e.details['errorType'] ?? '')}`;
  switch (e.type) {
    case 'auth':
      return 'auth';
    case 'network':
    case 'aborted':
      return 'unreachable';
    case 'timeout':
      return 'timeout';
    case 'rate_limit':
      return 'rate_limit';
    case 'provider_error':
      return 'server_error';
    default:
      if (MODEL_CODES.test(code) || ((status === 404 || status === 400) && /\bmodel\b/i.test(e.message))) return 'model_unknown';
      if (status === 404) return 'not_found';
      return 'refused';
  }
}
