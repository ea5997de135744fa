/**
 * Follows the Redis streams of every room this relay holds, with one blocking XREAD on the
 * reader connection, and hands other relays' updates to the rooms (redis-store.ts).
 *
 * Invariants:
 * 1. Each followed room is read from the last id it has seen (at first, the last id its load
 *    saw), so every entry after the load reaches it once, in stream order; an entry at or
 *    before that id (a reply to an older read) is skipped.
 * 2. Entries tagged with this relay's producer id are not applied (the doc has them already),
 *    but they move the room's last id on.
 * 3. A room followed while a read blocks wakes the read at once (CLIENT UNBLOCK from the command
 *    connection), so a newly loaded room does not wait for the block timeout.
 * 4. A compaction marker (`c` = L, L the id of the last entry merged and trimmed) means this
 *    relay missed trimmed entries exactly when it never read entry L: a read that started
 *    before L and whose first entry came after L jumped over it (reads are atomic, entries come
 *    in order, and entries up to L vanish at once with the marker's appearance). Then the
 *    room's snapshot is fetched and applied. Each read's (start, first id) pair is kept until a
 *    marker past it; past 64 of them the check turns conservative (the snapshot is applied).
 * 5. A failed read is retried with a backoff (at most 2 s) for as long as the follower runs;
 *    rooms keep their last ids, so nothing still in the stream is skipped.
 */
import type { Logger } from './log.ts';
import { compareIds, parseXread, type RedisLink, type RoomKeys, type StreamEntry } from './redis-link.ts';
import { RECORD_HEADER_BYTES } from './room-log.ts';

const BLOCK_MS = 5000;
const COUNT = 500;

export interface FollowHandlers {
  /** An update another relay appended (already in Redis). */
  apply(update: Uint8Array): void;
  /** Bytes another relay added to the room (for the room-size limit). */
  seen(bytes: number): void;
  /** The room can no longer be kept complete (its snapshot could not be read). */
  fail(err: unknown): void;
}

interface Follow {
  readonly roomId: string;
  readonly keys: RoomKeys;
  lastId: string;
  readonly handlers: FollowHandlers;
  /** (last id before a read, first id the read delivered), for invariant 4. */
  jumps: [string, string][];
  overflow: boolean;
}

const MAX_JUMPS = 64;

export class StreamFollower {
  readonly #follows = new Map<string, Follow>();
  #running = false;
  #stopped = false;
  #reading = false;
  /** The streams of the read in flight, and its number. */
  #readFollows = new Set<Follow>();
  #readSeq = 0;
  #readerId: number | null = null;
  #wake: (() => void) | null = null;

  constructor(
    readonly link: RedisLink,
    readonly log: Logger,
    readonly producer: string,
  ) {
    link.reader.on('close', () => {
      this.#readerId = null;
    });
  }

  /** Follows the room's stream after `fromId`; returns the function that stops following. */
  follow(roomId: string, keys: RoomKeys, fromId: string, handlers: FollowHandlers): () => void {
    const follow: Follow = { roomId, keys, lastId: fromId, handlers, jumps: [], overflow: false };
    this.#follows.set(keys.updates, follow);
    this.#kick();
    return () => {
      if (this.#follows.get(keys.updates) === follow) this.#follows.delete(keys.updates);
    };
  }

  /** Stops following every room; a read in flight is woken (it would hold the reader up to BLOCK_MS). */
  stop(): void {
    this.#stopped = true;
    this.#wake?.();
    if (this.#reading) void this.#unblock(this.#readSeq);
  }

  #kick(): void {
    if (this.#stopped) return;
    if (!this.#running) {
      this.#running = true;
      void this.#loop().finally(() => {
        this.#running = false;
      });
      return;
    }
    if (this.#wake !== null) return this.#wake();
    if (this.#reading) void this.#unblock(this.#readSeq);
  }

  /**
   * Wakes the read in flight if it lacks a followed room. UNBLOCK answers 0 when the XREAD has
   * not reached Redis yet; then it is tried again (bounded) while that same read is in flight.
   */
  async #unblock(seq: number): Promise<void> {
    for (let i = 0; i < 40; i++) {
      if (!this.#reading || this.#readSeq !== seq || this.#readerId === null || !this.link.up) return;
      if (!this.#stopped && [...this.#follows.values()].every((follow) => this.#readFollows.has(follow))) return;
      const unblocked = await this.link.cmd.client('UNBLOCK', this.#readerId).catch(() => 0);
      if (unblocked === 1) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      if (this.#follows.size === 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = null;
        continue;
      }
      try {
        if (this.#readerId === null) this.#readerId = Number(await this.link.reader.client('ID'));
        const follows = [...this.#follows.values()];
        this.#readFollows = new Set(follows);
        this.#readSeq++;
        this.#reading = true;
        let reply: unknown;
        try {
          reply = await this.link.reader.callBuffer('XREAD', 'COUNT', COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', ...follows.map((f) => f.keys.updates), ...follows.map((f) => f.lastId));
        } finally {
          this.#reading = false;
        }
        failures = 0;
        for (const { key, entries } of parseXread(reply)) {
          const follow = this.#follows.get(key);
          if (follow !== undefined) this.#deliver(follow, entries);
        }
      } catch (err) {
        if (this.#stopped) break;
        failures++;
        if (failures === 1 && this.link.up) this.log('warn', 'redis.follow_failed', { details: { error: err instanceof Error ? err.message : String(err) } });
        await new Promise<void>((resolve) => setTimeout(resolve, Math.min(100 * 2 ** failures, 2000)));
      }
    }
  }

  #deliver(follow: Follow, entries: StreamEntry[]): void {
    const fresh = entries.filter((entry) => compareIds(entry.id, follow.lastId) > 0);
    const first = fresh[0];
    if (first === undefined) return;
    follow.jumps.push([follow.lastId, first.id]);
    if (follow.jumps.length > MAX_JUMPS) {
      follow.jumps.shift();
      follow.overflow = true;
    }
    for (const entry of fresh) {
      follow.lastId = entry.id;
      const marker = entry.fields.get('c');
      if (marker !== undefined) {
        const upto = marker.toString();
        if (follow.overflow || follow.jumps.some(([start, next]) => compareIds(start, upto) < 0 && compareIds(upto, next) < 0)) this.#catchUp(follow);
        follow.jumps = follow.jumps.filter(([, next]) => compareIds(next, upto) > 0);
        follow.overflow = false;
        continue;
      }
      const update = entry.fields.get('u');
      if (update === undefined || entry.fields.get('p')?.toString() === this.producer) continue;
      follow.handlers.seen(RECORD_HEADER_BYTES + update.length);
      this.#apply(follow, update);
    }
  }

  /** Applies the room's snapshot (after a compaction trimmed entries this relay had not read). */
  #catchUp(follow: Follow): void {
    this.link.cmd
      .hgetBuffer(follow.keys.snapshot, 'u')
      .then((update) => {
        if (update !== null && this.#follows.get(follow.keys.updates) === follow) this.#apply(follow, update);
        this.log('info', 'room.caught_up_from_snapshot', { room: follow.roomId, details: { bytes: update?.length ?? 0 } });
      })
      .catch((err: unknown) => {
        // The room cannot be trusted to be complete: its connections end, and its clients reconnect.
        this.log('error', 'room.catch_up_failed', { room: follow.roomId, details: { error: err instanceof Error ? err.message : String(err) } });
        follow.handlers.fail(err);
      });
  }

  #apply(follow: Follow, update: Uint8Array): void {
    try {
      follow.handlers.apply(update);
    } catch (err) {
      this.log('error', 'room.bus_update_failed', { room: follow.roomId, details: { error: err instanceof Error ? err.message : String(err) } });
    }
  }
}
