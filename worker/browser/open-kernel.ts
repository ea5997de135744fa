/**
 * Opening the kernel in a browser tab that won the owner election: OPFS when the browser has it,
 * memory (with the reason, for the UI to show) when it does not or refuses; retries while the
 * previous owner tab is still releasing its OPFS handles.
 *
 * Invariants:
 * 1. Never opens OPFS when memory was asked for (`?storage=memory`).
 * 2. `storage_locked` is retried for up to OPEN_ATTEMPTS × OPEN_RETRY_MS (a closing tab releases
 *    its handles within that); `storage_unavailable` on OPFS falls back to memory, once.
 */
import { ProgressHub } from '../engine/progress.ts';
import { KernelError } from '../kernel/errors.ts';
import { loadSqlite3, memoryAdapter } from '../kernel/db/memory-adapter.ts';
import { memoryKeyStore, type KeyStore } from '../kernel/log/keys.ts';
import type { StorageAdapter } from '../kernel/db/adapter.ts';
import { openRoot, type KingdomRoot } from '../root.ts';
import { opfsAdapter, opfsAvailable } from './opfs-adapter.ts';
import { idbKeyStore } from './idb-keystore.ts';
import { idbSyncStore } from './idb-sync-store.ts';
import { memorySyncStore } from '../sync/store.ts';
import type { SyncView } from '../sync/service.ts';

const OPEN_RETRY_MS = 50;
const OPEN_ATTEMPTS = 100;

export interface BrowserKernelOptions {
  readonly memory?: boolean;
  readonly checkpointEvery?: number;
}

export interface OpenedBrowserKernel {
  /** The kernel with its slices and engine, from the composition root (worker/root.ts). */
  readonly root: KingdomRoot;
  readonly storage: 'opfs' | 'memory';
  readonly fallbackReason: string | null;
}

/** Live step progress of this worker: the leader's engine publishes, every tab's listeners get it. */
export const progressHub = new ProgressHub('kingdom-progress');
/** The sync view: the leader's sync service publishes, every tab's listeners get it. */
export const syncHub = new ProgressHub<SyncView>('kingdom-sync');

export async function openBrowserKernel(options: BrowserKernelOptions): Promise<OpenedBrowserKernel> {
  const unavailable = options.memory ? 'In-memory mode was requested (?storage=memory).' : opfsAvailable();
  let storage: StorageAdapter = unavailable ? memoryAdapter() : opfsAdapter();
  let fallbackReason: string | null = unavailable;
  // The wasm compiles while IndexedDB opens (the adapters await the same promise; a failure is theirs to report).
  loadSqlite3().catch(() => {});
  let keys: KeyStore = await usableKeyStore();
  let lastErr: unknown;
  for (let attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
    try {
      // The leader drives every unfinished workflow session; the engine stops when the kernel closes.
      const root = await openRoot({
        storage, keys,
        // The engine, the workflow parser and sync load after the kernel is ready (worker/root.ts).
        lazyCode: true,
        ...(options.checkpointEvery ? { checkpointEvery: options.checkpointEvery } : {}),
        engine: { onError: (err) => console.warn('kingdom: engine', err) },
        progress: progressHub,
        classifyError: classifyStorageError,
        // Sync keeps its keys beside the device key; in memory where the database is in memory.
        sync: { store: keys.kind === 'indexeddb' && storage.kind === 'opfs' ? idbSyncStore() : memorySyncStore(), hub: syncHub },
      });
      return { root, storage: storage.kind === 'opfs' ? 'opfs' : 'memory', fallbackReason };
    } catch (err) {
      lastErr = err;
      const e = KernelError.from(err);
      if (e.code === 'storage_locked') {
        // The previous owner's handles are still being released (tab closing/reloading).
        await sleep(OPEN_RETRY_MS);
        continue;
      }
      if (e.code === 'storage_unavailable' && storage.kind === 'opfs') {
        storage = memoryAdapter();
        keys = memoryKeyStore();
        fallbackReason = `${e.message} Your data lives in memory and is lost when this tab closes.`;
        continue;
      }
      throw e;
    }
  }
  throw KernelError.from(lastErr);
}

async function usableKeyStore(): Promise<KeyStore> {
  try {
    if (typeof indexedDB === 'undefined') return memoryKeyStore();
    const store = idbKeyStore();
    await store.load('probe');
    return store;
  } catch {
    // IndexedDB refused (private window): keys live in memory with the in-memory database.
    return memoryKeyStore();
  }
}

/**
 * At the quota limit browsers do not raise a clean QuotaExceededError through sahpool: SQLite sees
 * a generic I/O error that looks like corruption. When storage is (nearly) full, say so.
 */
export async function classifyStorageError(err: unknown): Promise<KernelError> {
  const e = KernelError.from(err);
  if (e.code !== 'internal' || !/I\/O error|IOERR|disk/i.test(e.message)) return e;
  try {
    const { usage = 0, quota = 0 } = (await navigator.storage?.estimate?.()) ?? {};
    if (quota > 0 && usage / quota > 0.9) {
      const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
      return new KernelError('storage_full',
        `This site's browser storage is full (${mb(usage)} of ${mb(quota)} used); nothing was written. Free space on the device or delete data, then retry.`,
        { usage, quota });
    }
  } catch {
    // estimate() unavailable: keep the original error.
  }
  return e;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
