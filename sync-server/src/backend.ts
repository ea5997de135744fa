/**
 * Where rooms live: files in the data directory (one relay), or Redis (several relays sharing
 * rooms; REDIS_URL). The server sees only the store, the pins and the bus of one backend.
 *
 * Invariants:
 * 1. File mode is exactly the single relay: FileRoomStore, FileKeyPins, the local bus.
 * 2. Redis mode connects before the relay listens (a Redis it cannot reach or use stops the
 *    start) and from then on reports `available()` false while Redis is down; the store then
 *    fails every open room (redis-store.ts, invariant 5) and pins cached in memory are
 *    forgotten (a Redis that comes back empty has lost them).
 */
import { localBus, type RoomBus } from './bus.ts';
import type { Config } from './config.ts';
import type { DataDir } from './data-dir.ts';
import { FileKeyPins, type KeyPins } from './key-pins.ts';
import type { Logger } from './log.ts';
import { redisAddress, RedisLink } from './redis-link.ts';
import { RedisKeyPins } from './redis-pins.ts';
import { RedisRoomStore } from './redis-store.ts';
import type { RoomStore } from './batched-store.ts';
import { FileRoomStore } from './storage.ts';

export interface Backend {
  readonly store: RoomStore;
  readonly pins: KeyPins;
  readonly bus: RoomBus;
  /** 'up' or 'down' in Redis mode, null in file mode (for /healthz). */
  redisState(): 'up' | 'down' | null;
  /** Whether rooms can be opened and written now. */
  available(): boolean;
  /** After the store's closeAll: closes the Redis connections (nothing in file mode). */
  close(): Promise<void>;
  /** What the start line says about the backend. */
  readonly describe: Record<string, unknown>;
}

export async function openBackend(config: Config, dir: DataDir, log: Logger, onFailure: (roomId: string, err: unknown) => void): Promise<Backend> {
  if (config.redis === null) {
    return {
      store: new FileRoomStore(dir, onFailure, config.flushWindowMs),
      pins: new FileKeyPins(dir),
      bus: localBus(),
      redisState: () => null,
      available: () => true,
      close: async () => {},
      describe: { storage: 'files', dataDir: dir.root },
    };
  }
  const link = new RedisLink(config.redis.url, log);
  try {
    await link.connect();
  } catch (err) {
    await link.close();
    throw err;
  }
  const store = new RedisRoomStore(link, log, onFailure, config.flushWindowMs, config.redis.compactEntries);
  const pins = new RedisKeyPins(link);
  link.onDown(() => pins.forget());
  return {
    store,
    pins,
    bus: store,
    redisState: () => (link.up ? 'up' : 'down'),
    available: () => link.up,
    close: () => link.close(),
    describe: { storage: 'redis', redis: redisAddress(config.redis.url), compactEntries: config.redis.compactEntries },
  };
}
