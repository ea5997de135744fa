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
 * 2. The engine (and with it the contract scheduler, worker/services/contract-scheduler.ts, on the same
 *    clock) starts only after the kernel opened (a failed open starts nothing) and stops when
 *    the kernel closes. Its code is a separate chunk (imported here, never statically): Node
 *    awaits it, so the engine runs when openRoot returns; with `lazyCode` (the browser) openRoot
 *    returns without waiting and the engine starts as soon as its code and every module's
 *    on-demand code (worker/kernel/code-part.ts) are loaded. Starting later is a restart: the
 *    engine resumes every unfinished session from the log, as after a reload.
 *    The relic service (Relic health, Monument bring-up) starts after the engine, on its clock,
 *    and stops when the kernel closes.
 * 3. Sync is held through its light front (worker/sync/front.ts), started after the engine is
 *    asked for when a sync store is given; the API's close() stops it before the kernel closes.
 * 4. The realm service (worker/services/realm-service.ts: the network and signature side of realms) starts
 *    like the engine, from its own chunk, after every module's on-demand code is loaded; Node
 *    awaits it. `realms: false` leaves it out (a bare kernel).
 * 5. `api(info)` is THE KingdomApi implementation (createLocalApi) over this kernel; hosts add
 *    forwarding around it (follower tabs), never a second implementation.
 */
import { Kernel, type KernelOptions } from './kernel/kernel.ts';
import type { KernelModule } from './kernel/module.ts';
import type { StorageAdapter } from './kernel/db/adapter.ts';
import type { KeyStore } from './kernel/log/keys.ts';
import type { KernelError } from './kernel/errors.ts';
import { CodeIndex } from './kernel/code-part.ts';
import { DEFAULT_MODULES } from './modules.ts';
import type { Engine, EngineOptions } from './engine/engine.ts';
import { ProgressHub } from './engine/progress.ts';
import { createLocalApi, type KingdomApi, type RuntimeInfo } from './api.ts';
import type { SyncView } from './sync/service.ts';
import { SyncFront } from './sync/front.ts';
import type { SyncStore } from './sync/store.ts';
import type { RealmService, RealmServiceOptions } from './services/realm-service.ts';
import type { RelicService, RelicServiceOptions } from './services/relic-service.ts';

export interface RootKernelOptions {
  readonly storage: StorageAdapter;
  readonly keys: KeyStore;
  /** Extra modules after the default ones. */
  readonly modules?: readonly KernelModule[];
  readonly clock?: () => number;
  readonly actor?: string;
  readonly checkpointEvery?: number;
  readonly snapshotEvery?: number;
  /**
   * Load on-demand code when it is needed instead of at open (the browser: it keeps the first
   * chunk small): the API loads what a call needs, the engine starts once its code is loaded.
   */
  readonly lazyCode?: boolean;
}

export interface RootOptions extends RootKernelOptions {
  /** Engine options, or `false` for a bare kernel (no workflow driving). Default: start it. */
  readonly engine?: false | EngineOptions;
  /**
   * The relic service (Relic health probes, Monument bring-up; worker/services/relic-service.ts):
   * started with the engine, on the engine's clock. `false` leaves it off. Default: on.
   */
  readonly relics?: false | Omit<RelicServiceOptions, 'clock'>;
  /** Where live step progress goes (the browser passes its cross-tab hub). Default: a local hub. */
  readonly progress?: ProgressHub;
  /** The realm service's options, or `false` to leave it out. Default: start it. */
  readonly realms?: false | RealmServiceOptions;
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
  /** Null when the engine was not asked for, and (with `lazyCode`) until it started. */
  readonly engine: Engine | null;
  /** The engine once it started (null when not asked for, or the kernel closed first). */
  readonly engineStarted: Promise<Engine | null>;
  /** The relic service once it started (null when the engine or the service was not asked for). */
  readonly relicsStarted: Promise<RelicService | null>;
  readonly progress: ProgressHub;
  /** The realm service once it started (null when left out, or the kernel closed first). */
  readonly realmsStarted: Promise<RealmService | null>;
  /** Null when no sync store was given. Stopped by the API's close(). */
  readonly sync: SyncFront | null;
  /** The KingdomApi over this kernel, reporting `info` as given. */
  api(info: RuntimeInfo): KingdomApi;
}

function modulesOf(options: RootKernelOptions): KernelModule[] {
  return [...DEFAULT_MODULES, ...(options.modules ?? [])];
}

/** Open the kernel with every slice registered (no engine). Throws KernelError (schema_too_new, storage_locked, …). */
export function openRootKernel(options: RootKernelOptions): Promise<Kernel> {
  const opts: KernelOptions = {
    storage: options.storage,
    keys: options.keys,
    modules: modulesOf(options),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.actor ? { actor: options.actor } : {}),
    ...(options.checkpointEvery ? { checkpointEvery: options.checkpointEvery } : {}),
    ...(options.snapshotEvery ? { snapshotEvery: options.snapshotEvery } : {}),
    ...(options.lazyCode ? { lazyCode: true } : {}),
  };
  return Kernel.open(opts);
}

/** Open the kernel, register the slices and start the engine. Throws what `openRootKernel` throws. */
export async function openRoot(options: RootOptions): Promise<KingdomRoot> {
  const kernel = await openRootKernel(options);
  const progress = options.progress ?? new ProgressHub();
  const code = new CodeIndex(modulesOf(options));
  let engine: Engine | null = null;
  let engineStarted: Promise<Engine | null> = Promise.resolve(null);
  let relicsStarted: Promise<RelicService | null> = Promise.resolve(null);
  if (options.engine !== false) {
    const eo = options.engine ?? {};
    const onProgress = eo.onProgress;
    engineStarted = (async () => {
      const [{ Engine }, { ContractScheduler }] = await Promise.all([import('./engine/engine.ts'), import('./services/contract-scheduler.ts'), code.all()]);
      if (kernel.isClosed) return null;
      engine = Engine.start(kernel, {
        ...eo,
        onProgress: (p) => {
          progress.publish(p);
          onProgress?.(p);
        },
      });
      // The contracts' timers, on the engine's clock; they stop when the kernel closes.
      ContractScheduler.start(kernel, { ...(eo.clock ? { clock: eo.clock } : {}), ...(eo.onError ? { onError: eo.onError } : {}) });
      return engine;
    })();
    if (options.relics !== false) {
      const ro = options.relics ?? {};
      relicsStarted = engineStarted.then(async (started) => {
        if (!started || kernel.isClosed) return null;
        const { RelicService } = await import('./services/relic-service.ts');
        return kernel.isClosed ? null : RelicService.start(kernel, { ...ro, ...(eo.clock ? { clock: eo.clock } : {}), onError: ro.onError ?? ((err) => console.warn('kingdom: the relic service', err)) });
      });
      relicsStarted.catch((err) => console.error('kingdom: the relic service could not start', err));
    }
    if (!options.lazyCode) await Promise.all([engineStarted, relicsStarted]);
    else engineStarted.catch((err) => console.error('kingdom: the workflow engine could not start; reload the page', err));
  }
  let realmsStarted: Promise<RealmService | null> = Promise.resolve(null);
  if (options.realms !== false) {
    const ro = options.realms ?? {};
    realmsStarted = (async () => {
      const [{ RealmService }] = await Promise.all([import('./services/realm-service.ts'), code.all()]);
      return kernel.isClosed ? null : RealmService.start(kernel, ro);
    })();
    if (!options.lazyCode) await realmsStarted;
    else realmsStarted.catch((err) => console.error('kingdom: the realm service could not start; reload the page', err));
  }
  const hub = options.sync?.hub ?? new ProgressHub<SyncView>();
  let sync: SyncFront | null = null;
  if (options.sync) {
    try {
      sync = await SyncFront.start({ kernel, store: options.sync.store, ...(options.sync.WebSocket ? { WebSocket: options.sync.WebSocket } : {}) }, !options.lazyCode);
      sync.onView((v) => hub.publish(v));
    } catch (err) {
      // The app never needs sync: a store that cannot be read leaves sync unavailable, not the kernel.
      console.warn('kingdom: sync could not start', err);
    }
  }
  return {
    kernel,
    get engine() {
      return engine;
    },
    engineStarted,
    realmsStarted,
    relicsStarted,
    progress,
    sync,
    api: (info) => createLocalApi(kernel, info, progress, options.classifyError, { service: sync, hub }, options.lazyCode ? code : undefined),
  };
}
