/**
 * Where a device keeps its sync settings and keys between sessions: the browser keeps them in
 * IndexedDB beside the device's signing key (worker/browser/idb-sync-store.ts); Node and tests
 * in memory (`memorySyncStore`). The database never holds them: a copy of the database file
 * alone cannot join the person's sync.
 */
import type * as Y from 'yjs';
import { newSealingKey, type SealingKey } from './epochs.ts';

export interface StoredEpoch {
  readonly epoch: number;
  /** The 32-byte epoch key. */
  readonly key: Uint8Array;
}

export interface SyncSettings {
  /** Whether this device syncs (the person turned it on, or joined by pairing). */
  readonly enabled: boolean;
  /** `ws://` or `wss://` address of the relay. */
  readonly relayUrl: string | null;
  /** Every epoch key this device learned, oldest first; the last is the current one. */
  readonly epochs: readonly StoredEpoch[];
}

export const NO_SYNC: SyncSettings = { enabled: false, relayUrl: null, epochs: [] };

export interface SyncStore {
  load(): Promise<SyncSettings>;
  save(settings: SyncSettings): Promise<void>;
  /** This device's sealing key pair, created on first use and kept. */
  sealingKey(): Promise<SealingKey>;
  /**
   * Keep a room's document between sessions: load what was kept into `doc` before returning, and
   * keep its updates from then on. Returns the function that stops keeping it. Optional: without
   * it every session downloads the room again.
   */
  keepDoc?(roomId: string, doc: Y.Doc): Promise<() => Promise<void>>;
  /** Delete what `keepDoc` kept of a room this device left for good (an old epoch's). */
  dropDoc?(roomId: string): Promise<void>;
}

/** Settings and keys in memory (Node, tests): lost with the process. */
export function memorySyncStore(initial: SyncSettings = NO_SYNC): SyncStore & { readonly current: SyncSettings } {
  let settings = initial;
  let key: Promise<SealingKey> | null = null;
  return {
    get current() {
      return settings;
    },
    load: async () => settings,
    save: async (s) => {
      settings = s;
    },
    sealingKey: () => (key ??= newSealingKey()),
  };
}
