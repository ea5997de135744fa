/**
 * Rooms: one Y.Doc per room id, held by @y/websocket-server (`docs`), loaded from and persisted
 * to the RoomStore through its `setPersistence` hook.
 *
 * Lifecycle: the first connection to a room loads its log (`attach` awaits the store), the doc
 * is created by `setupWSConnection` and `bindState` replays the log into it, then every update
 * of the doc is appended to the store; when the last connection leaves, @y/websocket-server
 * calls `writeState` (the store flushes, fsyncs and closes the file) and destroys the doc.
 *
 * Invariants:
 * 1. One doc per room at a time, created right after its log was loaded (in the same
 *    synchronous step), and one load per room at a time: connections arriving while a room
 *    opens wait for that opening, then join the doc (or, if it was unloaded meanwhile, open the
 *    room again, which waits for the log's close). A doc never starts from a stale or empty log.
 * 2. Every doc created here gets a connection right after: the opener's own connection is
 *    among those waiting, so no doc is left without connections (which would never unload).
 * 3. Replayed updates are not appended again (the append listener is attached after the replay).
 * 4. The bus (bus.ts) sees every update the relay accepts, and updates from the bus are applied
 *    but neither appended nor republished (they are stored already: the bus carries only stored
 *    updates); with the local bus both are no-ops.
 */
import type { IncomingMessage } from 'node:http';
import { docs, getYDoc, setPersistence, setupWSConnection, type WSSharedDoc } from '@y/websocket-server/utils';
import * as Y from 'yjs';
import type { RoomBus } from './bus.ts';
import type { CloseCode, RelayConnection } from './connection.ts';
import { describeError, type Logger } from './log.ts';
import type { RoomStore } from './batched-store.ts';

const LOADED = Symbol('relay.loaded');
const FROM_BUS = Symbol('relay.bus');

export interface Rooms {
  /** Joins `conn` to its room, loading the room first if no doc holds it. Throws on storage errors. */
  attach(roomId: string, conn: RelayConnection, req: IncomingMessage): Promise<void>;
  /** Ends every connection of a room (its storage failed, or the relay stops). */
  endAll(roomId: string, code: (typeof CloseCode)[keyof typeof CloseCode], reason: string): void;
  count(): number;
  connectionsOf(roomId: string): RelayConnection[];
  roomIds(): string[];
}

export function createRooms(store: RoomStore, bus: RoomBus, log: Logger): Rooms {
  const loaded = new Map<string, Uint8Array[]>();
  const unsubscribe = new Map<string, () => void>();

  setPersistence({
    provider: null,
    bindState(roomId: string, doc: WSSharedDoc) {
      const updates = loaded.get(roomId);
      loaded.delete(roomId);
      if (updates === undefined) throw new Error(`room ${roomId.slice(0, 8)} bound without its log loaded (bug)`);
      doc.transact(() => {
        for (const update of updates) Y.applyUpdate(doc, update, LOADED);
      }, LOADED);
      // Attached after the replay, so replayed updates are never appended again.
      doc.on('update', (update: Uint8Array, origin: unknown) => {
        if (origin === FROM_BUS) return;
        if (!store.append(roomId, update)) {
          // Storage failed (already reported, connections being ended) or a lifecycle bug.
          log('error', 'room.update_not_stored', { room: roomId, details: { bytes: update.length } });
          return;
        }
        bus.publish(roomId, update);
      });
      unsubscribe.set(
        roomId,
        bus.subscribe(roomId, (update) => Y.applyUpdate(doc, update, FROM_BUS)),
      );
    },
    async writeState(roomId: string) {
      unsubscribe.get(roomId)?.();
      unsubscribe.delete(roomId);
      try {
        await store.close(roomId);
        log('info', 'room.unloaded', { room: roomId });
      } catch (err) {
        log('error', 'room.close_failed', { room: roomId, details: { error: describeError(err) } });
      }
    },
  });

  const openings = new Map<string, Promise<void>>();

  /** Loads a room's log and creates its doc (bindState replays the log). One at a time per room. */
  async function open(roomId: string): Promise<void> {
    const started = Date.now();
    const room = await store.load(roomId);
    loaded.set(roomId, room.updates);
    getYDoc(roomId);
    log(room.tornBytes > 0 ? 'warn' : 'info', room.tornBytes > 0 ? 'room.loaded_torn_tail_cut' : 'room.loaded', {
      room: roomId,
      details: { records: room.updates.length, bytes: room.bytes, tornBytes: room.tornBytes, ms: Date.now() - started },
    });
  }

  const conns = (roomId: string): RelayConnection[] => [...(docs.get(roomId)?.conns.keys() ?? [])] as RelayConnection[];

  return {
    async attach(roomId, conn, req) {
      while (!docs.has(roomId)) {
        let opening = openings.get(roomId);
        if (opening === undefined) {
          opening = open(roomId).finally(() => openings.delete(roomId));
          openings.set(roomId, opening);
        }
        await opening;
      }
      // Synchronous from the check above: the doc cannot have gone in between.
      setupWSConnection(conn as never, req, { docName: roomId });
      conn.attach();
    },
    endAll(roomId, code, reason) {
      for (const conn of conns(roomId)) conn.end(code, reason);
    },
    count: () => docs.size,
    connectionsOf: conns,
    roomIds: () => [...docs.keys()],
  };
}
