/**
 * Open a Kingdom kernel directly in Node (tests, benchmarks, scripts, the future headless runner).
 * Documented in docs/api.md; it returns the same `KingdomApi` the browser UI gets over Comlink.
 *
 *   const k = await openKingdom({ storage: 'memory' });
 *   const r = await k.command({ type: 'workspace.create', payload: { name: 'Acme' }, idempotencyKey: crypto.randomUUID() });
 */
import type { Kernel } from '../kernel/kernel.ts';
import type { KingdomApi } from '../api.ts';
import { memoryAdapter } from '../kernel/db/memory-adapter.ts';
import { fileAdapter } from './file-adapter.ts';
import { fileKeyStore } from './file-keystore.ts';
import { memoryKeyStore, type KeyStore } from '../kernel/log/keys.ts';
import { DEFAULT_MODULES } from '../modules.ts';
import type { EngineOptions } from '../engine/engine.ts';
import type { Clock } from '../engine/clock.ts';
import type { RelicServiceOptions } from '../services/relic-service.ts';
import type { StorageAdapter } from '../kernel/db/adapter.ts';
import type { KernelModule } from '../kernel/module.ts';
import { openRoot, openRootKernel, type RootKernelOptions } from '../root.ts';

export * from '../api.ts';
export { Kernel } from '../kernel/kernel.ts';
export { KernelError, ERROR_CODES } from '../kernel/errors.ts';
export { Engine, type EngineOptions } from '../engine/engine.ts';
export { ManualClock, systemClock, type Clock } from '../engine/clock.ts';
export { memoryAdapter, fileAdapter, fileKeyStore, memoryKeyStore, DEFAULT_MODULES };

export interface OpenKingdomOptions {
  /** `'memory'` (default), `{ file: path }` for a durable database file, or any StorageAdapter. */
  readonly storage?: 'memory' | { readonly file: string } | StorageAdapter;
  /** Extra modules after the default ones. */
  readonly modules?: readonly KernelModule[];
  readonly clock?: () => number;
  readonly actor?: string;
  readonly checkpointEvery?: number;
  /** Snapshot the projections every this many events once other devices' events come in (default 2,000). */
  readonly snapshotEvery?: number;
  /** Run the workflow engine (openKingdom: on by default; pass false for a bare kernel). */
  readonly engine?: boolean | Omit<EngineOptions, 'clock'> & { clock?: Clock };
  /** The relic service (Relic health probes, Monument bring-up), on the engine's clock: on with the engine unless false. */
  readonly relics?: false | Omit<RelicServiceOptions, 'clock'>;
}

/** Open a kernel and wrap it in the public API. Rejects only on bugs; see `openKernel` for throws. */
export async function openKingdom(options: OpenKingdomOptions = {}): Promise<KingdomApi> {
  const root = await openRoot({
    ...rootKernelOptions(options),
    engine: options.engine === false ? false : options.engine === true || options.engine === undefined ? {} : options.engine,
    ...(options.relics !== undefined ? { relics: options.relics } : {}),
  });
  const kind = root.kernel.status().storage.kind;
  return root.api({ role: 'standalone', storage: kind === 'file' ? 'file' : 'memory', fallbackReason: null, tabId: 'node', startupError: null });
}

/** Open the kernel itself, no engine (throws KernelError: schema_too_new, storage_locked, …). */
export async function openKernel(options: OpenKingdomOptions = {}): Promise<Kernel> {
  return openRootKernel(rootKernelOptions(options));
}

/** Node's choice of storage and key store for the composition root (worker/root.ts). */
function rootKernelOptions(options: OpenKingdomOptions): RootKernelOptions {
  const s = options.storage ?? 'memory';
  let storage: StorageAdapter;
  let keys: KeyStore;
  if (s === 'memory') {
    storage = memoryAdapter();
    keys = memoryKeyStore();
  } else if ('file' in s) {
    storage = fileAdapter(s.file);
    keys = fileKeyStore(`${s.file}.device-key.json`);
  } else {
    storage = s;
    keys = memoryKeyStore();
  }
  return {
    storage,
    keys,
    ...(options.modules ? { modules: options.modules } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.actor ? { actor: options.actor } : {}),
    ...(options.checkpointEvery ? { checkpointEvery: options.checkpointEvery } : {}),
    ...(options.snapshotEvery ? { snapshotEvery: options.snapshotEvery } : {}),
  };
}
