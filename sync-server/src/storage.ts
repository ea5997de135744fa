/**
 * Durable room storage: one append-only log file per room (format: room-log.ts).
 *
 * A room is opened (`load`) when its first connection arrives: the file is read, a torn tail is
 * cut off, and the updates are handed back to be replayed into the room's Y.Doc. While open,
 * every update the doc produces is appended; each batch (batched-store.ts: one turn of the event
 * loop, or the flush window) is written with one write and made durable with one fdatasync.
 * `close` flushes and closes the file when the room's last connection leaves.
 *
 * Invariants (besides batched-store.ts's):
 * 1. Append-only: bytes once made durable are never rewritten; the only truncation is of a torn
 *    tail at load, and the cut bytes are first kept beside the log (`<roomId>.log.torn-<ms>`).
 * 2. Durable means written and fdatasynced: whatever a client received survives a crash of the
 *    relay or the machine.
 * 3. One open file per room. A write or fsync error fails the room; the file keeps its durable
 *    prefix.
 */
import { open, writeFile, type FileHandle } from 'node:fs/promises';
import { type DataDir, fsyncDir } from './data-dir.ts';
import { encodeRecord, MAGIC, scanLog } from './room-log.ts';
import { BatchedRoomStore, openRoom, type Loaded, type OpenRoom } from './batched-store.ts';

export class NotARelayLog extends Error {}

interface FileRoom extends OpenRoom {
  readonly handle: FileHandle;
}

export class FileRoomStore extends BatchedRoomStore<FileRoom> {
  constructor(
    readonly dir: DataDir,
    onFailure: (roomId: string, err: unknown) => void,
    flushWindowMs = 0,
  ) {
    super(onFailure, flushWindowMs);
  }

  protected async openStored(roomId: string): Promise<{ room: FileRoom; loaded: Loaded }> {
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
      return { room: { ...openRoom(size), handle }, loaded: { updates: scan.updates, bytes: size, tornBytes: scan.tornBytes } };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** One write and one fdatasync per batch. */
  protected async writeBatch(_roomId: string, room: FileRoom, batch: readonly Uint8Array[]): Promise<void> {
    await writeAll(room.handle, Buffer.concat(batch.map(encodeRecord)));
    await room.handle.datasync();
  }

  protected release(room: FileRoom): Promise<void> {
    return room.handle.close();
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}
