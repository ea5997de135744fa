/**
 * The `sync` group of `npm run bench` (Node only): device sync through a real relay process.
 *
 *  - `sync.transfer` / `sync.join` (lib/sync-transfer.ts): 10,000 events from device A to device
 *    B through the relay, applied and projected, vs a raw y-websocket transfer of the same entries;
 *    and a fresh device joining the room afterwards, vs a plain client joining it. Node memory with
 *    the SyncClient's defaults (the ≤ 0.5 s target), two other chunk/ingest sizes (info), and the
 *    Node file VFS (info).
 *  - `sync.load.<rooms>.*` (lib/sync-load.ts): rooms held at a steady rate of sealed chunks on one
 *    relay: latency p50/p95 vs a lightly loaded relay, resident memory and memory per room.
 *
 * Returns the figures and a few readable lines for the end of the report (where the time goes).
 */
import { join } from 'node:path';
import type { Env, Figure } from './scenarios.ts';
import { loadWebSocket, startRelay } from './relay.ts';
import { benchSyncTransfer, type TransferOptions } from './sync-transfer.ts';
import { benchSyncLoad, benchSyncLoadRedis, type SyncLoadSizes } from './sync-load.ts';

/** The brief's target for `sync.transfer` (default options, Node memory). */
export const SYNC_TRANSFER_TARGET_MS = 500;

export interface SyncSizes {
  readonly events: number;
  readonly reps: number;
  /** Other SyncClient options tried (informational figures, `variantReps` each). */
  readonly variants: readonly { readonly chunkEvents?: number; readonly ingestEvents?: number }[];
  readonly variantReps: number;
  readonly fileReps: number;
  readonly load: SyncLoadSizes;
}

export function syncSizes(quick: boolean): SyncSizes {
  return quick
    ? {
      events: 2_000, reps: 1, variants: [], variantReps: 0, fileReps: 1,
      load: { rooms: [20], baselineRooms: 5, perRoomRate: 1, seconds: 3, eventsPerChunk: 10, relays: 1, redisRooms: 20 },
    }
    : {
      events: 10_000, reps: 3, variants: [{ chunkEvents: 100 }, { chunkEvents: 1_000, ingestEvents: 10_000 }], variantReps: 2, fileReps: 2,
      load: { rooms: [100, 500], baselineRooms: 10, perRoomRate: 1, seconds: 10, eventsPerChunk: 10, relays: 1, redisRooms: 100 },
    };
}

const variantId = (v: { chunkEvents?: number; ingestEvents?: number }) =>
  `${v.chunkEvents ? `.chunk${v.chunkEvents}` : ''}${v.ingestEvents ? `.ingest${v.ingestEvents}` : ''}`;

export async function benchSync(mem: Env, file: Env, quick: boolean, options: { profileDir?: string } = {}): Promise<{ figures: Figure[]; summary: string[] }> {
  const WebSocket = loadWebSocket();
  const s = syncSizes(quick);
  const figures: Figure[] = [];
  mem.log('sync: starting a relay process (127.0.0.1, free port, temp data dir, default limits)');
  const relay = await startRelay();
  try {
    const base: Omit<TransferOptions, 'id' | 'targetMs' | 'reps'> = { events: s.events };
    figures.push(...(await benchSyncTransfer(mem, relay.url, WebSocket, {
      ...base, reps: s.reps, id: '', targetMs: SYNC_TRANSFER_TARGET_MS,
      ...(options.profileDir ? { profile: join(options.profileDir, 'sync-transfer.cpuprofile') } : {}),
    })));
    for (const v of s.variants) figures.push(...(await benchSyncTransfer(mem, relay.url, WebSocket, { ...base, ...v, reps: s.variantReps, id: variantId(v), targetMs: null })));
    figures.push(...(await benchSyncTransfer(file, relay.url, WebSocket, { ...base, reps: s.fileReps, id: '', targetMs: null })));
  } finally {
    await relay.stop();
  }
  figures.push(...(await benchSyncLoad(mem, WebSocket, s.load)));
  const redis = await benchSyncLoadRedis(mem, WebSocket, s.load);
  figures.push(...redis.figures);
  return { figures, summary: [...summary(figures), ...(redis.note ? [redis.note] : [])] };
}

const ms = (x: unknown) => `${Math.round(Number(x))} ms`;

/** Where the transfer's time goes, and memory per room, as lines under the table. */
function summary(figures: readonly Figure[]): string[] {
  const out: string[] = [];
  for (const f of figures) {
    const e = f.extra ?? {};
    if (f.id.startsWith('sync.transfer')) {
      out.push(`${f.id} (${f.storage}, ${String(e['chunkEvents'] ?? 'default')} events/chunk, ingest ${String(e['ingestEvents'] ?? 'default')}): ${ms(f.kernel)} end to end (${ms(e['cpuMs'])} CPU in the bench process), ${f.ratio.toFixed(1)}× the raw transfer (${ms(f.baseline)}); `
        + `A's last chunk written at ${ms(e['publishedMs'])}, in B's doc at ${ms(e['receivedMs'])}, applied at ${ms(f.kernel)}. `
        + `Work inside (one thread for both devices): A exportChain ${ms(e['exportMs'])}, seal ${ms(e['sealAloneMs'])}, B open ${ms(e['openAloneMs'])}, B kernel.ingest ${ms(e['ingestMs'])} in ${String(e['ingestCalls'])} calls.`);
    } else if (f.id.startsWith('sync.join')) {
      out.push(`${f.id} (${f.storage}): a fresh device joins in ${ms(f.kernel)} (kernel.ingest ${ms(e['ingestMs'])} in ${String(e['ingestCalls'])} calls, ${String(e['reorderedCalls'])} of them reordered), a plain client in ${ms(f.baseline)}.`);
    } else if (f.id.startsWith('sync.load.redis') && f.id.endsWith('.p95')) {
      const r = (k: string) => e[k] as { latencyMs: Record<string, number>; cpuPercent: Record<string, number> };
      const line = (name: string, k: string) => `${name} p50 ${r(k).latencyMs['p50']} / p95 ${r(k).latencyMs['p95']} ms (CPU relays ${r(k).cpuPercent['relays']} %${r(k).cpuPercent['redis'] === undefined ? '' : `, redis-server ${r(k).cpuPercent['redis']} %`})`;
      if (f.id.startsWith('sync.load.redis2')) {
        out.push(`sync.load.redis (${String(e['rooms'])} rooms, ${String(e['clients'])} clients, ${String(e['perRoomRate'])} chunk/s per room): ${line('one relay (files)', 'files')}; ${line('one relay on Redis', 'redis1')}; `
          + `${line('two relays on one Redis, writer and reader on different relays', 'redis2')}.`);
      }
    } else if (f.id.endsWith('.rss')) {
      const l = e['latencyMs'] as Record<string, number>;
      const r = e['rssMiB'] as Record<string, number>;
      const c = e['cpuPercent'] as Record<string, number>;
      out.push(`sync.load.${String(e['rooms'])} (${String(e['clients'])} clients, ${String(e['achievedRate'])} chunks/s of ${String(e['chunkBytes'])} B): latency p50 ${l['p50']} / p95 ${l['p95']} / p99 ${l['p99']} ms; `
        + `relay RSS ${r['idle']} → ${r['connected']} (connected) → ${r['loaded']} MiB (after the updates): ${String(e['perRoomConnectedKiB'])} KiB per connected room, ${String(e['perRoomKiB'])} KiB per room after the updates; CPU relay ${c['relays']} %, clients ${c['clients']} % of a core.`);
    }
  }
  return out;
}
