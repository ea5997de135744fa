/**
 * What every home of room data shares (the file store, storage.ts; the Redis store,
 * redis-store.ts): the RoomStore contract, the open/loading/closing bookkeeping, batching of
 * appends and the durability waiters. A subclass says only how a room is opened, how a batch is
 * made durable, and what closing releases.
 *
 * Invariants:
 * 1. `whenDurable(room)` resolves true once every update appended to the room before the call is
 *    durable (its batch's `writeBatch` resolved), false if the room failed. The relay forwards
 *    nothing to clients before that (connection.ts).
 * 2. Appends of one turn of the event loop (or of the flush window, a group commit) form one
 *    batch; batches are written one after another, in append order.
 * 3. `size(room)` counts every byte appended (record header included), durable or pending: the
 *    room-size limit sees what a client sent before it is durable.
 * 4. One open instance per room: a `load` while the room is still closing waits for the close;
 *    a close takes the appends made in the same turn of the event loop (they are flushed).
 * 5. A failed batch fails the room: nothing more is appended, every waiter gets false, and
 *    `onFailure` is told once.
 */
import { RECORD_HEADER_BYTES } from './room-log.ts';

/** The seam for a home of room data (a file per room, or Redis when the relay scales out). */
export interface RoomStore {
  /**
   * Opens the room (repairing a torn tail) and returns its stored updates in order. Waits for a
   * close of the room in progress; the room must not be open or loading (the caller serializes).
   */
  load(roomId: string): Promise<Loaded>;
  /** Queues an update for the next batch; false if the room is not open or its storage failed. */
  append(roomId: string, update: Uint8Array): boolean;
  whenDurable(roomId: string): Promise<boolean>;
  size(roomId: string): number;
  close(roomId: string): Promise<void>;
  closeAll(): Promise<void>;
}

export interface Loaded {
  readonly updates: Uint8Array[];
  readonly bytes: number;
  /** Bytes of a torn tail cut off at this load (0 normally). */
  readonly tornBytes: number;
}

interface Waiter {
  readonly target: number;
  readonly resolve: (durable: boolean) => void;
}

/** The state of one open room; subclasses extend it with their handle. */
export interface OpenRoom {
  /** Stored bytes as far as this store knows (durable and pending). */
  size: number;
  pending: Uint8Array[];
  appended: number;
  durable: number;
  waiters: Waiter[];
  flushing: Promise<void> | null;
  failed: unknown;
}

/** A freshly opened room holding `size` bytes. */
export function openRoom(size: number): OpenRoom {
  return { size, pending: [], appended: 0, durable: 0, waiters: [], flushing: null, failed: null };
}

/** What a record of `update` takes in storage (the room-size limit's unit). */
export const recordBytes = (update: Uint8Array): number => RECORD_HEADER_BYTES + update.length;

export abstract class BatchedRoomStore<R extends OpenRoom> implements RoomStore {
  protected readonly rooms = new Map<string, R>();
  readonly #loading = new Map<string, Promise<Loaded>>();
  readonly #closing = new Map<string, Promise<void>>();

  constructor(
    readonly onFailure: (roomId: string, err: unknown) => void,
    /** Group commit window (config.ts `flushWindowMs`); 0 = the next turn of the event loop. */
    readonly flushWindowMs = 0,
  ) {}

  /** Opens the room's storage; the room is registered as open when this resolves. */
  protected abstract openStored(roomId: string): Promise<{ room: R; loaded: Loaded }>;
  /** Makes one batch durable (throws to fail the room). */
  protected abstract writeBatch(roomId: string, room: R, batch: readonly Uint8Array[]): Promise<void>;
  /** Releases what the open room holds (after its last batch). */
  protected abstract release(room: R): Promise<void>;

  load(roomId: string): Promise<Loaded> {
    const loading = this.#load(roomId).finally(() => this.#loading.delete(roomId));
    this.#loading.set(roomId, loading);
    return loading;
  }

  append(roomId: string, update: Uint8Array): boolean {
    const room = this.rooms.get(roomId);
    if (room === undefined || room.failed !== null) return false;
    room.pending.push(update);
    room.size += recordBytes(update);
    room.appended++;
    if (room.flushing === null) room.flushing = this.#flush(roomId, room);
    return true;
  }

  whenDurable(roomId: string): Promise<boolean> {
    const room = this.rooms.get(roomId);
    if (room === undefined) return Promise.resolve(true);
    if (room.failed !== null) return Promise.resolve(false);
    if (room.durable >= room.appended) return Promise.resolve(true);
    return new Promise((resolve) => room.waiters.push({ target: room.appended, resolve }));
  }

  size(roomId: string): number {
    return this.rooms.get(roomId)?.size ?? 0;
  }

  close(roomId: string): Promise<void> {
    const closing = this.#closing.get(roomId);
    if (closing !== undefined) return closing;
    const room = this.rooms.get(roomId);
    if (room === undefined) return Promise.resolve();
    // Registered before #closeRoom can finish (`finally` runs in a later microtask), so a
    // stale entry can never outlive the close.
    const done = this.#closeRoom(roomId, room).finally(() => this.#closing.delete(roomId));
    this.#closing.set(roomId, done);
    return done;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.#loading.values()]);
    await Promise.all([...this.rooms.keys()].map((roomId) => this.close(roomId)));
  }

  get openRooms(): number {
    return this.rooms.size;
  }

  /** Fails the room (invariant 5); a second failure is ignored. */
  protected fail(roomId: string, room: R, err: unknown): void {
    if (room.failed !== null) return;
    room.failed = err;
    room.pending = [];
    room.waiters = settle(room.waiters, Number.POSITIVE_INFINITY, false);
    this.onFailure(roomId, err);
  }

  async #load(roomId: string): Promise<Loaded> {
    if (this.#loading.has(roomId)) throw new Error(`room ${roomId.slice(0, 8)} loaded twice at once (bug)`);
    await this.#closing.get(roomId);
    if (this.rooms.has(roomId)) throw new Error(`room ${roomId.slice(0, 8)} loaded while open (bug)`);
    const { room, loaded } = await this.openStored(roomId);
    this.rooms.set(roomId, room);
    return loaded;
  }

  async #closeRoom(roomId: string, room: R): Promise<void> {
    // @y/websocket-server may unload a room in the middle of dispatching a doc update (its
    // broadcast finds the last connection gone before the append listener has run): appends
    // made in the rest of this turn still belong to the room.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (room.flushing !== null) await room.flushing;
    } finally {
      this.rooms.delete(roomId);
      await this.release(room);
    }
  }

  /** Writes batches until none is pending (invariant 2). */
  async #flush(roomId: string, room: R): Promise<void> {
    try {
      // Let the rest of this turn's appends (or of the window) join the batch.
      await new Promise<void>((resolve) => (this.flushWindowMs > 0 ? setTimeout(resolve, this.flushWindowMs) : setImmediate(resolve)));
      while (room.pending.length > 0 && room.failed === null) {
        const batch = room.pending;
        const target = room.appended;
        room.pending = [];
        await this.writeBatch(roomId, room, batch);
        room.durable = target;
        room.waiters = settle(room.waiters, target, true);
      }
    } catch (err) {
      this.fail(roomId, room, err);
    } finally {
      room.flushing = null;
    }
  }
}

/** Resolves (with `durable`) the waiters whose target is reached; returns the rest. */
function settle(waiters: Waiter[], reached: number, durable: boolean): Waiter[] {
  const rest: Waiter[] = [];
  for (const w of waiters) {
    if (w.target <= reached) w.resolve(durable);
    else rest.push(w);
  }
  return rest;
}
