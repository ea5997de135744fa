/**
 * `sync.transfer`: one device's events through the real relay to another device (Node only).
 *
 * Device A and device B are two real kernels in this process, each with its own Y.Doc, a real
 * RelayConnection (y-websocket over `ws`) to the relay process and a SyncClient. Setup (untimed):
 * both connect and exchange their key registrations (digests equal), A's client stops, A commits
 * `events` bench events and signs its checkpoints. Timed: a new SyncClient for A on the same doc
 * and connection (it publishes at once: export, seal, write to the doc, y-websocket sends) until
 * B's kernel holds A's whole chain (checked after every `ingest` B's client makes); then B's digests
 * must equal A's.
 *
 * Baseline, same run, same relay: two plain y-websocket clients on a fresh room; one sets the very
 * same entries (A's chunk keys and sealed bytes, one transaction per entry, as the client writes
 * them) and the time runs until the other's map holds them all. No kernel, no sealing.
 *
 * Breakdown (every repetition): when A's last chunk was in its doc (seal/publish), when B's doc
 * had received the last chunk (relay transfer), when B had applied everything (open + ingest);
 * and, inside those, the time A spent in exportChain and B in kernel.ingest, and the cost of
 * sealing and opening the same chunks alone. Both devices share one thread here: A's sealing and
 * B's ingest take turns, so the end-to-end figure is the sum of both devices' work, not the max.
 */
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import type { Kernel } from '../../../worker/kernel/kernel.ts';
import { SyncClient, CHUNKS_MAP, type SyncKernel } from '../../../worker/sync/client.ts';
import { deriveRoom, newEpochKey, relayToken, type Room } from '../../../worker/sync/keys.ts';
import { openChunk, sealChunk, type ChunkContent } from '../../../worker/sync/chunks.ts';
import { RelayConnection } from '../../../worker/sync/websocket.ts';
import { figure, type Env, type Figure } from './scenarios.ts';
import { benchCommands } from './workload.ts';
import { median, round } from './stats.ts';
import { CpuProfiler } from './cpu-profile.ts';

export interface TransferOptions {
  readonly events: number;
  readonly reps: number;
  /** SyncClient options (undefined: the client's defaults). */
  readonly chunkEvents?: number;
  readonly ingestEvents?: number;
  /** Figure id suffix and whether the ≤ target applies (the default configuration only). */
  readonly id: string;
  readonly targetMs: number | null;
  /** Write a CPU profile of the first timed window to this .cpuprofile path and log its summary. */
  readonly profile?: string;
}

const WAIT_MS = 120_000;
const now = () => performance.now();

async function until(what: string, ok: () => boolean, ms = WAIT_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`sync bench: timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** The kernel as the SyncClient sees it, with `ingest` and `exportChain` timed. */
function timedKernel(k: Kernel, t: { ingestMs: number; exportMs: number; reordered?: number; afterIngest?: () => void }): SyncKernel {
  return new Proxy(k, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (prop === 'ingest') {
        return async (input: unknown) => {
          const t0 = now();
          try {
            const rep = await target.ingest(input);
            if (rep.reordered) t.reordered = (t.reordered ?? 0) + 1;
            return rep;
          } finally {
            t.ingestMs += now() - t0;
            t.afterIngest?.();
          }
        };
      }
      if (prop === 'exportChain') {
        return (...a: Parameters<Kernel['exportChain']>) => {
          const t0 = now();
          try {
            return target.exportChain(...a);
          } finally {
            t.exportMs += now() - t0;
          }
        };
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

interface Device { k: Kernel; doc: Y.Doc; conn: RelayConnection; client: SyncClient | null }

async function openDevice(env: Env, name: string, relayUrl: string, room: Room, WebSocket: unknown): Promise<Device> {
  await env.remove(name);
  const k = await env.openKernel(name);
  const doc = new Y.Doc();
  const conn = await RelayConnection.open({ relayUrl, room, doc, WebSocket });
  return { k, doc, conn, client: null };
}

async function closeDevice(env: Env, name: string, d: Device | null): Promise<void> {
  if (!d) return;
  await d.client?.stop();
  d.conn.close();
  d.doc.destroy();
  await d.k.close();
  await env.remove(name);
}

const headOf = (k: Kernel, device: string) => k.store.chainHead(device).deviceSeq;

export interface TransferSample {
  totalMs: number;
  /**
   * CPU time of this process from t0 to B's last ingest (process.cpuUsage: every thread of it, so
   * GC helpers and the crypto thread pool too, and it can exceed totalMs; not the relay): less
   * sensitive to a busy machine than totalMs.
   */
  cpuMs: number;
  /** t0 → A's last chunk in A's doc. */
  publishedMs: number;
  /** t0 → B's doc holds every chunk. */
  receivedMs: number;
  exportMs: number;
  ingestMs: number;
  ingestCalls: number;
  /** B's ingest calls that reported reordered: true. */
  reordered: number;
  /** A fresh device C joining the room afterwards (it holds A's chunks): until C applied them all. */
  joinMs: number;
  joinIngestMs: number;
  /** C's ingest calls that reported reordered: true (re-derived the projections). */
  joinReordered: number;
  joinIngestCalls: number;
  /** Baseline of the join: a plain y-websocket client joining the same room, until it holds every entry. */
  joinRawMs: number;
  chunks: number;
  bytes: number;
  entries: [string, Uint8Array][];
  contents: [string, ChunkContent][];
}

/** One kernel run: returns the timings and A's chunks (the baseline's entries). */
async function kernelRun(env: Env, relayUrl: string, WebSocket: unknown, o: TransferOptions, n: number, profile?: string): Promise<TransferSample> {
  const room = await deriveRoom(newEpochKey());
  let a: Device | null = null;
  let b: Device | null = null;
  try {
    a = await openDevice(env, 'sync-a', relayUrl, room, WebSocket);
    b = await openDevice(env, 'sync-b', relayUrl, room, WebSocket);
    const A = a.k;
    const B = b.k;
    const clientOpts = { chunkKeys: room.chunkKeys, ...(o.chunkEvents ? { chunkEvents: o.chunkEvents } : {}), ...(o.ingestEvents ? { ingestEvents: o.ingestEvents } : {}) };
    const tb = { ingestMs: 0, exportMs: 0, reordered: 0, calls: 0, appliedAt: -1, afterIngest: undefined as (() => void) | undefined };
    a.client = new SyncClient({ kernel: A, doc: a.doc, transport: a.conn, ...clientOpts });
    b.client = new SyncClient({ kernel: timedKernel(B, tb), doc: b.doc, transport: b.conn, ...clientOpts });
    // Setup: both synced with the relay, each holding the other's key registration.
    await until('both devices synced and converged', () => a!.conn.state.kind === 'synced' && b!.conn.state.kind === 'synced'
      && headOf(B, A.deviceId) === A.ownHead.deviceSeq && headOf(A, B.deviceId) === B.ownHead.deviceSeq, 20_000);
    await a.client.stop();
    await b.client.idle();
    a.client = null;
    const cmds = benchCommands(n);
    for (let i = 0; i < n; i += 100) A.commandBatch(cmds.slice(i, i + 100));
    await A.checkpointsSettled();
    const head = A.ownHead.deviceSeq;
    const mapA = a.doc.getMap<Uint8Array>(CHUNKS_MAP);
    const mapB = b.doc.getMap<Uint8Array>(CHUNKS_MAP);
    const prefix = `${A.deviceId}/`;
    const lastKey = (m: Y.Map<Uint8Array>) => [...m.keys()].some((key) => key.startsWith(prefix) && key.endsWith(`-${head}`));
    let publishedAt = -1;
    let receivedAt = -1;
    const obsA = () => { if (publishedAt < 0 && lastKey(mapA)) publishedAt = now(); };
    const obsB = () => { if (receivedAt < 0 && lastKey(mapB)) receivedAt = now(); };
    mapA.observe(obsA);
    mapB.observe(obsB);
    tb.ingestMs = 0;
    tb.reordered = 0;
    let cpu0 = process.cpuUsage();
    let cpuAt = -1;
    tb.afterIngest = () => {
      tb.calls++;
      if (tb.appliedAt < 0 && headOf(B, A.deviceId) === head) {
        tb.appliedAt = now();
        const used = process.cpuUsage(cpu0);
        cpuAt = (used.user + used.system) / 1000;
      }
    };
    const ta = { ingestMs: 0, exportMs: 0 };
    env.settle();
    const profiler = profile ? new CpuProfiler() : null;
    await profiler?.start();
    cpu0 = process.cpuUsage();
    const t0 = now();
    a.client = new SyncClient({ kernel: timedKernel(A, ta), doc: a.doc, transport: a.conn, ...clientOpts });
    await until(`B to apply A's ${n} events`, () => tb.appliedAt >= 0);
    if (profiler) env.log(`${await profiler.stop(profile!)}\n  (profile written to ${profile})`);
    const sample = { totalMs: tb.appliedAt - t0, cpuMs: cpuAt, publishedMs: publishedAt - t0, receivedMs: receivedAt - t0, exportMs: ta.exportMs, ingestMs: tb.ingestMs, ingestCalls: tb.calls, reordered: tb.reordered };
    mapA.unobserve(obsA);
    mapB.unobserve(obsB);
    await a.client.idle();
    await b.client.idle();
    if (JSON.stringify(A.digest()) !== JSON.stringify(B.digest())) throw new Error('sync bench: B\'s projection digests differ from A\'s after the transfer');
    if (B.exportChain(A.deviceId, 0, 100_000).events.length !== head) throw new Error('sync bench: B does not hold A\'s whole chain');
    const join = await joinRuns(env, relayUrl, WebSocket, room, clientOpts, A, mapA.size);
    const entries = [...mapA.entries()].filter(([key]) => key.startsWith(prefix)).sort((x, y) => Number(x[0].split('/')[1]!.split('-')[0]) - Number(y[0].split('/')[1]!.split('-')[0]));
    const contents: [string, ChunkContent][] = [];
    for (const [key, value] of entries) {
      const opened = await openChunk(room.chunkKeys, key, value);
      if (!opened.ok) throw new Error(`sync bench: A's chunk ${key} does not open`);
      contents.push([key, opened.content]);
    }
    return { ...sample, ...join, chunks: entries.length, bytes: entries.reduce((s, [, v]) => s + v.length, 0), entries, contents };
  } finally {
    await closeDevice(env, 'sync-a', a);
    await closeDevice(env, 'sync-b', b);
  }
}

/**
 * A device joining a room that holds A's chain: first a plain y-websocket client (until its map
 * holds `size` entries), then a fresh kernel C with its RelayConnection and SyncClient (from the
 * connection's start until C applied A's head). Both mint their token inside the timing.
 */
async function joinRuns(env: Env, relayUrl: string, WebSocket: unknown, room: Room, clientOpts: { chunkKeys: Room['chunkKeys'] }, A: Kernel, size: number): Promise<{ joinMs: number; joinIngestMs: number; joinReordered: number; joinIngestCalls: number; joinRawMs: number }> {
  const doc = new Y.Doc();
  const map = doc.getMap<Uint8Array>(CHUNKS_MAP);
  let rawAt = -1;
  map.observe(() => { if (rawAt < 0 && map.size >= size) rawAt = now(); });
  const t0 = now();
  const token = await relayToken(room.authKeys, room.roomId, Date.now() + 5 * 60_000);
  const provider = new WebsocketProvider(relayUrl, room.roomId, doc, { params: { token }, disableBc: true, WebSocketPolyfill: WebSocket as never });
  try {
    await until('a plain client to receive the room', () => rawAt >= 0);
  } finally {
    provider.destroy();
    provider.awareness.destroy();
    doc.destroy();
  }
  await env.remove('sync-c');
  const C = await env.openKernel('sync-c');
  const cdoc = new Y.Doc();
  let conn: RelayConnection | null = null;
  let client: SyncClient | null = null;
  const head = A.ownHead.deviceSeq;
  const tc = { ingestMs: 0, exportMs: 0, reordered: 0, calls: 0, appliedAt: -1, afterIngest: () => { tc.calls++; if (tc.appliedAt < 0 && headOf(C, A.deviceId) === head) tc.appliedAt = now(); } };
  try {
    env.settle();
    const t1 = now();
    conn = await RelayConnection.open({ relayUrl, room, doc: cdoc, WebSocket });
    client = new SyncClient({ kernel: timedKernel(C, tc), doc: cdoc, transport: conn, ...clientOpts });
    await until('a fresh device to apply the room', () => tc.appliedAt >= 0);
    return { joinMs: tc.appliedAt - t1, joinIngestMs: tc.ingestMs, joinReordered: tc.reordered, joinIngestCalls: tc.calls, joinRawMs: rawAt - t0 };
  } finally {
    await client?.stop();
    conn?.close();
    cdoc.destroy();
    await C.close();
    await env.remove('sync-c');
  }
}

/** The baseline: the same entries from one plain y-websocket client to another through the relay. */
export async function rawRun(relayUrl: string, WebSocket: unknown, entries: readonly [string, Uint8Array][]): Promise<number> {
  const room = await deriveRoom(newEpochKey());
  const token = await relayToken(room.authKeys, room.roomId, Date.now() + 5 * 60_000);
  const open = () => {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(relayUrl, room.roomId, doc, { params: { token }, disableBc: true, WebSocketPolyfill: WebSocket as never });
    return { doc, provider, map: doc.getMap<Uint8Array>(CHUNKS_MAP) };
  };
  const w = open();
  const r = open();
  try {
    await until('the raw clients to sync', () => w.provider.synced && r.provider.synced, 20_000);
    let doneAt = -1;
    r.map.observe(() => { if (doneAt < 0 && r.map.size === entries.length) doneAt = now(); });
    const t0 = now();
    for (const [key, value] of entries) w.doc.transact(() => w.map.set(key, value));
    await until('the raw entries to arrive', () => doneAt >= 0);
    return doneAt - t0;
  } finally {
    for (const c of [w, r]) {
      c.provider.destroy();
      c.provider.awareness.destroy();
      c.doc.destroy();
    }
  }
}

/** Sealing and opening the same chunks alone (what A and B spend on crypto + JSON), ms. */
async function cryptoCost(contents: readonly [string, ChunkContent][]): Promise<{ sealMs: number; openMs: number }> {
  const room = await deriveRoom(newEpochKey());
  const sealed: [string, Uint8Array][] = [];
  const t0 = now();
  for (const [key, c] of contents) sealed.push([key, await sealChunk(room.chunkKeys, key, c)]);
  const t1 = now();
  for (const [key, v] of sealed) if (!(await openChunk(room.chunkKeys, key, v)).ok) throw new Error('sync bench: a resealed chunk does not open');
  return { sealMs: t1 - t0, openMs: now() - t1 };
}

export async function benchSyncTransfer(env: Env, relayUrl: string, WebSocket: unknown, o: TransferOptions): Promise<Figure[]> {
  const cfg = `chunkEvents ${o.chunkEvents ?? 'default'}, ingestEvents ${o.ingestEvents ?? 'default'}`;
  env.log(`sync transfer on ${env.storage} (${cfg}): ${o.events} events A → relay → B, vs raw y-websocket of the same entries`);
  const ker: number[] = [];
  const raw: number[] = [];
  const join: number[] = [];
  const joinRaw: number[] = [];
  const rows: (Omit<TransferSample, 'entries' | 'contents'> & { sealMs: number; openMs: number })[] = [];
  await kernelRun(env, relayUrl, WebSocket, o, Math.min(1_000, o.events)); // warm-up
  for (let r = 0; r < o.reps; r++) {
    // The kernel run first: it makes the entries the baseline sends.
    const k = await kernelRun(env, relayUrl, WebSocket, o, o.events, r === 0 ? o.profile : undefined);
    const rawMs = await rawRun(relayUrl, WebSocket, k.entries);
    const c = await cryptoCost(k.contents);
    ker.push(k.totalMs);
    raw.push(rawMs);
    join.push(k.joinMs);
    joinRaw.push(k.joinRawMs);
    const { entries: _e, contents: _c, ...row } = k;
    rows.push({ ...row, ...c });
    env.log(`  rep ${r + 1}/${o.reps}: ${Math.round(k.totalMs)} ms, ${Math.round(k.cpuMs)} ms CPU in this process, all threads (A's last chunk written at ${Math.round(k.publishedMs)}, B received it at ${Math.round(k.receivedMs)}; `
      + `A exportChain ${Math.round(k.exportMs)} ms, B ingest ${Math.round(k.ingestMs)} ms in ${k.ingestCalls} calls, ${k.reordered} reordered; seal ${Math.round(c.sealMs)} / open ${Math.round(c.openMs)} ms alone), `
      + `raw y-websocket ${Math.round(rawMs)} ms for ${k.chunks} entries, ${(k.bytes / 1024 / 1024).toFixed(2)} MiB; `
      + `a fresh device joining the room ${Math.round(k.joinMs)} ms (ingest ${Math.round(k.joinIngestMs)} ms in ${k.joinIngestCalls} calls, ${k.joinReordered} of them reordered), a plain client ${Math.round(k.joinRawMs)} ms`);
  }
  const med = (f: (x: (typeof rows)[number]) => number) => round(median(rows.map(f)), 1);
  return [figure({
    id: `sync.transfer${o.id}`,
    storage: env.storage,
    title: `sync: ${o.events} events of device A through a relay process to device B, applied and projected (${cfg}), vs raw y-websocket transfer of the same entries`,
    unit: 'ms',
    kernel: median(ker),
    baseline: median(raw),
    baselineName: 'raw y-websocket, same entries',
    target: o.targetMs === null ? null : { on: 'kernel', op: '<=', value: o.targetMs },
    samples: { kernel: ker, baseline: raw },
    extra: {
      events: o.events, chunkEvents: o.chunkEvents ?? null, ingestEvents: o.ingestEvents ?? null, reps: o.reps,
      chunks: rows[0]?.chunks, bytes: rows[0]?.bytes,
      cpuMs: med((x) => x.cpuMs), publishedMs: med((x) => x.publishedMs), receivedMs: med((x) => x.receivedMs),
      exportMs: med((x) => x.exportMs), ingestMs: med((x) => x.ingestMs), ingestCalls: med((x) => x.ingestCalls),
      sealAloneMs: med((x) => x.sealMs), openAloneMs: med((x) => x.openMs),
      runs: rows,
    },
  }), figure({
    id: `sync.join${o.id}`,
    storage: env.storage,
    title: `sync: a fresh device joins a room holding device A's ${o.events} events (connect, receive, open, ingest) (${cfg}), vs a plain y-websocket client joining the same room`,
    unit: 'ms',
    kernel: median(join),
    baseline: median(joinRaw),
    baselineName: 'plain y-websocket client, same room',
    target: null,
    samples: { kernel: join, baseline: joinRaw },
    extra: { events: o.events, ingestMs: med((x) => x.joinIngestMs), ingestCalls: med((x) => x.joinIngestCalls), reorderedCalls: med((x) => x.joinReordered), openAloneMs: med((x) => x.openMs) },
  })];
}
