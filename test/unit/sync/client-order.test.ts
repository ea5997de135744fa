/**
 * worker/sync/client.ts, continued (test/unit/sync/client.test.ts has the invariants and the two
 * first groups): chunks ahead of a gap, merge order for a newcomer, a doc ahead of its database,
 * repair cuts, recovery mode, removed devices, and the status when offline or closed.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { join } from 'node:path';
import { memKernel, newKey, withTempDir, type Kernel } from '../../helpers/kernel.ts';
import { openKernel } from '../../../worker/node/index.ts';
import { deriveRoom, newEpochKey } from '../../../worker/sync/keys.ts';
import { chunkKey, nextChunk, sealChunk } from '../../../worker/sync/chunks.ts';
import { SyncClient, CHUNKS_MAP } from '../../../worker/sync/client.ts';
import { ManualTransport } from '../../../worker/sync/transport.ts';
import { device, settleAll, eventsOf, parkedIn, note, editEvent, closeAll, link } from '../../helpers/sync-devices.ts';

describe('sync client: order, checkpoints, own chain, stopping', () => {
  test('chunks ahead of a gap park and apply when it fills; their checkpoints arrive too', async () => {
    const room = await deriveRoom(newEpochKey());
    const source = await memKernel({ checkpointEvery: 4 });
    for (let i = 0; i < 9; i++) {
      note(source, i);
      await source.checkpointsSettled(); // signed every 4 events, as they come
    }
    await source.checkpoint();
    const head = source.ownHead.deviceSeq;
    const doc = new Y.Doc();
    const map = doc.getMap<Uint8Array>(CHUNKS_MAP);
    const b = await memKernel();
    const transport = new ManualTransport({ kind: 'synced' });
    const client = new SyncClient({ kernel: b, doc, chunkKeys: room.chunkKeys, transport });
    try {
      const seal = async (first: number, last: number) => {
        await source.checkpointsSettled();
        const next = nextChunk(source, source.deviceId, first - 1, last - first + 1)!;
        map.set(next.key, await sealChunk(room.chunkKeys, next.key, next.content));
      };
      await seal(6, head);
      await client.idle();
      assert.equal(parkedIn(b), head - 5);
      assert.equal(eventsOf(b, source.deviceId), 0);
      await seal(1, 5);
      await client.idle();
      assert.equal(eventsOf(b, source.deviceId), head);
      const cps = (k: Kernel) => k.checkpoints(0, 1000).filter((c) => c.device === source.deviceId && c.format === 2).map((c) => c.deviceSeq);
      // Each checkpoint rides with the chunk of the event after it: all but the one at the head.
      assert.deepEqual(cps(b), cps(source).filter((n) => n < head));
      assert.ok(cps(b).some((n) => n >= 5), `a checkpoint came with the parked chunk: ${JSON.stringify(cps(source))}`);
      assert.equal(client.status().state, 'up_to_date');
    } finally {
      await client.stop();
      await b.close();
      await source.close();
    }
  });

  test('a newcomer takes in chunks in merge order across devices: no ingest has to re-derive', async () => {
    const room = await deriveRoom(newEpochKey());
    const relay = new Y.Doc();
    // The newcomer's database exists first: its own first event (its key) sorts before the others'.
    const k = await memKernel();
    const a = await device(relay, room, { chunkEvents: 3 });
    const b = await device(relay, room, { chunkEvents: 3 });
    // Turns (one chunk each), the devices' chunks interleaved in time, not taking turns evenly.
    const turns = [a, a, b, a, b, b, a];
    for (const [turn, d] of turns.entries()) {
      for (let i = 0; i < 3; i++) note(d.k, turn * 10 + i);
      await settleAll([a, b]);
    }
    const reports: boolean[] = [];
    const ingest = k.ingest.bind(k);
    k.ingest = async (input) => {
      const r = await ingest(input);
      reports.push(r.reordered);
      return r;
    };
    const c = await device(relay, room, { k, ingestEvents: 3 });
    try {
      await settleAll([c]);
      assert.deepEqual(k.digest(), a.k.digest());
      assert.ok(reports.length >= 6, `one chunk per ingest: ${reports.length}`);
      assert.deepEqual(reports.filter((r) => r), [], 'an ingest re-derived: chunks were not taken in merge order');
    } finally {
      await closeAll([a, b, c]);
    }
  });

  test('a doc holding more of this device than its database is reported, and nothing is published over it', async () => {
    const room = await deriveRoom(newEpochKey());
    const relay = new Y.Doc();
    const a = await device(relay, room, { synced: false });
    try {
      const map = relay.getMap<Uint8Array>(CHUNKS_MAP);
      map.set(chunkKey({ device: a.k.deviceId, first: 1, last: 50 }), new Uint8Array(40));
      a.transport.set({ kind: 'synced' });
      note(a.k, 1);
      await settleAll([a]);
      assert.equal(a.client.status().problem?.code, 'own_chain_behind_relay');
      assert.equal(map.size, 1);
    } finally {
      await closeAll([a]);
    }
  });

  test('after a repair cut, the doc\'s copy of the cut events is not taken back; the new chain is published', () =>
    withTempDir(async (dir) => {
      const room = await deriveRoom(newEpochKey());
      const relay = new Y.Doc();
      const file = join(dir, 'a.sqlite');
      const a = await device(relay, room, { k: await openKernel({ storage: { file } }), chunkEvents: 4 });
      const b = await device(relay, room);
      for (let i = 0; i < 10; i++) note(a.k, i);
      await settleAll([a, b]);
      const oldDevice = a.k.deviceId;
      const head = a.k.ownHead.deviceSeq;
      await closeAll([a]);
      // Someone edits an event in the file: verify finds it, and the repair cuts from there.
      await editEvent(file, head - 3);
      const k = await openKernel({ storage: { file } });
      assert.equal((await k.verify()).ok, false);
      const cut = await k.repair('cut');
      assert.equal(cut.recovered, true);
      assert.equal(eventsOf(k, oldDevice), head - 4);
      const again = await device(relay, room, { k, chunkEvents: 4 });
      note(k, 100);
      await settleAll([again, b]);
      assert.equal(eventsOf(k, oldDevice), head - 4, 'the cut events came back from the doc');
      assert.equal(eventsOf(b.k, k.deviceId), k.ownHead.deviceSeq, 'the new chain was published');
      assert.deepEqual(again.client.problems(), []);
      await closeAll([again, b]);
    }));

  test('a database in recovery mode publishes nothing', () =>
    withTempDir(async (dir) => {
      const room = await deriveRoom(newEpochKey());
      const relay = new Y.Doc();
      const file = join(dir, 'a.sqlite');
      const k0 = await openKernel({ storage: { file } });
      for (let i = 0; i < 5; i++) note(k0, i);
      await k0.close();
      await editEvent(file, 3);
      const k = await openKernel({ storage: { file } });
      assert.equal((await k.verify()).ok, false);
      const a = await device(relay, room, { k });
      try {
        await settleAll([a]);
        assert.equal(relay.getMap(CHUNKS_MAP).size, 0, 'a chain that failed its check was published');
        assert.equal(a.client.status().problem?.code, 'database_read_only');
      } finally {
        await closeAll([a]);
      }
    }));

  test('a removed device: its later events are refused quietly elsewhere, and it learns it was removed', async () => {
    const room = await deriveRoom(newEpochKey());
    const relay = new Y.Doc();
    const a = await device(relay, room);
    const b = await device(relay, room);
    try {
      note(a.k, 1);
      await settleAll([a, b]);
      // A is away; B removes it; A, not knowing, writes on.
      a.unlink();
      a.transport.set({ kind: 'offline', reason: 'away' });
      b.k.command({ type: 'device.revoke', payload: { device: a.k.deviceId, reason: 'lost' }, idempotencyKey: newKey() });
      await settleAll([b]);
      await new Promise((r) => setTimeout(r, 5)); // A's clock moves past the removal
      note(a.k, 2);
      a.unlink = link(a.doc, relay);
      a.transport.set({ kind: 'synced' });
      await settleAll([a, b]);
      assert.deepEqual(b.client.problems(), [], 'a removed device is not a problem on the device that removed it');
      assert.equal(b.client.status().state, 'up_to_date');
      assert.equal(b.k.quarantined()[0]?.reason, 'device_revoked');
      assert.equal(a.client.status().problem?.code, 'device_removed');
      assert.equal(a.client.problems().length, 1);
      // Restarted, it still knows.
      await a.client.stop();
      const again = new SyncClient({ kernel: a.k, doc: a.doc, chunkKeys: room.chunkKeys, transport: a.transport });
      assert.equal(again.status().problem?.code, 'device_removed');
      await again.stop();
    } finally {
      await closeAll([a, b]);
    }
  });

  test('a device that learned of its removal outside the client (read_only on ingest) says it was removed, not that ingest failed', async () => {
    const room = await deriveRoom(newEpochKey());
    const relay = new Y.Doc();
    const a = await device(relay, room);
    const b = await device(relay, room);
    try {
      note(a.k, 1);
      note(b.k, 1);
      await settleAll([a, b]);
      a.unlink();
      b.k.command({ type: 'device.revoke', payload: { device: a.k.deviceId, reason: 'lost' }, idempotencyKey: newKey() });
      // The removal reaches A's kernel by another way than its client (as when the remover's chain
      // is refused in the batch that brings it: two devices removed each other).
      a.k.ingest(b.k.exportChain(b.k.deviceId));
      note(b.k, 2);
      await settleAll([b]);
      a.unlink = link(a.doc, relay);
      await settleAll([a]);
      assert.equal(a.client.status().problem?.code, 'device_removed', JSON.stringify(a.client.problems()));
      assert.ok(!a.client.problems().some((p) => p.code === 'ingest_failed'));
    } finally {
      await closeAll([a, b]);
    }
  });

  test('a removed device\'s later chunks, handed in several batches of one pass, raise no problem', async () => {
    const room = await deriveRoom(newEpochKey());
    const relay = new Y.Doc();
    const a = await device(relay, room, { chunkEvents: 1 });
    const b = await device(relay, room, { ingestEvents: 1 });
    try {
      note(a.k, 1);
      await settleAll([a, b]);
      b.unlink(); // B removes A, and takes A's chunks in only once they are all in the relay's doc
      b.k.command({ type: 'device.revoke', payload: { device: a.k.deviceId }, idempotencyKey: newKey() });
      await new Promise((r) => setTimeout(r, 5)); // A's clock moves past the removal
      for (let i = 2; i < 5; i++) note(a.k, i); // three chunks of one event each
      await settleAll([a]);
      b.unlink = link(b.doc, relay);
      await settleAll([b]);
      assert.deepEqual(b.client.problems(), [], 'the first chunk is refused as removed, the next ones are not handed');
      assert.equal(b.client.status().state, 'up_to_date');
      assert.deepEqual(b.k.quarantined().map((q) => q.reason), ['device_revoked']);
    } finally {
      await closeAll([a, b]);
    }
  });

  test('offline and a refused relay show in the status; a closed kernel turns the client off', async () => {
    const room = await deriveRoom(newEpochKey());
    const relay = new Y.Doc();
    const a = await device(relay, room, { synced: false });
    assert.equal(a.client.status().state, 'connecting');
    a.transport.set({ kind: 'offline', reason: 'The relay cannot be reached.' });
    note(a.k, 1);
    assert.equal(a.client.status().state, 'offline');
    assert.ok(a.client.status().toGo > 0);
    a.transport.set({ kind: 'refused', code: 'token_refused', message: 'its token was not accepted.' });
    assert.equal(a.client.status().problem?.code, 'relay_refused');
    a.transport.set({ kind: 'synced' });
    await settleAll([a]);
    assert.equal(a.client.status().state, 'up_to_date');
    a.unlink();
    await a.k.close();
    // The kernel is gone: the next change of the doc finds it closed.
    relay.getMap(CHUNKS_MAP).set(chunkKey({ device: 'dev-x', first: 1, last: 1 }), new Uint8Array(40));
    Y.applyUpdate(a.doc, Y.encodeStateAsUpdate(relay));
    await a.client.idle();
    assert.equal(a.client.status().state, 'off');
    await a.client.stop();
  });
});
