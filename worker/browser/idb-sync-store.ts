/**
 * Sync settings and keys in the browser: IndexedDB beside the device's signing key (idb-keyval),
 * and each room's Y.Doc kept between sessions by y-indexeddb, so a new session exchanges only
 * what changed instead of downloading the room again.
 *
 * The epoch keys are stored as bytes (they are shared with a new device at pairing and seal
 * secrets); the sealing key's private half is a non-extractable CryptoKey (structured clone).
 */
import { get, set } from 'idb-keyval';
import type * as Y from 'yjs';
import { NO_SYNC, type SyncSettings, type SyncStore } from '../sync/store.ts';
import { newSealingKey, type SealingKey } from '../sync/epochs.ts';

const SETTINGS = 'kingdom:sync-settings';
const SEALING_KEY = 'kingdom:sync-sealing-key';

export function idbSyncStore(): SyncStore {
  let sealing: Promise<SealingKey> | null = null;
  return {
    async load() {
      return (await get<SyncSettings>(SETTINGS)) ?? NO_SYNC;
    },
    async save(settings) {
      await set(SETTINGS, settings);
    },
    sealingKey() {
      sealing ??= (async () => {
        const kept = await get<SealingKey>(SEALING_KEY);
        if (kept) return kept;
        const fresh = await newSealingKey();
        await set(SEALING_KEY, fresh);
        return fresh;
      })();
      return sealing;
    },
    async keepDoc(roomId: string, doc: Y.Doc) {
      // Loaded here, with the sync service that calls it: y-indexeddb (and yjs) stay out of the first chunk.
      const { IndexeddbPersistence } = await import('y-indexeddb');
      const kept = new IndexeddbPersistence(`kingdom-sync-${roomId}`, doc);
      await kept.whenSynced;
      return () => kept.destroy();
    },
    dropDoc(roomId: string) {
      return new Promise<void>((resolve) => {
        const req = indexedDB.deleteDatabase(`kingdom-sync-${roomId}`);
        // Best effort: a copy left behind costs space, never correctness.
        req.onsuccess = req.onerror = req.onblocked = () => resolve();
      });
    },
  };
}
