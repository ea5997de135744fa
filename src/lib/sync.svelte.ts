/**
 * Device sync as this tab sees it: the newest SyncView from whichever tab runs sync (the leader's
 * worker publishes every change), the actions a person takes (their failures land in the scope
 * given, shown by ErrorMessage), and a pairing link this page was opened with.
 *
 * Invariants:
 * 1. A pairing link's secret (`#pair=…`) is taken off the address bar before the router reads
 *    it, so it stays out of the history and of any screen's address.
 * 2. `view` is null until the first answer; then it is always the newest view (replaced, never
 *    mutated).
 */
import * as Comlink from 'comlink';
import { kernel } from './kernel.svelte.ts';
import type { SyncAction, SyncView } from '../../worker/api.ts';

const PAIR_PREFIX = '#pair=';

class SyncState {
  view = $state.raw<SyncView | null>(null);
  /** The pairing link this page was opened with, until a pairing starts with it or it is dismissed. */
  invitation = $state.raw<string | null>(null);
  #started = false;

  /** Take a pairing link off the address (invariant 1); the Devices screen offers to join with it. */
  takeInvitation(): void {
    if (!location.hash.startsWith(PAIR_PREFIX)) return;
    this.invitation = location.href;
    history.replaceState(null, '', `${location.pathname}${location.search}#/devices`);
  }

  /** Start following the sync view (once the kernel answers). */
  async start(): Promise<void> {
    const api = kernel.api;
    if (this.#started || !api) return;
    this.#started = true;
    await api.watchSync(Comlink.proxy((v: SyncView) => void (this.view = v)));
    const r = await api.sync({ kind: 'view' });
    if (r.ok) this.view = r.value;
  }

  /** Do what the person asked; a failure is shown in `scope`. */
  async act(scope: string, action: SyncAction): Promise<SyncView | null> {
    const v = await kernel.call(scope, (api) => api.sync(action));
    if (v) this.view = v;
    return v;
  }
}

export const sync = new SyncState();
