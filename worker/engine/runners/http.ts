/**
 * The `http` runner: one HTTP request per attempt, through `fetch`.
 *
 * Input (already rendered): `url` (http/https, required), `method` (GET|POST|PUT|PATCH|DELETE|HEAD,
 * case-insensitive; default GET, or POST when a body is given), `headers` (name → string; numbers
 * and booleans are turned into text), `body` (a string is sent as it is; any other JSON value is
 * sent as JSON with `content-type: application/json` unless set; `null` counts as no body),
 * `timeout` (ms, > 0), `expectStatus` (a status code or a list of them; default: any 2xx).
 * Unknown input keys are refused, so a typo (`header:`) does not go unnoticed.
 *
 * Invariants:
 * 1. Every request carries `Idempotency-Key: <request.idempotencyKey>` unless the input sets one.
 * 2. Output: `{ status, statusText, headers, body }` with lower-case header names; `body` is parsed
 *    JSON for a JSON content type (text when it does not parse), text otherwise; at most
 *    `maxBodyBytes` bytes are read, and a longer body adds `bodyTruncated: true`.
 * 3. Failures are RunnerErrors: invalid_input, network (retryable), timeout (own `timeout`,
 *    retryable), aborted (request.signal), http_429 (retryable, details.retryAfterMs when the
 *    server sent Retry-After), http_5xx (5xx and 408, retryable), http_4xx (any other refused
 *    status). Status errors carry `details.status`, `statusText` and a ≤ 500-char `bodyExcerpt`.
 * 4. `execute` settles promptly when the signal aborts or the timeout fires, even when the fetch
 *    implementation ignores its signal.
 */
import type { Json } from '../../kernel/errors.ts';
import { RunnerError, type RunRequest, type Runner } from './types.ts';

export interface HttpRunnerOptions {
  /** The fetch to use (tests inject one); default: the global fetch, looked up per call. */
  readonly fetch?: typeof fetch;
  /** Bytes of response body read at most (default 1 MiB). */
  readonly maxBodyBytes?: number;
}

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const EXCERPT_CHARS = 500;
const INPUT_KEYS = ['url', 'method', 'headers', 'body', 'timeout', 'expectStatus'];

interface HttpInput {
  readonly url: string;
  readonly method: HttpMethod;
  readonly headers: Headers;
  readonly body: string | undefined;
  readonly timeoutMs: number | undefined;
  readonly expectStatus: readonly number[] | undefined;
}

export function createHttpRunner(options: HttpRunnerOptions = {}): Runner {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) throw new RangeError(`maxBodyBytes must be a non-negative integer, got ${maxBodyBytes}`);
  const resolveFetch = (): typeof fetch | undefined => {
    if (options.fetch) return options.fetch;
    // Bound: some browsers refuse a detached `fetch` ("Illegal invocation").
    return typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined;
  };
  return {
    name: 'http',
    capabilities: {
      pure: false,
      network: true,
      stepTypes: ['task', 'hook'],
      description: 'Sends one HTTP request (with an Idempotency-Key) and returns status, headers and body.',
    },
    health: () => Promise.resolve(resolveFetch() ? { ok: true, detail: 'fetch available' } : { ok: false, detail: 'fetch is not available in this environment' }),
    execute: (request) => {
      const doFetch = resolveFetch();
      if (!doFetch) return Promise.reject(new RunnerError('runner_unavailable', 'fetch is not available in this environment', false));
      return execute(doFetch, request, maxBodyBytes);
    },
  };
}

async function execute(doFetch: typeof fetch, request: RunRequest, maxBodyBytes: number): Promise<Json> {
  const input = parseInput(request);
  if (request.signal.aborted) throw abortedError();
  const controller = new AbortController();
  let stopped: RunnerError | undefined;
  let rejectStop: (e: RunnerError) => void = () => {};
  const stop = new Promise<never>((_, reject) => (rejectStop = reject));
  stop.catch(() => {}); // only observed through the race below
  const halt = (e: RunnerError): void => {
    if (stopped) return;
    stopped = e;
    controller.abort(e);
    rejectStop(e);
  };
  const onAbort = (): void => halt(abortedError());
  request.signal.addEventListener('abort', onAbort, { once: true });
  const timer = input.timeoutMs === undefined ? undefined : setTimeout(() => {
    halt(new RunnerError('timeout', `${describe(input)} timed out after ${input.timeoutMs} ms`, true, { timeoutMs: input.timeoutMs ?? null }));
  }, input.timeoutMs);
  const work = attempt(doFetch, input, controller.signal, maxBodyBytes, request, () => stopped);
  work.catch(() => {}); // the loser of the race must not become an unhandled rejection
  try {
    return await Promise.race([work, stop]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    request.signal.removeEventListener('abort', onAbort);
  }
}

async function attempt(
  doFetch: typeof fetch,
  input: HttpInput,
  signal: AbortSignal,
  maxBodyBytes: number,
  request: RunRequest,
  stopped: () => RunnerError | undefined,
): Promise<Json> {
  let response: Response;
  let text: string;
  let truncated: boolean;
  try {
    response = await doFetch(input.url, { method: input.method, headers: input.headers, body: input.body, signal, redirect: 'follow' });
    ({ text, truncated } = await readBody(response, maxBodyBytes));
  } catch (err) {
    const reason = stopped();
    if (reason) throw reason;
    if (err instanceof RunnerError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const cause = causeOf(err);
    if (err instanceof TypeError) {
      throw new RunnerError('network', `${describe(input)} failed: ${message}${cause ? ` (${cause})` : ''}`, true, { cause: cause ?? message });
    }
    throw new RunnerError('runner_error', `${describe(input)} failed unexpectedly: ${message}`, false);
  }
  const headers: { [key: string]: Json } = {};
  response.headers.forEach((value, name) => {
    Object.defineProperty(headers, name.toLowerCase(), { value, enumerable: true, writable: true, configurable: true });
  });
  const accepted = input.expectStatus ? input.expectStatus.includes(response.status) : response.status >= 200 && response.status <= 299;
  if (!accepted) throw statusError(input, response, headers, text, request.now());
  const out: { [key: string]: Json } = {
    status: response.status,
    statusText: response.statusText,
    headers,
    body: isJsonType(response.headers.get('content-type')) ? parseJsonOr(text) : text,
  };
  if (truncated) out['bodyTruncated'] = true;
  return out;
}

function statusError(input: HttpInput, response: Response, headers: { [key: string]: Json }, text: string, now: number): RunnerError {
  const status = response.status;
  const details: { [key: string]: Json } = { status, statusText: response.statusText, bodyExcerpt: text.slice(0, EXCERPT_CHARS) };
  const expected = input.expectStatus ? `expected ${input.expectStatus.join(', ')}` : 'expected 2xx';
  const what = `${describe(input)} answered ${status}${response.statusText ? ` ${response.statusText}` : ''}`;
  if (status === 429) {
    const header = headers['retry-after'];
    const retryAfterMs = typeof header === 'string' ? parseRetryAfter(header, now) : undefined;
    if (retryAfterMs !== undefined) details['retryAfterMs'] = retryAfterMs;
    return new RunnerError('http_429', `${what} (rate limited${retryAfterMs !== undefined ? `, retry after ${retryAfterMs} ms` : ''})`, true, details);
  }
  if (status >= 500 || status === 408) return new RunnerError('http_5xx', `${what} (${expected})`, true, details);
  return new RunnerError('http_4xx', `${what} (${expected})`, false, details);
}

/**
 * Retry-After as milliseconds from `now`: delta-seconds (`120`) or an HTTP date (never negative).
 * Undefined when the value is neither.
 */
export function parseRetryAfter(value: string, now: number): number | undefined {
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const seconds = Number(v);
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : undefined;
  }
  // An HTTP date always names a weekday or month; plain numbers and junk are refused.
  if (!/[a-z]{3}/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

async function readBody(response: Response, max: number): Promise<{ text: string; truncated: boolean }> {
  const stream = response.body;
  if (!stream) return { text: '', truncated: false };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > max) {
      chunks.push(value.subarray(0, max - size));
      size = max;
      truncated = true;
      reader.cancel().catch(() => {});
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return { text: new TextDecoder().decode(all), truncated };
}

function isJsonType(contentType: string | null): boolean {
  if (!contentType) return false;
  const media = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return media === 'application/json' || media === 'text/json' || media.endsWith('+json');
}

function parseJsonOr(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

function parseInput(request: RunRequest): HttpInput {
  const input = request.input;
  const unknown = Object.keys(input).filter((k) => !INPUT_KEYS.includes(k));
  if (unknown.length > 0) invalid(`unknown input ${unknown.map((k) => `"${k}"`).join(', ')}; the http runner takes ${INPUT_KEYS.join(', ')}`);

  const rawUrl = input['url'];
  if (typeof rawUrl !== 'string' || rawUrl.trim() === '') invalid('"url" is required and must be a string');
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    invalid(`"url" is not a valid absolute URL: ${rawUrl}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') invalid(`"url" must use http or https, got ${url.protocol}`);
  if (url.username || url.password) invalid('"url" must not contain credentials; send them in a header');

  const rawBody = input['body'];
  const body = rawBody === undefined || rawBody === null ? undefined : typeof rawBody === 'string' ? rawBody : JSON.stringify(rawBody);

  const rawMethod = input['method'];
  let method: HttpMethod = body === undefined ? 'GET' : 'POST';
  if (rawMethod !== undefined && rawMethod !== null) {
    const m = typeof rawMethod === 'string' ? rawMethod.toUpperCase() : '';
    if (!(HTTP_METHODS as readonly string[]).includes(m)) invalid(`"method" must be one of ${HTTP_METHODS.join(', ')}, got ${JSON.stringify(rawMethod)}`);
    method = m as HttpMethod;
  }
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) invalid(`a ${method} request cannot have a body`);

  const headers = new Headers();
  const rawHeaders = input['headers'];
  if (rawHeaders !== undefined && rawHeaders !== null) {
    if (typeof rawHeaders !== 'object' || Array.isArray(rawHeaders)) invalid('"headers" must be a map of header name to string');
    for (const [name, value] of Object.entries(rawHeaders)) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') invalid(`header "${name}" must be a string`);
      try {
        headers.set(name, String(value));
      } catch {
        invalid(`header "${name}" has an invalid name or value`);
      }
    }
  }
  if (!headers.has('idempotency-key')) headers.set('idempotency-key', request.idempotencyKey);
  if (typeof rawBody !== 'string' && body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');

  const rawTimeout = input['timeout'];
  let timeoutMs: number | undefined;
  if (rawTimeout !== undefined && rawTimeout !== null) {
    if (typeof rawTimeout !== 'number' || !Number.isFinite(rawTimeout) || rawTimeout <= 0 || rawTimeout > 2_147_483_647) invalid('"timeout" must be a positive number of milliseconds');
    timeoutMs = rawTimeout;
  }

  const rawExpect = input['expectStatus'];
  let expectStatus: number[] | undefined;
  if (rawExpect !== undefined && rawExpect !== null) {
    const list = Array.isArray(rawExpect) ? rawExpect : [rawExpect];
    if (list.length === 0 || !list.every((s) => typeof s === 'number' && Number.isInteger(s) && s >= 100 && s <= 599)) invalid('"expectStatus" must be a status code (100–599) or a non-empty list of them');
    expectStatus = list as number[];
  }
  return { url: url.href, method, headers, body, timeoutMs, expectStatus };
}

function invalid(message: string): never {
  throw new RunnerError('invalid_input', `http: ${message}`, false);
}

function abortedError(): RunnerError {
  return new RunnerError('aborted', 'The HTTP request was aborted', false);
}

/** `GET https://host/path` without the query string (which may hold secrets). */
function describe(input: HttpInput): string {
  const u = new URL(input.url);
  return `${input.method} ${u.origin}${u.pathname}`;
}

function causeOf(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.cause === undefined) return undefined;
  const c = err.cause as { code?: unknown; message?: unknown };
  if (typeof c.message === 'string' && c.message) return c.message;
  if (typeof c.code === 'string') return c.code;
  return String(err.cause);
}
