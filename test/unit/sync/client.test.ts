/**
 * worker/sync/client.ts with real parts: kernels (openKernel, memory storage), each with its own
 * Y.Doc, linked in-process to a relay's Y.Doc by Y.applyUpdate; no network.
 *
 * Invariants checked:
 * 1. Devices converge: identical digests and merge order, every checkpoint travels, status ends
 *    `up_to_date` with nothing to go.
 * 2. A device publishes only once its transport synced, continues after the keys the doc holds
 *    (a restart with a fresh doc writes no key twice), in chunks of at most `chunkEvents`.
 * 3. A chunk with a flipped bit, moved to another key or sealed with another epoch key is refused
 *    and reported; nothing of it is applied, the rest still syncs; a repaired value then applies.
 * 4. A chain the kernel refuses (sealed correctly by a key holder, forged inside) is reported and
 *    the other devices keep syncing.
 * 5. Chunks that arrive ahead of a gap park; their checkpoints still arrive when the gap fills.
 * 6. A database never takes its own chains from the doc: after a repair cut, the cut events the
 *    doc still holds stay cut here, and the device publishes its new chain. A database in
 *    recovery mode publishes nothing; a refused device's chunks are not handed to the kernel.
 * 7. A device removed elsewhere is refused quietly (not a problem), and learns it was removed.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { memKernel, createWorkspace, type Kernel } from '../../helpers/kernel.ts';
import { deriveRoom, newEpochKey } from '../../../worker/sync/keys.ts';
import { chunkKey, nextChunk, sealChunk } from '../../../worker/sync/chunks.ts';
import { SyncClient, CHUNKS_MAP } from '../../../worker/sync/client.ts';
import { ManualTransport } from '../../../worker/sync/transport.ts';
import type { SyncStatus } from '../../../worker/sync/status.ts';
import { device, settleAll, mergeOrder, eventsOf, parkedIn, note, assertChunksTile, closeAll, link } from '../../helpers/sync-devices.ts';


describe('sync client: two devices', () => {
  test('two kernels with their own docs converge to identical digests and merge order', async () => {
    const room = await deriveRoom(newEpochKey());
    const relay = new Y.Doc();
    const a = await device(relay, room, { chunkEvents: 7, ingestEvents: 10 });
    const b = await device(relay, room, { chunkEvents: 5 });
    try {
      const seen: SyncStatus['state'][] = [];
      b.client.onStatus((s) => seen.push(s.state));
      for (let i = 0; i < 30; i++) {
        if (i % 3 === 0) createWorkspace(a.k, `A${i}`);
        else note(i % 2 ? a.k : b.k, i);
        if (i % 7 === 0) await settleAll([a, b]);
      }
      await a.k.checkpoint();
      note(a.k, 99); // the checkpoint above signs an event already published: it travels with this one
      await settleAll([a, b]);
      assert.deepEqual(a.k.digest(), b.k.digest());
      assert.deepEqual(mergeOrder(a.k), mergeOrder(b.k));
      assert.equal(mergeOrder(a.k).length, eventsOf(a.k, a.k.deviceId) + eventsOf(a.k, b.k.deviceId));
      for (const d of [a, b]) assert.deepEqual(d.client.status(), { state: 'up_to_date', toGo: 0, transport: 'synced', problem: null, problems: 0, sentence: 'Up to date.' });
      assert.ok(seen.includes('syncing') && seen.at(-1) === 'up_to_date', seen.join(' '));
      // Chunks of at most chunkEvents, contiguous, each device only its own.
      assertChunksTile(relay, a.k, 7);
      assertChunksTile(relay, b.k, 5);
      // Every checkpoint of A reached B (each rides with the chunk of the event after it).
      const cps = (k: Kernel) => k.checkpoints(0, 10_000).filter((c) => c.device === a.k.deviceId && c.format === 2).map((c) => c.deviceSeq).sort((x, y) => x - y);
      assert.deepEqual(cps(b.k), cps(a.k).filter((n) => n < a.k.ownHead.deviceSeq));
      assert.ok(cps(b.k).length > 0);
      assert.equal((await b.k.verify()).ok, true);
    } finally {
      await closeAll([a, b]);
    }
  });

  test('nothing is published before the transport synced; a restart with a fresh doc writes no key twice', async () => {
    const room = await deriveRoom(newEpochKey());
    const relay = new Y.Doc();
    const rewritten: string[] = [];
    relay.getMap(CHUNKS_MAP).observe((ev) => { for (const [key, change] of ev.changes.keys) if (change.action !== 'add') rewritten.push(key); });
    const a = await device(relay, room, { chunkEvents: 4, synced: false });
    for (let i = 0; i < 6; i++) note(a.k, i);
    await settleAll([a]);
    assert.equal(relay.getMap(CHUNKS_MAP).size, 0, 'published before synced');
    assert.equal(a.client.status().state, 'connecting');
    a.transport.set({ kind: 'synced' });
    await settleAll([a]);
    const before = relay.getMap(CHUNKS_MAP).size;
    assert.ok(before >= 2);
    // Restart: the same database, a new doc that starts empty and learns the relay's copy only when linked.
    await a.client.stop();
    a.unlink();
    assert.equal(a.client.status().state, 'off');
    const doc = new Y.Doc();
    const transport = new ManualTransport();
    const client = new SyncClient({ kernel: a.k, doc, chunkKeys: room.chunkKeys, transport, chunkEvents: 4 });
    for (let i = 0; i < 5; i++) note(a.k, 10 + i);
    await client.idle();
    assert.equal(doc.getMap(CHUNKS_MAP).size, 0, 'nothing written into an unsynced doc');
    const unlink = link(doc, relay);
    transport.set({ kind: 'synced' });
    const b = await device(relay, room);
    await settleAll([b, { ...a, client, doc, transport, unlink }]);
    assert.deepEqual(rewritten, [], 'a key was written twice');
    assertChunksTile(relay, a.k, 4);
    assert.ok(relay.getMap(CHUNKS_MAP).size > before);
    assert.deepEqual(b.k.digest(), a.k.digest());
    await client.stop();
    unlink();
    await closeAll([b]);
    await a.k.close();
  });
});

describe('sync client: refused chunks', () => {
  test('a flipped bit, a moved chunk and another epoch key are refused and reported; nothing of them is applied; the rest syncs', async () => {
    const room = await deriveRoom(newEpochKey());
    const relay = new Y.Doc();
    const map = relay.getMap<Uint8Array>(CHUNKS_MAP);
    const a = await device(relay, room, { chunkEvents: 3 });
    const c = await device(relay, room, { chunkEvents: 3 });
    for (let i = 0; i < 8; i++) note(a.k, i);
    for (let i = 0; i < 4; i++) note(c.k, i);
    await settleAll([a, c]);
    const aHead = a.k.ownHead.deviceSeq;
    // The relay flips one bit of A's last chunk, and copies A's first chunk to a position A never wrote.
    const lastKey = [...map.keys()].filter((k) => k.startsWith(a.k.deviceId)).sort((x, y) => Number(y.split('/')[1]!.split('-')[0]) - Number(x.split('/')[1]!.split('-')[0]))[0]!;
    const lastFirst = Number(lastKey.split('/')[1]!.split('-')[0]);
    const honest = map.get(lastKey)!;
    const flipped = Uint8Array.from(honest);
    flipped[honest.length - 5]! ^= 0x04;
    const movedKey = chunkKey({ device: c.k.deviceId, first: 1000, last: 1002 });
    // A device of another epoch (a removed device, say) writes into the same room.
    const stranger = await memKernel();
    for (let i = 0; i < 3; i++) note(stranger, i);
    const strangerChunk = nextChunk(stranger, stranger.deviceId, 0, 3)!;
    const strangerKey = strangerChunk.key;
    const strangerValue = await sealChunk((await deriveRoom(newEpochKey())).chunkKeys, strangerKey, strangerChunk.content);
    relay.transact(() => {
      map.set(lastKey, flipped);
      map.set(movedKey, map.get([...map.keys()].find((k) => k.startsWith(`${a.k.deviceId}/1-`))!)!);
      map.set(strangerKey, strangerValue);
    });
    const b = await device(relay, room);
    const d = await device(relay, room, { synced: false });
    try {
      await settleAll([a, b, c, d]);
      const reasons = b.client.problems().map((p) => `${p.code}:${String(p.details['key'])}:${String(p.details['reason'])}`).sort();
      assert.deepEqual(reasons, [
        `chunk_refused:${lastKey}:tampered`, `chunk_refused:${movedKey}:not_for_this_key`, `chunk_refused:${strangerKey}:not_for_this_key`,
      ].sort());
      const s = b.client.status();
      assert.equal(s.state, 'problem');
      assert.equal(s.problems, 3);
      assert.match(s.sentence, /refused and not applied/);
      // Nothing of them applied, everything else did.
      assert.equal(eventsOf(b.k, a.k.deviceId), lastFirst - 1);
      assert.equal(eventsOf(b.k, stranger.deviceId), 0);
      assert.equal(eventsOf(b.k, c.k.deviceId), c.k.ownHead.deviceSeq);
      assert.equal(parkedIn(b.k), 0);
      assert.deepEqual(b.k.quarantined(), [], 'a refused chunk never reaches the kernel');
      // The refused chunks are not counted as still to go.
      assert.equal(s.toGo, 0);
      // The relay puts the honest value back: it applies, the problem goes away.
      relay.transact(() => map.set(lastKey, honest));
      await settleAll([b]);
      assert.equal(eventsOf(b.k, a.k.deviceId), aHead);
      assert.equal(b.client.problems().length, 2);
    } finally {
      await closeAll([a, b, c, d]);
      await stranger.close();
    }
  });

  test('a chain the kernel refuses is reported; the other devices keep syncing', async () => {
    const room = await deriveRoom(newEpochKey());
    const relay = new Y.Doc();
    const map = relay.getMap<Uint8Array>(CHUNKS_MAP);
    const forger = await memKernel();
    for (let i = 0; i < 4; i++) note(forger, i);
    const { events } = forger.exportChain(forger.deviceId, 0, 100);
    // A key holder that went bad: the chunk opens, but an event's payload changed after hashing.
    const forged = events.map((e, i) => (i === 2 ? { ...e, payload: { ...(e.payload as object), title: 'forged' } } : e));
    const key = chunkKey({ device: forger.deviceId, first: 1, last: events.length });
    map.set(key, await sealChunk(room.chunkKeys, key, { events: forged, checkpoints: [] }));
    const a = await device(relay, room);
    const b = await device(relay, room);
    try {
      for (let i = 0; i < 5; i++) note(a.k, i);
      await settleAll([a, b]);
      const problems = b.client.problems();
      assert.equal(problems.length, 1);
      assert.equal(problems[0]!.code, 'chain_refused');
      assert.equal(problems[0]!.details['reason'], 'hash_mismatch');
      assert.equal(problems[0]!.details['device'], forger.deviceId);
      assert.equal(b.k.quarantined().length, 1);
      assert.equal(eventsOf(b.k, forger.deviceId), 0);
      assert.equal(eventsOf(b.k, a.k.deviceId), a.k.ownHead.deviceSeq);
      // A good copy of that device's events is never applied after the refusal (quarantined).
      note(forger, 9);
      const honest = nextChunk(forger, forger.deviceId, events.length, 1)!;
      let ingests = 0;
      const ingest = b.k.ingest.bind(b.k);
      b.k.ingest = (input) => { ingests++; return ingest(input); };
      map.set(honest.key, await sealChunk(room.chunkKeys, honest.key, honest.content));
      await settleAll([b]);
      assert.equal(eventsOf(b.k, forger.deviceId), 0);
      assert.equal(ingests, 0, 'a refused device\'s chunks are not even handed to the kernel');
      assert.equal(b.client.status().toGo, 0);
    } finally {
      await closeAll([a, b]);
      await forger.close();
    }
  });
});
