/**
 * A minimal static file server on 127.0.0.1 for built pages (the app's dist/, test pages), with the
 * right MIME types for wasm and module workers and optional extra headers (e.g. the CSP).
 * Stops with `close()`; binds an ephemeral port unless one is given. With `collectPosts`, the bodies
 * of POST requests to that path (e.g. a CSP `report-uri`) are kept in `posts` and answered 204.
 */
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { listenOnLoopback } from './listen.ts';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticServer {
  readonly url: string;
  readonly port: number;
  readonly requests: number;
  /** Bodies POSTed to `collectPosts`, in arrival order. */
  readonly posts: readonly string[];
  close(): Promise<void>;
}

export async function serveStatic(root: string, opts: { port?: number; headers?: Record<string, string>; collectPosts?: string } = {}): Promise<StaticServer> {
  const base = resolve(root);
  let requests = 0;
  const posts: string[] = [];
  const server: Server = createServer((req, res) => {
    requests++;
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        if (req.method === 'POST' && opts.collectPosts !== undefined && url.pathname === opts.collectPosts) {
          const chunks: Buffer[] = [];
          for await (const chunk of req) chunks.push(chunk as Buffer);
          posts.push(Buffer.concat(chunks).toString('utf8'));
          res.writeHead(204).end();
          return;
        }
        let path = normalize(join(base, decodeURIComponent(url.pathname)));
        if (!path.startsWith(base)) {
          res.writeHead(403).end();
          return;
        }
        const s = await stat(path).catch(() => null);
        if (s?.isDirectory()) path = join(path, 'index.html');
        else if (!s) path = join(base, 'index.html'); // SPA fallback
        const body = await readFile(path);
        res.writeHead(200, {
          'content-type': MIME[extname(path)] ?? 'application/octet-stream',
          'cache-control': 'no-cache',
          ...(opts.headers ?? {}),
        });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    })();
  });
  const { url, port } = await listenOnLoopback(server, opts.port ?? 0);
  return {
    url,
    port,
    get requests() {
      return requests;
    },
    posts,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}
