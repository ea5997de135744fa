/**
 * worker/sync/chunks.ts: sealing and opening chunks, checked against an independent
 * implementation of docs/sync-protocol.md (node:crypto HKDF and AES-256-GCM) and against every
 * way a chunk can be wrong.
 *
 * Invariants checked:
 * 1. A sealed chunk is IV || AES-256-GCM(JSON { v: 1, events, checkpoints }) with the key string
 *    as associated data and IV = HKDF(events key, salt = key string, info `iv`)[0..12]: node:crypto
 *    opens it, and sealing the same range twice gives the same bytes.
 * 2. Chunk keys name one range one way (no leading zeros, first >= 1, last >= first); a range's
 *    content (its events, the checkpoints at first-1 … last-1) is the same whenever it is sealed.
 * 3. A chunk with a flipped bit, moved to another key, sealed with another epoch's key, not bytes,
 *    not JSON, of the wrong shape or holding other events or checkpoints than its key names is
 *    refused with its reason, never thrown.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { memKernel, createWorkspace, type Kernel } from '../../helpers/kernel.ts';
import { deriveRoom, newEpochKey, type Room } from '../../../worker/sync/keys.ts';
import { chunkKey, nextChunk, openChunk, parseChunkKey, sealChunk, type ChunkContent } from '../../../worker/sync/chunks.ts';

let k: Kernel;
let epoch: Uint8Array;
let room: Room;
let content: ChunkContent;
let key: string;

/** The events key bytes, derived by node:crypto from the epoch key. */
const eventsKey = () => Buffer.from(hkdfSync('sha256', epoch, 'kingdom.sync/1', 'events', 32));
const ivOf = (keyString: string) => Buffer.from(hkdfSync('sha256', eventsKey(), keyString, 'iv', 12));

/** Seal any plaintext for `keyString` exactly as the protocol says, by node:crypto. */
function sealRaw(keyString: string, plain: string): Uint8Array {
  const iv = ivOf(keyString);
  const c = createCipheriv('aes-256-gcm', eventsKey(), iv);
  c.setAAD(Buffer.from(keyString));
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final(), c.getAuthTag()]);
  return new Uint8Array(Buffer.concat([iv, body]));
}

before(async () => {
  k = await memKernel({ checkpointEvery: 3 });
  for (let i = 0; i < 6; i++) createWorkspace(k, `W${i}`);
  await k.checkpointsSettled();
  const next = nextChunk(k, k.deviceId, 0, 5)!;
  content = next.content;
  key = next.key;
  assert.equal(key, chunkKey({ device: k.deviceId, first: 1, last: 5 }));
  epoch = newEpochKey();
  room = await deriveRoom(epoch);
});
after(() => k.close());

describe('chunk keys', () => {
  test('a key is <device>/<first>-<last> and parses back', () => {
    assert.equal(chunkKey({ device: 'dev-a', first: 1, last: 500 }), 'dev-a/1-500');
    assert.deepEqual(parseChunkKey('dev-a/1-500'), { device: 'dev-a', first: 1, last: 500 });
    assert.deepEqual(parseChunkKey('a/b/7-7'), { device: 'a/b', first: 7, last: 7 }, 'the range follows the last slash');
    for (const s of ['dev-a/01-5', 'dev-a/0-5', 'dev-a/5-4', 'dev-a/1-', '/1-5', 'dev-a', 'dev-a/1_5', 'dev-a/1-5 ', `${'d'.repeat(201)}/1-2`, 'dev-a/-1-2']) {
      assert.equal(parseChunkKey(s), null, s);
    }
    assert.throws(() => chunkKey({ device: 'dev-a', first: 3, last: 2 }), TypeError);
  });
});

describe('sealing', () => {
  test('a sealed chunk is what the protocol says: node:crypto opens it, and it opens to its content', async () => {
    const sealed = await sealChunk(room.chunkKeys, key, content);
    assert.deepEqual(Buffer.from(sealed.subarray(0, 12)), ivOf(key));
    const d = createDecipheriv('aes-256-gcm', eventsKey(), sealed.subarray(0, 12));
    d.setAAD(Buffer.from(key));
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    const plain = JSON.parse(Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]).toString('utf8'));
    assert.equal(plain.v, 1);
    assert.deepEqual(plain.events, content.events);
    assert.ok(content.checkpoints.length > 0, 'the range holds a signed checkpoint');
    assert.deepEqual(plain.checkpoints, content.checkpoints);
    const opened = await openChunk(room.chunkKeys, key, sealed);
    assert.equal(opened.ok, true);
    assert.deepEqual(opened.ok && opened.content, { events: content.events, checkpoints: content.checkpoints });
  });

  test('the same range always seals to the same bytes', async () => {
    const a = await sealChunk(room.chunkKeys, key, content);
    const b = await sealChunk((await deriveRoom(epoch)).chunkKeys, key, content);
    assert.deepEqual(a, b);
  });

  test('a range\'s content is fixed: sealed again after more events and checkpoints, it is the same bytes', async () => {
    const first = await sealChunk(room.chunkKeys, key, content);
    for (let i = 0; i < 7; i++) createWorkspace(k, `Later${i}`);
    await k.checkpoint();
    await k.checkpointsSettled();
    const again = nextChunk(k, k.deviceId, 0, 5)!;
    assert.equal(again.key, key);
    assert.deepEqual(await sealChunk(room.chunkKeys, again.key, again.content), first);
    // The next range carries the checkpoints at positions 5 … last-1 (the one at 5 rides here).
    const after = nextChunk(k, k.deviceId, 5, 100)!;
    const positions = k.checkpoints(0, 1000).filter((c) => c.device === k.deviceId && c.format === 2).map((c) => c.deviceSeq);
    const last = after.content.events.at(-1)!.deviceSeq;
    assert.deepEqual(after.content.checkpoints.map((c) => c.deviceSeq), positions.filter((p) => p >= 5 && p < last));
    assert.ok(positions.includes(last), 'the newest checkpoint is at the head: it waits for the next chunk');
  });

  test('content that does not match its key is not sealed', async () => {
    await assert.rejects(sealChunk(room.chunkKeys, chunkKey({ device: k.deviceId, first: 1, last: 4 }), content), TypeError);
    await assert.rejects(sealChunk(room.chunkKeys, chunkKey({ device: 'dev-other', first: 1, last: 5 }), content), TypeError);
    await assert.rejects(sealChunk(room.chunkKeys, 'no key', content), TypeError);
  });
});

describe('opening refuses, with the reason, and never throws', () => {
  const refusal = async (keyString: string, value: unknown) => {
    const r = await openChunk(room.chunkKeys, keyString, value);
    assert.equal(r.ok, false, 'opened');
    return r.ok ? '' : r.reason;
  };

  test('one flipped bit anywhere in the ciphertext or tag: tampered', async () => {
    const sealed = await sealChunk(room.chunkKeys, key, content);
    for (const at of [12, 13, Math.floor(sealed.length / 2), sealed.length - 17, sealed.length - 1]) {
      const bad = Uint8Array.from(sealed);
      bad[at]! ^= 1 << (at % 8);
      assert.equal(await refusal(key, bad), 'tampered', `byte ${at}`);
    }
  });

  test('a flipped bit in the IV, a chunk moved to another key, one sealed with another epoch key: not for this key', async () => {
    const sealed = await sealChunk(room.chunkKeys, key, content);
    const badIv = Uint8Array.from(sealed);
    badIv[3]! ^= 0x10;
    assert.equal(await refusal(key, badIv), 'not_for_this_key');
    assert.equal(await refusal(chunkKey({ device: k.deviceId, first: 6, last: 10 }), sealed), 'not_for_this_key');
    const otherEpoch = await sealChunk((await deriveRoom(newEpochKey())).chunkKeys, key, content);
    assert.equal(await refusal(key, otherEpoch), 'not_for_this_key');
  });

  test('moved with its IV re-derived for the new key: the associated data still refuses it', async () => {
    const sealed = await sealChunk(room.chunkKeys, key, content);
    const moved = chunkKey({ device: k.deviceId, first: 6, last: 10 });
    const value = Uint8Array.from(sealed);
    value.set(ivOf(moved), 0);
    assert.equal(await refusal(moved, value), 'tampered');
  });

  test('not bytes, or too short to be sealed: not bytes; a malformed key: bad key', async () => {
    for (const v of [null, 'text', 42, { a: 1 }, new Uint8Array(27), [1, 2, 3]]) assert.equal(await refusal(key, v), 'not_bytes', JSON.stringify(v));
    assert.equal(await refusal('dev-a/01-5', await sealChunk(room.chunkKeys, key, content)), 'bad_key');
  });

  test('sealed by a key holder but not JSON, of the wrong shape, or other events than the key names: refused', async () => {
    assert.equal(await refusal(key, sealRaw(key, 'not json {')), 'not_json');
    assert.equal(await refusal(key, sealRaw(key, JSON.stringify({ v: 2, events: content.events, checkpoints: [] }))), 'wrong_shape');
    assert.equal(await refusal(key, sealRaw(key, JSON.stringify({ v: 1, events: 'x', checkpoints: [] }))), 'wrong_shape');
    const forged = content.events.map((e, i) => (i === 2 ? { ...e, extra: true } : e));
    assert.equal(await refusal(key, sealRaw(key, JSON.stringify({ v: 1, events: forged, checkpoints: [] }))), 'wrong_shape');
    const shorter = chunkKey({ device: k.deviceId, first: 1, last: 4 });
    assert.equal(await refusal(shorter, sealRaw(shorter, JSON.stringify({ v: 1, events: content.events, checkpoints: [] }))), 'wrong_range');
    const swapped = [content.events[1], content.events[0], ...content.events.slice(2)];
    assert.equal(await refusal(key, sealRaw(key, JSON.stringify({ v: 1, events: swapped, checkpoints: [] }))), 'wrong_range');
    const otherDevice = chunkKey({ device: 'dev-someone-else', first: 1, last: 5 });
    assert.equal(await refusal(otherDevice, sealRaw(otherDevice, JSON.stringify({ v: 1, events: content.events, checkpoints: [] }))), 'wrong_range');
    for (const deviceSeq of [5, 6]) {
      const outside = { ...content.checkpoints[0]!, deviceSeq };
      assert.equal(await refusal(key, sealRaw(key, JSON.stringify({ v: 1, events: content.events, checkpoints: [outside] }))), 'wrong_range', `checkpoint at ${deviceSeq}`);
    }
  });

  test('a chunk sealed by node:crypto exactly as the protocol says opens', async () => {
    const r = await openChunk(room.chunkKeys, key, sealRaw(key, JSON.stringify({ v: 1, events: content.events, checkpoints: content.checkpoints })));
    assert.equal(r.ok, true);
  });
});
