/**
 * The light front of device sync: what the API and the composition root hold instead of the
 * SyncService, so the sync stack (service.ts and what it imports: yjs, y-websocket, y-indexeddb,
 * the sync client, pairing) stays out of the kernel worker's first chunk and loads only when sync
 * is used (docs/benchmarks.md, "Fast to open").
 *
 * Invariants:
 * 1. The service is loaded and started when sync is on at start (as before: it connects at once),
 *    when `eager` is set (Node), and before any action but reading the view. Settings change only
 *    through the service, so while it is not loaded sync is off and nothing would happen.
 * 2. Unloaded, the view is the service's resting view (view.ts), from the stored settings.
 * 3. `stop()` stops the service if it was started, also one still loading; after it every action
 *    fails with `kernel_closed`, as the service's do.
 */
import { KernelError } from '../kernel/errors.ts';
import type { SyncAction, SyncService, SyncServiceOptions, SyncView } from './service.ts';
import type { SyncSettings } from './store.ts';
import { restingView } from './view.ts';

export class SyncFront {
  private service: SyncService | null = null;
  private loading: Promise<SyncService> | null = null;
  private readonly listeners = new Set<(v: SyncView) => void>();
  private stopped = false;

  private constructor(private readonly options: SyncServiceOptions, private readonly settings: SyncSettings) {}

  /** Read the settings; start the service now when sync is on or `eager`. Rejects when the store cannot be read. */
  static async start(options: SyncServiceOptions, eager: boolean): Promise<SyncFront> {
    const settings = await options.store.load();
    const front = new SyncFront(options, settings);
    if (eager || settings.enabled) await front.load();
    return front;
  }

  /** Whether the service (and its code) is loaded. */
  get loaded(): boolean {
    return this.service !== null;
  }

  async act(action: SyncAction): Promise<SyncView> {
    if (this.stopped) throw new KernelError('kernel_closed', 'Sync stopped with its database; reload the page.');
    if (!this.service && !this.loading && action.kind === 'view') return restingView(this.settings, this.options.kernel);
    return (await this.load()).act(action);
  }

  onView(listener: (v: SyncView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const service = this.service ?? (await this.loading?.catch(() => null)) ?? null;
    await service?.stop();
  }

  private load(): Promise<SyncService> {
    this.loading ??= (async () => {
      const { SyncService } = await import('./service.ts');
      const service = await SyncService.start(this.options);
      service.onView((v) => {
        for (const l of [...this.listeners]) l(v);
      });
      this.service = service;
      if (this.stopped) await service.stop();
      return service;
    })();
    this.loading.catch(() => (this.loading = null));
    return this.loading;
  }
}
