/**
 * One client connection: the object @y/websocket-server's `setupWSConnection` sees as its
 * socket, standing between it and the real `ws` WebSocket.
 *
 * Inbound, every message passes, in order: binary only, at most maxMessageBytes, within the
 * rate limits of its token and its address, well-formed (protocol.ts), and (for an update) within
 * the room's stored-bytes limit. The first message that fails closes this connection with a close
 * code and reason, is counted, and is dropped along with everything after it; other connections
 * and rooms are untouched.
 *
 * Outbound, every message waits until the room's storage is durable up to that moment
 * (storage.ts `whenDurable`), so a client only ever receives state that survives a relay crash;
 * messages keep their order.
 *
 * Invariants:
 * 1. Nothing reaches @y/websocket-server before `attach()` (the room is loaded by then);
 *    messages that arrive earlier are held and checked in arrival order, and a close that
 *    arrives earlier is passed on after them.
 * 2. After a refusal nothing more is delivered, and the socket is cut if the client has not
 *    finished the close handshake within REFUSED_CLOSE_MS.
 * 3. Never throws into `ws` or the caller: bad input ends this connection, not the process.
 */
import { EventEmitter } from 'node:events';
import type WebSocket from 'ws';
import type { Limiter } from './limits.ts';
import { describeError, type Logger } from './log.ts';
import { type Metrics, Refusal } from './metrics.ts';
import { inspectMessage } from './protocol.ts';
import { RECORD_HEADER_BYTES } from './room-log.ts';
import type { RoomStore } from './batched-store.ts';

export const CloseCode = {
  goingAway: 1001,
  binaryOnly: 1003,
  malformed: 1007,
  roomFull: 1008,
  tooBig: 1009,
  storageFailed: 1011,
  rateLimited: 1013,
} as const;

const OPEN = 1;
const REFUSED_CLOSE_MS = 2000;

export interface ConnectionContext {
  readonly roomId: string;
  readonly addr: string;
  /** Identifies the token for its rate limit (never logged). */
  readonly rateKey: string;
  readonly maxMessageBytes: number;
  readonly maxRoomBytes: number;
  readonly limiter: Limiter;
  readonly store: RoomStore;
  readonly metrics: Metrics;
  readonly log: Logger;
}

export class RelayConnection extends EventEmitter {
  /** Set by @y/websocket-server; `ws` delivers Buffers whatever it says. */
  binaryType = 'arraybuffer';
  readonly openedAt = Date.now();
  #attached = false;
  #closed = false;
  #held: Uint8Array[] = [];
  #refused = false;
  #outbox: Promise<void> = Promise.resolve();
  #messagesIn = 0;
  #bytesIn = 0;

  constructor(
    readonly ws: WebSocket,
    readonly ctx: ConnectionContext,
  ) {
    super();
    ws.on('message', (data) => this.#receive(data));
    ws.on('pong', () => this.emit('pong'));
    ws.on('error', (err) => this.#protocolError(err));
    ws.on('close', (code: number) => {
      this.#log('info', 'conn.closed', { code, ms: Date.now() - this.openedAt, messagesIn: this.#messagesIn, bytesIn: this.#bytesIn });
      this.#closed = true;
      if (this.#attached) this.emit('close');
    });
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  /**
   * The room's doc now listens: deliver what arrived while it loaded, and a close that came
   * meanwhile (so @y/websocket-server drops the connection and clears its ping timer).
   */
  attach(): void {
    this.#attached = true;
    const held = this.#held;
    this.#held = [];
    for (const message of held) this.#deliver(message);
    if (this.#closed) this.emit('close');
  }

  /** Called by @y/websocket-server; forwards once the room is durable up to now. */
  send(message: Uint8Array, _options?: unknown, done?: (err?: Error) => void): void {
    this.#outbox = this.#outbox.then(async () => {
      const durable = await this.ctx.store.whenDurable(this.ctx.roomId);
      if (!durable) return done?.(new Error('room storage failed'));
      if (this.ws.readyState !== OPEN) return done?.(new Error('connection closed'));
      try {
        this.ws.send(message, { binary: true }, done);
      } catch (err) {
        done?.(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  ping(): void {
    this.ws.ping();
  }

  /** Called by @y/websocket-server when it drops the connection (a normal close). */
  close(): void {
    this.ws.close();
  }

  /** Ends this connection for a reason of the relay's own (shutdown, storage failure). */
  end(code: number, reason: string): void {
    this.#refused = true;
    this.#held = [];
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), REFUSED_CLOSE_MS).unref();
  }

  #receive(data: WebSocket.Data): void {
    if (this.#refused) return;
    if (typeof data === 'string') return this.#refuse(Refusal.malformed, CloseCode.binaryOnly, 'binary_only', {});
    if (!Buffer.isBuffer(data)) return this.#refuse(Refusal.malformed, CloseCode.malformed, 'malformed_message', { reason: 'frame_type' });
    this.#messagesIn++;
    this.#bytesIn += data.length;
    if (data.length > this.ctx.maxMessageBytes) {
      return this.#refuse(Refusal.size, CloseCode.tooBig, 'message_too_big', { bytes: data.length, limit: this.ctx.maxMessageBytes });
    }
    const verdict = this.ctx.limiter.message(this.ctx.rateKey, this.ctx.addr, data.length, Date.now());
    if (verdict !== 'ok') return this.#refuse(Refusal.rate, CloseCode.rateLimited, 'rate_limited', { bucket: verdict });
    const message = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (this.#attached) this.#deliver(message);
    else this.#held.push(message);
  }

  #deliver(message: Uint8Array): void {
    if (this.#refused) return;
    const inspected = inspectMessage(message);
    if (!inspected.ok) return this.#refuse(Refusal.malformed, CloseCode.malformed, 'malformed_message', { reason: inspected.reason });
    if (inspected.updateBytes > 0) {
      const after = this.ctx.store.size(this.ctx.roomId) + RECORD_HEADER_BYTES + inspected.updateBytes;
      if (after > this.ctx.maxRoomBytes) {
        return this.#refuse(Refusal.size, CloseCode.roomFull, 'room_full', { bytes: inspected.updateBytes, limit: this.ctx.maxRoomBytes });
      }
    }
    try {
      this.emit('message', message);
    } catch (err) {
      // @y/websocket-server catches its own errors; anything else is a relay bug, logged, and
      // this connection ends rather than the process.
      this.#log('error', 'conn.delivery_failed', { error: describeError(err) });
      this.end(CloseCode.storageFailed, 'internal_error');
    }
  }

  #protocolError(err: Error): void {
    // ws emits this for a frame it cannot accept, then destroys the socket itself.
    const tooBig = err instanceof RangeError && /max payload/i.test(err.message);
    if (this.#refused) return;
    this.#refused = true;
    this.#held = [];
    this.ctx.metrics.refuse(tooBig ? Refusal.size : Refusal.malformed);
    this.#log('warn', 'conn.refused', { cause: tooBig ? Refusal.size : Refusal.malformed, reason: tooBig ? 'message_too_big' : 'protocol_error', error: err.message });
  }

  #refuse(cause: Refusal, code: number, reason: string, details: Record<string, unknown>): void {
    this.ctx.metrics.refuse(cause);
    this.#log('warn', 'conn.refused', { cause, reason, code, ...details });
    this.end(code, reason);
  }

  #log(level: 'info' | 'warn' | 'error', event: string, details: Record<string, unknown>): void {
    this.ctx.log(level, event, { room: this.ctx.roomId, addr: this.ctx.addr, details });
  }
}
