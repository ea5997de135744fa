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
 * Invariants:
 * 1. `whenDurable(room)` resolves true once every update appended to the room before the call
 *    has been accepted by Redis (its XADD replied), false if an append failed. The relay
 *    forwards nothing to clients before that (connection.ts), so whatever a client received is
 *    in Redis, as durable as Redis is configured to be (docs/relay.md).
 * 2. Appends of one turn of the event loop (or of the flush window) go in one pipeline: one
 *    XADD per update and one INCRBY for the batch, one round trip. A failed command fails the
 *    room (nothing more is appended, waiters get false, `onFailure` ends its connections).
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
import { RECORD_HEADER_BYTES } from './room-log.ts';
import { StreamFollower } from './redis-follow.ts';
import type { Loaded, RoomStore } from './storage.ts';

interface Waiter {
  readonly target: number;
  readonly resolve: (durable: boolean) => void;
}

interface OpenRoom {
  readonly keys: RoomKeys;
  /** The room's stored bytes as far as this relay knows (Redis counter, plus what it saw and sent since). */
  size: number;
  /** The last stream id read at the load; the follower starts after it. */
  readonly loadedId: string;
  pending: Uint8Array[];
  appended: number;
  durable: number;
  waiters: Waiter[];
  flushing: Promise<void> | null;
  failed: unknown;
  compacting: boolean;
}

export class RedisRoomStore implements RoomStore, RoomBus {
  readonly #open = new Map<string, OpenRoom>();
  readonly #loading = new Map<string, Promise<Loaded>>();
  readonly #closing = new Map<string, Promise<void>>();
  readonly #follower: StreamFollower;
  /** Tags this process's entries, so it does not apply its own updates again. */
  readonly #producer = Buffer.from(`${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`);
  #compactions: Promise<void> = Promise.resolve();

  constructor(
    readonly link: RedisLink,
    readonly log: Logger,
    readonly onFailure: (roomId: string, err: unknown) => void,
    readonly flushWindowMs = 0,
    readonly compactEntries = 1000,
  ) {
    this.#follower = new StreamFollower(link, log, this.#producer.toString());
    link.onDown(() => {
      for (const [roomId, room] of this.#open) this.#fail(roomId, room, new Error('Redis is unreachable'));
    });
  }

  load(roomId: string): Promise<Loaded> {
    const loading = this.#load(roomId).finally(() => this.#loading.delete(roomId));
    this.#loading.set(roomId, loading);
    return loading;
  }

  append(roomId: string, update: Uint8Array): boolean {
    const room = this.#open.get(roomId);
    if (room === undefined || room.failed !== null) return false;
    room.pending.push(update);
    room.size += RECORD_HEADER_BYTES + update.length;
    room.appended++;
    if (room.flushing === null) room.flushing = this.#flush(roomId, room);
    return true;
  }

  whenDurable(roomId: string): Promise<boolean> {
    const room = this.#open.get(roomId);
    if (room === undefined) return Promise.resolve(true);
    if (room.failed !== null) return Promise.resolve(false);
    if (room.durable >= room.appended) return Promise.resolve(true);
    return new Promise((resolve) => room.waiters.push({ target: room.appended, resolve }));
  }

  size(roomId: string): number {
    return this.#open.get(roomId)?.size ?? 0;
  }

  close(roomId: string): Promise<void> {
    const closing = this.#closing.get(roomId);
    if (closing !== undefined) return closing;
    const room = this.#open.get(roomId);
    if (room === undefined) return Promise.resolve();
    const done = this.#closeRoom(roomId, room).finally(() => this.#closing.delete(roomId));
    this.#closing.set(roomId, done);
    return done;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.#loading.values()]);
    await Promise.all([...this.#open.keys()].map((roomId) => this.close(roomId)));
    await this.#compactions;
    this.#follower.stop();
  }

  // RoomBus: the stream is the bus. Appending is publishing; see invariant 3.
  publish(): void {}

  subscribe(roomId: string, apply: (update: Uint8Array) => void): () => void {
    const room = this.#open.get(roomId);
    if (room === undefined) throw new Error(`room ${roomId.slice(0, 8)} subscribed while not open (bug)`);
    return this.#follower.follow(roomId, room.keys, room.loadedId, {
      apply,
      seen: (bytes) => {
        room.size += bytes;
      },
      fail: (err) => this.#fail(roomId, room, err),
    });
  }

  async #load(roomId: string): Promise<Loaded> {
    if (this.#loading.has(roomId)) throw new Error(`room ${roomId.slice(0, 8)} loaded twice at once (bug)`);
    await this.#closing.get(roomId);
    if (this.#open.has(roomId)) throw new Error(`room ${roomId.slice(0, 8)} loaded while open (bug)`);
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
    let bytes = snapshot === null ? 0 : RECORD_HEADER_BYTES + snapshot.update.length;
    for (const entry of entries) {
      if (compareIds(entry.id, lastId) > 0) lastId = entry.id;
      const update = entry.fields.get('u');
      if (update === undefined || (snapshot !== null && compareIds(entry.id, snapshot.upto) <= 0)) continue;
      updates.push(update);
      bytes += RECORD_HEADER_BYTES + update.length;
    }
    const size = Math.max(bytes, Number.isSafeInteger(counted) ? counted : 0);
    this.#open.set(roomId, { keys, size, loadedId: lastId, pending: [], appended: 0, durable: 0, waiters: [], flushing: null, failed: null, compacting: false });
    if (this.compactEntries > 0 && entries.length >= this.compactEntries) this.#compact(roomId);
    return { updates, bytes: size, tornBytes: 0 };
  }

  async #closeRoom(roomId: string, room: OpenRoom): Promise<void> {
    // As in storage.ts: appends made in the rest of this turn still belong to the room.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (room.flushing !== null) await room.flushing;
    } finally {
      this.#open.delete(roomId);
    }
  }

  /** Sends batches until none is pending; one pipeline (one round trip) per batch. */
  async #flush(roomId: string, room: OpenRoom): Promise<void> {
    try {
      await new Promise<void>((resolve) => (this.flushWindowMs > 0 ? setTimeout(resolve, this.flushWindowMs) : setImmediate(resolve)));
      while (room.pending.length > 0 && room.failed === null) {
        const batch = room.pending;
        const target = room.appended;
        room.pending = [];
        const pipeline = this.link.cmd.pipeline();
        let bytes = 0;
        for (const update of batch) {
          pipeline.xadd(room.keys.updates, '*', 'p', this.#producer, 'u', Buffer.from(update.buffer, update.byteOffset, update.byteLength));
          bytes += RECORD_HEADER_BYTES + update.length;
        }
        pipeline.incrby(room.keys.bytes, bytes).xlen(room.keys.updates);
        const replies = await pipeline.exec();
        if (replies === null) throw new Error('the append pipeline was aborted');
        for (const [err] of replies) if (err !== null) throw err;
        const counted = Number(replies.at(-2)?.[1]);
        if (Number.isSafeInteger(counted)) room.size = Math.max(room.size, counted + sumPending(room.pending));
        room.durable = target;
        room.waiters = settle(room.waiters, target, true);
        const entries = Number(replies.at(-1)?.[1]);
        if (this.compactEntries > 0 && entries >= this.compactEntries) this.#compact(roomId);
      }
    } catch (err) {
      this.#fail(roomId, room, err);
    } finally {
      room.flushing = null;
    }
  }

  #fail(roomId: string, room: OpenRoom, err: unknown): void {
    if (room.failed !== null) return;
    room.failed = err;
    room.pending = [];
    room.waiters = settle(room.waiters, Number.POSITIVE_INFINITY, false);
    this.onFailure(roomId, err);
  }

  /** Queues a compaction of the room (one at a time per relay, on the compactor connection). */
  #compact(roomId: string): void {
    const room = this.#open.get(roomId);
    if (room === undefined || room.compacting) return;
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
      trimmedBytes += RECORD_HEADER_BYTES + update.length;
      if (snapshot === null || compareIds(entry.id, snapshot.upto) > 0) updates.push(update);
    }
    if (last === undefined || updates.length === 0) return null;
    const before = snapshot === null ? 0 : RECORD_HEADER_BYTES + snapshot.update.length;
    const merged = Y.mergeUpdates(snapshot === null ? updates : [snapshot.update, ...updates]);
    const after = RECORD_HEADER_BYTES + merged.length;
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

function sumPending(pending: Uint8Array[]): number {
  return pending.reduce((n, u) => n + RECORD_HEADER_BYTES + u.length, 0);
}

function settle(waiters: Waiter[], reached: number, durable: boolean): Waiter[] {
  const rest: Waiter[] = [];
  for (const w of waiters) {
    if (w.target <= reached) w.resolve(durable);
    else rest.push(w);
  }
  return rest;
}
