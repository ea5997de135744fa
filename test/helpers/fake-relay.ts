/**
 * An in-process relay for y-websocket clients, without a network: `relay.WebSocket` is a
 * WebSocket class (what y-websocket's `WebSocketPolyfill` takes) whose sockets talk to one server
 * Y.Doc per room through the real Yjs sync protocol (y-protocols/sync), the way
 * @y/websocket-server does: sync step 1 on connect, answers to the client's step 1, every update
 * broadcast to the room's other connections.
 *
 * Invariants:
 * 1. Everything a socket does happens asynchronously (setImmediate), in order per socket, like a
 *    real one; nothing is delivered to a socket after it closed.
 * 2. `decide(url)` runs at the upgrade: 'accept', 401 (an error event whose message names the
 *    status, as Node's `ws` reports it, then close 1006), 'down' (an error, then close 1006) or
 *    'hang' (the socket stays CONNECTING for good).
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';

const MESSAGE_SYNC = 0;

type Handler<E> = ((event: E) => void) | null;

export class FakeRelay {
  readonly docs = new Map<string, Y.Doc>();
  /** Every URL a socket was opened with, in order. */
  readonly urls: string[] = [];
  readonly sockets: FakeSocket[] = [];
  decide: (url: URL) => 'accept' | 401 | 'down' | 'hang' = () => 'accept';
  readonly WebSocket: new (url: string) => FakeSocket;

  constructor() {
    const relay = this;
    this.WebSocket = class extends FakeSocket {
      constructor(url: string) {
        super(relay, url);
      }
    };
  }

  doc(room: string): Y.Doc {
    let doc = this.docs.get(room);
    if (!doc) {
      doc = new Y.Doc();
      doc.on('update', (update: Uint8Array, origin: unknown) => {
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, MESSAGE_SYNC);
        syncProtocol.writeUpdate(e, update);
        const message = encoding.toUint8Array(e);
        for (const s of this.sockets) if (s.room === room && s.open && s !== origin) s.fromServer(message);
      });
      this.docs.set(room, doc);
    }
    return doc;
  }

  /** The relay closes a socket with a code (4400-4499: "do not come back"). */
  kick(socket: FakeSocket, code: number, reason: string): void {
    socket.serverClose(code, reason);
  }

  get openSockets(): FakeSocket[] {
    return this.sockets.filter((s) => s.open);
  }
}

export class FakeSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  binaryType = 'arraybuffer';
  readyState = 0;
  onopen: Handler<unknown> = null;
  onmessage: Handler<{ data: ArrayBuffer }> = null;
  onclose: Handler<{ code: number; reason: string }> = null;
  onerror: Handler<{ message: string }> = null;
  readonly room: string;

  constructor(private readonly relay: FakeRelay, readonly url: string) {
    const u = new URL(url);
    this.room = decodeURIComponent(u.pathname.slice(u.pathname.lastIndexOf('/') + 1));
    relay.urls.push(url);
    relay.sockets.push(this);
    setImmediate(() => {
      if (this.readyState !== 0) return;
      const verdict = relay.decide(u);
      if (verdict === 'hang') return; // stays CONNECTING: never opens, never fails
      if (verdict !== 'accept') {
        this.readyState = 3;
        this.onerror?.({ message: verdict === 401 ? 'Unexpected server response: 401' : 'connect ECONNREFUSED' });
        this.onclose?.({ code: 1006, reason: '' });
        return;
      }
      this.readyState = 1;
      this.onopen?.({});
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, MESSAGE_SYNC);
      syncProtocol.writeSyncStep1(e, relay.doc(this.room));
      this.fromServer(encoding.toUint8Array(e));
    });
  }

  get open(): boolean {
    return this.readyState === 1;
  }

  /** The client sends: the server reads it (sync messages; awareness is ignored). */
  send(data: Uint8Array | ArrayBuffer): void {
    if (this.readyState !== 1) return;
    const bytes = data instanceof Uint8Array ? Uint8Array.from(data) : new Uint8Array(data.slice(0));
    setImmediate(() => {
      if (this.readyState !== 1) return;
      const decoder = decoding.createDecoder(bytes);
      if (decoding.readVarUint(decoder) !== MESSAGE_SYNC) return;
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, MESSAGE_SYNC);
      syncProtocol.readSyncMessage(decoder, e, this.relay.doc(this.room), this);
      if (encoding.length(e) > 1) this.fromServer(encoding.toUint8Array(e));
    });
  }

  close(): void {
    this.readyState = 3;
  }

  fromServer(message: Uint8Array): void {
    setImmediate(() => {
      if (this.readyState === 1) this.onmessage?.({ data: message.slice().buffer });
    });
  }

  serverClose(code: number, reason: string): void {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    setImmediate(() => this.onclose?.({ code, reason }));
  }
}
