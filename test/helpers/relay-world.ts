/**
 * The simulated relay and network of test/unit/sync/relay-property.test.ts: a relay's Y.Doc with
 * its append-only update store, devices (a kernel, a SyncClient and its own Y.Doc each), and a
 * network between them that drops, duplicates, reorders and delays the Yjs sync messages (step 1,
 * step 2, updates, as y-websocket sends them), with connects, disconnects, app restarts and relay
 * restarts. Every random choice comes from the PRNG it is given.
 */
import * as Y from 'yjs';
import type { Kernel } from './kernel.ts';
import type { Room } from '../../worker/sync/keys.ts';
import { CHUNKS_MAP, SyncClient } from '../../worker/sync/client.ts';
import { ManualTransport } from '../../worker/sync/transport.ts';

/** The origin of updates the network applies (never echoed back). */
const NET = Symbol('net');

interface Msg { readonly conn: number; readonly device: number; readonly up: boolean; readonly kind: 'step1' | 'step2' | 'update'; readonly data: Uint8Array }

export interface Device {
  readonly k: Kernel;
  readonly offset: number;
  readonly chunkEvents: number;
  readonly ingestEvents: number;
  doc: Y.Doc;
  transport: ManualTransport;
  client: SyncClient;
  conn: number | null;
  detach: () => void;
}

/** The relay, the network and the devices of one seed. */
export class World {
  readonly devices: Device[] = [];
  relay = new Y.Doc();
  /** The relay's append-only store: every update its doc applied, in order. */
  readonly store: Uint8Array[] = [];
  net: Msg[] = [];
  faults = true;
  /** Every value a client ever wrote, by key; a different second value is a broken invariant. */
  readonly written = new Map<string, Uint8Array>();
  readonly conflicts: string[] = [];
  rewrites = 0;
  restarts = { relay: 0, app: 0 };
  private nextConn = 1;

  constructor(readonly rnd: () => number, readonly room: Room) {
    this.startRelay();
  }

  /** (Re)start the relay: a fresh doc rebuilt from the stored log; every connection is gone. */
  startRelay(): void {
    const doc = new Y.Doc();
    doc.clientID = this.clientId();
    if (this.store.length > 0) Y.applyUpdate(doc, Y.mergeUpdates(this.store), NET);
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === NET) return;
      this.store.push(update);
      for (const [i, d] of this.devices.entries()) {
        if (d.conn !== null && d.conn !== origin) this.send({ conn: d.conn, device: i, up: false, kind: 'update', data: update });
      }
    });
    this.relay = doc;
  }

  restartRelay(): void {
    this.restarts.relay++;
    for (const i of this.devices.keys()) this.disconnect(i, false);
    this.net = []; // a crash: nothing in flight survives
    this.startRelay();
  }

  /** A device's app (re)starts: a fresh doc and client over the same database, not connected yet. */
  async startApp(i: number, k: Kernel, offset: number): Promise<void> {
    const old = this.devices[i];
    if (old) {
      this.restarts.app++;
      await old.client.stop();
      old.detach();
      this.disconnect(i, true);
    }
    const doc = new Y.Doc();
    doc.clientID = this.clientId();
    const transport = new ManualTransport({ kind: 'offline', reason: 'Not connected yet.' });
    const chunkEvents = old?.chunkEvents ?? 1 + Math.floor(this.rnd() * 6);
    const ingestEvents = old?.ingestEvents ?? 1 + Math.floor(this.rnd() * 15);
    const client = new SyncClient({ kernel: k, doc, chunkKeys: this.room.chunkKeys, transport, chunkEvents, ingestEvents });
    const onUpdate = (update: Uint8Array, origin: unknown) => {
      const d = this.devices[i]!;
      if (origin !== NET && d.conn !== null) this.send({ conn: d.conn, device: i, up: true, kind: 'update', data: update });
    };
    const onWrite = (ev: Y.YMapEvent<unknown>) => {
      if (!ev.transaction.local) return;
      for (const key of ev.keysChanged) {
        const value = ev.target.get(key) as Uint8Array;
        const before = this.written.get(key);
        if (!before) this.written.set(key, value);
        else if (Buffer.compare(Buffer.from(before), Buffer.from(value)) === 0) this.rewrites++;
        else this.conflicts.push(key);
      }
    };
    doc.on('update', onUpdate);
    doc.getMap(CHUNKS_MAP).observe(onWrite);
    const detach = () => { doc.off('update', onUpdate); doc.getMap(CHUNKS_MAP).unobserve(onWrite); };
    this.devices[i] = { k, offset, chunkEvents, ingestEvents, doc, transport, client, conn: null, detach };
  }

  /** Open a connection: both sides send sync step 1 (y-websocket's client on open, the server on connect). */
  connect(i: number): void {
    const d = this.devices[i]!;
    if (d.conn !== null) return;
    d.conn = this.nextConn++;
    d.transport.set({ kind: 'connecting' });
    this.send({ conn: d.conn, device: i, up: true, kind: 'step1', data: Y.encodeStateVector(d.doc) });
    this.send({ conn: d.conn, device: i, up: false, kind: 'step1', data: Y.encodeStateVector(this.relay) });
  }

  /**
   * Close a connection. What the relay was sending is lost; what the device had sent may still
   * arrive (`flush`: a socket closed gracefully delivers what it buffered, maybe after the next
   * connection has synced: the race that can make a device seal a range again).
   */
  disconnect(i: number, flush: boolean): void {
    const d = this.devices[i]!;
    if (d.conn === null) return;
    const conn = d.conn;
    d.conn = null;
    d.transport.set({ kind: 'offline', reason: 'The connection closed.' });
    this.net = this.net.filter((m) => m.conn !== conn || (flush && m.up && this.rnd() < 0.5));
    totals.flushedLate += this.net.filter((m) => m.conn === conn).length;
  }

  send(m: Msg): void {
    if (this.faults && this.rnd() < 0.04) {
      totals.lost++;
      return;
    }
    this.net.push(m);
    if (this.faults && this.rnd() < 0.04) {
      totals.repeated++;
      this.net.push(m);
    }
  }

  /** Deliver one message: a random one (reordered, delayed) or the oldest (healing). */
  deliver(random: boolean): void {
    if (this.net.length === 0) return;
    const at = random ? Math.floor(this.rnd() * this.net.length) : 0;
    const m = this.net.splice(at, 1)[0]!;
    const d = this.devices[m.device]!;
    if (m.up) {
      if (m.kind === 'step1') {
        if (d.conn === m.conn) this.send({ conn: m.conn, device: m.device, up: false, kind: 'step2', data: Y.encodeStateAsUpdate(this.relay, m.data) });
      } else {
        Y.applyUpdate(this.relay, m.data, m.conn);
      }
      return;
    }
    if (d.conn !== m.conn) return; // that socket is gone
    if (m.kind === 'step1') {
      this.send({ conn: m.conn, device: m.device, up: true, kind: 'step2', data: Y.encodeStateAsUpdate(d.doc, m.data) });
      return;
    }
    Y.applyUpdate(d.doc, m.data, NET);
    if (m.kind === 'step2' && d.transport.state.kind !== 'synced') d.transport.set({ kind: 'synced' });
  }

  /** Wait until no client has anything left to do. */
  async quiesce(): Promise<void> {
    for (let calm = 0; calm < 2;) {
      await new Promise((r) => setImmediate(r));
      if (this.devices.some((d) => d.client.busy)) {
        calm = 0;
        await Promise.all(this.devices.map((d) => d.client.idle()));
      } else {
        calm++;
      }
    }
  }

  private clientId(): number {
    return 1 + Math.floor(this.rnd() * 0x7fffffff);
  }
}

export function mergeOrder(k: Kernel): string[] {
  return k.sql.all("SELECT hash FROM events ORDER BY (hlc || '|' || device)").map((r) => String(r['hash']));
}

/** Counts across the seeds of a run (the test prints them). */
export const totals = { events: 0, chunks: 0, ingests: 0, reordered: 0, parked: 0, rewrites: 0, relayRestarts: 0, appRestarts: 0, lost: 0, repeated: 0, flushedLate: 0 };
