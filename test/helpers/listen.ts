/**
 * Start a test server on 127.0.0.1 (never another interface), on `port` or a free one, and give
 * back its base URL and port. Rejects if the port cannot be bound.
 */
import type { Server } from 'node:http';

export async function listenOnLoopback(server: Server, port = 0): Promise<{ url: string; port: number }> {
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', fail);
      ok();
    });
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${bound}`, port: bound };
}
