/**
 * Typed failures of LLM calls, shared by the provider clients.
 *
 * Error types (RunnerError.type): `auth` (401/403, not retryable), `rate_limit` (429, retryable
 * unless the quota is used up; details.retryAfterMs when known), `context_length` (the prompt does
 * not fit, not retryable), `bad_request` (other 4xx, not retryable), `provider_error` (5xx, 529
 * overloaded, 408, a malformed answer or an error event mid-stream: retryable), `network`
 * (retryable, includes a stream cut short), `timeout` (retryable), `aborted` (not retryable).
 *
 * Invariants:
 * 1. `guarded` settles promptly on abort or timeout even when fetch or the stream ignore the
 *    signal, and aborts the inner request so the connection is released.
 * 2. Details are plain JSON: provider, status, errorType, code, bodyExcerpt (≤ 500 chars), retryAfterMs.
 */
import type { Json } from '../../kernel/errors.ts';
import { RunnerError } from '../runners/types.ts';
import { parseRetryAfter } from '../runners/http.ts';

const EXCERPT_CHARS = 500;

/** What a provider said about a failure (from an error body or an error event). */
export interface ProviderFailure {
  readonly type?: string;
  readonly code?: string;
  readonly message: string;
}

const CONTEXT_RE = /context[ _-]?length|context window|maximum context|prompt is too long|too many (input )?tokens|exceeds? (the )?context|exceed context limit|input is too long/i;

export function isContextLength(f: ProviderFailure): boolean {
  return f.code === 'context_length_exceeded' || f.type === 'context_length_exceeded' || f.code === 'string_above_max_length' || CONTEXT_RE.test(f.message);
}

/** Pull `{ error: { type, code, message } }` (OpenAI) or `{ type: 'error', error: { type, message } }` (Anthropic) out of a body. */
export function parseFailure(bodyText: string): ProviderFailure {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    return { message: bodyText.slice(0, EXCERPT_CHARS) };
  }
  const err = isRecord(parsed) ? (isRecord(parsed['error']) ? parsed['error'] : parsed) : undefined;
  if (!err) return { message: bodyText.slice(0, EXCERPT_CHARS) };
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
  const type = str(err['type']);
  const code = str(err['code']);
  return {
    ...(type !== undefined ? { type } : {}),
    ...(code !== undefined ? { code } : {}),
    message: str(err['message']) ?? (typeof parsed === 'object' ? bodyText.slice(0, EXCERPT_CHARS) : String(parsed)),
  };
}

/** The RunnerError for a refused HTTP status. */
export function statusError(provider: string, status: number, headers: Headers, bodyText: string, now: number): RunnerError {
  const f = parseFailure(bodyText);
  const details: { [key: string]: Json } = { provider, status, bodyExcerpt: bodyText.slice(0, EXCERPT_CHARS), ...failureDetails(f) };
  const what = `${provider} answered ${status}: ${f.message}`;
  if (status === 401 || status === 403) return new RunnerError('auth', `${what} (check the API key)`, false, details);
  if (status === 429) {
    const ms = retryAfterMs(headers, now);
    if (ms !== undefined) details['retryAfterMs'] = ms;
    const quota = f.code === 'insufficient_quota' || f.type === 'insufficient_quota';
    return new RunnerError('rate_limit', `${what}${ms !== undefined ? ` (retry after ${ms} ms)` : ''}`, !quota, details);
  }
  if (status >= 500 || status === 408) return new RunnerError('provider_error', what, true, details);
  if ((status === 400 || status === 413 || status === 422) && isContextLength(f)) return new RunnerError('context_length', what, false, details);
  return new RunnerError('bad_request', what, false, details);
}

/** The RunnerError for an error reported inside a 200 stream (no status). */
export function failureError(provider: string, f: ProviderFailure): RunnerError {
  const details: { [key: string]: Json } = { provider, ...failureDetails(f) };
  const kind = `${f.type ?? ''} ${f.code ?? ''}`;
  const what = `${provider} reported an error mid-answer: ${f.message}`;
  if (/authentication|permission|invalid_api_key/.test(kind)) return new RunnerError('auth', what, false, details);
  if (/rate_limit/.test(kind)) return new RunnerError('rate_limit', what, true, details);
  if (isContextLength(f)) return new RunnerError('context_length', what, false, details);
  if (/invalid_request|not_found|request_too_large/.test(kind)) return new RunnerError('bad_request', what, false, details);
  return new RunnerError('provider_error', what, true, details);
}

function failureDetails(f: ProviderFailure): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  if (f.type !== undefined) out['errorType'] = f.type;
  if (f.code !== undefined) out['code'] = f.code;
  return out;
}

/**
 * How long to wait, from the headers of a 429: `retry-after-ms`, then `retry-after` (seconds or
 * HTTP date), then the reset headers (`x-ratelimit-reset-*` durations such as `6m0s`,
 * `anthropic-ratelimit-*-reset` RFC 3339 times): the reset of an exhausted limit (remaining 0)
 * when there is one, else the latest reset.
 */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const ra = headers.get('retry-after');
  if (ra !== null) {
    const v = parseRetryAfter(ra, now);
    if (v !== undefined) return v;
  }
  const exhausted: number[] = [];
  const all: number[] = [];
  headers.forEach((value, name) => {
    const n = name.toLowerCase();
    let reset: number | undefined;
    let remaining: string | null = null;
    if (n.startsWith('x-ratelimit-reset-')) {
      reset = parseDuration(value);
      remaining = headers.get(`x-ratelimit-remaining-${n.slice('x-ratelimit-reset-'.length)}`);
    } else if (n.startsWith('anthropic-ratelimit-') && n.endsWith('-reset')) {
      const at = Date.parse(value);
      reset = Number.isNaN(at) ? undefined : Math.max(0, at - now);
      remaining = headers.get(`${n.slice(0, -'-reset'.length)}-remaining`);
    }
    if (reset === undefined) return;
    all.push(reset);
    if (remaining !== null && remaining.trim() === '0') exhausted.push(reset);
  });
  const pick = exhausted.length > 0 ? exhausted : all;
  return pick.length > 0 ? Math.max(...pick) : undefined;
}

/** `1h2m3.5s`, `6m0s`, `20ms`, or plain seconds (`1.5`) → ms. */
export function parseDuration(value: string): number | undefined {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(v)) return undefined;
  let total = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
  }
  return Math.ceil(total);
}

/**
 * Run `work` with an inner signal that follows `signal` and the deadline; settle promptly with
 * `aborted` / `timeout` whatever `work` does. Other throws become `network` (TypeError from fetch
 * or a broken stream) or `provider_error` (anything else that is not a RunnerError).
 */
export async function guarded<T>(
  provider: string,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (signal?.aborted) throw abortedError(provider);
  const controller = new AbortController();
  let stopped: RunnerError | undefined;
  let rejectStop: (e: RunnerError) => void = () => {};
  const stop = new Promise<never>((_, reject) => (rejectStop = reject));
  stop.catch(() => {});
  const halt = (e: RunnerError): void => {
    if (stopped) return;
    stopped = e;
    controller.abort(e);
    rejectStop(e);
  };
  const onAbort = (): void => halt(abortedError(provider));
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    halt(new RunnerError('timeout', `${provider}: no complete answer within ${timeoutMs} ms`, true, { provider, timeoutMs }));
  }, timeoutMs);
  const run = async (): Promise<T> => {
    try {
      return await work(controller.signal);
    } catch (err) {
      if (stopped) throw stopped;
      if (err instanceof RunnerError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
      if (err instanceof TypeError) throw new RunnerError('network', `${provider}: request failed: ${message}${cause}`, true, { provider, cause: `${message}${cause}` });
      throw new RunnerError('provider_error', `${provider}: unexpected answer: ${message}`, true, { provider });
    }
  };
  const p = run();
  p.catch(() => {});
  try {
    return await Promise.race([p, stop]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

export function abortedError(provider: string): RunnerError {
  return new RunnerError('aborted', `${provider}: the LLM request was aborted`, false, { provider });
}

/** The answer ended before the provider's end marker. */
export function truncatedError(provider: string, marker: string): RunnerError {
  return new RunnerError('network', `${provider}: the stream ended before ${marker}`, true, { provider });
}

/** A malformed success body. */
export function malformedError(provider: string, what: string): RunnerError {
  return new RunnerError('provider_error', `${provider}: malformed answer: ${what}`, true, { provider });
}

export function isRecord(v: unknown): v is { [key: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
