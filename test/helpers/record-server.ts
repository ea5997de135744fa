/**
 * A real HTTP server on 127.0.0.1 (ephemeral port) that records every request — method, path,
 * lower-case headers, body (parsed JSON when it parses) — and answers JSON: `answer(request)` when
 * given, else `{ ok: true, path, received: <body> }` with status 200. For Tools mapped to a local
 * server (execution by name) and webhooks.
 *
 * Invariants:
 * 1. A request is recorded before it is answered; bodies are bounded (1 MiB, else 413).
 * 2. `close()` destroys every connection.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { listenOnLoopback } from './listen.ts';

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

export interface RecordServer {
  readonly url: string;
  readonly requests: Recorded[];
  /** The recorded requests to `path`. */
  to(path: string): Recorded[];
  close(): Promise<void>;
}

export async function startRecordServer(answer?: (r: Recorded) => { status?: number; body: unknown } | undefined): Promise<RecordServer> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    req.on('error', () => {});
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 1024 * 1024) chunks.push(c);
    });
    req.on('end', () => {
      if (size > 1024 * 1024) {
        res.writeHead(413).end();
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text === '' ? null : text;
      try {
        body = text === '' ? null : JSON.parse(text);
      } catch {
        // kept as text
      }
      const r: Recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      requests.push(r);
      const a = answer?.(r) ?? { body: { ok: true, path: r.path, received: body } };
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
    });
  });
  const { url } = await listenOnLoopback(server);
  return {
    url, requests,
    to: (path) => requests.filter((r) => r.path === path),
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}
