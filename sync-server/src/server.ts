/**
 * The relay's HTTP server: `/healthz`, and the upgrade of `/<roomId>?token=...` to y-websocket.
 *
 * An upgrade is accepted only after, in order: the address is within its connection rate (429),
 * the path names a room (400), the token verifies for that room (auth.ts) and carries the room's
 * pinned key, pinning it if the room has none (key-pins.ts) (401). A refusal is a bare HTTP
 * response on the raw socket before any WebSocket exists: the client learns nothing about the
 * room and nothing is written for it (a pin is written only for a token that verified).
 *
 * Invariants:
 * 1. Every refusal is counted (metrics.ts) and logged with its reason; the client sees only the
 *    status and a fixed body per status.
 * 2. `stop()` stops accepting, closes every WebSocket with 1001, waits for them (at most
 *    shutdownGraceMs, then cuts them), then flushes every room (fsynced files, or appends
 *    acknowledged by Redis), closes the backend and releases the data directory. It never rejects.
 * 4. Rooms live where backend.ts says (files, or Redis with REDIS_URL). While the backend is
 *    unavailable (Redis down), /healthz answers 503 with `ok: false` and upgrades get 503.
 * 3. Errors on one socket or connection end that socket or connection, never the process.
 */
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket from 'ws';
import { parseTarget, TokenRefusal, verifyToken } from './auth.ts';
import { openBackend } from './backend.ts';
import type { Config } from './config.ts';
import { CloseCode, RelayConnection } from './connection.ts';
import { claim, release } from './data-dir.ts';
import { Limiter } from './limits.ts';
import { describeError, type Logger } from './log.ts';
import { type Health, Metrics, Refusal } from './metrics.ts';
import { createRooms } from './rooms.ts';

export interface Relay {
  readonly host: string;
  readonly port: number;
  /** What the start line says about where rooms live (files or Redis). */
  readonly backend: Record<string, unknown>;
  health(): Health;
  stop(): Promise<void>;
}

const SWEEP_MS = 30_000;

export async function startRelay(config: Config, log: Logger): Promise<Relay> {
  const dir = await claim(config.dataDir);
  const metrics = new Metrics();
  const limiter = new Limiter(config.rates);
  const backend = await openBackend(config, dir, log, (roomId, err) => {
    // While Redis is down every room fails at once: redis.down (one line) says it for all.
    if (backend.available()) log('error', 'room.storage_failed', { room: roomId, details: { error: describeError(err) } });
    rooms.endAll(roomId, CloseCode.storageFailed, 'storage_failed');
  }).catch(async (err: unknown) => {
    await release(dir);
    throw err;
  });
  const { store, pins } = backend;
  const rooms = createRooms(store, backend.bus, log);
  // ws 6 cuts a socket (no close frame) past maxPayload; up to twice the limit the relay reads
  // the message and closes cleanly with 1009 itself (connection.ts).
  const wss = new WebSocket.Server({ noServer: true, maxPayload: 2 * config.maxMessageBytes, perMessageDeflate: false, clientTracking: false });
  const live = new Set<RelayConnection>();
  let stopping = false;

  const health = (): Health => {
    const redis = backend.redisState();
    const state = { ok: !stopping && backend.available(), rooms: rooms.count(), connections: live.size };
    return metrics.health(redis === null ? state : { ...state, redis });
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, { error: 'method_not_allowed' });
      const now = health();
      // A load balancer reads the status: 503 while the relay cannot serve (stopping, Redis down).
      return reply(res, now.ok ? 200 : 503, now);
    }
    if (parseTarget(req.url).ok) return reply(res, 426, { error: 'upgrade_required' });
    return reply(res, 404, { error: 'not_found' });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    upgrade(req, socket, head).catch((err: unknown) => {
      log('error', 'upgrade.failed', { addr: addrOf(socket), details: { error: describeError(err) } });
      refuse(socket, 503);
    });
  });

  async function upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const addr = addrOf(socket);
    if (stopping || !backend.available()) return refuse(socket, 503);
    if (!limiter.connect(addr, Date.now())) {
      metrics.refuse(Refusal.rate);
      // One line per 100 refusals: a connection flood must not become a log flood.
      if (metrics.refused.rate % 100 === 1) log('warn', 'refused.rate', { addr, details: { limit: 'connects', refusedRate: metrics.refused.rate } });
      return refuse(socket, 429);
    }
    const target = parseTarget(req.url);
    if (!target.ok) {
      metrics.refuse(Refusal.malformed);
      log('warn', 'refused.malformed_room', { addr });
      return refuse(socket, 400);
    }
    const { roomId } = target;
    const verified = await verifyToken(roomId, target.token, Date.now());
    let reason: TokenRefusal | null = verified.ok ? null : verified.reason;
    if (verified.ok) {
      const pin = await pins.check(roomId, verified.publicKeyHex);
      if (pin === 'mismatch') reason = TokenRefusal.keyNotPinned;
      if (pin === 'pinned') log('info', 'room.key_pinned', { room: roomId, addr });
    }
    if (!verified.ok || reason !== null) {
      metrics.refuse(Refusal.auth);
      log('warn', 'refused.auth', { room: roomId, addr, details: { reason } });
      return refuse(socket, 401);
    }
    if (stopping || socket.destroyed) return refuse(socket, 503);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new RelayConnection(ws, {
        roomId,
        addr,
        rateKey: verified.rateKey,
        maxMessageBytes: config.maxMessageBytes,
        maxRoomBytes: config.maxRoomBytes,
        limiter,
        store,
        metrics,
        log,
      });
      live.add(conn);
      ws.on('close', () => live.delete(conn));
      if (stopping) return conn.end(CloseCode.goingAway, 'relay_shutting_down');
      log('info', 'conn.opened', { room: roomId, addr, details: { expiresInMs: verified.expiresAtMs - Date.now() } });
      rooms.attach(roomId, conn, req).catch((err: unknown) => {
        log('error', 'room.load_failed', { room: roomId, addr, details: { error: describeError(err) } });
        conn.end(CloseCode.storageFailed, 'storage_failed');
      });
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log('error', 'server.error', { details: { error: describeError(err) } }));
  const { address, port } = server.address() as AddressInfo;
  const sweeper = setInterval(() => limiter.sweep(Date.now()), SWEEP_MS);
  sweeper.unref();

  let stopped: Promise<void> | null = null;
  async function stop(): Promise<void> {
    stopping = true;
    clearInterval(sweeper);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    for (const conn of live) conn.end(CloseCode.goingAway, 'relay_shutting_down');
    const deadline = Date.now() + config.shutdownGraceMs;
    while (live.size > 0 && Date.now() < deadline) await sleep(20);
    for (const conn of live) conn.ws.terminate();
    server.closeAllConnections();
    await Promise.race([closed, sleep(1000)]);
    try {
      await store.closeAll();
      await backend.close();
      await release(dir);
    } catch (err) {
      log('error', 'relay.flush_failed', { details: { error: describeError(err) } });
    }
  }

  return {
    host: address,
    port,
    backend: backend.describe,
    health,
    stop: () => (stopped ??= stop()),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

const BODIES: Record<number, string> = {
  400: '{"error":"bad_room"}',
  401: '{"error":"unauthorized"}',
  429: '{"error":"rate_limited"}',
  503: '{"error":"unavailable"}',
};

/** A bare HTTP response on a socket that never became a WebSocket. */
function refuse(socket: Socket, status: number): void {
  if (socket.destroyed) return;
  const body = BODIES[status] ?? '{}';
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  socket.end(head + body, () => socket.destroy());
}

function addrOf(socket: Socket): string {
  return socket.remoteAddress ?? 'unknown';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
