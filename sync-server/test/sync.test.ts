/**
 * Two y-websocket clients converge through the real relay; rooms load and unload with their
 * connections; /healthz counts rooms and connections.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { test } from 'node:test';
import { chunkBytes, chunkUpdate, type Client, connectClient, health, logPath, makeToken, newRoomId, newRoomKey, rawClient, removeDir, sleep, startRelay, syncUpdateMessage, waitFor } from './helpers.ts';

test('two clients of one room converge on the same chunks, byte for byte', async () => {
  const relay = await startRelay();
  const roomId = newRoomId();
  const key = await newRoomKey();
  const a = connectClient(relay, roomId, await makeToken(key, roomId));
  const b = connectClient(relay, roomId, await makeToken(key, roomId));
  try {
    await Promise.all([a.synced(), b.synced()]);
    for (let i = 0; i < 20; i++) a.chunks.set(`devA/${i * 10 + 1}-${i * 10 + 10}`, chunkBytes(i));
    for (let i = 0; i < 20; i++) b.chunks.set(`devB/${i * 10 + 1}-${i * 10 + 10}`, chunkBytes(100 + i));
    await waitFor(() => a.chunks.size === 40 && b.chunks.size === 40, 10_000, 'both clients to hold 40 chunks');
    for (const [k, v] of a.chunks) assert.deepEqual(b.chunks.get(k), v, `chunk ${k} differs`);
    assert.deepEqual(b.chunks.get('devA/1-10'), chunkBytes(0));
    assert.ok(b.chunks.get('devA/1-10') instanceof Uint8Array);
  } finally {
    a.destroy();
    b.destroy();
    relay.kill();
    await removeDir(relay.dataDir);
  }
});

test('a room unloads when its last client leaves and reloads from disk for the next one', async () => {
  const relay = await startRelay();
  const roomId = newRoomId();
  const key = await newRoomKey();
  const a = connectClient(relay, roomId, await makeToken(key, roomId));
  let c: Client | undefined;
  try {
    await a.synced();
    a.chunks.set('devA/1-5', chunkBytes(7, 5000));
    await waitFor(async () => (await health(relay)).rooms === 1, 5000, 'one room loaded');
    // The write is durable before the relay echoes anything; leaving unloads the room.
    a.destroy();
    await waitFor(() => relay.lines.some((l) => l.event === 'room.unloaded'), 10_000, 'room.unloaded');
    assert.equal((await health(relay)).rooms, 0);
    const logBytes = (await stat(logPath(relay.dataDir, roomId))).size;
    c = connectClient(relay, roomId, await makeToken(key, roomId));
    await c.synced();
    await waitFor(() => c?.chunks.size === 1, 5000, 'the reloaded chunk');
    assert.deepEqual(c.chunks.get('devA/1-5'), chunkBytes(7, 5000));
    const loads = relay.lines.filter((l) => l.event === 'room.loaded');
    assert.equal(loads.length, 2, 'loaded twice: once new, once from its log');
    assert.equal(loads[1]?.details?.records, 1);
    // Replaying the log into the doc appends nothing: the log only grows by new updates.
    await sleep(200);
    assert.equal((await stat(logPath(relay.dataDir, roomId))).size, logBytes);
  } finally {
    a.destroy();
    c?.destroy();
    relay.kill();
    await removeDir(relay.dataDir);
  }
});

test('/healthz counts rooms and connections, and logs never carry a token or a full room id', async () => {
  const relay = await startRelay();
  const rooms = [newRoomId(), newRoomId()];
  const key = await newRoomKey();
  const tokens = await Promise.all(rooms.map((r) => makeToken(key, r)));
  const clients = [connectClient(relay, rooms[0] as string, tokens[0] as string), connectClient(relay, rooms[0] as string, tokens[0] as string), connectClient(relay, rooms[1] as string, tokens[1] as string)];
  try {
    await Promise.all(clients.map((c) => c.synced()));
    const h = await health(relay);
    assert.equal(h.ok, true);
    assert.equal(h.rooms, 2);
    assert.equal(h.connections, 3);
    assert.ok(h.uptimeMs >= 0);
    assert.deepEqual(h.refused, { auth: 0, size: 0, rate: 0, malformed: 0 });
    for (const c of clients) c.destroy();
    await waitFor(async () => {
      const now = await health(relay);
      return now.connections === 0 && now.rooms === 0;
    }, 10_000, 'no connections and no rooms after the clients left');
    const out = relay.stdout();
    for (const t of tokens) {
      assert.ok(!out.includes(t), 'a token was logged');
      assert.ok(!out.includes(t.split('.')[3] as string), 'a token signature was logged');
    }
    for (const r of rooms) assert.ok(!out.includes(r), 'a full room id was logged');
    assert.ok(relay.lines.some((l) => l.event === 'conn.opened' && l.room === rooms[0]?.slice(0, 8)));
    for (const l of relay.lines) {
      assert.equal(typeof l.ts, 'string');
      assert.ok(['info', 'warn', 'error'].includes(l.level));
    }
  } finally {
    for (const c of clients) c.destroy();
    relay.kill();
    await removeDir(relay.dataDir);
  }
});

test('clients joining and leaving a room in quick succession lose nothing (load, unload and reload race)', async () => {
  const relay = await startRelay({ args: ['--rate-connects', '1000'] });
  const roomId = newRoomId();
  const key = await newRoomKey();
  let c: Client | undefined;
  try {
    const token = await makeToken(key, roomId);
    const expected = new Map<string, Uint8Array>();
    let n = 0;
    // Each round: a few raw clients open at once, each sends one chunk and closes at once, so
    // the room is loaded, written, unloaded and reloaded while earlier closes still flush.
    for (let round = 0; round < 15; round++) {
      const width = 1 + (round % 3);
      await Promise.all(
        Array.from({ length: width }, async () => {
          const i = n++;
          const k = `dev${i}/1-1`;
          expected.set(k, chunkBytes(i, 500));
          const raw = await rawClient(relay, roomId, token);
          raw.ws.send(syncUpdateMessage(chunkUpdate(k, chunkBytes(i, 500))));
          raw.ws.close();
          await raw.closed();
        }),
      );
    }
    await waitFor(async () => (await health(relay)).rooms === 0, 10_000, 'the room to unload');
    c = connectClient(relay, roomId, token);
    await c.synced();
    await waitFor(() => c?.chunks.size === expected.size, 5000, `${expected.size} chunks`);
    for (const [k, v] of expected) assert.deepEqual(c.chunks.get(k), v, k);
    assert.deepEqual(relay.lines.filter((l) => l.level !== 'info'), [], 'warnings or errors were logged');
  } finally {
    c?.destroy();
    relay.kill();
    await removeDir(relay.dataDir);
  }
});
