/**
 * Rooms in Redis, shared by every relay on the same Redis: the RoomStore and the RoomBus of the
 * scale-out (docs/relay.md, "Several relays: Redis").
 *
 * A room is a stream of updates (`XADD <updates> * p <relay> u <update>`), a snapshot hash
 * (`upto`: the last stream id it holds, `u`: every update up to it merged into one), and a byte
 * counter (`INCRBY <bytes>`: what the room-size limit counts). The stream is at once the shared
 * store and the bus: a relay that loads a room reads the snapshot and the stream after it, and
 * then follows the stream (one blocking XREAD for all the rooms it holds) from the last id it
 * read, applying what other relays appended.
 *
 * Invariants (besides batched-store.ts's):
 * 1. Durable means accepted by Redis (its XADD replied): whatever a client received is in Redis,
 *    as durable as Redis is configured to be (docs/relay.md).
 * 2. A batch is one pipeline: one XADD per update and one INCRBY for the batch, one round trip.
 *    A failed command fails the room (`onFailure` ends its connections).
 * 3. A load reads the snapshot, the stream and the counter in one MULTI (one consistent view);
 *    the bus then delivers every entry after the last id the load saw, so nothing written by
 *    another relay between the load and the subscription is missed. Entries this relay wrote
 *    (tagged `p`) are not applied twice.
 * 4. Compaction (past `compactEntries` entries) merges the snapshot and the stream's updates
 *    up to an id L, and in one MULTI writes the new snapshot, trims the stream up to L and
 *    appends a marker entry `c = L`, all under WATCH of the snapshot (two compactions of a room
 *    cannot interleave: the second's EXEC fails). Readers see the old snapshot with the whole
 *    stream or the new one with the rest, never a gap. A follower whose last id was before L
 *    when it meets the marker may have missed trimmed entries, and applies the snapshot (Yjs
 *    updates are idempotent).
 * 5. While Redis is down every open room fails (its connections end with 1011) and loads fail;
 *    nothing waits in memory for Redis to come back.
 */
import * as Y from 'yjs';
import type { RoomBus } from './bus.ts';
import { describeError, type Logger } from './log.ts';
import { asBuffer, compareIds, nextId, parseEntries, type RedisLink, roomKeys, type RoomKeys } from './redis-link.ts';
import { StreamFollower } from './redis-follow.ts';
import { BatchedRoomStore, openRoom, recordBytes, type Loaded, type OpenRoom } from './batched-store.ts';

interface RedisRoom extends OpenRoom {
  readonly keys: RoomKeys;
  /** The last stream id read at the load; the follower starts after it. */
  readonly loadedId: string;
  compacting: boolean;
}

export class RedisRoomStore extends BatchedRoomStore<RedisRoom> implements RoomBus {
  readonly #follower: StreamFollower;
  /** Tags this process's entries, so it does not apply its own updates again. */
  readonly #producer = Buffer.from(`${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`);
  #compactions: Promise<void> = Promise.resolve();

  constructor(
    readonly link: RedisLink,
    readonly log: Logger,
    onFailure: (roomId: string, err: unknown) => void,
    flushWindowMs = 0,
    readonly compactEntries = 1000,
  ) {
    super(onFailure, flushWindowMs);
    this.#follower = new StreamFollower(link, log, this.#producer.toString());
    link.onDown(() => {
      for (const [roomId, room] of this.rooms) this.fail(roomId, room, new Error('Redis is unreachable'));
    });
  }

  override async closeAll(): Promise<void> {
    await super.closeAll();
    await this.#compactions;
    this.#follower.stop();
  }

  // RoomBus: the stream is the bus. Appending is publishing; see invariant 3.
  publish(): void {}

  subscribe(roomId: string, apply: (update: Uint8Array) => void): () => void {
    const room = this.rooms.get(roomId);
    if (room === undefined) throw new Error(`room ${roomId.slice(0, 8)} subscribed while not open (bug)`);
    return this.#follower.follow(roomId, room.keys, room.loadedId, {
      apply,
      seen: (bytes) => {
        room.size += bytes;
      },
      fail: (err) => this.fail(roomId, room, err),
    });
  }

  protected async openStored(roomId: string): Promise<{ room: RedisRoom; loaded: Loaded }> {
    if (!this.link.up) throw new Error('Redis is unreachable');
    const keys = roomKeys(roomId);
    const replies = await this.link.cmd.multi().hgetallBuffer(keys.snapshot).xrangeBuffer(keys.updates, '-', '+').get(keys.bytes).exec();
    if (replies === null) throw new Error('the load transaction was aborted');
    for (const [err] of replies) if (err !== null) throw err;
    const snapshot = snapshotOf(replies[0]?.[1]);
    const entries = parseEntries(replies[1]?.[1]);
    const counted = Number(replies[2]?.[1] ?? 0);
    const updates: Uint8Array[] = snapshot === null ? [] : [snapshot.update];
    let lastId = snapshot?.upto ?? '0-0';
    let bytes = snapshot === null ? 0 : recordBytes(snapshot.update);
    for (const entry of entries) {
      if (compareIds(entry.id, lastId) > 0) lastId = entry.id;
      const update = entry.fields.get('u');
      if (update === undefined || (snapshot !== null && compareIds(entry.id, snapshot.upto) <= 0)) continue;
      updates.push(update);
      bytes += recordBytes(update);
    }
    const size = Math.max(bytes, Number.isSafeInteger(counted) ? counted : 0);
    const room: RedisRoom = { ...openRoom(size), keys, loadedId: lastId, compacting: false };
    if (this.compactEntries > 0 && entries.length >= this.compactEntries) this.#compact(roomId, room);
    return { room, loaded: { updates, bytes: size, tornBytes: 0 } };
  }

  /** One pipeline (one round trip) per batch. */
  protected async writeBatch(roomId: string, room: RedisRoom, batch: readonly Uint8Array[]): Promise<void> {
    const pipeline = this.link.cmd.pipeline();
    let bytes = 0;
    for (const update of batch) {
      pipeline.xadd(room.keys.updates, '*', 'p', this.#producer, 'u', Buffer.from(update.buffer, update.byteOffset, update.byteLength));
      bytes += recordBytes(update);
    }
    pipeline.incrby(room.keys.bytes, bytes).xlen(room.keys.updates);
    const replies = await pipeline.exec();
    if (replies === null) throw new Error('the append pipeline was aborted');
    for (const [err] of replies) if (err !== null) throw err;
    const counted = Number(replies.at(-2)?.[1]);
    if (Number.isSafeInteger(counted)) room.size = Math.max(room.size, counted + room.pending.reduce((n, u) => n + recordBytes(u), 0));
    const entries = Number(replies.at(-1)?.[1]);
    if (this.compactEntries > 0 && entries >= this.compactEntries) this.#compact(roomId, room);
  }

  protected release(): Promise<void> {
    return Promise.resolve();
  }

  /** Queues a compaction of the room (one at a time per relay, on the compactor connection). */
  #compact(roomId: string, room: RedisRoom): void {
    if (room.compacting) return;
    room.compacting = true;
    this.#compactions = this.#compactions.then(async () => {
      try {
        const result = await compactRoom(this.link, room.keys);
        if (result !== null) this.log('info', 'room.compacted', { room: roomId, details: result });
      } catch (err) {
        this.log('warn', 'room.compaction_failed', { room: roomId, details: { error: describeError(err) } });
      } finally {
        room.compacting = false;
      }
    });
  }
}

/**
 * Merges a room's snapshot with its stream's updates and trims the stream (invariant 4).
 * Returns null when there was nothing to merge or another relay compacted meanwhile.
 */
export async function compactRoom(link: RedisLink, keys: RoomKeys): Promise<{ entries: number; bytesBefore: number; bytesAfter: number; upto: string } | null> {
  const c = link.compactor;
  await c.watch(keys.snapshot);
  try {
    const snapshot = snapshotOf(await c.hgetallBuffer(keys.snapshot));
    const entries = parseEntries(await c.xrangeBuffer(keys.updates, '-', '+'));
    const last = entries.at(-1);
    const updates: Uint8Array[] = [];
    let trimmedBytes = 0;
    for (const entry of entries) {
      const update = entry.fields.get('u');
      if (update === undefined) continue;
      trimmedBytes += recordBytes(update);
      if (snapshot === null || compareIds(entry.id, snapshot.upto) > 0) updates.push(update);
    }
    if (last === undefined || updates.length === 0) return null;
    const before = snapshot === null ? 0 : recordBytes(snapshot.update);
    const merged = Y.mergeUpdates(snapshot === null ? updates : [snapshot.update, ...updates]);
    const after = recordBytes(merged);
    const done = await c
      .multi()
      .hset(keys.snapshot, 'upto', last.id, 'u', Buffer.from(merged.buffer, merged.byteOffset, merged.byteLength))
      .xtrim(keys.updates, 'MINID', nextId(last.id))
      .xadd(keys.updates, '*', 'c', last.id)
      .incrby(keys.bytes, after - before - trimmedBytes)
      .exec();
    if (done === null) return null;
    for (const [err] of done) if (err !== null) throw err;
    return { entries: entries.length, bytesBefore: before + trimmedBytes, bytesAfter: after, upto: last.id };
  } finally {
    await c.unwatch().catch(() => undefined);
  }
}

/** The snapshot hash (HGETALL reply), or null if the room has none. */
export function snapshotOf(reply: unknown): { upto: string; update: Uint8Array } | null {
  if (reply === null || typeof reply !== 'object') return null;
  const fields = reply as Record<string, unknown>;
  if (fields.upto === undefined || fields.u === undefined) return null;
  return { upto: asBuffer(fields.upto).toString(), update: asBuffer(fields.u) };
}
