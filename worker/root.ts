/**
 * The composition root: the one place that opens a Kingdom kernel on a given storage and key
 * store, registers the domain slices and starts the engine. Both hosts call it: the browser
 * leader tab (worker/browser/open-kernel.ts) and Node (worker/node/index.ts). Hosts only choose
 * storage, keys and how progress and errors are reported.
 *
 * Floor: above the engine and the API, below the hosts (worker/browser/, worker/node/).
 *
 * Invariants:
 * 1. Every kernel loads DEFAULT_MODULES, in that order, then the extra modules given.
 * 2. The engine starts only after the kernel opened (a failed open starts nothing) and stops when
 *    the kernel closes.
 * 3. Sync starts after the engine when a sync store is given, and the API's close() stops it
 *    before the kernel closes.
 * 4. `api(info)` is THE KingdomApi implementation (createLocalApi) over this kernel; hosts add
 *    forwarding around it (follower tabs), never a second implementation.
 */
import { Kernel, type KernelOptions } from './kernel/kernel.ts';
import type { KernelModule } from './kernel/module.ts';
import type { StorageAdapter } from './kernel/db/adapter.ts';
import type { KeyStore } from './kernel/log/keys.ts';
import type { KernelError } from './kernel/errors.ts';
import { DEFAULT_MODULES } from './modules.ts';
import { Engine, type EngineOptions } from './engine/engine.ts';
import { ProgressHub } from './engine/progress.ts';
import { createLocalApi, type KingdomApi, type RuntimeInfo } from './api.ts';
import { SyncService, type SyncView } from './sync/service.ts';
import type { SyncStore } from './sync/store.ts';

export interface RootKernelOptions {
  readonly storage: StorageAdapter;
  readonly keys: KeyStore;
  /** Extra modules after the default ones. */
  readonly modules?: readonly KernelModule[];
  readonly clock?: () => number;
  readonly actor?: string;
  readonly checkpointEvery?: number;
  readonly snapshotEvery?: number;
}

export interface RootOptions extends RootKernelOptions {
  /** Engine options, or `false` for a bare kernel (no workflow driving). Default: start it. */
  readonly engine?: false | EngineOptions;
  /** Where live step progress goes (the browser passes its cross-tab hub). Default: a local hub. */
  readonly progress?: ProgressHub;
  /** Turns a thrown error into the KernelError the API reports (the browser names a full disk). */
  readonly classifyError?: (err: unknown) => KernelError | Promise<KernelError>;
  /** Device sync (docs/sync.md): where its settings and keys live; without it the API answers `sync_unavailable`. */
  readonly sync?: {
    readonly store: SyncStore;
    /** Node needs `ws`'s class; browsers have one. */
    readonly WebSocket?: unknown;
    /** Where sync views go (the browser passes its cross-tab hub). */
    readonly hub?: ProgressHub<SyncView>;
  };
}

export interface KingdomRoot {
  readonly kernel: Kernel;
  /** Null when the engine was not asked for. */
  readonly engine: Engine | null;
  readonly progress: ProgressHub;
  /** Null when no sync store was given. Stopped by the API's close(). */
  readonly sync: SyncService | null;
  /** The KingdomApi over this kernel, reporting `info` as given. */
  api(info: RuntimeInfo): KingdomApi;
}

/** Open the kernel with every slice registered (no engine). Throws KernelError (schema_too_new, storage_locked, …). */
export function openRootKernel(options: RootKernelOptions): Promise<Kernel> {
  const opts: KernelOptions = {
    storage: options.storage,
    keys: options.keys,
    modules: [...DEFAULT_MODULES, ...(options.modules ?? [])],
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.actor ? { actor: options.actor } : {}),
    ...(options.checkpointEvery ? { checkpointEvery: options.checkpointEvery } : {}),
    ...(options.snapshotEvery ? { snapshotEvery: options.snapshotEvery } : {}),
  };
  return Kernel.open(opts);
}

/** Open the kernel, register the slices and start the engine. Throws what `openRootKernel` throws. */
export async function openRoot(options: RootOptions): Promise<KingdomRoot> {
  const kernel = await openRootKernel(options);
  const progress = options.progress ?? new ProgressHub();
  let engine: Engine | null = null;
  if (options.engine !== false) {
    const eo = options.engine ?? {};
    const onProgress = eo.onProgress;
    engine = Engine.start(kernel, {
      ...eo,
      onProgress: (p) => {
        progress.publish(p);
        onProgress?.(p);
      },
    });
  }
  const hub = options.sync?.hub ?? new ProgressHub<SyncView>();
  let sync: SyncService | null = null;
  if (options.sync) {
    try {
      sync = await SyncService.start({ kernel, store: options.sync.store, ...(options.sync.WebSocket ? { WebSocket: options.sync.WebSocket } : {}) });
      sync.onView((v) => hub.publish(v));
    } catch (err) {
      // The app never needs sync: a store that cannot be read leaves sync unavailable, not the kernel.
      console.warn('kingdom: sync could not start', err);
    }
  }
  return {
    kernel,
    engine,
    progress,
    sync,
    api: (info) => createLocalApi(kernel, info, progress, options.classifyError, { service: sync, hub }),
  };
}
