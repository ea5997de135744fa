/**
 * The scale-out seam: how the relays serving one room share its updates.
 *
 * One relay process needs nothing here (`localBus`). With several relays behind a load
 * balancer (REDIS_URL), a room's clients may land on different processes; the Redis store
 * (redis-store.ts) is the bus as well: each room's Redis stream carries every stored update to
 * the other processes holding that room, and shared pins (redis-pins.ts) replace the key files.
 *
 * Invariants:
 * 1. `publish` is called for every update this relay accepted from its own clients, after it is
 *    applied to the room's doc; never for updates that came from the bus or from storage.
 * 2. A subscriber applies bus updates to its doc (Yjs updates are idempotent and commutative,
 *    so duplicates and reordering are harmless), and does not store them again: a bus delivers
 *    only updates that are already in the shared store.
 */

export interface RoomBus {
  publish(roomId: string, update: Uint8Array): void;
  /** Returns the unsubscribe function. */
  subscribe(roomId: string, apply: (update: Uint8Array) => void): () => void;
}

/** One relay process: nobody else to tell. */
export function localBus(): RoomBus {
  return {
    publish() {},
    subscribe: () => () => {},
  };
}
