/**
 * A fake OpenAI Chat Completions server on 127.0.0.1 (ephemeral port) that speaks the real wire
 * protocol, for the LLM client and runner tests. Also home of the scripted-server core that
 * fake-anthropic.ts reuses.
 *
 * Paths: `POST /v1/chat/completions` and `POST /chat/completions`. A request with `stream: true`
 * gets SSE in the exact chunk format (`chat.completion.chunk`, a first role delta, content or
 * tool-call deltas, a finish chunk, the usage chunk when `stream_options.include_usage`, then
 * `data: [DONE]`); otherwise a `chat.completion` JSON body.
 *
 * Script: a queue of replies, one per request (or a function of the request). A reply is text,
 * json (sent as the content text), toolCalls, or an error (status, OpenAI error JSON, headers such
 * as Retry-After). Streams can be cut short (`truncate`), carry an error chunk (`streamError`),
 * hang after their deltas (`stall`), and be written in tiny byte chunks (`chunkBytes`), which splits
 * SSE lines and multi-byte UTF-8 characters across TCP writes.
 *
 * Invariants:
 * 1. Every request is recorded (method, path, lower-case headers, parsed body) before answering.
 * 2. An exhausted script answers 500 "script exhausted"; `close()` destroys every connection.
 * 3. `closedEarly()` counts responses whose connection closed before the reply was complete.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './listen.ts';

export interface FakeError {
  readonly status: number;
  /** Provider error type (default from the status). */
  readonly type?: string;
  readonly code?: string;
  readonly message?: string;
  readonly headers?: { readonly [name: string]: string };
  /** The raw body instead of the provider's error JSON. */
  readonly body?: string;
}

export interface FakeReply {
  readonly text?: string;
  /** A structured answer (OpenAI: the content text; Anthropic: the forced tool's input). */
  readonly json?: unknown;
  readonly toolCalls?: readonly { readonly name: string; readonly arguments: unknown }[];
  /** How the text is cut into stream deltas (default: word by word). */
  readonly deltas?: readonly string[];
  readonly finishReason?: string;
  readonly usage?: { readonly input?: number; readonly output?: number };
  readonly model?: string;
  readonly error?: FakeError;
  /** Streaming: an error event after the deltas (and no end marker). */
  readonly streamError?: FakeError;
  /** Streaming: write the deltas, then keep the connection open without finishing. */
  readonly stall?: boolean;
  /** Streaming: end the stream without its end marker. */
  readonly truncate?: boolean;
  /** Write the body in pieces of this many bytes (default: the server's chunkBytes). */
  readonly chunkBytes?: number;
  /** Wait this long before answering. */
  readonly delayMs?: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: any;
}

export type FakeScript = FakeReply[] | ((request: RecordedRequest, index: number) => FakeReply);

export interface FakeServerOptions {
  readonly script?: FakeScript;
  /** Write every body in pieces of this many bytes (a pause between pieces). */
  readonly chunkBytes?: number;
}

export interface FakeLlmServer {
  /** Base URL without trailing slash and without /v1, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  count(): number;
  /** Append replies to the script queue. */
  push(...replies: FakeReply[]): void;
  closedEarly(): number;
  reset(): void;
  close(): Promise<void>;
}

/** What a protocol renders for one reply. */
export interface Rendered {
  readonly status: number;
  readonly headers: { readonly [name: string]: string };
  readonly body: string;
  /** Keep the connection open after the body. */
  readonly stall?: boolean;
}

export type Renderer = (reply: FakeReply, request: RecordedRequest, n: number) => Rendered;

/** The scripted-server core: records, picks the reply, renders it, writes it (in chunks). */
export async function startScriptedServer(paths: readonly string[], options: FakeServerOptions, render: Renderer): Promise<FakeLlmServer> {
  const queue: FakeReply[] = Array.isArray(options.script) ? [...options.script] : [];
  const scriptFn = typeof options.script === 'function' ? options.script : undefined;
  const requests: RecordedRequest[] = [];
  let early = 0;

  const server = createServer((req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    // CORS like the real providers allow from a browser (the app calls them from its worker);
    // preflights are answered and not recorded.
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', '*');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': 'authorization, content-type, accept, idempotency-key, x-api-key, anthropic-version, anthropic-dangerous-direct-browser-access',
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // recorded as text
      }
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const recorded: RecordedRequest = { method: req.method ?? '', path, headers: req.headers, body };
      requests.push(recorded);
      res.on('close', () => {
        if (!res.writableFinished) early++;
      });
      if (req.method !== 'POST' || !paths.includes(path)) return void write(res, { status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { message: `no route ${req.method} ${path}` } }) }, 0);
      const n = requests.length;
      const reply = scriptFn ? scriptFn(recorded, n - 1) : queue.shift();
      if (!reply) return void write(res, render({ error: { status: 500, message: 'fake: script exhausted' } }, recorded, n), 0);
      const go = (): void => void write(res, render(reply, recorded, n), reply.chunkBytes ?? options.chunkBytes ?? 0);
      if (reply.delayMs) {
        const t = setTimeout(go, reply.delayMs);
        res.once('close', () => clearTimeout(t));
      } else go();
    });
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  const { url } = await listenOnLoopback(server);
  return {
    url,
    requests,
    count: () => requests.length,
    push: (...replies) => void queue.push(...replies),
    closedEarly: () => early,
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      early = 0;
    },
    close: () => new Promise<void>((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    }),
  };
}

async function write(res: ServerResponse, r: Rendered, chunkBytes: number): Promise<void> {
  if (res.destroyed) return;
  const buf = Buffer.from(r.body, 'utf8');
  const headers: Record<string, string> = { ...r.headers };
  const streaming = (headers['content-type'] ?? '').includes('text/event-stream');
  if (!streaming && !r.stall) headers['content-length'] = String(buf.byteLength);
  res.writeHead(r.status, headers);
  res.flushHeaders();
  if (chunkBytes > 0) {
    for (let at = 0; at < buf.byteLength; at += chunkBytes) {
      if (res.destroyed) return;
      res.write(buf.subarray(at, at + chunkBytes));
      await new Promise((ok) => setImmediate(ok));
    }
  } else if (buf.byteLength > 0) {
    res.write(buf);
  }
  if (!r.stall && !res.destroyed) res.end();
}

/** `text` cut into words, each with its trailing spaces. */
export function wordDeltas(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** `s` in pieces of n characters (code points). */
export function pieces(s: string, n: number): string[] {
  const cps = [...s];
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += n) out.push(cps.slice(i, i + n).join(''));
  return out;
}

export function sse(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

const OPENAI_ERROR_TYPES: { readonly [status: number]: [type: string, code: string | null] } = {
  400: ['invalid_request_error', null],
  401: ['invalid_request_error', 'invalid_api_key'],
  403: ['invalid_request_error', 'unsupported_country_region_territory'],
  404: ['invalid_request_error', 'model_not_found'],
  429: ['requests', 'rate_limit_exceeded'],
  500: ['server_error', null],
  503: ['server_error', null],
};

function openaiErrorJson(e: FakeError): string {
  const [type, code] = OPENAI_ERROR_TYPES[e.status] ?? ['server_error', null];
  return JSON.stringify({ error: { message: e.message ?? `fake error ${e.status}`, type: e.type ?? type, param: null, code: e.code ?? code } });
}

function renderOpenAI(reply: FakeReply, request: RecordedRequest, n: number): Rendered {
  if (reply.error) {
    return { status: reply.error.status, headers: { 'content-type': 'application/json', ...reply.error.headers }, body: reply.error.body ?? openaiErrorJson(reply.error) };
  }
  const body = typeof request.body === 'object' && request.body !== null ? request.body : {};
  const model = reply.model ?? (typeof body.model === 'string' ? body.model : 'gpt-fake');
  const content = reply.text ?? (reply.json !== undefined ? JSON.stringify(reply.json) : reply.toolCalls ? null : '');
  const calls = (reply.toolCalls ?? []).map((c, i) => ({ id: `call_fake_${n}_${i}`, type: 'function', function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) } }));
  const finish = reply.finishReason ?? (calls.length > 0 ? 'tool_calls' : 'stop');
  const deltas = content === null ? [] : reply.deltas ?? (reply.text !== undefined ? wordDeltas(content) : pieces(content, 5));
  const usage = { prompt_tokens: reply.usage?.input ?? 11, completion_tokens: reply.usage?.output ?? Math.max(1, deltas.length), total_tokens: 0 };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  const id = `chatcmpl-fake-${n}`;
  const created = 1_900_000_000;
  if (body.stream !== true) {
    const message: Record<string, unknown> = { role: 'assistant', content, refusal: null };
    if (calls.length > 0) message['tool_calls'] = calls;
    const json = { id, object: 'chat.completion', created, model, choices: [{ index: 0, message, logprobs: null, finish_reason: finish }], usage, system_fingerprint: 'fp_fake' };
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) };
  }
  const withUsage = body.stream_options?.include_usage === true;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
    sse({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake', choices, ...(withUsage ? { usage: null } : {}), ...extra });
  const choice = (delta: unknown, finishReason: string | null = null): unknown => ({ index: 0, delta, logprobs: null, finish_reason: finishReason });
  let out = chunk([choice({ role: 'assistant', content: content === null ? null : '', refusal: null })]);
  for (const d of deltas) out += chunk([choice({ content: d })]);
  calls.forEach((c, i) => {
    out += chunk([choice({ tool_calls: [{ index: i, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }] })]);
    for (const p of pieces(c.function.arguments, 8)) out += chunk([choice({ tool_calls: [{ index: i, function: { arguments: p } }] })]);
  });
  if (reply.stall) return { status: 200, headers: sseHeaders(), body: out, stall: true };
  if (reply.streamError) return { status: 200, headers: sseHeaders(), body: out + sse(JSON.parse(openaiErrorJson(reply.streamError)) as unknown) };
  if (reply.truncate) return { status: 200, headers: sseHeaders(), body: out };
  out += chunk([choice({}, finish)]);
  if (withUsage) out += sse({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake', choices: [], usage });
  out += 'data: [DONE]\n\n';
  return { status: 200, headers: sseHeaders(), body: out };
}

export function sseHeaders(): { [name: string]: string } {
  return { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' };
}

export function startFakeOpenAI(options: FakeServerOptions = {}): Promise<FakeLlmServer> {
  return startScriptedServer(['/v1/chat/completions', '/chat/completions'], options, renderOpenAI);
}
