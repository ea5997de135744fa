/**
 * A small load check of the scale-out (docs/relay.md, "Several relays: Redis"): the same load
 * on three setups, one after the other, each on a fresh relay (and a fresh redis-server):
 *
 *   files      one relay, rooms in files (the fdatasync barrier)
 *   redis-1    one relay on Redis (the XADD barrier)
 *   redis-2    two relays on one Redis; each room's writer on relay A, its reader on relay B
 *
 * N rooms with a writer and a reader each (real y-websocket clients in this process), U chunk
 * updates per second spread over the rooms for S seconds; reported: latency from the writer's
 * `set` to the reader's observer (p50/p95/p99/max), the CPU of each relay and of redis-server.
 *
 *   npm --prefix sync-server run load:redis -- [--rooms 200] [--rate 500] [--seconds 15] [--bytes 2048]
 *
 * Everything binds 127.0.0.1 and is killed by PID at the end; redis-server runs with
 * `--save "" --appendonly no` (so Redis here acknowledges from memory: see the doc for fsync).
 */
import { type Client, connectClient, makeToken, newRoomId, newRoomKey, type RelayProcess, removeDir, sleep, startRelay } from '../test/helpers.ts';
import { startRedis } from '../test/redis-helpers.ts';
import { cpuSeconds, latencySummary, paceWrites } from './proc.ts';

const args = new Map<string, number>();
for (let i = 2; i < process.argv.length; i += 2) args.set((process.argv[i] ?? '').replace(/^--/, ''), Number(process.argv[i + 1]));
const ROOMS = args.get('rooms') ?? 200;
const RATE = args.get('rate') ?? 500;
const SECONDS = args.get('seconds') ?? 15;
const BYTES = args.get('bytes') ?? 2048;

const RELAY_FLAGS = ['--rate-connects', '100000', '--rate-addr-messages', '1000000', '--rate-addr-burst', '1000000', '--rate-addr-bytes', String(1024 ** 3)];

type Setup = 'files' | 'redis-1' | 'redis-2';

async function run(setup: Setup): Promise<Record<string, unknown>> {
  const redis = setup === 'files' ? null : await startRedis();
  const env: Record<string, string> = redis === null ? {} : { REDIS_URL: redis.url };
  const relays: RelayProcess[] = [];
  const clients: Client[] = [];
  try {
    relays.push(await startRelay({ args: RELAY_FLAGS, env }));
    if (setup === 'redis-2') relays.push(await startRelay({ args: RELAY_FLAGS, env }));
    const [writerRelay, readerRelay] = [relays[0] as RelayProcess, relays.at(-1) as RelayProcess];
    const key = await newRoomKey();
    const rooms: { writer: Client; reader: Client }[] = [];
    const t0 = Date.now();
    for (let i = 0; i < ROOMS; i++) {
      const id = newRoomId();
      const token = await makeToken(key, id);
      const writer = connectClient(writerRelay, id, token);
      const reader = connectClient(readerRelay, id, token);
      clients.push(writer, reader);
      rooms.push({ writer, reader });
    }
    await Promise.all(clients.map((c) => c.synced(60_000)));
    const connectMs = Date.now() - t0;
    await sleep(500);
    const pids = [...relays.map((r) => r.pid), ...(redis === null ? [] : [redis.pid])];
    const cpu0 = await Promise.all(pids.map(cpuSeconds));
    const { total, elapsed, sorted } = await paceWrites(rooms, RATE, SECONDS, BYTES);
    const cpu1 = await Promise.all(pids.map(cpuSeconds));
    const cpuPercent = pids.map((_, i) => +((((cpu1[i] ?? 0) - (cpu0[i] ?? 0)) / elapsed) * 100).toFixed(1));
    return {
      setup,
      rooms: ROOMS,
      clients: ROOMS * 2,
      connectAndSyncMs: connectMs,
      updates: total,
      rateAchieved: Math.round(total / elapsed),
      chunkBytes: BYTES,
      latencyMs: latencySummary(sorted),
      cpuPercentOfACore: { relays: cpuPercent.slice(0, relays.length), redis: redis === null ? null : cpuPercent.at(-1) },
    };
  } finally {
    for (const c of clients) c.destroy();
    for (const r of relays) {
      r.kill();
      await removeDir(r.dataDir);
    }
    await redis?.kill();
  }
}

process.setMaxListeners(0); // each WebsocketProvider adds a process 'exit' listener
const wanted = process.env.SETUPS?.split(',') ?? ['files', 'redis-1', 'redis-2'];
for (const setup of wanted as Setup[]) process.stdout.write(`${JSON.stringify(await run(setup))}\n`);
