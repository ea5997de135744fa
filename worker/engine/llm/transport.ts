/**
 * The one HTTP exchange both providers share: POST a JSON body (with the provider's own headers,
 * `accept` for JSON or SSE and the idempotency key), honour the abort signal and the timeout, turn
 * a non-2xx answer into a typed error, then read the answer as an SSE stream or a JSON body.
 */
import { guarded, statusError } from './errors.ts';
import type { LlmCallOptions } from './types.ts';

export async function postToProvider<A>(
  providerId: string,
  url: string,
  providerHeaders: Record<string, string>,
  body: unknown,
  stream: boolean,
  options: LlmCallOptions,
  read: { sse(body: ReadableStream<Uint8Array>): Promise<A>; json(text: string): A },
): Promise<{ answer: A; latencyMs: number }> {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const now = options.now ?? Date.now;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...providerHeaders, accept: stream ? 'text/event-stream' : 'application/json' };
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  const text = JSON.stringify(body);
  const started = performance.now();
  const answer = await guarded(providerId, options.signal, options.timeoutMs, async (signal) => {
    const res = await doFetch(url, { method: 'POST', headers, body: text, signal });
    if (!res.ok) throw statusError(providerId, res.status, res.headers, await res.text(), now());
    const sse = (res.headers.get('content-type') ?? '').includes('text/event-stream');
    if (sse && res.body) return read.sse(res.body);
    return read.json(await res.text());
  });
  return { answer, latencyMs: Math.round(performance.now() - started) };
}
