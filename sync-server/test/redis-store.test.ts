/**
 * The Redis store's parts in this process, against a real redis-server: compaction (snapshot +
 * trim + marker), a follower that was behind a trim catching up from the snapshot, a load after
 * compaction, and a relay's own entries not applied twice.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as Y from 'yjs';
import type { LogFields } from '../src/log.ts';
import { StreamFollower } from '../src/redis-follow.ts';
import { RedisLink, roomKeys } from '../src/redis-link.ts';
import { compactRoom, RedisRoomStore } from '../src/redis-store.ts';
import { chunkBytes, chunkUpdate, newRoomId, waitFor } from './helpers.ts';
import { type RedisServer, startRedis } from './redis-helpers.ts';

let redis: RedisServer;
let link: RedisLink;
const events: { event: string; fields?: LogFields }[] = [];
before(async () => {
  redis = await startRedis();
  link = new RedisLink(redis.url, (_level, event, fields) => events.push({ event, fields }));
  await link.connect();
});
after(async () => {
  await link.close();
  await redis.kill();
});

async function add(key: string, producer: string, update: Uint8Array): Promise<string> {
  return String(await link.cmd.xadd(key, '*', 'p', producer, 'u', Buffer.from(update)));
}

function docOf(): { doc: Y.Doc; chunks: Y.Map<Uint8Array> } {
  const doc = new Y.Doc();
  return { doc, chunks: doc.getMap<Uint8Array>('chunks') };
}

test('a follower behind a compaction applies the snapshot; one past it does not; own entries are skipped', async () => {
  const roomId = newRoomId();
  const keys = roomKeys(roomId);
  for (let i = 0; i < 30; i++) await add(keys.updates, 'other', chunkUpdate(`d/${i + 1}-${i + 1}`, chunkBytes(i)));
  const result = await compactRoom(link, keys);
  assert.ok(result !== null);
  assert.equal(result.entries, 30);
  assert.equal(await link.cmd.xlen(keys.updates), 1, 'the stream keeps only the marker');
  for (let i = 30; i < 35; i++) await add(keys.updates, 'other', chunkUpdate(`d/${i + 1}-${i + 1}`, chunkBytes(i)));
  await add(keys.updates, 'me', chunkUpdate('mine/1-1', chunkBytes(99)));

  const behind = docOf();
  const current = docOf();
  const follower = new StreamFollower(link, (_l, event, fields) => events.push({ event, fields }), 'me');
  const handlers = (d: Y.Doc) => ({ apply: (u: Uint8Array) => Y.applyUpdate(d, u), seen: () => {}, fail: (err: unknown) => assert.fail(String(err)) });
  const stopBehind = follower.follow(roomId, keys, '0-0', handlers(behind.doc));
  await waitFor(() => behind.chunks.size === 35, 5000, `35 chunks on the follower behind the trim (have ${behind.chunks.size})`);
  stopBehind();
  for (let i = 0; i < 35; i++) assert.deepEqual(behind.chunks.get(`d/${i + 1}-${i + 1}`), chunkBytes(i));
  assert.equal(behind.chunks.get('mine/1-1'), undefined, "the follower applied its own relay's entry");
  assert.ok(events.some((e) => e.event === 'room.caught_up_from_snapshot'));

  const caughtUp = events.filter((e) => e.event === 'room.caught_up_from_snapshot').length;
  follower.follow(roomId, keys, result.upto, handlers(current.doc));
  await waitFor(() => current.chunks.size === 5, 5000, '5 chunks after the compacted id');
  follower.stop();
  assert.equal(events.filter((e) => e.event === 'room.caught_up_from_snapshot').length, caughtUp, 'caught up without needing to');
});

test('a follower that jumped over the last compacted entry catches up, even with entries between it and the marker', async () => {
  const roomId = newRoomId();
  const keys = roomKeys(roomId);
  const ids: string[] = [];
  const updates: Uint8Array[] = [];
  for (let i = 0; i < 10; i++) {
    updates.push(chunkUpdate(`d/${i + 1}-${i + 1}`, chunkBytes(i)));
    ids.push(await add(keys.updates, 'other', updates[i] as Uint8Array));
  }
  // What compactRoom does, with an append landing between its read and its MULTI (as under load).
  const upto = ids[9] as string;
  await add(keys.updates, 'other', chunkUpdate('d/11-11', chunkBytes(10)));
  const merged = Buffer.from(Y.mergeUpdates(updates));
  const [ms, seq] = upto.split('-');
  await link.cmd.multi().hset(keys.snapshot, 'upto', upto, 'u', merged).xtrim(keys.updates, 'MINID', `${ms}-${Number(seq) + 1}`).xadd(keys.updates, '*', 'c', upto).exec();
  const { doc, chunks } = docOf();
  const follower = new StreamFollower(link, () => {}, 'me');
  follower.follow(roomId, keys, ids[2] as string, { apply: (u) => Y.applyUpdate(doc, u), seen: () => {}, fail: (err) => assert.fail(String(err)) });
  try {
    // It had read up to entry 3; the rest of 1..10 only survives in the snapshot.
    await waitFor(() => chunks.size >= 8, 5000, `the 7 trimmed chunks and the 11th (have ${chunks.size})`);
    for (let i = 3; i < 11; i++) assert.deepEqual(chunks.get(`d/${i + 1}-${i + 1}`), chunkBytes(i));
  } finally {
    follower.stop();
  }
});

test('a load after compactions returns the snapshot and the rest; the byte counter follows the merge', async () => {
  const roomId = newRoomId();
  const keys = roomKeys(roomId);
  const store = new RedisRoomStore(link, () => {}, (_room, err) => assert.fail(String(err)), 0, 0);
  const first = await store.load(roomId);
  assert.deepEqual([first.updates.length, first.bytes], [0, 0]);
  for (let i = 0; i < 40; i++) store.append(roomId, chunkUpdate(`d/${i + 1}-${i + 1}`, chunkBytes(i, 300)));
  assert.equal(await store.whenDurable(roomId), true);
  const appended = store.size(roomId);
  assert.equal(Number(await link.cmd.get(keys.bytes)), appended);
  await store.close(roomId);
  assert.ok((await compactRoom(link, keys)) !== null);
  for (let i = 40; i < 45; i++) await add(keys.updates, 'other', chunkUpdate(`d/${i + 1}-${i + 1}`, chunkBytes(i, 300)));
  assert.ok((await compactRoom(link, keys)) !== null, 'a second compaction merges into the first snapshot');
  const counted = Number(await link.cmd.get(keys.bytes));
  assert.ok(counted > 0 && counted < appended, `counter ${counted} after merging ${appended} bytes of 40 updates and 5 more uncounted`);
  const again = await store.load(roomId);
  assert.equal(again.updates.length, 1, 'one merged snapshot, no entries left');
  const { doc, chunks } = docOf();
  for (const u of again.updates) Y.applyUpdate(doc, u);
  assert.equal(chunks.size, 45);
  for (let i = 0; i < 45; i++) assert.deepEqual(chunks.get(`d/${i + 1}-${i + 1}`), chunkBytes(i, 300));
  await store.closeAll();
});
