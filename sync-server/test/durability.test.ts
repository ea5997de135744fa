/**
 * Rooms survive the relay: a graceful stop (SIGTERM: exit 0, sockets closed with 1001, files
 * flushed), a kill (SIGKILL: whatever a client received from the relay is on disk), and a torn
 * last record (a crash mid-append: cut off at load, kept aside, the rest served).
 */
import assert from 'node:assert/strict';
import { appendFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  chunkBytes,
  type Client,
  connectClient,
  logPath,
  makeToken,
  newRoomId,
  newRoomKey,
  type RelayProcess,
  removeDir,
  roomFiles,
  startRelay,
  tempDir,
  waitFor,
} from './helpers.ts';

async function assertHasChunks(client: Client, keys: Map<string, Uint8Array>): Promise<void> {
  await client.synced();
  await waitFor(() => client.chunks.size >= keys.size, 10_000, `${keys.size} chunks after restart (have ${client.chunks.size})`);
  assert.equal(client.chunks.size, keys.size);
  for (const [k, v] of keys) assert.deepEqual(client.chunks.get(k), v, `chunk ${k}`);
}

test('SIGTERM: clients get 1001, the relay exits 0, and a restart serves every chunk', async () => {
  const dataDir = await tempDir();
  let relay: RelayProcess | null = null;
  const clients: Client[] = [];
  try {
    relay = await startRelay({ dataDir });
    const roomId = newRoomId();
    const key = await newRoomKey();
    const a = connectClient(relay, roomId, await makeToken(key, roomId));
    const b = connectClient(relay, roomId, await makeToken(key, roomId));
    clients.push(a, b);
    await Promise.all([a.synced(), b.synced()]);
    const expected = new Map<string, Uint8Array>();
    for (let i = 0; i < 50; i++) {
      const k = `devA/${i + 1}-${i + 1}`;
      expected.set(k, chunkBytes(i, 300));
      a.chunks.set(k, chunkBytes(i, 300));
    }
    await waitFor(() => b.chunks.size === 50, 10_000, 'b to see 50 chunks');
    relay.kill('SIGTERM');
    const exit = await relay.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(relay.lines.some((l) => l.event === 'relay.stopped'));
    await waitFor(() => a.closes.some((c) => c.code === 1001), 5000, 'a close with 1001');
    assert.deepEqual(await roomFiles(dataDir, 'relay.pid'), [], 'pid file left behind');
    await assert.rejects(stat(join(dataDir, 'relay.pid')), 'relay.pid removed on a graceful stop');
    a.destroy();
    b.destroy();

    relay = await startRelay({ dataDir });
    const c = connectClient(relay, roomId, await makeToken(key, roomId));
    clients.push(c);
    await assertHasChunks(c, expected);
  } finally {
    for (const c of clients) c.destroy();
    relay?.kill();
    await removeDir(dataDir);
  }
});

// With a 150 ms group-commit window, forwarding before the fdatasync would hand b chunks that
// are not on disk yet: that run makes a missing durability barrier fail every time.
for (const window of [0, 150]) {
  test(`SIGKILL (flush window ${window} ms): every chunk one client saw from another is still there after a restart`, async () => {
    const dataDir = await tempDir();
    let relay: RelayProcess | null = null;
    const clients: Client[] = [];
    try {
      relay = await startRelay({ dataDir, args: ['--flush-window-ms', String(window)] });
      const roomId = newRoomId();
      const key = await newRoomKey();
      const a = connectClient(relay, roomId, await makeToken(key, roomId));
      const b = connectClient(relay, roomId, await makeToken(key, roomId));
      clients.push(a, b);
      await Promise.all([a.synced(), b.synced()]);
      // One transaction per chunk, as fast as the client can: many small batches in flight.
      const seen = new Map<string, Uint8Array>();
      b.chunks.observe((event) => {
        for (const k of event.keysChanged) seen.set(k, b.chunks.get(k) as Uint8Array);
      });
      for (let i = 0; i < 300; i++) a.chunks.set(`devA/${i + 1}-${i + 1}`, chunkBytes(i, 256));
      // Kill as soon as b has seen a good part of them, mid-stream.
      await waitFor(() => seen.size >= 150, 10_000, 'b to see 150 chunks');
      relay.kill('SIGKILL');
      const witnessed = new Map(seen);
      assert.equal((await relay.exited).signal, 'SIGKILL');
      a.destroy();
      b.destroy();

      relay = await startRelay({ dataDir });
      const c = connectClient(relay, roomId, await makeToken(key, roomId));
      clients.push(c);
      await c.synced();
      await waitFor(() => c.chunks.size >= witnessed.size, 10_000, `the ${witnessed.size} witnessed chunks`);
      for (const [k, v] of witnessed) assert.deepEqual(c.chunks.get(k), v, `chunk ${k} b had seen is lost`);
    } finally {
      for (const c of clients) c.destroy();
      relay?.kill();
      await removeDir(dataDir);
    }
  });
}

test('a torn last record is cut off and kept aside; the room serves the rest and keeps appending', async () => {
  const dataDir = await tempDir();
  let relay: RelayProcess | null = null;
  const clients: Client[] = [];
  try {
    relay = await startRelay({ dataDir });
    const roomId = newRoomId();
    const key = await newRoomKey();
    const a = connectClient(relay, roomId, await makeToken(key, roomId));
    clients.push(a);
    await a.synced();
    const expected = new Map<string, Uint8Array>();
    for (let i = 0; i < 10; i++) {
      expected.set(`devA/${i + 1}-${i + 1}`, chunkBytes(i));
      a.chunks.set(`devA/${i + 1}-${i + 1}`, chunkBytes(i));
    }
    a.destroy();
    await waitFor(() => relay?.lines.some((l) => l.event === 'room.unloaded'), 10_000, 'room.unloaded');
    relay.kill('SIGTERM');
    await relay.exited;
    const path = logPath(dataDir, roomId);
    const clean = await readFile(path);
    // A crash mid-append: a record header announcing 5000 bytes, then only 100 of them.
    const torn = Buffer.alloc(108, 7);
    torn.writeUInt32LE(5000, 0);
    await appendFile(path, torn);

    relay = await startRelay({ dataDir });
    const c = connectClient(relay, roomId, await makeToken(key, roomId));
    clients.push(c);
    await assertHasChunks(c, expected);
    const cut = relay.lines.find((l) => l.event === 'room.loaded_torn_tail_cut');
    assert.equal(cut?.details?.tornBytes, 108);
    const repaired = await readFile(path);
    assert.ok(repaired.subarray(0, clean.length).equals(clean), 'the valid prefix changed');
    const aside = (await roomFiles(dataDir, roomId)).filter((f) => f.includes('.torn-'));
    assert.equal(aside.length, 1);
    assert.ok((await readFile(join(dataDir, 'rooms', aside[0] as string))).equals(torn));

    // Appends after the repair land after the valid prefix and survive another restart.
    c.chunks.set('devC/1-1', chunkBytes(99));
    expected.set('devC/1-1', chunkBytes(99));
    await waitFor(async () => (await stat(path)).size > clean.length, 5000, 'the new chunk on disk');
    relay.kill('SIGKILL');
    await relay.exited;
    c.destroy();
    relay = await startRelay({ dataDir });
    const d = connectClient(relay, roomId, await makeToken(key, roomId));
    clients.push(d);
    await assertHasChunks(d, expected);
    assert.ok(!relay.lines.some((l) => l.event === 'room.loaded_torn_tail_cut'), 'the repaired log was torn again');
  } finally {
    for (const c of clients) c.destroy();
    relay?.kill();
    await removeDir(dataDir);
  }
});

test('a second relay on a live relay\'s data directory refuses to start', async () => {
  const dataDir = await tempDir();
  const relay = await startRelay({ dataDir });
  let second: RelayProcess | null = null;
  try {
    const attempt = await startRelay({ dataDir }).then(
      (started) => {
        second = started;
        return 'started';
      },
      (err: Error) => err.message,
    );
    assert.match(attempt, /in use by a running relay/);
  } finally {
    (second as RelayProcess | null)?.kill();
    relay.kill();
    await removeDir(dataDir);
  }
});
