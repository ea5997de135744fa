/**
 * The scale-out seam: how the relays serving one room would share its updates.
 *
 * One relay process needs nothing here (`localBus`). With several relays behind a load
 * balancer, a room's clients may land on different processes; a bus implementation (Redis
 * pub/sub or streams, keyed by room id, selected by REDIS_URL) would carry each accepted update
 * to the other processes holding that room, and a shared RoomStore and KeyPins (storage.ts,
 * key-pins.ts) would replace the local files. Not built yet: docs/relay.md, "Scaling further".
 *
 * Invariants:
 * 1. `publish` is called for every update this relay accepted from its own clients, after it is
 *    applied to the room's doc; never for updates that came from the bus or from storage.
 * 2. A subscriber applies bus updates to its doc (Yjs updates are idempotent and commutative,
 *    so duplicates and reordering are harmless).
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
