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
import { join } from 'node:path';
import { memKernel, createWorkspace, newKey, withTempDir, type Kernel } from '../../helpers/kernel.ts';
import { openKernel } from '../../../worker/node/index.ts';
import { fileAdapter } from '../../../worker/node/file-adapter.ts';
import { deriveRoom, newEpochKey, type Room } from '../../../worker/sync/keys.ts';
import { chunkKey, nextChunk, sealChunk } from '../../../worker/sync/chunks.ts';
import { SyncClient, CHUNKS_MAP } from '../../../worker/sync/client.ts';
import { ManualTransport } from '../../../worker/sync/transport.ts';
import type { SyncStatus } from '../../../worker/sync/status.ts';

interface Device { k: Kernel; doc: Y.Doc; transport: ManualTransport; client: SyncClient; unlink(): void }

/** Link `doc` to the relay's doc both ways (what a connection does), now and for every update. */
function link(doc: Y.Doc, relay: Y.Doc): () => void {
  const toRelay = (u: Uint8Array, origin: unknown) => { if (origin !== relay) Y.applyUpdate(relay, u, doc); };
  const fromRelay = (u: Uint8Array, origin: unknown) => { if (origin !== doc) Y.applyUpdate(doc, u, relay); };
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(relay, Y.encodeStateVector(doc)), relay);
  Y.applyUpdate(relay, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(relay)), doc);
  doc.on('update', toRelay);
  relay.on('update', fromRelay);
  return () => { doc.off('update', toRelay); relay.off('update', fromRelay); };
}

async function device(relay: Y.Doc, room: Room, opts: { k?: Kernel; chunkEvents?: number; ingestEvents?: number; synced?: boolean } = {}): Promise<Device> {
  const k = opts.k ?? await memKernel();
  const doc = new Y.Doc();
  const transport = new ManualTransport();
  const unlink = link(doc, relay);
  const client = new SyncClient({ kernel: k, doc, chunkKeys: room.chunkKeys, transport, chunkEvents: opts.chunkEvents ?? 500, ingestEvents: opts.ingestEvents ?? 2000 });
  if (opts.synced !== false) transport.set({ kind: 'synced' });
  return { k, doc, transport, client, unlink };
}

/** Let every client run until none has anything left to do. */
async function settleAll(ds: readonly Device[]): Promise<void> {
  for (let round = 0; round < 20; round++) {
    await new Promise((r) => setImmediate(r));
    const busy = ds.map((d) => d.client.status()).some((s) => s.state === 'syncing' || (s.toGo > 0 && s.state !== 'problem'));
    await Promise.all(ds.map((d) => d.client.idle()));
    if (!busy && round > 1) return;
  }
}

const mergeOrder = (k: Kernel) => k.sql.all("SELECT hash FROM events ORDER BY (hlc || '|' || device)").map((r) => String(r['hash']));
const eventsOf = (k: Kernel, device: string) => k.exportChain(device, 0).events.length;
const parkedIn = (k: Kernel) => Number(k.sql.value('SELECT COUNT(*) FROM ingest_parked'));
const note = (k: Kernel, i: number) => k.command({ type: 'forest.node.create', payload: { title: `n${i}`, body: 'body', tags: [] }, idempotencyKey: newKey() });

/** Change one event's payload in a closed database file, as someone with the file could. */
async function editEvent(file: string, deviceSeq: number): Promise<void> {
  const o = await fileAdapter(file).open();
  o.db.exec('DROP TRIGGER IF EXISTS events_append_only_update');
  o.db.exec({ sql: `UPDATE events SET payload = json_set(payload, '$.title', 'edited') WHERE device_seq = ?`, bind: [deviceSeq] });
  await o.close();
}

/** The doc's keys of `k`'s chain cover 1..head exactly once, each at most `max` events. */
function assertChunksTile(relay: Y.Doc, k: Kernel, max: number): void {
  const ranges = [...relay.getMap(CHUNKS_MAP).keys()].filter((key) => key.startsWith(`${k.deviceId}/`))
    .map((key) => key.slice(key.lastIndexOf('/') + 1).split('-').map(Number) as [number, number]).sort((x, y) => x[0] - y[0]);
  let next = 1;
  for (const [first, last] of ranges) {
    assert.equal(first, next, `contiguous: ${JSON.stringify(ranges)}`);
    assert.ok(last - first + 1 <= max, `at most ${max} events: ${JSON.stringify(ranges)}`);
    next = last + 1;
  }
  assert.equal(next - 1, k.ownHead.deviceSeq, 'up to the head');
}

async function closeAll(ds: readonly Device[]): Promise<void> {
  for (const d of ds) { await d.client.stop(); d.unlink(); await d.k.close(); }
}

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
