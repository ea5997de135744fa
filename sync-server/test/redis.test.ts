/**
 * Scale-out through Redis (docs/relay.md, "Several relays: Redis"): a real redis-server
 * (test/redis-helpers.ts) and two or three real relay processes with the same REDIS_URL and
 * their own data directories and ports; real y-websocket clients on each.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  chunkBytes,
  chunkUpdate,
  type Client,
  connectClient,
  health,
  makeToken,
  newRoomId,
  newRoomKey,
  rawClient,
  type RelayProcess,
  removeDir,
  type RoomKey,
  roomFiles,
  startRelay,
  syncUpdateMessage,
  upgradeStatus,
  waitFor,
} from './helpers.ts';
import { type RedisServer, redisClient, startRedis } from './redis-helpers.ts';

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.kill();
});

const FLAGS = ['--rate-connects', '1000'];

/** Starts `n` relays on `url`; stops (SIGKILL by PID) and cleans them up after `body`. */
async function withRelays(n: number, body: (relays: RelayProcess[]) => Promise<void>, args: string[] = [], url = redis.url): Promise<void> {
  const relays: RelayProcess[] = [];
  try {
    for (let i = 0; i < n; i++) relays.push(await startRelay({ args: [...FLAGS, ...args], env: { REDIS_URL: url } }));
    await body(relays);
  } finally {
    for (const r of relays) {
      r.kill();
      await removeDir(r.dataDir);
    }
  }
}

interface Room {
  readonly roomId: string;
  readonly key: RoomKey;
  /** A client of this room on `relay`, synced; destroyed after the body. */
  connect(relay: RelayProcess): Promise<Client>;
}

/** A fresh room and its key for `body`; every client it connected is destroyed afterwards. */
async function inRoom(body: (room: Room) => Promise<void>): Promise<void> {
  const roomId = newRoomId();
  const key = await newRoomKey();
  const clients: Client[] = [];
  try {
    await body({
      roomId,
      key,
      connect: async (relay) => {
        const client = connectClient(relay, roomId, await makeToken(key, roomId));
        clients.push(client);
        await client.synced();
        return client;
      },
    });
  } finally {
    for (const c of clients) c.destroy();
  }
}

/** Writes chunks `<dev>/<i>-<i>` (i = from+1 … from+count) on `client`, recording them in `expected`. */
function writeChunks(client: Client, dev: string, count: number, expected: Map<string, Uint8Array>, from = 0): void {
  for (let i = from; i < from + count; i++) {
    const k = `${dev}/${i + 1}-${i + 1}`;
    expected.set(k, chunkBytes(i));
    client.chunks.set(k, chunkBytes(i));
  }
}

async function hasChunks(client: Client, expected: Map<string, Uint8Array>, what: string): Promise<void> {
  await client.synced();
  await waitFor(() => client.chunks.size >= expected.size, 10_000, `${expected.size} chunks on ${what} (have ${client.chunks.size})`);
  for (const [k, v] of expected) assert.deepEqual(client.chunks.get(k), v, `chunk ${k} on ${what}`);
}

test('clients on two relays converge; later clients on either relay get everything; Redis holds no room id', async () => {
  await withRelays(2, async ([A, B]) => {
    if (A === undefined || B === undefined) throw new Error('two relays');
    await inRoom(async ({ roomId, connect }) => {
      const [a, b] = [await connect(A), await connect(B)];
      const expected = new Map<string, Uint8Array>();
      writeChunks(a, 'devA', 20, expected);
      writeChunks(b, 'devB', 20, expected, 100);
      await hasChunks(a, expected, 'a (relay A)');
      await hasChunks(b, expected, 'b (relay B)');
      await hasChunks(await connect(B), expected, 'c (joined relay B later)');
      await hasChunks(await connect(A), expected, 'd (joined relay A later)');
      for (const r of [A, B]) {
        const h = await health(r);
        assert.equal(h.ok, true);
        assert.equal(h.redis, 'up');
        assert.deepEqual(await roomFiles(r.dataDir, roomId), [], 'a relay on Redis wrote room files');
        assert.ok(r.lines.some((l) => l.event === 'relay.started' && l.details?.storage === 'redis'));
      }
      const look = redisClient(redis.url);
      try {
        const keys = await look.keys('*');
        assert.ok(keys.length > 0, 'nothing in Redis');
        for (const k of keys) assert.ok(!k.includes(roomId) && !k.includes(roomId.slice(0, 16)), `a Redis key names the room: ${k}`);
      } finally {
        look.disconnect();
      }
    });
  });
});

// A client on the killed relay itself witnesses too: with a 150 ms flush window, forwarding
// before Redis acknowledged the XADDs would hand it chunks that die with the relay.
for (const window of [0, 150]) {
  test(`SIGKILL of one relay mid-stream (flush window ${window} ms) loses nothing a client saw; the restarted relay serves everything`, async () => {
    await withRelays(
      2,
      async ([A, B]) => {
        if (A === undefined || B === undefined) throw new Error('two relays');
        let again: RelayProcess | null = null;
        await inRoom(async ({ connect }) => {
          const [a, a2, b] = [await connect(A), await connect(A), await connect(B)];
          const seen = new Map<string, Uint8Array>();
          for (const witness of [a2, b]) {
            witness.chunks.observe((event) => {
              for (const k of event.keysChanged) seen.set(k, witness.chunks.get(k) as Uint8Array);
            });
          }
          for (let i = 0; i < 300; i++) a.chunks.set(`devA/${i + 1}-${i + 1}`, chunkBytes(i, 256));
          await waitFor(() => seen.size >= 150, 10_000, 'the witnesses to see 150 chunks written on relay A');
          A.kill('SIGKILL');
          const witnessed = new Map(seen);
          assert.equal((await A.exited).signal, 'SIGKILL');
          a.destroy();
          a2.destroy();
          again = await startRelay({ dataDir: A.dataDir, args: [...FLAGS, '--flush-window-ms', String(window)], env: { REDIS_URL: redis.url } });
          const c = await connect(again);
          await hasChunks(c, witnessed, 'c (restarted relay A)');
          // b, on B all along, converges with c.
          c.chunks.set('devC/1-1', chunkBytes(999));
          await waitFor(() => b.chunks.get('devC/1-1') !== undefined, 10_000, "c's chunk on b");
        }).finally(() => again?.kill());
      },
      ['--flush-window-ms', String(window)],
    );
  });
}

test('key pins are shared: a key other than the pinned one is refused by the other relay; racing first tokens pin one key', async () => {
  await withRelays(2, async ([A, B]) => {
    if (A === undefined || B === undefined) throw new Error('two relays');
    const roomId = newRoomId();
    const [k1, k2] = [await newRoomKey(), await newRoomKey()];
    assert.equal(await upgradeStatus(A, `/${roomId}?token=${await makeToken(k1, roomId)}`), 101);
    assert.equal(await upgradeStatus(B, `/${roomId}?token=${await makeToken(k2, roomId)}`), 401);
    assert.equal(await upgradeStatus(B, `/${roomId}?token=${await makeToken(k1, roomId)}`), 101);
    assert.ok(B.lines.some((l) => l.event === 'refused.auth' && l.details?.reason === 'key_not_pinned'));
    assert.equal((await health(B)).refused.auth, 1);
    for (let round = 0; round < 5; round++) {
      const raced = newRoomId();
      const [t1, t2] = [await makeToken(k1, raced), await makeToken(k2, raced)];
      const statuses: number[] = await Promise.all([upgradeStatus(A, `/${raced}?token=${t1}`), upgradeStatus(B, `/${raced}?token=${t2}`)]);
      assert.deepEqual([...statuses].sort(), [101, 401], `round ${round}: ${statuses.join(', ')}`);
      const winner = statuses[0] === 101 ? t1 : t2;
      assert.equal(await upgradeStatus(statuses[0] === 101 ? B : A, `/${raced}?token=${winner}`), 101, 'the winner is pinned on both relays');
    }
  });
});

test('the room-size limit counts what every relay stored', async () => {
  await withRelays(
    2,
    async ([A, B]) => {
      if (A === undefined || B === undefined) throw new Error('two relays');
      await inRoom(async ({ roomId, key, connect }) => {
        const [a, b] = [await connect(A), await connect(B)];
        a.chunks.set('devA/1-1', chunkBytes(1, 12_000));
        await waitFor(() => b.chunks.size === 1, 10_000, 'a\'s chunk on b');
        b.chunks.set('devB/1-1', chunkBytes(2, 12_000));
        await waitFor(() => a.chunks.size === 2, 10_000, 'b\'s chunk on a');
        // 24 KB stored, half through each relay: 12 KB more passes the 30 KB limit on either.
        for (const r of [A, B]) {
          const raw = await rawClient(r, roomId, await makeToken(key, roomId));
          raw.ws.send(syncUpdateMessage(chunkUpdate(`raw/${r.port}`, chunkBytes(3, 12_000))));
          assert.deepEqual(await raw.closed(), { code: 1008, reason: 'room_full' });
        }
      });
    },
    ['--max-room-bytes', '30000'],
  );
});

test('compaction merges the stream into a snapshot and trims it, without losing an update on any relay', async () => {
  await withRelays(
    3,
    async ([A, B, C]) => {
      if (A === undefined || B === undefined || C === undefined) throw new Error('three relays');
      await inRoom(async ({ connect }) => {
        const [a, b] = [await connect(A), await connect(B)];
        const expected = new Map<string, Uint8Array>();
        for (let i = 0; i < 120; i += 10) {
          // Ten at a time, alternating relays, with a pause: many batches, many stream entries.
          writeChunks(a, 'devA', 5, expected, i);
          writeChunks(b, 'devB', 5, expected, i + 5);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await hasChunks(a, expected, 'a (relay A)');
        await hasChunks(b, expected, 'b (relay B)');
        await waitFor(() => [A, B].some((r) => r.lines.some((l) => l.event === 'room.compacted')), 10_000, 'a compaction');
        await hasChunks(await connect(C), expected, 'c (relay C, loaded after compactions)');
        const loaded = C.lines.find((l) => l.event === 'room.loaded');
        assert.ok((loaded?.details?.records as number) < 60, `the load read ${String(loaded?.details?.records)} records: the stream was not trimmed`);
        assert.deepEqual([A, B, C].flatMap((r) => r.lines.filter((l) => l.level !== 'info')), [], 'warnings or errors were logged');
      });
    },
    ['--redis-compact-entries', '20'],
  );
});

test('Redis going away: /healthz 503 with redis down, clients closed with 1011, upgrades 503; back up, clients reconnect and resync', async () => {
  const own = await startRedis();
  let server: RedisServer | null = own;
  try {
    await withRelays(
      2,
      async ([A, B]) => {
        if (A === undefined || B === undefined) throw new Error('two relays');
        await inRoom(async ({ roomId, key, connect }) => {
          const [a, b] = [await connect(A), await connect(B)];
          const expected = new Map<string, Uint8Array>();
          writeChunks(a, 'devA', 10, expected);
          await hasChunks(b, expected, 'b before the outage');

          await own.kill();
          server = null;
          for (const r of [A, B]) {
            await waitFor(() => r.lines.some((l) => l.event === 'redis.down'), 10_000, 'a redis.down line');
            const res = await fetch(`http://127.0.0.1:${r.port}/healthz`);
            assert.equal(res.status, 503);
            const body = (await res.json()) as { ok: boolean; redis: string };
            assert.deepEqual([body.ok, body.redis], [false, 'down']);
            assert.equal(await upgradeStatus(r, `/${roomId}?token=${await makeToken(key, roomId)}`), 503);
          }
          await waitFor(() => a.closes.some((c) => c.code === 1011) && b.closes.some((c) => c.code === 1011), 10_000, '1011 closes on both clients');

          // The same port, empty (no persistence): the clients hold everything and sync it back.
          server = await startRedis(own.port);
          for (const r of [A, B]) {
            await waitFor(async () => (await health(r)).ok, 15_000, 'healthz ok again');
            assert.ok(r.lines.some((l) => l.event === 'redis.up'));
          }
          await Promise.all([a.synced(15_000), b.synced(15_000)]);
          a.chunks.set('devA/11-11', chunkBytes(11));
          expected.set('devA/11-11', chunkBytes(11));
          await hasChunks(b, expected, 'b after the outage');
          await hasChunks(await connect(B), expected, 'c (joined after the outage)');
        });
      },
      [],
      own.url,
    );
  } finally {
    await (server as RedisServer | null)?.kill();
  }
});
