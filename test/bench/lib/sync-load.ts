/**
 * `sync.load.*`: many rooms held at a steady rate of sealed chunks (Node only).
 *
 * Every room has two clients (the app's RelayConnection: y-websocket over `ws`, a relay token of the
 * room's own keys): a writer that sets one sealed chunk (`eventsPerChunk` real bench events, sealed
 * with the room's key, a fresh key string each time) `perRoomRate` times a second for `seconds`,
 * the sends of all rooms spread evenly over each second, and a reader. Measured: the latency from
 * the writer's set to the reader's map observer (through the relay, which fsyncs before it
 * forwards), the relay's resident memory idle → connected → after the updates, and from those the
 * memory per room. All clients run in this one process on 127.0.0.1, so the relay is started with
 * the per-address limits raised (LOAD_RELAY_FLAGS); per-token limits are the defaults.
 *
 * `runLoad` takes a LIST of relays: the writer of room r connects to relays[r % n], its reader to
 * relays[(r + 1) % n], so with two relays every update has to cross from one to the other (over
 * the Redis both share). `sync.load.<rooms>.*` run one relay (rooms in files);
 * `sync.load.redis1.<rooms>.*` / `sync.load.redis2.<rooms>.*` (benchSyncLoadRedis) run the same
 * workload on one relay with REDIS_URL and on two relays sharing one redis-server (lib/redis.ts),
 * each against one relay with files in the same run; skipped with a note without redis-server.
 */
import * as Y from 'yjs';
import { deriveRoom, newEpochKey, type Room } from '../../../worker/sync/keys.ts';
import { nextChunk, sealChunk, type ChunkContent } from '../../../worker/sync/chunks.ts';
import { RelayConnection } from '../../../worker/sync/websocket.ts';
import { CHUNKS_MAP } from '../../../worker/sync/client.ts';
import { figure, type Env, type Figure } from './scenarios.ts';
import { benchCommands } from './workload.ts';
import { percentile, round } from './stats.ts';
import { LOAD_RELAY_FLAGS, startRelays, type Relay } from './relay.ts';
import { redisServerPath, startRedis } from './redis.ts';

export interface LoadOptions {
  readonly rooms: number;
  /** Sealed chunks per second into each room. */
  readonly perRoomRate: number;
  readonly seconds: number;
  readonly eventsPerChunk: number;
}

export interface LoadResult {
  readonly rooms: number;
  readonly relays: number;
  readonly sent: number;
  readonly latenciesMs: number[];
  readonly achievedRate: number;
  readonly connectMs: number;
  /** Sum over the relays, bytes. */
  readonly rss: { idle: number; connected: number; loaded: number };
  readonly chunkBytes: number;
  /** CPU used while the updates flowed, % of one core: the relays together, this (client) process, redis-server (when given). */
  readonly cpuPercent: { relays: number; clients: number; redis?: number };
}

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`sync load: timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** The chunks every room's writer sends: `count` consecutive ranges of one real bench chain. */
export async function loadChunks(env: Env, count: number, eventsPerChunk: number): Promise<{ key: string; content: ChunkContent }[]> {
  await env.remove('sync-load-src');
  const k = await env.openKernel('sync-load-src');
  try {
    const cmds = benchCommands(count * eventsPerChunk);
    for (let i = 0; i < cmds.length; i += 100) k.commandBatch(cmds.slice(i, i + 100));
    await k.checkpointsSettled();
    const out: { key: string; content: ChunkContent }[] = [];
    let after = 1; // past the key registration: every chunk holds bench events only
    while (out.length < count) {
      const c = nextChunk(k, k.deviceId, after, eventsPerChunk);
      if (!c) break;
      out.push(c);
      after = c.content.events[c.content.events.length - 1]!.deviceSeq;
    }
    return out;
  } finally {
    await k.close();
    await env.remove('sync-load-src');
  }
}

interface Conn { doc: Y.Doc; map: Y.Map<Uint8Array>; conn: RelayConnection }

async function connect(relay: Relay, room: Room, WebSocket: unknown): Promise<Conn> {
  const doc = new Y.Doc();
  const conn = await RelayConnection.open({ relayUrl: relay.url, room, doc, WebSocket });
  return { doc, map: doc.getMap<Uint8Array>(CHUNKS_MAP), conn };
}

/** One load run against `relays` (already started; the caller stops them). */
export async function runLoad(relays: readonly Relay[], WebSocket: unknown, chunks: readonly { key: string; content: ChunkContent }[], o: LoadOptions, log: (m: string) => void,
  redisCpuSeconds?: () => number): Promise<LoadResult> {
  const perRoom = Math.max(1, Math.round(o.perRoomRate * o.seconds));
  if (chunks.length < perRoom) throw new Error(`sync load: ${perRoom} chunks per room needed, ${chunks.length} made`);
  const rss = () => relays.reduce((s, r) => s + r.rss(), 0);
  const listeners = process.getMaxListeners();
  process.setMaxListeners(0); // every WebsocketProvider adds a process 'exit' listener
  const conns: Conn[] = [];
  try {
    await sleep(300);
    const idle = rss();
    // Keys and sealed values per room, made before anything is timed.
    const rooms: { writer: Conn; reader: Conn; values: Uint8Array[]; sentAt: Map<string, number> }[] = [];
    const sealed: { room: Room; values: Uint8Array[] }[] = [];
    for (let r = 0; r < o.rooms; r++) {
      const room = await deriveRoom(newEpochKey());
      const values: Uint8Array[] = [];
      for (let i = 0; i < perRoom; i++) values.push(await sealChunk(room.chunkKeys, chunks[i]!.key, chunks[i]!.content));
      sealed.push({ room, values });
    }
    const t0 = performance.now();
    for (let r = 0; r < o.rooms; r++) {
      const writer = await connect(relays[r % relays.length]!, sealed[r]!.room, WebSocket);
      const reader = await connect(relays[(r + 1) % relays.length]!, sealed[r]!.room, WebSocket);
      conns.push(writer, reader);
      rooms.push({ writer, reader, values: sealed[r]!.values, sentAt: new Map() });
    }
    await until(`${conns.length} clients to sync`, () => conns.every((c) => c.conn.state.kind === 'synced'), 120_000);
    const connectMs = performance.now() - t0;
    await sleep(300);
    const connected = rss();
    log(`  ${o.rooms} rooms, ${conns.length} clients synced in ${Math.round(connectMs)} ms; relay RSS ${(idle / MiB).toFixed(1)} → ${(connected / MiB).toFixed(1)} MiB; sending ${perRoom} chunks per room over ${o.seconds} s`);

    // Warm-up (untimed): a few rooms pass one value each, so the relay's first updates (JIT) are not sampled.
    const warm = rooms.slice(0, 20);
    for (const room of warm) room.writer.doc.transact(() => room.writer.map.set('warm-up', room.values[0]!));
    await until('the warm-up values to arrive', () => warm.every((room) => room.reader.map.has('warm-up')), 30_000);
    const latencies: number[] = [];
    for (const room of rooms) {
      room.reader.map.observe((ev) => {
        const at = performance.now();
        for (const key of ev.keysChanged) {
          const sent = room.sentAt.get(key);
          if (sent !== undefined) latencies.push(at - sent);
        }
      });
    }
    // Room r sends its i-th chunk at (i + r / rooms) / perRoomRate seconds: an even spread.
    const total = perRoom * o.rooms;
    const dueAt = (n: number) => ((Math.floor(n / o.rooms) + (n % o.rooms) / o.rooms) / o.perRoomRate) * 1000;
    const cpu = () => relays.reduce((s, r) => s + r.cpuSeconds(), 0);
    const relayCpu0 = cpu();
    const redisCpu0 = redisCpuSeconds?.() ?? 0;
    const clientCpu0 = process.cpuUsage();
    const start = performance.now();
    let sent = 0;
    while (sent < total) {
      const elapsed = performance.now() - start;
      while (sent < total && dueAt(sent) <= elapsed) {
        const room = rooms[sent % o.rooms]!;
        const i = Math.floor(sent / o.rooms);
        const key = chunks[i]!.key;
        room.sentAt.set(key, performance.now());
        room.writer.doc.transact(() => room.writer.map.set(key, room.values[i]!));
        sent++;
      }
      await sleep(2);
    }
    await until(`${total} chunks to arrive`, () => latencies.length >= total, 60_000);
    const elapsedS = (performance.now() - start) / 1000;
    const clientCpu = process.cpuUsage(clientCpu0);
    const cpuPercent = {
      relays: ((cpu() - relayCpu0) / elapsedS) * 100, clients: ((clientCpu.user + clientCpu.system) / 1e6 / elapsedS) * 100,
      ...(redisCpuSeconds ? { redis: ((redisCpuSeconds() - redisCpu0) / elapsedS) * 100 } : {}),
    };
    await sleep(300);
    const loaded = rss();
    return {
      rooms: o.rooms, relays: relays.length, sent: total, latenciesMs: latencies, achievedRate: total / elapsedS, connectMs,
      rss: { idle, connected, loaded }, chunkBytes: rooms[0]?.values[0]?.length ?? 0, cpuPercent,
    };
  } finally {
    for (const c of conns) {
      c.conn.close();
      c.doc.destroy();
    }
    process.setMaxListeners(listeners);
  }
}

export interface SyncLoadSizes {
  readonly rooms: readonly number[];
  /** The baseline: a lightly loaded relay (this many rooms, same per-room rate). */
  readonly baselineRooms: number;
  readonly perRoomRate: number;
  readonly seconds: number;
  readonly eventsPerChunk: number;
  /** Relays the clients of a room are spread over in `sync.load.<rooms>.*` (1: rooms in files). */
  readonly relays: number;
  /** Rooms of the Redis comparison (`sync.load.redis1/redis2.<rooms>.*`). */
  readonly redisRooms: number;
}

/** Start fresh relays, run one load, stop them (also on failure). */
async function withRelays(count: number, WebSocket: unknown, chunks: Awaited<ReturnType<typeof loadChunks>>, o: LoadOptions, log: (m: string) => void): Promise<LoadResult> {
  const relays = await startRelays(count, { args: LOAD_RELAY_FLAGS });
  try {
    return await runLoad(relays, WebSocket, chunks, o, log);
  } finally {
    await Promise.all(relays.map((r) => r.stop()));
  }
}

/** Start a fresh redis-server and `count` relays with its REDIS_URL, run one load, stop them all. */
async function withRedisRelays(redisPath: string, count: number, WebSocket: unknown, chunks: Awaited<ReturnType<typeof loadChunks>>, o: LoadOptions, log: (m: string) => void): Promise<LoadResult> {
  const redis = await startRedis(redisPath);
  try {
    const relays = await startRelays(count, { args: LOAD_RELAY_FLAGS, env: { REDIS_URL: redis.url } });
    try {
      return await runLoad(relays, WebSocket, chunks, o, log, () => redis.cpuSeconds());
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
  } finally {
    await redis.stop();
  }
}

export async function benchSyncLoad(env: Env, WebSocket: unknown, s: SyncLoadSizes): Promise<Figure[]> {
  const perRoom = Math.max(1, Math.round(s.perRoomRate * s.seconds));
  const chunks = await loadChunks(env, perRoom, s.eventsPerChunk);
  const common = { perRoomRate: s.perRoomRate, seconds: s.seconds, eventsPerChunk: s.eventsPerChunk };
  env.log(`sync load baseline: ${s.baselineRooms} rooms × 2 clients on ${s.relays} relay(s), ${s.perRoomRate} chunk/s per room (${s.eventsPerChunk} events each) for ${s.seconds} s`);
  const base = await withRelays(s.relays, WebSocket, chunks, { rooms: s.baselineRooms, ...common }, env.log);
  const b50 = percentile(base.latenciesMs, 50);
  const b95 = percentile(base.latenciesMs, 95);
  env.log(`  baseline latency p50 ${b50.toFixed(1)} ms, p95 ${b95.toFixed(1)} ms`);
  const out: Figure[] = [];
  for (const rooms of s.rooms) {
    env.log(`sync load: ${rooms} rooms × 2 clients on ${s.relays} relay(s), ${s.perRoomRate} chunk/s per room for ${s.seconds} s (${Math.round(rooms * s.perRoomRate)} chunks/s in all)`);
    const x = await withRelays(s.relays, WebSocket, chunks, { rooms, ...common }, env.log);
    const p50 = percentile(x.latenciesMs, 50);
    const p95 = percentile(x.latenciesMs, 95);
    const perRoomKiB = (x.rss.loaded - x.rss.idle) / rooms / 1024;
    env.log(`  latency p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, p99 ${percentile(x.latenciesMs, 99).toFixed(1)} ms (${x.sent} chunks of ${x.chunkBytes} bytes, ${Math.round(x.achievedRate)}/s); `
      + `relay RSS ${(x.rss.idle / MiB).toFixed(1)} → ${(x.rss.connected / MiB).toFixed(1)} → ${(x.rss.loaded / MiB).toFixed(1)} MiB, ${perRoomKiB.toFixed(0)} KiB per room; `
      + `CPU: relay ${x.cpuPercent.relays.toFixed(0)} %, clients (this process) ${x.cpuPercent.clients.toFixed(0)} % of a core`);
    const extra = {
      rooms, relays: x.relays, clients: rooms * 2, perRoomRate: s.perRoomRate, seconds: s.seconds, eventsPerChunk: s.eventsPerChunk, chunkBytes: x.chunkBytes,
      sent: x.sent, achievedRate: round(x.achievedRate, 1), connectMs: Math.round(x.connectMs),
      cpuPercent: { relays: round(x.cpuPercent.relays, 1), clients: round(x.cpuPercent.clients, 1) },
      latencyMs: { p50: round(p50, 2), p95: round(p95, 2), p99: round(percentile(x.latenciesMs, 99), 2), max: round(Math.max(...x.latenciesMs), 2) },
      baseline: { rooms: s.baselineRooms, p50: round(b50, 2), p95: round(b95, 2), samples: base.sent },
      rssMiB: { idle: round(x.rss.idle / MiB, 1), connected: round(x.rss.connected / MiB, 1), loaded: round(x.rss.loaded / MiB, 1) },
      perRoomKiB: round(perRoomKiB, 1), perRoomConnectedKiB: round((x.rss.connected - x.rss.idle) / rooms / 1024, 1),
    };
    const what = `${rooms} rooms × 2 clients, ${s.perRoomRate} sealed chunk/s per room (${s.eventsPerChunk} events, ${x.chunkBytes} B) for ${s.seconds} s, ${s.relays} relay process(es)`;
    for (const [p, v, bv] of [['p50', p50, b50], ['p95', p95, b95]] as const) {
      out.push(figure({
        id: `sync.load.${rooms}.${p}`, storage: 'relay', title: `sync load: set → observed latency ${p}, ${what}`, unit: 'ms',
        kernel: v, baseline: bv, baselineName: `${p}, ${s.baselineRooms} rooms`, target: null,
        samples: { kernel: [v], baseline: [bv] }, extra,
      }));
    }
    out.push(figure({
      id: `sync.load.${rooms}.rss`, storage: 'relay', title: `sync load: relay resident memory after the updates, ${what} (per room: extra.perRoomKiB)`, unit: 'MiB',
      kernel: x.rss.loaded / MiB, baseline: x.rss.idle / MiB, baselineName: 'the same relay idle', target: null,
      samples: { kernel: [x.rss.loaded / MiB], baseline: [x.rss.idle / MiB] }, extra,
    }));
  }
  return out;
}

/** Latency percentiles and CPU of one load, for `extra`. */
function loadSummary(x: LoadResult): Record<string, unknown> {
  return {
    relays: x.relays, sent: x.sent, achievedRate: round(x.achievedRate, 1), connectMs: Math.round(x.connectMs),
    latencyMs: { p50: round(percentile(x.latenciesMs, 50), 2), p95: round(percentile(x.latenciesMs, 95), 2), p99: round(percentile(x.latenciesMs, 99), 2), max: round(Math.max(...x.latenciesMs), 2) },
    cpuPercent: Object.fromEntries(Object.entries(x.cpuPercent).map(([k, v]) => [k, round(v, 1)])),
  };
}

/**
 * `sync.load.redis1.<rooms>.p50/.p95` and `sync.load.redis2.<rooms>.p50/.p95`: the same workload
 * (rooms × writer + reader, `perRoomRate` sealed chunks a second per room) on one relay with REDIS_URL,
 * and on two relays sharing one redis-server (each room's writer on the first, its reader on the
 * second: every update crosses Redis), each against one relay with rooms in files, same run.
 * Returns no figures and a note when redis-server is not installed.
 */
export async function benchSyncLoadRedis(env: Env, WebSocket: unknown, s: SyncLoadSizes): Promise<{ figures: Figure[]; note: string | null }> {
  const redisPath = redisServerPath();
  if (!redisPath) {
    const note = `sync.load.redis1/redis2 skipped: redis-server is not installed (${process.env['REDIS_SERVER'] ?? '/usr/bin/redis-server'} missing; apt-get install redis-server, or set REDIS_SERVER)`;
    env.log(note);
    return { figures: [], note };
  }
  const perRoom = Math.max(1, Math.round(s.perRoomRate * s.seconds));
  const chunks = await loadChunks(env, perRoom, s.eventsPerChunk);
  const o: LoadOptions = { rooms: s.redisRooms, perRoomRate: s.perRoomRate, seconds: s.seconds, eventsPerChunk: s.eventsPerChunk };
  const what = `${o.rooms} rooms × 2 clients, ${o.perRoomRate} sealed chunk/s per room (${o.eventsPerChunk} events) for ${o.seconds} s`;
  env.log(`sync load over Redis: ${what}; one relay (files), then one relay on Redis, then two relays on one Redis (writer of each room on relay 1, reader on relay 2)`);
  const files = await withRelays(1, WebSocket, chunks, o, env.log);
  const redis1 = await withRedisRelays(redisPath, 1, WebSocket, chunks, o, env.log);
  const redis2 = await withRedisRelays(redisPath, 2, WebSocket, chunks, o, env.log);
  const extra = { rooms: o.rooms, clients: o.rooms * 2, perRoomRate: o.perRoomRate, seconds: o.seconds, eventsPerChunk: o.eventsPerChunk, chunkBytes: files.chunkBytes,
    files: loadSummary(files), redis1: loadSummary(redis1), redis2: loadSummary(redis2) };
  for (const [name, x] of [['one relay, files', files], ['one relay, Redis', redis1], ['two relays, one Redis', redis2]] as const) {
    const c = x.cpuPercent;
    env.log(`  ${name}: latency p50 ${percentile(x.latenciesMs, 50).toFixed(1)} ms, p95 ${percentile(x.latenciesMs, 95).toFixed(1)} ms, p99 ${percentile(x.latenciesMs, 99).toFixed(1)} ms `
      + `(${x.sent} chunks, ${Math.round(x.achievedRate)}/s); CPU relays ${c.relays.toFixed(0)} %${c.redis === undefined ? '' : `, redis-server ${c.redis.toFixed(0)} %`}, clients ${c.clients.toFixed(0)} % of a core`);
  }
  const figures: Figure[] = [];
  for (const [id, x, setup] of [['redis1', redis1, 'one relay on Redis'], ['redis2', redis2, 'two relays on one Redis, writer and reader of each room on different relays']] as const) {
    for (const p of [50, 95] as const) {
      const v = percentile(x.latenciesMs, p);
      const bv = percentile(files.latenciesMs, p);
      figures.push(figure({
        id: `sync.load.${id}.${o.rooms}.p${p}`, storage: 'relay', title: `sync load: set → observed latency p${p}, ${what}, ${setup}`, unit: 'ms',
        kernel: v, baseline: bv, baselineName: `p${p}, one relay (files), same load`, target: null,
        samples: { kernel: [v], baseline: [bv] }, extra,
      }));
    }
  }
  return { figures, note: null };
}
