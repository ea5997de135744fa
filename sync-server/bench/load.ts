/**
 * A small load check of the real relay (docs/relay.md, "What is measured"):
 * N rooms, each with a writer and a reader (real y-websocket clients, one process), a steady
 * total rate of chunk updates spread over the rooms, then: propagation latency (writer set ->
 * reader observed, which includes the relay's fdatasync), the relay's CPU, its resident memory
 * per room, bytes on disk, and the cold load time of one large room after a restart.
 *
 *   npm --prefix sync-server run load -- [--rooms 100] [--rate 200] [--seconds 20] [--bytes 2048] [--big 20000]
 *
 * Everything runs on 127.0.0.1; the relay is killed by PID at the end. All clients share one
 * address, so the per-address limits are raised for the run (flags below); per-token limits are
 * the defaults.
 */
import { du } from './du.ts';
import { cpuSeconds, latencySummary, paceWrites, rssBytes } from './proc.ts';
import { chunkBytes, type Client, connectClient, health, makeToken, newRoomId, newRoomKey, removeDir, sleep, startRelay, tempDir, waitFor } from '../test/helpers.ts';

const args = new Map<string, number>();
for (let i = 2; i < process.argv.length; i += 2) args.set((process.argv[i] ?? '').replace(/^--/, ''), Number(process.argv[i + 1]));
const ROOMS = args.get('rooms') ?? 100;
const RATE = args.get('rate') ?? 200; // chunk updates per second, all rooms together
const SECONDS = args.get('seconds') ?? 20;
const BYTES = args.get('bytes') ?? 2048; // one chunk value
const BIG = args.get('big') ?? 20_000; // chunks in the large room for the cold-load figure

const RELAY_FLAGS = ['--rate-connects', '100000', '--rate-addr-messages', '1000000', '--rate-addr-burst', '1000000', '--rate-addr-bytes', String(1024 ** 3)];

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

async function main(): Promise<void> {
  process.setMaxListeners(0); // each WebsocketProvider adds a process 'exit' listener
  const dataDir = await tempDir();
  let relay = await startRelay({ dataDir, args: RELAY_FLAGS });
  const clients: Client[] = [];
  try {
    await sleep(500);
    const idleRss = await rssBytes(relay.pid);
    const key = await newRoomKey();
    const rooms: { id: string; writer: Client; reader: Client }[] = [];
    const t0 = Date.now();
    for (let i = 0; i < ROOMS; i++) {
      const id = newRoomId();
      const token = await makeToken(key, id);
      const writer = connectClient(relay, id, token);
      const reader = connectClient(relay, id, token);
      clients.push(writer, reader);
      rooms.push({ id, writer, reader });
    }
    await Promise.all(clients.map((c) => c.synced(60_000)));
    const connectMs = Date.now() - t0;
    const h = await health(relay);
    await sleep(500);
    const connectedRss = await rssBytes(relay.pid);

    const cpu0 = await cpuSeconds(relay.pid);
    const { total, elapsed, sorted } = await paceWrites(rooms, RATE, SECONDS, BYTES);
    const cpu = (await cpuSeconds(relay.pid)) - cpu0;
    const loadedRss = await rssBytes(relay.pid);
    const disk = await du(`${dataDir}/rooms`);

    // Cold load of one large room: BIG chunks written by one client, relay restarted.
    const bigId = newRoomId();
    const bigToken = await makeToken(key, bigId);
    const filler = connectClient(relay, bigId, bigToken);
    clients.push(filler);
    await filler.synced();
    for (let i = 0; i < BIG; i += 500) {
      filler.doc.transact(() => {
        for (let j = i; j < Math.min(BIG, i + 500); j++) filler.chunks.set(`big/${j + 1}-${j + 1}`, chunkBytes(j, 200));
      });
      await sleep(20);
    }
    const probe = connectClient(relay, bigId, bigToken);
    clients.push(probe);
    await waitFor(() => probe.chunks.size === BIG, 120_000, 'the large room to fill');
    for (const c of clients) c.destroy();
    clients.length = 0;
    relay.kill('SIGTERM');
    await relay.exited;
    relay = await startRelay({ dataDir, args: RELAY_FLAGS });
    const coldStart = performance.now();
    const cold = connectClient(relay, bigId, bigToken);
    clients.push(cold);
    await waitFor(() => cold.chunks.size === BIG, 120_000, 'the large room after restart');
    const coldMs = performance.now() - coldStart;
    const loadLine = relay.lines.find((l) => l.event === 'room.loaded');

    const result = {
      rooms: ROOMS,
      clients: ROOMS * 2,
      connectAndSyncMs: connectMs,
      healthAfterConnect: { rooms: h.rooms, connections: h.connections },
      updates: total,
      rateTarget: RATE,
      rateAchieved: Math.round(total / elapsed),
      chunkBytes: BYTES,
      latencyMs: latencySummary(sorted),
      relayCpuPercent: +((cpu / elapsed) * 100).toFixed(1),
      relayRss: {
        idle: mib(idleRss),
        connected: mib(connectedRss),
        afterUpdates: mib(loadedRss),
        perEmptyRoomWith2ConnectionsKiB: +((connectedRss - idleRss) / ROOMS / 1024).toFixed(1),
        perRoomAfterUpdatesKiB: +((loadedRss - idleRss) / ROOMS / 1024).toFixed(1),
      },
      diskBytes: disk,
      storedPerRoomKiB: +(disk / ROOMS / 1024).toFixed(1),
      bigRoom: { chunks: BIG, logBytes: loadLine?.details?.bytes, loadMs: loadLine?.details?.ms, clientSyncedMs: Math.round(coldMs) },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const c of clients) c.destroy();
    relay.kill();
    await removeDir(dataDir);
  }
}

await main();
