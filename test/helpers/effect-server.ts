/**
 * A real HTTP server on 127.0.0.1 (ephemeral port) for runner and engine tests: it records
 * side effects keyed by `Idempotency-Key`, so a test can check that a re-executed attempt did not
 * repeat an effect.
 *
 * Paths:
 * - `GET|POST /effect/<name>`: records an effect keyed by the Idempotency-Key header and answers
 *   JSON `{ name, key, count }` (count = distinct effects of that name so far). A repeat with the
 *   same key answers the first stored response and does not count again. Without the header every
 *   request is a new effect (`key: null`).
 * - `/fail/<n>/<name>`: 503 for the first n requests to that path, then 200 `{ ok: true, after: n }`.
 * - `/status/<code>`: that status (200–599) with JSON `{ status: code }`.
 * - `/slow/<ms>`: 200 `{ sleptMs }` after ms (≤ 30000); the timer stops when the client goes away.
 * - `/echo`: JSON `{ method, path, headers, body }` (body parsed as JSON when it parses, else text,
 *   null when empty).
 * - `/retry-after/<value>`: 429 with `Retry-After: <decoded value>` (seconds or an HTTP date).
 * - `/raw?status=&type=&body=&repeat=`: `body` repeated `repeat` times (≤ 4 MiB) with that status
 *   and content type (text bodies, unparsable JSON, big bodies).
 *
 * Invariants:
 * 1. Request bodies are bounded (1 MiB, else 413); client aborts never raise unhandled errors.
 * 2. `close()` destroys every socket and stops pending timers; `reset()` forgets all state.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './listen.ts';

export interface EffectServer {
  /** Base URL, e.g. `http://127.0.0.1:40123` (no trailing slash). */
  readonly url: string;
  close(): Promise<void>;
  reset(): void;
  /** Distinct effects per name (repeats with the same Idempotency-Key count once). */
  counts(): Map<string, number>;
  /**
   * Raw requests, repeats included: all of them without an argument; for an effect name, the
   * requests to `/effect/<name>`; for a value starting with `/`, the requests to that path.
   */
  requests(name?: string): number;
}

const MAX_REQUEST_BODY = 1024 * 1024;
const MAX_RAW_BODY = 4 * 1024 * 1024;
const MAX_SLOW_MS = 30_000;

interface Stored {
  readonly status: number;
  readonly body: string;
}

export async function startEffectServer(): Promise<EffectServer> {
  const effectCounts = new Map<string, number>();
  const stored = new Map<string, Stored>();
  const effectRequests = new Map<string, number>();
  const pathRequests = new Map<string, number>();
  const failSeen = new Map<string, number>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let total = 0;

  const bump = (m: Map<string, number>, k: string): number => {
    const n = (m.get(k) ?? 0) + 1;
    m.set(k, n);
    return n;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    total++;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    bump(pathRequests, path);
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, { error: 'request body too large' });
    const parts = path.split('/').slice(1).map((p) => safeDecode(p));
    const [head, a, b] = parts;

    if (head === 'effect' && a !== undefined && parts.length === 2) {
      if (req.method !== 'GET' && req.method !== 'POST') return send(res, 405, { error: 'GET or POST only' });
      bump(effectRequests, a);
      const header = req.headers['idempotency-key'];
      const key = typeof header === 'string' ? header : null;
      const storeKey = key === null ? undefined : `${a}\n${key}`;
      const prior = storeKey === undefined ? undefined : stored.get(storeKey);
      if (prior) return sendText(res, prior.status, prior.body, 'application/json');
      const count = bump(effectCounts, a);
      const answer: Stored = { status: 200, body: JSON.stringify({ name: a, key, count }) };
      if (storeKey !== undefined) stored.set(storeKey, answer);
      return sendText(res, answer.status, answer.body, 'application/json');
    }
    if (head === 'fail' && a !== undefined && b !== undefined && parts.length === 3) {
      const n = Number(a);
      if (!Number.isSafeInteger(n) || n < 0) return send(res, 400, { error: 'bad count' });
      const seen = bump(failSeen, path);
      if (seen <= n) return send(res, 503, { error: 'unavailable', failure: seen, of: n });
      return send(res, 200, { ok: true, after: n });
    }
    if (head === 'status' && a !== undefined && parts.length === 2) {
      const code = Number(a);
      if (!Number.isInteger(code) || code < 200 || code > 599) return send(res, 400, { error: 'status must be 200–599' });
      return send(res, code, { status: code });
    }
    if (head === 'slow' && a !== undefined && parts.length === 2) {
      const ms = Number(a);
      if (!Number.isFinite(ms) || ms < 0 || ms > MAX_SLOW_MS) return send(res, 400, { error: `ms must be 0–${MAX_SLOW_MS}` });
      await new Promise<void>((done) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          res.off('close', gone);
          send(res, 200, { sleptMs: ms });
          done();
        }, ms);
        const gone = (): void => {
          clearTimeout(timer);
          timers.delete(timer);
          done();
        };
        timers.add(timer);
        res.once('close', gone);
      });
      return;
    }
    if (head === 'echo' && parts.length === 1) {
      const text = body.toString('utf8');
      let parsed: unknown = null;
      if (text !== '') {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      return send(res, 200, { method: req.method ?? '', path: `${url.pathname}${url.search}`, headers: req.headers, body: parsed });
    }
    if (head === 'retry-after' && a !== undefined && parts.length === 2) {
      res.setHeader('retry-after', a);
      return send(res, 429, { error: 'rate limited', retryAfter: a });
    }
    if (head === 'raw' && parts.length === 1) {
      const status = Number(url.searchParams.get('status') ?? '200');
      const type = url.searchParams.get('type') ?? 'text/plain; charset=utf-8';
      const chunk = url.searchParams.get('body') ?? '';
      const repeat = Number(url.searchParams.get('repeat') ?? '1');
      if (!Number.isInteger(status) || status < 200 || status > 599) return send(res, 400, { error: 'status must be 200–599' });
      if (!Number.isSafeInteger(repeat) || repeat < 0 || chunk.length * repeat > MAX_RAW_BODY) return send(res, 400, { error: 'body too large' });
      return sendText(res, status, chunk.repeat(repeat), type);
    }
    return send(res, 404, { error: 'no such path', path });
  };

  const server = createServer((req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) send(res, 500, { error: 'internal' });
      else res.destroy();
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  const { url } = await listenOnLoopback(server);

  return {
    url,
    close: () => new Promise<void>((ok) => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.close(() => ok());
      server.closeAllConnections();
    }),
    reset: () => {
      effectCounts.clear();
      stored.clear();
      effectRequests.clear();
      pathRequests.clear();
      failSeen.clear();
      total = 0;
    },
    counts: () => new Map(effectCounts),
    requests: (name?: string) => {
      if (name === undefined) return total;
      return (name.startsWith('/') ? pathRequests.get(name) : effectRequests.get(name)) ?? 0;
    },
  };
}

/** The whole request body, or undefined past MAX_REQUEST_BODY (or when the client went away). */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > MAX_REQUEST_BODY) {
        over = true;
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
    req.on('close', () => resolve(over ? undefined : Buffer.concat(chunks)));
  });
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function send(res: ServerResponse, status: number, json: unknown): void {
  sendText(res, status, JSON.stringify(json), 'application/json');
}

function sendText(res: ServerResponse, status: number, body: string, type: string): void {
  if (res.headersSent || res.destroyed) return;
  if (status === 204 || status === 304) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
