/**
 * Durable room storage: one append-only log file per room (format: room-log.ts).
 *
 * A room is opened (`load`) when its first connection arrives: the file is read, a torn tail is
 * cut off, and the updates are handed back to be replayed into the room's Y.Doc. While open,
 * every update the doc produces is appended; appends made in one turn of the event loop are
 * written with one write and made durable with one fdatasync (a batch; `flushWindowMs` widens
 * the batch to a time window, a group commit). `close` flushes and
 * closes the file when the room's last connection leaves.
 *
 * Invariants:
 * 1. Append-only: bytes once made durable are never rewritten; the only truncation is of a torn
 *    tail at load, and the cut bytes are first kept beside the log (`<roomId>.log.torn-<ms>`).
 * 2. `whenDurable(room)` resolves true once every update appended to the room before the call
 *    is on disk (written and fdatasynced), false if the room's storage failed. The relay
 *    forwards nothing to clients before that (connection.ts), so whatever a client received
 *    survives a crash of the relay or the machine.
 * 3. `size(room)` counts every byte appended, durable or pending: the room-size limit sees
 *    what a client sent before it is on disk.
 * 4. One open file per room; a `load` while the room is still closing waits for the close, and
 *    a close takes the appends made in the same turn of the event loop (they are flushed).
 * 5. A write or fsync error fails the room (nothing more is appended, waiters get false) and is
 *    reported through `onFailure`; the file keeps its durable prefix.
 */
import { open, writeFile, type FileHandle } from 'node:fs/promises';
import { type DataDir, fsyncDir } from './data-dir.ts';
import { encodeRecord, MAGIC, scanLog } from './room-log.ts';

/** The seam for another home of room data (a shared store when the relay scales out). */
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

export class NotARelayLog extends Error {}

interface Waiter {
  readonly target: number;
  readonly resolve: (durable: boolean) => void;
}

interface OpenRoom {
  readonly handle: FileHandle;
  size: number;
  pending: Buffer[];
  appended: number;
  durable: number;
  waiters: Waiter[];
  flushing: Promise<void> | null;
  failed: unknown;
}

export class FileRoomStore implements RoomStore {
  readonly #open = new Map<string, OpenRoom>();
  readonly #loading = new Map<string, Promise<Loaded>>();
  readonly #closing = new Map<string, Promise<void>>();

  constructor(
    readonly dir: DataDir,
    readonly onFailure: (roomId: string, err: unknown) => void,
    /** Group commit window (config.ts `flushWindowMs`); 0 = the next turn of the event loop. */
    readonly flushWindowMs = 0,
  ) {}

  load(roomId: string): Promise<Loaded> {
    const loading = this.#load(roomId).finally(() => this.#loading.delete(roomId));
    this.#loading.set(roomId, loading);
    return loading;
  }

  append(roomId: string, update: Uint8Array): boolean {
    const room = this.#open.get(roomId);
    if (room === undefined || room.failed !== null) return false;
    const record = encodeRecord(update);
    room.pending.push(record);
    room.size += record.length;
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
    // Registered before #closeRoom can finish (`finally` runs in a later microtask), so a
    // stale entry can never outlive the close.
    const done = this.#closeRoom(roomId, room).finally(() => this.#closing.delete(roomId));
    this.#closing.set(roomId, done);
    return done;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.#loading.values()]);
    await Promise.all([...this.#open.keys()].map((roomId) => this.close(roomId)));
  }

  get openRooms(): number {
    return this.#open.size;
  }

  async #load(roomId: string): Promise<Loaded> {
    if (this.#loading.has(roomId)) throw new Error(`room ${roomId.slice(0, 8)} loaded twice at once (bug)`);
    await this.#closing.get(roomId);
    if (this.#open.has(roomId)) throw new Error(`room ${roomId.slice(0, 8)} loaded while open (bug)`);
    const path = this.dir.logPath(roomId);
    const handle = await open(path, 'a+');
    try {
      const file = await handle.readFile();
      const scan = scanLog(file);
      if (!scan.ok) throw new NotARelayLog(`${path} is not a relay log (bad magic): move it away to open the room`);
      if (scan.tornBytes > 0) {
        await writeFile(`${path}.torn-${Date.now()}`, file.subarray(scan.validBytes), { flush: true });
        await handle.truncate(scan.validBytes);
      }
      if (scan.needsMagic) await handle.write(MAGIC);
      if (scan.tornBytes > 0 || scan.needsMagic) {
        await handle.datasync();
        await fsyncDir(this.dir.rooms);
      }
      const size = Math.max(scan.validBytes, MAGIC.length);
      this.#open.set(roomId, { handle, size, pending: [], appended: 0, durable: 0, waiters: [], flushing: null, failed: null });
      return { updates: scan.updates, bytes: size, tornBytes: scan.tornBytes };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async #closeRoom(roomId: string, room: OpenRoom): Promise<void> {
    // @y/websocket-server may unload a room in the middle of dispatching a doc update (its
    // broadcast finds the last connection gone before the append listener has run): appends
    // made in the rest of this turn still belong to the log.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (room.flushing !== null) await room.flushing;
    } finally {
      this.#open.delete(roomId);
      await room.handle.close();
    }
  }

  /** Writes batches until none is pending; one write + one fdatasync per batch. */
  async #flush(roomId: string, room: OpenRoom): Promise<void> {
    try {
      // Let the rest of this turn's appends (or of the window) join the batch.
      await new Promise<void>((resolve) => (this.flushWindowMs > 0 ? setTimeout(resolve, this.flushWindowMs) : setImmediate(resolve)));
      while (room.pending.length > 0) {
        const batch = room.pending.length === 1 ? (room.pending[0] as Buffer) : Buffer.concat(room.pending);
        const target = room.appended;
        room.pending = [];
        await writeAll(room.handle, batch);
        await room.handle.datasync();
        room.durable = target;
        room.waiters = settle(room.waiters, target, true);
      }
    } catch (err) {
      room.failed = err;
      room.pending = [];
      room.waiters = settle(room.waiters, Number.POSITIVE_INFINITY, false);
      this.onFailure(roomId, err);
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

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}
